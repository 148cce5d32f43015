//! MISP events to STIX. Conventions in the [module doc](super).

use std::collections::HashMap;

use serde_json::{Value, json};
use tandem_model::incident::{Date, IncidentExt, deterministic_id, deterministic_uuid, releasability_marking};

use super::{EXTENSION_COMMENT, Mapping, pattern_for, tlp_marking};
use crate::Report;
use crate::acled::import::stix_time;

/// What the importing node decides.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The importing member: distribution 0 ("your organisation only") releases to it alone.
    pub member: String,
    pub mapping: Mapping,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// MISP writes numbers and timestamps as strings or numbers; both are read.
fn int(v: &Value, k: &str) -> Option<i64> {
    match v.get(k)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn flag(v: &Value, k: &str) -> bool {
    match v.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "1" || s == "true",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn is_uuid(s: &str) -> bool {
    tandem_model::StixId::parse(&format!("note--{s}")).is_ok()
}

/// The member and group codes a distribution (with its sharing group) releases to, or why it
/// cannot be mapped.
pub fn distribution_codes(level: i64, sharing_group: &[String], opts: &Options) -> Result<Vec<String>, String> {
    let m = &opts.mapping;
    let named = |codes: &Option<Vec<String>>, what: &str| {
        codes.clone().ok_or_else(|| {
            format!(
                "distribution {level} ({what}) has no releasability in the MISP mapping: refused rather than widened"
            )
        })
    };
    match level {
        0 => Ok(vec![opts.member.clone()]),
        1 => named(&m.community, "this community only"),
        2 => named(&m.connected, "connected communities"),
        3 => named(&m.all, "all communities"),
        4 => sharing_group.iter().find_map(|k| m.sharing_groups.get(k).cloned()).ok_or_else(|| {
            format!(
                "sharing group {sharing_group:?} has no releasability in the MISP mapping: refused rather than widened"
            )
        }),
        other => Err(format!("distribution {other} is not 0-4")),
    }
}

/// The keys a sharing group is known by in the mapping: its uuid, id and name.
fn sharing_group_keys(holder: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(sg) = holder.get("SharingGroup") {
        keys.extend([s(sg, "uuid"), s(sg, "name")].iter().filter(|k| !k.is_empty()).map(|k| k.to_string()));
    }
    if let Some(id) = int(holder, "sharing_group_id").filter(|i| *i != 0) {
        keys.push(id.to_string());
    }
    keys
}

/// A deterministic releasability marking for a set of codes, so one set is one marking.
pub fn rel_marking(codes: &[String]) -> Value {
    let mut sorted: Vec<&str> = codes.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let uuid = deterministic_uuid(&format!("misp-releasability/{}", sorted.join(",")));
    releasability_marking(&uuid, &sorted, None, "2025-11-13T00:00:00.000Z")
}

/// The statement marking a `PAP:*` tag becomes.
pub fn pap_marking(tag: &str) -> Value {
    let name = tag.to_ascii_uppercase();
    json!({
        "type": "marking-definition", "spec_version": "2.1",
        "id": deterministic_id("marking-definition", &format!("misp-pap/{name}")),
        "created": "2025-11-13T00:00:00.000Z", "name": name,
        "definition_type": "statement", "definition": {"statement": name},
    })
}

/// One event's markings and labels from its tags and galaxies, and the marking-definitions to
/// store with them.
struct Tags {
    markings: Vec<String>,
    labels: Vec<String>,
    definitions: Vec<Value>,
}

fn tags(holder: &Value, report: &mut Report) -> Tags {
    let mut t = Tags { markings: Vec::new(), labels: Vec::new(), definitions: Vec::new() };
    for tag in list(holder, "Tag") {
        let name = s(tag, "name");
        if let Some(m) = tlp_marking(name) {
            t.markings.push(m.to_string());
        } else if name.to_ascii_lowercase().starts_with("pap:") {
            let def = pap_marking(name);
            t.markings.push(s(&def, "id").to_string());
            t.definitions.push(def);
        } else if !name.is_empty() {
            t.labels.push(name.to_string());
        }
    }
    for galaxy in list(holder, "Galaxy") {
        for cluster in list(galaxy, "GalaxyCluster") {
            let name = s(cluster, "tag_name");
            if !name.is_empty() && !t.labels.iter().any(|l| l == name) {
                t.labels.push(name.to_string());
            }
            report.lost("GalaxyCluster.description/meta", "a galaxy cluster is carried as its tag_name label only");
        }
    }
    t
}

/// Maps one event to STIX objects (marking-definitions first). `Err` refuses the whole event
/// (no uuid, no timestamp, an unmappable distribution); a bad attribute is refused alone
/// (in `report`, at the event's `index`).
pub fn event_to_stix(event: &Value, index: u64, opts: &Options, report: &mut Report) -> Result<Vec<Value>, String> {
    let uuid = s(event, "uuid");
    if !is_uuid(uuid) {
        return Err(format!("event uuid {uuid:?} is not a UUID"));
    }
    let ts = int(event, "timestamp").ok_or("event timestamp is missing or not Unix seconds")?;
    let modified = stix_time(ts);
    let date =
        Date::parse(s(event, "date")).ok_or_else(|| format!("event date {:?} is not YYYY-MM-DD", s(event, "date")))?;
    let created = std::cmp::min(date.at(0, 0, 0), modified.clone());
    let level = int(event, "distribution").unwrap_or(0);
    let codes = distribution_codes(level, &sharing_group_keys(event), opts)?;

    let mut out: Vec<Value> = Vec::new();
    let rel = rel_marking(&codes);
    let event_tags = tags(event, report);
    let mut markings = event_tags.markings.clone();
    markings.push(s(&rel, "id").to_string());
    out.push(rel);
    out.extend(event_tags.definitions);

    let incident_id = format!("incident--{uuid}");
    let mut incident = json!({
        "type": "incident", "spec_version": "2.1", "id": incident_id,
        "created": created, "modified": modified,
        "name": if s(event, "info").is_empty() { "MISP event" } else { s(event, "info") },
        "object_marking_refs": markings,
    });
    for k in ["threat_level_id", "analysis"] {
        if let Some(v) = int(event, k) {
            incident[format!("x_misp_{k}")] = json!(v.to_string());
        }
    }
    if !event_tags.labels.is_empty() {
        incident["labels"] = json!(event_tags.labels);
    }
    for k in ["Org", "Orgc"] {
        if event.get(k).is_some() {
            report.lost(
                &format!("Event.{k}"),
                "the originator is the importing member, set by the node, never taken from the data",
            );
        }
    }

    // uuid of every MISP attribute or object -> the STIX id it became (for references).
    let mut became: HashMap<String, String> = HashMap::new();
    let mut extension: Option<IncidentExt> = None;
    let mut location_refs = Vec::new();
    let mut attributes: Vec<(&Value, Option<&Value>)> = list(event, "Attribute").iter().map(|a| (a, None)).collect();
    for object in list(event, "Object") {
        let object_uuid = s(object, "uuid");
        if s(object, "name") == "geolocation" {
            match geolocation(object, &created, &markings, opts, report) {
                Ok((loc, own)) => {
                    out.extend(own);
                    let id = s(&loc, "id").to_string();
                    became.insert(object_uuid.to_string(), id.clone());
                    location_refs.push(id);
                    out.push(loc);
                }
                Err(reason) => report.reject(index, object_uuid, format!("geolocation object: {reason}")),
            }
            continue;
        }
        attributes.extend(list(object, "Attribute").iter().map(|a| (a, Some(object))));
    }

    let mut relationships = Vec::new();
    for (attribute, object) in attributes {
        let attr_uuid = s(attribute, "uuid");
        if object.is_none() && s(attribute, "comment") == EXTENSION_COMMENT {
            match serde_json::from_str::<Value>(s(attribute, "value")) {
                Ok(v) => {
                    extension = IncidentExt::from_object(
                        &json!({"extensions": {tandem_model::incident::INCIDENT_EXTENSION_ID: v}}),
                    )
                }
                Err(e) => report.reject(index, attr_uuid, format!("the incident extension attribute is not JSON: {e}")),
            }
            if extension.is_none() {
                report.reject(
                    index,
                    attr_uuid,
                    "the incident extension attribute does not hold Tandem's incident extension",
                );
            }
            continue;
        }
        match attribute_to_stix(attribute, object, &incident_id, &created, &markings, opts, report) {
            Ok((objects, id)) => {
                became.insert(attr_uuid.to_string(), id.clone());
                if let Some(o) = object {
                    became.entry(s(o, "uuid").to_string()).or_insert(id);
                }
                relationships.extend(objects.iter().filter(|o| o["type"] == "relationship").cloned());
                out.extend(objects.into_iter().filter(|o| o["type"] != "relationship"));
            }
            Err(reason) => report.reject(index, attr_uuid, reason),
        }
    }
    for object in list(event, "Object") {
        for reference in list(object, "ObjectReference") {
            let from = became.get(s(object, "uuid"));
            let to = became.get(s(reference, "referenced_uuid"));
            let (Some(from), Some(to)) = (from, to) else {
                report.lost("ObjectReference", "one end became no STIX object (or was refused)");
                continue;
            };
            let kind = s(reference, "relationship_type");
            let stix_kind = if !kind.is_empty()
                && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                kind.to_string()
            } else {
                "related-to".to_string()
            };
            let id = if is_uuid(s(reference, "uuid")) {
                format!("relationship--{}", s(reference, "uuid"))
            } else {
                deterministic_id("relationship", &format!("{from}|{stix_kind}|{to}"))
            };
            let mut r = json!({
                "type": "relationship", "spec_version": "2.1", "id": id,
                "created": created, "modified": int(reference, "timestamp").map(stix_time).unwrap_or(modified.clone()),
                "relationship_type": stix_kind, "source_ref": from, "target_ref": to,
                "object_marking_refs": markings,
            });
            if stix_kind != kind {
                r["x_misp_relationship_type"] = json!(kind);
            }
            relationships.push(r);
        }
    }
    // Each location is also tied to the incident by a plain STIX `located-at`, so an event
    // without Tandem's extension keeps its geolocation.
    for loc in &location_refs {
        relationships.push(json!({
            "type": "relationship", "spec_version": "2.1",
            "id": deterministic_id("relationship", &format!("{incident_id}|located-at|{loc}")),
            "created": created, "modified": created, "relationship_type": "located-at",
            "source_ref": incident_id, "target_ref": loc, "object_marking_refs": markings,
        }));
    }
    if let Some(mut ext) = extension {
        ext.place.location_refs = location_refs;
        ext.attach(&mut incident);
    } else {
        report.lost(
            "incident extension",
            "the event carries no Tandem incident extension: the incident has no ACLED fields",
        );
    }
    out.push(incident);
    out.extend(relationships);
    Ok(out)
}

fn geolocation(
    object: &Value,
    created: &str,
    markings: &[String],
    opts: &Options,
    report: &mut Report,
) -> Result<(Value, Option<Value>), String> {
    let uuid = s(object, "uuid");
    if !is_uuid(uuid) {
        return Err(format!("uuid {uuid:?} is not a UUID"));
    }
    let ts = int(object, "timestamp").ok_or("timestamp missing")?;
    let mut loc = json!({
        "type": "location", "spec_version": "2.1", "id": format!("location--{uuid}"),
        "created": created, "modified": stix_time(ts), "object_marking_refs": markings,
    });
    let mut markings = markings.to_vec();
    let own = own_distribution(object, &mut markings, opts)?;
    loc["object_marking_refs"] = json!(markings);
    for a in list(object, "Attribute") {
        let v = s(a, "value");
        match s(a, "object_relation") {
            "latitude" | "longitude" => {
                let n: f64 = v.parse().map_err(|_| format!("{} {v:?} is not a number", s(a, "object_relation")))?;
                loc[s(a, "object_relation")] = json!(n);
            }
            "city" => loc["city"] = json!(v),
            "region" => loc["administrative_area"] = json!(v),
            "country" => loc["x_misp_country"] = json!(v),
            "countrycode" => loc["country"] = json!(v),
            "text" | "address" => loc["name"] = json!(v),
            other => report.lost(&format!("geolocation.{other}"), "STIX location has no such property"),
        }
    }
    if loc.get("latitude").is_none() && loc.get("country").is_none() && loc.get("administrative_area").is_none() {
        // STIX needs a point, a country or a region; MISP's free-text country is kept aside.
        if let Some(c) = loc.get("x_misp_country").cloned() {
            loc["region"] = json!("unknown");
            loc["name"] = c;
        }
    }
    Ok((loc, own))
}

/// Adds an attribute's or object's own releasability (distribution other than 5) to `markings`.
fn own_distribution(holder: &Value, markings: &mut Vec<String>, opts: &Options) -> Result<Option<Value>, String> {
    match int(holder, "distribution") {
        None | Some(5) => Ok(None),
        Some(level) => {
            let marking = rel_marking(&distribution_codes(level, &sharing_group_keys(holder), opts)?);
            markings.push(s(&marking, "id").to_string());
            Ok(Some(marking))
        }
    }
}

fn attribute_to_stix(
    attribute: &Value,
    object: Option<&Value>,
    incident_id: &str,
    created: &str,
    markings: &[String],
    opts: &Options,
    report: &mut Report,
) -> Result<(Vec<Value>, String), String> {
    let uuid = s(attribute, "uuid");
    if !is_uuid(uuid) {
        return Err(format!("attribute uuid {uuid:?} is not a UUID"));
    }
    let (ty, value) = (s(attribute, "type"), s(attribute, "value"));
    if ty.is_empty() || value.is_empty() {
        return Err("attribute without type or value".into());
    }
    let ts = int(attribute, "timestamp").ok_or("attribute timestamp is missing or not Unix seconds")?;
    let modified = stix_time(ts);
    let mut markings = markings.to_vec();
    let mut out = Vec::new();
    if let Some(m) = own_distribution(attribute, &mut markings, opts)? {
        out.push(m);
    }
    let attr_tags = tags(attribute, report);
    markings.extend(attr_tags.markings);
    out.extend(attr_tags.definitions);
    let created = std::cmp::min(created.to_string(), modified.clone());
    let mut stix = match pattern_for(ty, value) {
        Some(pattern) => json!({
            "type": "indicator", "spec_version": "2.1", "id": format!("indicator--{uuid}"),
            "created": created, "modified": modified, "name": format!("{ty}: {value}"),
            "pattern": pattern, "pattern_type": "stix", "valid_from": created,
        }),
        None => json!({
            "type": "note", "spec_version": "2.1", "id": format!("note--{uuid}"),
            "created": created, "modified": modified, "content": value, "object_refs": [incident_id],
        }),
    };
    stix["object_marking_refs"] = json!(markings);
    stix["x_misp_type"] = json!(ty);
    stix["x_misp_category"] = json!(s(attribute, "category"));
    stix["x_misp_to_ids"] = json!(flag(attribute, "to_ids"));
    if !s(attribute, "comment").is_empty() {
        stix["description"] = json!(s(attribute, "comment"));
    }
    if !attr_tags.labels.is_empty() {
        stix["labels"] = json!(attr_tags.labels);
    }
    if let Some(o) = object {
        stix["x_misp_object_uuid"] = json!(s(o, "uuid"));
        stix["x_misp_object_name"] = json!(s(o, "name"));
        stix["x_misp_object_relation"] = json!(s(attribute, "object_relation"));
    }
    if flag(attribute, "deleted") {
        // A deleted attribute is a revocation: copies already shared learn of it.
        stix["revoked"] = json!(true);
        report.count("revocations", 1);
    }
    let id = s(&stix, "id").to_string();
    let is_indicator = stix["type"] == "indicator";
    for sighting in list(attribute, "Sighting") {
        if !is_indicator {
            report.lost("Sighting", "a sighting of an attribute without a STIX pattern has no indicator to be of");
            continue;
        }
        let when = int(sighting, "date_sighting").or(int(sighting, "timestamp")).unwrap_or(ts);
        let sid = if is_uuid(s(sighting, "uuid")) {
            format!("sighting--{}", s(sighting, "uuid"))
        } else {
            deterministic_id("sighting", &format!("{id}/{when}"))
        };
        let t = stix_time(when);
        let mut sg = json!({
            "type": "sighting", "spec_version": "2.1", "id": sid, "created": t, "modified": t,
            "sighting_of_ref": id, "first_seen": t, "last_seen": t, "count": 1,
            "object_marking_refs": markings,
        });
        if let Some(kind) = int(sighting, "type").filter(|k| *k != 0) {
            // MISP sighting type 1 is a false positive, 2 an expiration.
            sg["x_misp_sighting_type"] = json!(kind.to_string());
        }
        out.push(sg);
    }
    if is_indicator {
        out.push(json!({
            "type": "relationship", "spec_version": "2.1",
            "id": deterministic_id("relationship", &format!("{id}|indicates|{incident_id}")),
            "created": created, "modified": created, "relationship_type": "indicates",
            "source_ref": id, "target_ref": incident_id, "object_marking_refs": markings,
        }));
    }
    for k in ["first_seen", "last_seen"] {
        if attribute.get(k).is_some_and(|v| !v.is_null()) {
            report.lost(&format!("Attribute.{k}"), "not carried onto the indicator or note");
        }
    }
    out.push(stix);
    Ok((out, id))
}
