//! STIX incidents (with what hangs off them) to MISP events that `pymisp` loads. Conventions in
//! the [module doc](super); releasability maps back to the distribution whose mapped codes are
//! exactly the object's, else to 0 ("your organisation only"): an export never widens.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value, json};
use tandem_model::incident::{INCIDENT_EXTENSION_ID, IncidentExt, Releasability, deterministic_uuid};

use super::import::Options;
use super::{EXTENSION_COMMENT, GEOLOCATION_TEMPLATE, tlp_tag, value_of_pattern};
use crate::Report;

/// What an incident's event is made of besides the incident: the objects the reader may see
/// that belong to it.
#[derive(Debug)]
pub struct Related<'a> {
    /// Locations the incident's place names.
    pub locations: Vec<&'a Value>,
    /// Indicators that `indicates` it and notes about it.
    pub attributes: Vec<&'a Value>,
    /// Sightings of those indicators.
    pub sightings: Vec<&'a Value>,
    /// Relationships between those objects (ObjectReferences).
    pub relationships: Vec<&'a Value>,
    /// Marking-definitions by id (to read releasability back).
    pub markings: &'a HashMap<String, Value>,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn unix(ts: &str) -> String {
    tandem_model::Timestamp::parse(ts).map(|t| t.as_micros().div_euclid(1_000_000).to_string()).unwrap_or_default()
}

fn uuid_of(id: &str) -> &str {
    id.split_once("--").map(|(_, u)| u).unwrap_or(id)
}

fn marking_refs(o: &Value) -> Vec<String> {
    o.get("object_marking_refs")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// `(distribution, sharing_group_id)` for an object's markings.
fn distribution(o: &Value, related: &Related<'_>, opts: &Options, report: &mut Report) -> (String, String) {
    let mut rel: Option<BTreeSet<String>> = None;
    let mut open_tlp = false;
    for id in marking_refs(o) {
        if matches!(tlp_tag(&id), Some("tlp:clear" | "tlp:green")) {
            open_tlp = true;
        }
        let Some(r) = related.markings.get(&id).and_then(Releasability::from_marking) else { continue };
        if r.classification.is_some() {
            report.lost("releasability.classification", "MISP has no classification: use a sharing group per level");
        }
        let set: BTreeSet<String> = r.rel_to.into_iter().collect();
        rel = Some(match rel {
            None => set,
            Some(prev) => prev.intersection(&set).cloned().collect(),
        });
    }
    let m = &opts.mapping;
    let same = |codes: &Option<Vec<String>>, set: &BTreeSet<String>| {
        codes.as_ref().is_some_and(|c| c.iter().cloned().collect::<BTreeSet<_>>() == *set)
    };
    let Some(set) = rel else {
        if open_tlp && m.all.is_some() {
            return ("3".into(), "0".into());
        }
        if open_tlp {
            report.lost(
                "distribution",
                "TLP:CLEAR/GREEN to every member has no mapped MISP distribution: exported as 0, never wider",
            );
        }
        return ("0".into(), "0".into());
    };
    if set.len() == 1 && set.contains(&opts.member) {
        return ("0".into(), "0".into());
    }
    for (level, codes) in [("1", &m.community), ("2", &m.connected), ("3", &m.all)] {
        if same(codes, &set) {
            return (level.into(), "0".into());
        }
    }
    if let Some((key, _)) = m
        .sharing_groups
        .iter()
        .find(|(k, c)| k.parse::<u64>().is_ok() && c.iter().cloned().collect::<BTreeSet<_>>() == set)
    {
        return ("4".into(), key.clone());
    }
    report.lost(
        "distribution",
        "releasability that no mapped distribution or numbered sharing group equals: exported as 0 (your organisation only), never wider",
    );
    ("0".into(), "0".into())
}

fn tags(o: &Value, related: &Related<'_>) -> Vec<Value> {
    let mut out = Vec::new();
    for id in marking_refs(o) {
        if let Some(t) = tlp_tag(&id) {
            out.push(json!({"name": t}));
        } else if let Some(m) = related.markings.get(&id)
            && s(m, "definition_type") == "statement"
            && s(m, "name").starts_with("PAP:")
        {
            out.push(json!({"name": s(m, "name")}));
        }
    }
    for l in o.get("labels").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        out.push(json!({"name": l}));
    }
    out
}

/// One incident as a MISP event (`{"Event": …}`).
pub fn incident_to_event(
    incident: &Value,
    related: &Related<'_>,
    opts: &Options,
    report: &mut Report,
) -> Result<Value, String> {
    if incident["type"] != "incident" {
        return Err("not an incident".into());
    }
    let id = s(incident, "id");
    let modified = s(incident, "modified");
    let ext = IncidentExt::from_object(incident);
    let date = match &ext {
        Some(e) => e.time.start.unwrap_or(e.time.end).to_string(),
        None => s(incident, "created").get(..10).unwrap_or_default().to_string(),
    };
    let (dist, sg) = distribution(incident, related, opts, report);
    let mut event = json!({
        "uuid": uuid_of(id), "info": s(incident, "name"), "date": date, "timestamp": unix(modified),
        "published": false, "distribution": dist, "sharing_group_id": sg,
        "analysis": incident.get("x_misp_analysis").and_then(Value::as_str).unwrap_or("0"),
        "threat_level_id": incident.get("x_misp_threat_level_id").and_then(Value::as_str).unwrap_or("4"),
        "Tag": tags(incident, related),
    });
    if incident.get("description").is_some() {
        report.lost("description", "MISP's event has no description; info holds the name");
    }
    let mut attributes: Vec<Value> = Vec::new();
    if ext.is_some() {
        let mut v = incident["extensions"][INCIDENT_EXTENSION_ID].clone();
        if let Some(place) = v.get_mut("place").and_then(Value::as_object_mut) {
            place.remove("location_refs");
        }
        attributes.push(json!({
            "uuid": deterministic_uuid(&format!("{id}/misp-extension")), "type": "text", "category": "Other",
            "value": v.to_string(), "comment": EXTENSION_COMMENT, "to_ids": false,
            "distribution": "5", "timestamp": unix(modified),
        }));
    }
    let mut objects: Map<String, Value> = Map::new();
    let incident_markings = marking_refs(incident);
    for a in &related.attributes {
        let (ty, value, category, to_ids) = if a["type"] == "indicator" {
            let v = value_of_pattern(s(a, "pattern"));
            let Some(v) = v else {
                report.lost("indicator.pattern", "only patterns MISP attributes map to are exported");
                continue;
            };
            (s(a, "x_misp_type").to_string(), v, "Network activity", true)
        } else {
            let ty = if s(a, "x_misp_type").is_empty() { "text" } else { s(a, "x_misp_type") };
            (ty.to_string(), s(a, "content").to_string(), "Other", false)
        };
        if ty.is_empty() {
            report.lost("indicator", "an indicator not made from a MISP attribute has no MISP type");
            continue;
        }
        let category = if s(a, "x_misp_category").is_empty() { category } else { s(a, "x_misp_category") };
        let to_ids = a.get("x_misp_to_ids").and_then(Value::as_bool).unwrap_or(to_ids);
        let (dist, sg) = if marking_refs(a).iter().filter(|m| !incident_markings.contains(m)).count() == 0 {
            ("5".to_string(), "0".to_string())
        } else {
            distribution(a, related, opts, report)
        };
        let sightings: Vec<Value> = related
            .sightings
            .iter()
            .filter(|sg| s(sg, "sighting_of_ref") == s(a, "id"))
            .map(|sg| {
                json!({"uuid": uuid_of(s(sg, "id")), "date_sighting": unix(s(sg, "first_seen")),
                       "type": sg.get("x_misp_sighting_type").and_then(Value::as_str).unwrap_or("0")})
            })
            .collect();
        let mut attr = json!({
            "uuid": uuid_of(s(a, "id")), "type": ty, "category": category, "value": value,
            "to_ids": to_ids, "comment": s(a, "description"), "timestamp": unix(s(a, "modified")),
            "distribution": dist, "sharing_group_id": sg,
            "deleted": a.get("revoked").and_then(Value::as_bool).unwrap_or(false),
            "Tag": tags(a, related),
        });
        if !sightings.is_empty() {
            attr["Sighting"] = json!(sightings);
        }
        let object_uuid = s(a, "x_misp_object_uuid");
        if object_uuid.is_empty() {
            attributes.push(attr);
            continue;
        }
        attr["object_relation"] = json!(s(a, "x_misp_object_relation"));
        let object = objects.entry(object_uuid.to_string()).or_insert_with(|| {
            json!({"uuid": object_uuid, "name": s(a, "x_misp_object_name"), "meta-category": "misc",
                   "timestamp": unix(s(a, "modified")), "distribution": "5", "sharing_group_id": "0",
                   "Attribute": [], "ObjectReference": []})
        });
        if let Some(list) = object["Attribute"].as_array_mut() {
            list.push(attr);
        }
    }
    for loc in &related.locations {
        let uuid = uuid_of(s(loc, "id"));
        let mut attrs = Vec::new();
        let mut add = |relation: &str, ty: &str, value: String| {
            attrs.push(json!({"uuid": deterministic_uuid(&format!("{uuid}/{relation}")), "object_relation": relation,
                              "type": ty, "category": "Other", "value": value, "to_ids": false,
                              "timestamp": unix(s(loc, "modified")), "distribution": "5", "sharing_group_id": "0"}));
        };
        for (k, relation, ty) in [("latitude", "latitude", "float"), ("longitude", "longitude", "float")] {
            if let Some(n) = loc.get(k).and_then(Value::as_f64) {
                add(relation, ty, n.to_string());
            }
        }
        for (k, relation) in [
            ("city", "city"),
            ("administrative_area", "region"),
            ("x_misp_country", "country"),
            ("country", "countrycode"),
            ("name", "text"),
        ] {
            if !s(loc, k).is_empty() {
                add(relation, "text", s(loc, k).to_string());
            }
        }
        objects.insert(
            uuid.to_string(),
            json!({"uuid": uuid, "name": "geolocation", "meta-category": "misc",
                   "template_uuid": GEOLOCATION_TEMPLATE.0, "template_version": GEOLOCATION_TEMPLATE.1.to_string(),
                   "timestamp": unix(s(loc, "modified")), "distribution": "5", "sharing_group_id": "0",
                   "Attribute": attrs, "ObjectReference": []}),
        );
    }
    // MISP references hang off objects: a relationship from an object (or a location) is one.
    let owner: HashMap<&str, &str> = related
        .attributes
        .iter()
        .filter(|a| !s(a, "x_misp_object_uuid").is_empty())
        .map(|a| (s(a, "id"), s(a, "x_misp_object_uuid")))
        .chain(related.locations.iter().map(|l| (s(l, "id"), uuid_of(s(l, "id")))))
        .collect();
    for r in &related.relationships {
        let (Some(from), Some(to)) = (owner.get(s(r, "source_ref")), owner.get(s(r, "target_ref"))) else {
            report.lost("relationship", "MISP references join objects only; this one joins a plain attribute");
            continue;
        };
        let kind = r.get("x_misp_relationship_type").and_then(Value::as_str).unwrap_or(s(r, "relationship_type"));
        if let Some(list) = objects.get_mut(*from).and_then(|o| o["ObjectReference"].as_array_mut()) {
            list.push(json!({"uuid": uuid_of(s(r, "id")), "object_uuid": from, "referenced_uuid": to,
                             "relationship_type": kind, "timestamp": unix(s(r, "modified"))}));
        }
    }
    event["Attribute"] = json!(attributes);
    event["Object"] = Value::Array(objects.into_values().collect());
    Ok(json!({"Event": event}))
}
