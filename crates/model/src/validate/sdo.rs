//! Type-specific rules of the STIX 2.1 domain objects (SDOs): required properties, value
//! ranges, co-constraints and the types their references may point at.

use serde_json::Value;

use super::ctx::{Ctx, Target, describe, index, target};

const OPINIONS: &[&str] = &["strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"];

pub(crate) fn check_sdo(cx: &mut Ctx<'_>, ty: &str) {
    match ty {
        "attack-pattern" | "course-of-action" | "incident" | "vulnerability" => {
            cx.string("name", true);
        }
        "campaign" | "intrusion-set" | "threat-actor" => {
            cx.string("name", true);
            seen(cx);
        }
        "infrastructure" => {
            cx.string("name", true);
            seen(cx);
        }
        "tool" => {
            cx.string("name", true);
        }
        "grouping" => {
            cx.string("context", true);
            cx.ref_list("object_refs", true, Target::ANY);
        }
        "identity" => {
            cx.string("name", true);
            cx.string("identity_class", false);
        }
        "indicator" => {
            cx.string("pattern", true);
            cx.string("pattern_type", true);
            cx.timestamp("valid_from", true);
            cx.timestamp("valid_until", false);
            cx.order("valid_from", "valid_until", true);
        }
        "location" => location(cx),
        "malware" => {
            if cx.boolean("is_family", true) == Some(true) {
                cx.string("name", true);
            } else {
                cx.string("name", false);
            }
            seen(cx);
            cx.ref_list("operating_system_refs", false, Target::SOFTWARE);
            cx.ref_list("sample_refs", false, target!("a file or artifact", "file", "artifact"));
        }
        "malware-analysis" => {
            cx.string("product", true);
            cx.string("result", false);
            cx.any_of(&["result", "analysis_sco_refs"]);
            cx.reference("host_vm_ref", false, Target::SOFTWARE);
            cx.reference("operating_system_ref", false, Target::SOFTWARE);
            cx.ref_list("installed_software_refs", false, Target::SOFTWARE);
            cx.ref_list("analysis_sco_refs", false, Target::SCO);
            cx.reference(
                "sample_ref",
                false,
                target!("a file, network-traffic or artifact", "file", "network-traffic", "artifact"),
            );
            for t in ["submitted", "analysis_started", "analysis_ended"] {
                cx.timestamp(t, false);
            }
            cx.order("analysis_started", "analysis_ended", false);
        }
        "note" => {
            cx.string("content", true);
            cx.ref_list("object_refs", true, Target::ANY);
        }
        "observed-data" => observed_data(cx),
        "opinion" => {
            if let Some(o) = cx.string("opinion", true)
                && !OPINIONS.contains(&o)
            {
                cx.err("opinion", format!("must be one of {}, found {o:?}", OPINIONS.join(", ")));
            }
            cx.ref_list("object_refs", true, Target::ANY);
        }
        "report" => {
            cx.string("name", true);
            cx.timestamp("published", true);
            cx.ref_list("object_refs", true, Target::ANY);
        }
        // Custom (x-) and extension-defined SDOs: common rules only.
        _ => {}
    }
    if matches!(ty, "attack-pattern" | "indicator" | "infrastructure" | "malware" | "tool") {
        kill_chain_phases(cx);
    }
}

/// `first_seen`/`last_seen`: timestamps, last not before first.
fn seen(cx: &mut Ctx<'_>) {
    cx.timestamp("first_seen", false);
    cx.timestamp("last_seen", false);
    cx.order("first_seen", "last_seen", false);
}

fn kill_chain_phases(cx: &mut Ctx<'_>) {
    let Some(items) = cx.list_in(cx.obj, "", "kill_chain_phases", false) else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let base = index("kill_chain_phases", i);
        match item.as_object() {
            Some(k) => {
                cx.string_in(k, &base, "kill_chain_name", true);
                cx.string_in(k, &base, "phase_name", true);
            }
            None => cx.err(base, format!("must be a kill chain phase object, found {}", describe(item))),
        }
    }
}

fn location(cx: &mut Ctx<'_>) {
    cx.number("latitude", -90.0, 90.0);
    cx.number("longitude", -180.0, 180.0);
    if let Some(p) = cx.get("precision")
        && p.as_f64().is_none()
    {
        cx.err("precision", format!("must be a number, found {}", describe(p)));
    }
    for p in ["region", "country", "administrative_area", "city", "street_address", "postal_code"] {
        cx.string(p, false);
    }
    let (lat, lon) = (cx.has("latitude"), cx.has("longitude"));
    if lat != lon {
        let missing = if lat { "longitude" } else { "latitude" };
        cx.err(missing, "latitude and longitude must be present together");
    }
    if cx.has("precision") && !(lat && lon) {
        cx.err("precision", "precision requires both latitude and longitude");
    }
    if !(cx.has("region") || cx.has("country") || (lat && lon)) {
        cx.err("", "a location needs at least one of region, country, or latitude and longitude");
    }
}

fn observed_data(cx: &mut Ctx<'_>) {
    cx.timestamp("first_observed", true);
    cx.timestamp("last_observed", true);
    cx.order("first_observed", "last_observed", false);
    cx.integer("number_observed", true, Some(1), Some(999_999_999));
    match (cx.has("objects"), cx.has("object_refs")) {
        (true, true) => cx.err("objects", "exactly one of objects or object_refs must be present, found both"),
        (false, false) => cx.err("", "exactly one of objects or object_refs must be present, found neither"),
        _ => {}
    }
    cx.ref_list("object_refs", false, Target::SCO_OR_SRO);
    if let Some(v) = cx.get("objects") {
        match v {
            Value::Object(m) if m.is_empty() => cx.err("objects", "must contain at least one object"),
            Value::Object(m) => {
                for (k, o) in m {
                    if o.get("type").and_then(Value::as_str).is_none() {
                        cx.err(format!("objects.{k}"), "each observed object must be an object with a type");
                    }
                }
            }
            other => cx.err("objects", format!("must be a dictionary, found {}", describe(other))),
        }
    }
}
