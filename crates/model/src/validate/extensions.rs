//! The `extensions` dictionary: which keys are allowed, the `extension_type` of
//! extension-definition-keyed entries, and the minimum content of the predefined SCO extensions.
//!
//! Tandem carries its own domain data in property extensions, so unknown extension content is
//! kept as is; only the envelope STIX defines is checked here.

use serde_json::{Map, Value};

use super::ctx::{Ctx, describe, join, target};
use super::hashes::check_hashes;

const EXTENSION_TYPES: &[&str] =
    &["new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"];

/// The predefined extensions and the SCO type each belongs to.
const PREDEFINED: &[(&str, &str)] = &[
    ("archive-ext", "file"),
    ("ntfs-ext", "file"),
    ("pdf-ext", "file"),
    ("raster-image-ext", "file"),
    ("windows-pebinary-ext", "file"),
    ("http-request-ext", "network-traffic"),
    ("icmp-ext", "network-traffic"),
    ("socket-ext", "network-traffic"),
    ("tcp-ext", "network-traffic"),
    ("unix-account-ext", "user-account"),
    ("windows-process-ext", "process"),
    ("windows-service-ext", "process"),
];

pub(crate) fn is_extension_definition_id(key: &str) -> bool {
    key.strip_prefix("extension-definition--").is_some() && crate::StixId::parse(key).is_ok()
}

pub(crate) fn check_extensions(cx: &mut Ctx<'_>) {
    let Some(v) = cx.get("extensions") else {
        return;
    };
    let Some(exts) = v.as_object() else {
        cx.err("extensions", format!("must be a dictionary, found {}", describe(v)));
        return;
    };
    if exts.is_empty() {
        cx.err("extensions", "must contain at least one extension when present");
    }
    let ty = cx.ty();
    let only_definitions = ty == "marking-definition";
    for (key, value) in exts {
        let path = join("extensions", key);
        let Some(ext) = value.as_object() else {
            cx.err(path, format!("an extension must be an object, found {}", describe(value)));
            continue;
        };
        if key.starts_with("extension-definition--") {
            if !is_extension_definition_id(key) {
                cx.err(path, "key is not a valid extension-definition identifier");
                continue;
            }
            match ext.get("extension_type") {
                None => cx.err(join(&path, "extension_type"), "required property is missing"),
                Some(Value::String(s)) if EXTENSION_TYPES.contains(&s.as_str()) => {}
                Some(other) => cx.err(
                    join(&path, "extension_type"),
                    format!("must be one of {}, found {other}", EXTENSION_TYPES.join(", ")),
                ),
            }
        } else if let Some((_, owner)) = PREDEFINED.iter().find(|(name, _)| name == key) {
            if only_definitions || *owner != ty {
                cx.err(path, format!("{key} is defined for {owner} objects only"));
                continue;
            }
            check_predefined(cx, key, &path);
        } else if only_definitions {
            cx.err(path, "marking-definition extensions must be keyed by an extension-definition id");
        } else if key.ends_with("-ext") && crate::id::is_valid_type_name(key) {
            // Deprecated STIX 2.0-style custom extension: kept, as the reference validator does.
        } else {
            cx.err(path, "extension keys must be an extension-definition id or a predefined extension name");
        }
    }
}

fn check_predefined(cx: &mut Ctx<'_>, key: &str, path: &str) {
    // Borrow the extension map with the object's lifetime for the typed readers.
    let obj = cx.obj;
    let Some(ext): Option<&Map<String, Value>> =
        obj.get("extensions").and_then(|e| e.get(key)).and_then(Value::as_object)
    else {
        return;
    };
    let any_of = |cx: &mut Ctx<'_>, props: &[&str]| {
        if !props.iter().any(|p| ext.contains_key(*p)) {
            cx.err(path, format!("at least one of {} must be present", props.join(", ")));
        }
    };
    match key {
        "archive-ext" => {
            cx.ref_list_in(ext, path, "contains_refs", true, target!("a file or directory", "file", "directory"))
        }
        "ntfs-ext" => {
            any_of(cx, &["sid", "alternate_data_streams"]);
            if let Some(items) = cx.list_in(ext, path, "alternate_data_streams", false) {
                for (i, item) in items.iter().enumerate() {
                    let base = super::ctx::index(&join(path, "alternate_data_streams"), i);
                    match item.as_object() {
                        Some(ads) => {
                            cx.string_in(ads, &base, "name", true);
                            if let Some(h) = ads.get("hashes") {
                                check_hashes(cx, &join(&base, "hashes"), h);
                            }
                        }
                        None => cx.err(base, format!("must be an object, found {}", describe(item))),
                    }
                }
            }
        }
        "pdf-ext" => any_of(cx, &["version", "is_optimized", "document_info_dict", "pdfid0", "pdfid1"]),
        "raster-image-ext" => {
            any_of(cx, &["image_height", "image_width", "bits_per_pixel", "image_compression_algorithm", "exif_tags"])
        }
        "windows-pebinary-ext" => {
            cx.string_in(ext, path, "pe_type", true);
            if let Some(h) = ext.get("file_header_hashes") {
                check_hashes(cx, &join(path, "file_header_hashes"), h);
            }
        }
        "http-request-ext" => {
            cx.string_in(ext, path, "request_method", true);
            cx.string_in(ext, path, "request_value", true);
            if let Some(h) = ext.get("request_header") {
                request_header(cx, &join(path, "request_header"), h);
            }
            cx.reference_in(ext, path, "message_body_data_ref", false, target!("an artifact", "artifact"));
        }
        "icmp-ext" => {
            cx.field(ext, path, "icmp_type_hex", true);
            cx.field(ext, path, "icmp_code_hex", true);
        }
        "socket-ext" => {
            cx.string_in(ext, path, "address_family", true);
        }
        "tcp-ext" => any_of(cx, &["src_flags_hex", "dst_flags_hex"]),
        "windows-service-ext" => {
            if ext.is_empty() {
                cx.err(path, "must contain at least one property");
            }
            cx.ref_list_in(ext, path, "service_dll_refs", false, target!("a file", "file"));
        }
        _ => {
            if ext.is_empty() {
                cx.err(path, "must contain at least one property");
            }
        }
    }
}

/// `request_header`: header names to the list of their values (a header may repeat).
fn request_header(cx: &mut Ctx<'_>, path: &str, v: &Value) {
    let Some(map) = v.as_object() else {
        cx.err(path, format!("must be a dictionary, found {}", describe(v)));
        return;
    };
    for (name, values) in map {
        let ok = values.as_array().is_some_and(|a| a.iter().all(Value::is_string));
        if !ok {
            cx.err(join(path, name), "each header value must be a list of strings (a header may repeat)");
        }
    }
}
