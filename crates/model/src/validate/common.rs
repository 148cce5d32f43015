//! Rules shared by every object: `type`, `id`, `spec_version`, the common properties of each
//! family, property names, external references and the walk that checks `_ref`, `_refs`,
//! `_hex`, `_bin` properties and empty lists wherever they occur.
//!
//! These are the rules most peers get wrong (STIX 2.0 objects, second-precision `created`,
//! empty lists), so they live in one place with one wording.

use std::fmt::Write;

use serde_json::{Map, Value};

use super::ctx::{Ctx, Target, describe, index, join};
use super::hashes::check_hashes;
use crate::StixId;
use crate::id::is_valid_type_name;
use crate::object::{Family, META_TYPES, SCO_TYPES, SDO_TYPES, SRO_TYPES};

/// Properties STIX 2.1 reserves and no object may carry.
const RESERVED: &[&str] = &["severity", "action", "username", "phone_numbers"];

/// The common properties an SCO may carry besides its type-specific ones.
pub(crate) const SCO_COMMON: &[&str] =
    &["type", "id", "spec_version", "object_marking_refs", "granular_markings", "defanged", "extensions"];

/// Checks `type`, `id` and their agreement; returns the type when usable.
pub(crate) fn check_type_and_id<'a>(cx: &mut Ctx<'a>) -> Option<&'a str> {
    let ty = cx.string("type", true);
    let ty = match ty {
        Some(t) if is_valid_type_name(t) => Some(t),
        Some(t) => {
            cx.err(
                "type",
                format!(
                    "{t:?} is not a valid type name (3-250 characters of a-z, 0-9 and single \
                     hyphens)"
                ),
            );
            None
        }
        None => None,
    };
    if let Some(s) = cx.string("id", true) {
        match StixId::parse(s) {
            Ok(id) => {
                if let Some(t) = ty
                    && id.object_type() != t
                {
                    cx.err("id", format!("type prefix {:?} does not match type {t:?}", id.object_type()));
                }
            }
            Err(e) => cx.err("id", format!("not a valid STIX identifier ({}): {s:?}", e.reason)),
        }
    }
    ty
}

/// Decides the family of `ty`: the spec's own types, else the family an extension-definition
/// declares through `extension_type` (`new-sdo`, `new-sco`, `new-sro`), else deprecated `x-`
/// custom objects (treated as SDOs). Anything else is reported and checked as an SDO.
pub(crate) fn resolve_family(cx: &mut Ctx<'_>, ty: &str) -> Family {
    if SDO_TYPES.contains(&ty) {
        return Family::Sdo;
    }
    if SRO_TYPES.contains(&ty) {
        return Family::Sro;
    }
    if SCO_TYPES.contains(&ty) {
        return Family::Sco;
    }
    if META_TYPES.contains(&ty) {
        return Family::Meta;
    }
    let declared = cx.get("extensions").and_then(Value::as_object).and_then(|exts| {
        exts.iter()
            .filter(|(k, _)| k.starts_with("extension-definition--"))
            .filter_map(|(_, v)| v.get("extension_type").and_then(Value::as_str))
            .find_map(|et| match et {
                "new-sdo" => Some(Family::Sdo),
                "new-sco" => Some(Family::Sco),
                "new-sro" => Some(Family::Sro),
                _ => None,
            })
    });
    if let Some(f) = declared {
        return f;
    }
    if !ty.starts_with("x-") {
        cx.err(
            "type",
            format!(
                "{ty:?} is not a STIX 2.1 type; a custom type must be defined by an \
                 extension-definition (an extensions entry with extension_type new-sdo, new-sco \
                 or new-sro)"
            ),
        );
    }
    Family::Sdo
}

pub(crate) fn check_spec_version(cx: &mut Ctx<'_>, family: Family) {
    match cx.get("spec_version") {
        None if family == Family::Sco => {}
        None => cx.err("spec_version", "STIX 2.0 objects are not accepted: spec_version must be \"2.1\""),
        Some(Value::String(s)) if s == "2.1" => {}
        Some(v) => cx.err("spec_version", format!("must be \"2.1\", found {v}")),
    }
}

/// `created`/`modified` must be timestamps with at least millisecond precision.
pub(crate) fn check_millis(cx: &mut Ctx<'_>, prop: &str, required: bool) {
    let raw = cx.get(prop).and_then(Value::as_str);
    if cx.timestamp(prop, required).is_some() {
        let raw = raw.unwrap_or_default();
        let frac = raw.split_once('.').map(|(_, f)| f.trim_end_matches('Z').len()).unwrap_or(0);
        if frac < 3 {
            cx.err(prop, format!("must be precise to at least the millisecond, found {raw:?}"));
        }
    }
}

/// Common properties of SDOs, SROs, language-content and extension-definition.
pub(crate) fn check_sdo_common(cx: &mut Ctx<'_>) {
    check_millis(cx, "created", true);
    check_millis(cx, "modified", true);
    cx.order("created", "modified", false);
    cx.reference("created_by_ref", false, Target::IDENTITY);
    cx.boolean("revoked", false);
    cx.string_list("labels", false);
    cx.integer("confidence", false, Some(0), Some(100));
    cx.string("lang", false);
    check_external_references(cx);
}

/// Common properties of SCOs.
pub(crate) fn check_sco_common(cx: &mut Ctx<'_>) {
    cx.boolean("defanged", false);
    for p in ["created", "modified"] {
        if cx.has(p) {
            cx.err(p, "SCOs carry no created/modified: STIX does not version cyber-observable objects");
        }
    }
}

pub(crate) fn check_external_references(cx: &mut Ctx<'_>) {
    let Some(items) = cx.list_in(cx.obj, "", "external_references", false) else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let base = index("external_references", i);
        let Some(er) = item.as_object() else {
            cx.err(base, format!("must be an external reference object, found {}", describe(item)));
            continue;
        };
        cx.string_in(er, &base, "source_name", true);
        cx.string_in(er, &base, "description", false);
        cx.string_in(er, &base, "url", false);
        cx.string_in(er, &base, "external_id", false);
        if !["description", "url", "external_id"].iter().any(|p| er.contains_key(*p)) {
            cx.err(base.clone(), "at least one of description, url or external_id must be present");
        }
        if let Some(h) = er.get("hashes") {
            check_hashes(cx, &join(&base, "hashes"), h);
        }
    }
}

/// Top-level property names: 3-250 characters of a-z, 0-9 and underscore (`id` excepted), and
/// none of the reserved names.
pub(crate) fn check_property_names(cx: &mut Ctx<'_>) {
    for name in cx.obj.keys() {
        if RESERVED.contains(&name.as_str()) {
            cx.err(name.clone(), "is a reserved property name and must not be used");
            continue;
        }
        if name == "id" {
            continue;
        }
        let ok_chars = name.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
        if !ok_chars || !(3..=250).contains(&name.len()) {
            cx.err(name.clone(), "property names must be 3-250 characters of lowercase a-z, 0-9 and underscore");
        }
    }
}

/// Walks every value: lists must not be empty; `_ref` values must be identifiers and `_refs`
/// lists of identifiers (unless a specific rule already checked them); `_hex` and `_bin` values
/// must be hex and base64. `skip` names top-level properties whose contents follow other rules
/// (observed-data's local `objects` references, language-content `contents`).
pub(crate) fn walk(cx: &mut Ctx<'_>, skip: &[&str]) {
    let obj = cx.obj;
    // One path buffer for the whole walk, grown and cut back as it descends: a path is copied
    // only into a violation or a checked reference, not built for every value of every object.
    let mut path = String::new();
    for (k, v) in obj {
        if skip.contains(&k.as_str()) {
            if matches!(v, Value::Array(a) if a.is_empty()) {
                cx.err(k.clone(), "lists must not be empty");
            }
            continue;
        }
        path.clear();
        path.push_str(k);
        walk_prop(cx, &mut path, k, v);
    }
}

/// Walks the value at `path` (the property `name`), leaving `path` as it found it.
fn walk_prop(cx: &mut Ctx<'_>, path: &mut String, name: &str, v: &Value) {
    if let Value::Array(a) = v
        && a.is_empty()
    {
        cx.err(path.clone(), "lists must not be empty");
        return;
    }
    let is_ref = name.ends_with("_ref");
    let is_refs = !is_ref && name.ends_with("_refs");
    if (is_ref || is_refs) && !cx.checked_refs.contains(path.as_str()) {
        if is_ref {
            cx.check_id(path.clone(), v, Target::ANY);
        } else {
            match v {
                Value::Array(a) => {
                    for (i, item) in a.iter().enumerate() {
                        cx.check_id(index(path, i), item, Target::ANY);
                    }
                }
                _ => cx.err(path.clone(), format!("must be a list of identifiers, found {}", describe(v))),
            }
            return;
        }
    }
    if name.ends_with("_hex") {
        match v.as_str() {
            Some(s) if !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|c| c.is_ascii_hexdigit()) => {}
            _ => cx.err(path.clone(), "must be an even number of hexadecimal characters"),
        }
    } else if name.ends_with("_bin") {
        match v.as_str() {
            Some(s) if is_base64(s) => {}
            _ => cx.err(path.clone(), "must be a base64-encoded (RFC 4648) string"),
        }
    }
    match v {
        Value::Array(a) => walk_items(cx, path, a),
        Value::Object(m) => walk_map(cx, path, m),
        _ => {}
    }
}

/// Walks the items of the list at `path` (`path.[i]` each, as [`index`] writes it).
fn walk_items(cx: &mut Ctx<'_>, path: &mut String, items: &[Value]) {
    let len = path.len();
    for (i, item) in items.iter().enumerate() {
        // Writing to a String cannot fail.
        let _ = write!(path, ".[{i}]");
        match item {
            Value::Array(a) if a.is_empty() => cx.err(path.clone(), "lists must not be empty"),
            Value::Array(a) => walk_items(cx, path, a),
            Value::Object(m) => walk_map(cx, path, m),
            _ => {}
        }
        path.truncate(len);
    }
}

/// Walks the properties of the map at `path` (`path.key` each, as [`join`] writes it).
fn walk_map(cx: &mut Ctx<'_>, path: &mut String, m: &Map<String, Value>) {
    let len = path.len();
    for (k, v) in m {
        if len > 0 {
            path.push('.');
        }
        path.push_str(k);
        walk_prop(cx, path, k, v);
        path.truncate(len);
    }
}

pub(crate) fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    pad <= 2 && b[..b.len() - pad].iter().all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

/// For SCOs with no required property: at least one type-specific property must be present
/// (an extension counts when `extensions_count`).
pub(crate) fn require_specific(cx: &mut Ctx<'_>, extensions_count: bool) {
    let specific = |k: &String| !SCO_COMMON.contains(&k.as_str()) || (extensions_count && k == "extensions");
    if !cx.obj.keys().any(specific) {
        let ty = cx.ty();
        cx.err("", format!("a {ty} must carry at least one {ty}-specific property"));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    /// The walk names a nested value by the selector a granular marking would use: `a.b` into a
    /// map, `a.[i]` into a list, however deep, and reports each violation once.
    #[test]
    fn the_walk_names_nested_values_by_their_selectors() {
        let object = json!({
            "type": "x-walk-test",
            "id": "x-walk-test--6ba7b810-9dad-11d1-80b4-00c04fd430c8",
            "spec_version": "2.1",
            "created": "2024-01-01T00:00:00.000Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "x_outer": {
                "empty": [],
                "bad_hex": "abc",
                "items": [{ "target_ref": "not-an-id" }, [[], { "data_bin": "%%" }], { "ok_refs": ["nope"] }],
            },
            "x_list": [{ "inner": { "deep_ref": 7 } }],
        });
        let violations = crate::validate::validate_object(&object).expect_err("invalid");
        let mut got: Vec<&str> = violations.iter().map(|v| v.property.as_str()).collect();
        got.sort();
        assert_eq!(
            got,
            [
                "x_list.[0].inner.deep_ref",
                "x_outer.bad_hex",
                "x_outer.empty",
                "x_outer.items.[0].target_ref",
                "x_outer.items.[1].[0]",
                "x_outer.items.[1].[1].data_bin",
                "x_outer.items.[2].ok_refs.[0]",
            ],
            "{violations:?}"
        );
    }
}
