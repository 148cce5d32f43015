//! Data markings on an object: `object_marking_refs` and `granular_markings`, including the
//! resolution of granular-marking selectors against the object itself.
//!
//! Releasability decisions are taken from these properties, so a selector that points at
//! nothing or a marking reference that is not a marking-definition must be refused at the door
//! rather than silently ignored by the policy code later.

use serde_json::Value;

use super::ctx::{Ctx, Target, describe, index, join};

pub(crate) fn check_markings(cx: &mut Ctx<'_>) {
    let own_id = cx.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let is_marking = cx.ty() == "marking-definition";

    cx.ref_list("object_marking_refs", false, Target::MARKING);
    if is_marking
        && let Some(refs) = cx.get("object_marking_refs").and_then(Value::as_array)
        && let Some(i) = refs.iter().position(|r| r.as_str() == Some(&own_id))
    {
        cx.err(index("object_marking_refs", i), "a marking-definition must not mark itself");
    }

    let Some(items) = cx.list_in(cx.obj, "", "granular_markings", false) else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let base = index("granular_markings", i);
        let Some(gm) = item.as_object() else {
            cx.err(base, format!("must be a granular marking object, found {}", describe(item)));
            continue;
        };
        match (gm.get("marking_ref"), gm.get("lang")) {
            (Some(_), Some(_)) => cx.err(base.clone(), "must have exactly one of marking_ref or lang, found both"),
            (None, None) => cx.err(base.clone(), "must have exactly one of marking_ref or lang, found neither"),
            (Some(r), None) => {
                cx.check_id(join(&base, "marking_ref"), r, Target::MARKING);
                if is_marking && r.as_str() == Some(&own_id) {
                    cx.err(join(&base, "marking_ref"), "a marking-definition must not mark itself");
                }
            }
            (None, Some(_)) => {
                cx.string_in(gm, &base, "lang", true);
            }
        }
        let sel_path = join(&base, "selectors");
        let selectors = cx.string_list_in(gm, &base, "selectors", true);
        for (j, sel) in selectors.into_iter().enumerate() {
            if let Err(why) = resolve_selector(cx.obj, sel) {
                cx.err(index(&sel_path, j), format!("selector {sel:?} does not resolve: {why}"));
            }
        }
    }
}

/// Resolves a selector (`name`, `external_references.[0].source_name`) against the object,
/// returning the selected value or why it selects nothing.
pub fn resolve_selector<'a>(obj: &'a serde_json::Map<String, Value>, selector: &str) -> Result<&'a Value, String> {
    let mut segments = selector.split('.');
    let first = segments.next().unwrap_or_default();
    if first.is_empty() || first.starts_with('[') {
        return Err("a selector must start with a property name".into());
    }
    let mut cur = obj.get(first).ok_or_else(|| format!("{first:?} is not a property of this object"))?;
    for seg in segments {
        if let Some(n) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let i: usize = n.parse().map_err(|_| format!("{seg:?} is not a list index"))?;
            let list = cur.as_array().ok_or_else(|| format!("{seg} applied to {}, not a list", describe(cur)))?;
            cur = list.get(i).ok_or_else(|| format!("index {i} is out of range (list of {})", list.len()))?;
        } else {
            let map = cur.as_object().ok_or_else(|| format!("{seg:?} applied to {}, not an object", describe(cur)))?;
            cur = map.get(seg).ok_or_else(|| format!("{seg:?} is not present"))?;
        }
    }
    Ok(cur)
}
