//! Rules of the STIX 2.1 meta objects: `marking-definition`, `language-content` and
//! `extension-definition`.
//!
//! Marking-definitions decide who may see what, so their definition must be well formed and the
//! TLP 1.0 definitions must be the published objects, not look-alikes with other ids.

use serde_json::Value;

use super::common::{check_external_references, check_millis, check_sdo_common};
use super::ctx::{Ctx, Target, describe};
use crate::tlp;

const EXTENSION_TYPES: &[&str] =
    &["new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"];

pub(crate) fn check_meta(cx: &mut Ctx<'_>, ty: &str) {
    match ty {
        "marking-definition" => marking_definition(cx),
        "language-content" => {
            check_sdo_common(cx);
            cx.reference(
                "object_ref",
                true,
                Target { desc: "an object other than a language-content", ok: |t| t != "language-content" },
            );
            cx.timestamp("object_modified", false);
            match cx.get("contents") {
                None => cx.err("contents", "required property is missing"),
                Some(Value::Object(m)) if m.is_empty() => cx.err("contents", "must contain at least one language"),
                Some(Value::Object(m)) => {
                    for (lang, v) in m {
                        if !v.is_object() {
                            cx.err(
                                format!("contents.{lang}"),
                                format!("must be a dictionary of translated properties, found {}", describe(v)),
                            );
                        }
                    }
                }
                Some(v) => cx.err("contents", format!("must be a dictionary, found {}", describe(v))),
            }
        }
        "extension-definition" => {
            check_sdo_common(cx);
            if !cx.has("created_by_ref") {
                cx.err("created_by_ref", "required property is missing");
            }
            cx.string("name", true);
            cx.string("schema", true);
            cx.string("version", true);
            let types = cx.string_list("extension_types", true);
            for (i, t) in types.iter().enumerate() {
                if !EXTENSION_TYPES.contains(t) {
                    cx.err(
                        format!("extension_types.[{i}]"),
                        format!("must be one of {}, found {t:?}", EXTENSION_TYPES.join(", ")),
                    );
                }
            }
            cx.string_list("extension_properties", false);
            if cx.has("extension_properties") && !types.contains(&"toplevel-property-extension") {
                cx.err(
                    "extension_properties",
                    "may only be used when extension_types contains toplevel-property-extension",
                );
            }
        }
        _ => {}
    }
}

fn marking_definition(cx: &mut Ctx<'_>) {
    check_millis(cx, "created", true);
    if cx.has("modified") {
        cx.err("modified", "marking-definitions are never versioned and carry no modified");
    }
    cx.reference("created_by_ref", false, Target::IDENTITY);
    cx.string("name", false);
    check_external_references(cx);

    let def_type = cx.string("definition_type", false);
    let definition = cx.get("definition");
    match (def_type, definition) {
        (None, None) => {
            if !cx.has("extensions") {
                cx.err("", "a marking-definition needs definition_type and definition, or an extension");
            }
            return;
        }
        (Some(_), None) => {
            cx.err("definition", "required when definition_type is present");
            return;
        }
        (None, Some(_)) => {
            if cx.get("definition_type").is_none() {
                cx.err("definition_type", "required when definition is present");
            }
            return;
        }
        (Some(_), Some(_)) => {}
    }
    let (Some(def_type), Some(definition)) = (def_type, definition) else {
        return;
    };
    let Some(def) = definition.as_object() else {
        cx.err("definition", format!("must be an object, found {}", describe(definition)));
        return;
    };
    match def_type {
        "statement" => {
            cx.string_in(def, "definition", "statement", true);
        }
        "tlp" => {
            let Some(level) = cx.string_in(def, "definition", "tlp", true) else {
                return;
            };
            let expected = match level {
                "white" => tlp::TLP1_WHITE,
                "green" => tlp::TLP1_GREEN,
                "amber" => tlp::TLP1_AMBER,
                "red" => tlp::TLP1_RED,
                other => {
                    cx.err("definition.tlp", format!("must be white, green, amber or red, found {other:?}"));
                    return;
                }
            };
            if cx.get("id").and_then(Value::as_str) != Some(expected) {
                cx.err("id", format!("a TLP {level} marking-definition must be the published one, {expected}"));
            }
        }
        _ => {}
    }
}
