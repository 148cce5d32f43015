//! The MISP mapping on a fixture written for these tests (shapes read from the MISP core
//! format): what an event becomes, what is refused rather than widened, and a MISP → STIX → MISP
//! round trip compared field by field.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::export::{Related, incident_to_event};
use super::import::{Options, event_to_stix, rel_marking};
use super::*;
use crate::Report;

const FIXTURE: &str = include_str!("../../fixtures/misp_event.json");

fn options() -> Options {
    Options {
        member: "USA".into(),
        mapping: Mapping {
            community: Some(vec!["USA".into(), "IRQ".into()]),
            sharing_groups: [("7".to_string(), vec!["IRQ".to_string()])].into(),
            ..Mapping::default()
        },
    }
}

/// The events of a MISP document, read by the streaming reader imports use.
fn events(doc: Value) -> Vec<Value> {
    let mut events = Vec::new();
    crate::stream::for_each_misp_event(doc.to_string().as_bytes(), |_, e| {
        events.push(e);
        Ok::<(), ()>(())
    })
    .expect("a MISP document");
    events
}

fn event() -> Value {
    events(serde_json::from_str(FIXTURE).expect("fixture json")).remove(0)
}

fn import(event: &Value, opts: &Options) -> (Result<Vec<Value>, String>, Report) {
    let mut report = Report::default();
    (event_to_stix(event, 0, opts, &mut report), report)
}

fn by_id<'a>(objects: &'a [Value], id: &str) -> &'a Value {
    objects.iter().find(|o| o["id"] == id).unwrap_or_else(|| panic!("{id} missing"))
}

#[test]
fn an_event_becomes_an_incident_with_its_attributes_objects_and_markings() {
    let (objects, report) = import(&event(), &options());
    let objects = objects.expect("imports");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    for o in &objects {
        assert!(tandem_model::check_object(o).is_ok(), "{o}: {:?}", tandem_model::check_object(o).err());
    }
    let incident = by_id(&objects, "incident--5f0c7d52-3a1e-4b8f-9c2d-6e4a1b3c5d70");
    let community = rel_marking(&["USA".into(), "IRQ".into()]);
    let markings = incident["object_marking_refs"].as_array().expect("markings");
    assert!(markings.contains(&json!(tandem_model::tlp::TLP2_AMBER)));
    assert!(markings.contains(&community["id"]));
    assert!(markings.contains(&import::pap_marking("PAP:GREEN")["id"]));
    assert_eq!(incident["modified"], "2025-11-13T02:13:20.000Z");
    let labels = incident["labels"].as_array().expect("labels");
    assert!(labels.contains(&json!("misp-galaxy:threat-actor=\"Islamic State\"")));
    let ip = by_id(&objects, "indicator--a1b2c3d4-0001-4a5b-8c6d-7e8f9a0b1c2d");
    assert_eq!(ip["pattern"], "[ipv4-addr:value = '203.0.113.7']");
    let deleted = by_id(&objects, "indicator--a1b2c3d4-0002-4a5b-8c6d-7e8f9a0b1c2d");
    assert_eq!(deleted["revoked"], true);
    // Its own distribution 0 narrows it to the importing member, on top of the event's.
    let own = rel_marking(&["USA".into()]);
    assert!(
        deleted["object_marking_refs"]
            .as_array()
            .is_some_and(|m| m.contains(&own["id"]) && m.contains(&community["id"]))
    );
    assert_eq!(by_id(&objects, "note--a1b2c3d4-0003-4a5b-8c6d-7e8f9a0b1c2d")["content"], "Two passengers killed.");
    let loc = by_id(&objects, "location--c1b2c3d4-0001-4a5b-8c6d-7e8f9a0b1c2d");
    assert_eq!((loc["latitude"].as_f64(), loc["country"].as_str()), (Some(35.0142), Some("SY")));
    assert!(objects.iter().any(|o| o["type"] == "sighting" && o["sighting_of_ref"] == ip["id"]));
    assert!(objects.iter().any(|o| o["relationship_type"] == "located-at" && o["target_ref"] == loc["id"]));
    assert!(report.not_carried.contains_key("GalaxyCluster.description/meta"));
}

#[test]
fn unmapped_distributions_are_refused_not_widened() {
    let mut all = event();
    all["distribution"] = json!("3");
    let (result, _) = import(&all, &options());
    assert!(result.unwrap_err().contains("refused rather than widened"));
    // An attribute whose sharing group is not mapped is refused alone; the rest imports.
    let mut opts = options();
    opts.mapping.sharing_groups.clear();
    let (result, report) = import(&event(), &opts);
    let objects = result.expect("the event still imports");
    assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);
    assert_eq!(report.rejected[0].key, "e1b2c3d4-0002-4a5b-8c6d-7e8f9a0b1c2d");
    assert!(!objects.iter().any(|o| o["id"] == "indicator--e1b2c3d4-0002-4a5b-8c6d-7e8f9a0b1c2d"));
    // No mapping at all: only "your organisation" maps.
    let (result, _) = import(&event(), &Options { member: "USA".into(), mapping: Mapping::default() });
    assert!(result.is_err());
}

#[test]
fn a_newer_event_timestamp_is_a_new_version() {
    let mut newer = event();
    newer["timestamp"] = json!("1763600000");
    let (a, _) = import(&event(), &options());
    let (b, _) = import(&newer, &options());
    let id = "incident--5f0c7d52-3a1e-4b8f-9c2d-6e4a1b3c5d70";
    let (a, b) = (a.expect("a"), b.expect("b"));
    assert_eq!(by_id(&a, id)["created"], by_id(&b, id)["created"]);
    assert_ne!(by_id(&a, id)["modified"], by_id(&b, id)["modified"]);
}

/// Exports what an import produced, as the node's glue gathers it.
pub(crate) fn export(objects: &[Value], opts: &Options, report: &mut Report) -> Value {
    let markings: HashMap<String, Value> = objects
        .iter()
        .filter(|o| o["type"] == "marking-definition")
        .map(|o| (o["id"].as_str().unwrap_or_default().to_string(), o.clone()))
        .collect();
    let incident = objects.iter().find(|o| o["type"] == "incident").expect("incident");
    let of = |t: &str| objects.iter().filter(|o| o["type"] == t).collect::<Vec<_>>();
    let related = Related {
        locations: of("location"),
        attributes: objects.iter().filter(|o| o["type"] == "indicator" || o["type"] == "note").collect(),
        sightings: of("sighting"),
        relationships: of("relationship")
            .into_iter()
            .filter(|r| r["relationship_type"] != "indicates" && r["source_ref"] != incident["id"])
            .collect(),
        markings: &markings,
    };
    incident_to_event(incident, &related, opts, report).expect("exports")
}

/// Differences between two MISP events, field by field (attributes and objects by uuid).
pub(crate) fn differences(a: &Value, b: &Value) -> Vec<String> {
    let (a, b) = (&a["Event"], &b["Event"]);
    let mut out = Vec::new();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    for k in ["uuid", "info", "date", "timestamp", "distribution", "sharing_group_id", "analysis", "threat_level_id"] {
        if text(&a[k]) != text(&b[k]) {
            out.push(format!("Event.{k}: {} -> {}", a[k], b[k]));
        }
    }
    let tag_names = |e: &Value| {
        let mut t: Vec<String> = e["Tag"].as_array().into_iter().flatten().map(|t| text(&t["name"])).collect();
        t.sort();
        t
    };
    let mut galaxy_tags: Vec<String> = a["Galaxy"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["GalaxyCluster"].as_array().cloned().unwrap_or_default())
        .map(|c| text(&c["tag_name"]))
        .collect();
    let mut expected = tag_names(a);
    expected.append(&mut galaxy_tags);
    expected.sort();
    if expected != tag_names(b) {
        out.push(format!("Event.Tag: {expected:?} -> {:?}", tag_names(b)));
    }
    let attrs = |e: &Value| -> HashMap<String, Value> {
        let top = e["Attribute"].as_array().cloned().unwrap_or_default();
        let inner = e["Object"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|o| o["Attribute"].as_array().cloned().unwrap_or_default());
        top.into_iter().chain(inner).map(|a| (text(&a["uuid"]), a)).collect()
    };
    let (aa, ba) = (attrs(a), attrs(b));
    for (uuid, x) in &aa {
        let Some(y) = ba.get(uuid) else {
            // Geolocation attributes are rebuilt from the location: compare by relation.
            let same = ba.values().any(|y| {
                !text(&x["object_relation"]).is_empty()
                    && text(&y["object_relation"]) == text(&x["object_relation"])
                    && text(&y["value"]) == text(&x["value"])
            });
            if !same {
                out.push(format!("Attribute {uuid} missing"));
            }
            continue;
        };
        for k in [
            "type",
            "category",
            "value",
            "to_ids",
            "comment",
            "timestamp",
            "distribution",
            "deleted",
            "object_relation",
        ] {
            // MISP leaves `deleted` out when false.
            let norm = |v: &Value| if k == "deleted" && v.is_null() { "false".to_string() } else { text(v) };
            if norm(&x[k]) != norm(&y[k]) && !(k == "distribution" && text(&x[k]).is_empty()) {
                out.push(format!("Attribute {uuid}.{k}: {} -> {}", x[k], y[k]));
            }
        }
        let sightings = |v: &Value| {
            v["Sighting"].as_array().map(|s| s.iter().map(|s| text(&s["date_sighting"])).collect::<Vec<_>>())
        };
        if sightings(x) != sightings(y) {
            out.push(format!("Attribute {uuid}.Sighting differs"));
        }
    }
    let objects = |e: &Value| -> HashMap<String, Value> {
        e["Object"].as_array().into_iter().flatten().map(|o| (text(&o["uuid"]), o.clone())).collect()
    };
    let (ao, bo) = (objects(a), objects(b));
    for (uuid, x) in &ao {
        match bo.get(uuid) {
            None => out.push(format!("Object {uuid} missing")),
            Some(y) => {
                for k in ["name", "timestamp"] {
                    if text(&x[k]) != text(&y[k]) {
                        out.push(format!("Object {uuid}.{k}: {} -> {}", x[k], y[k]));
                    }
                }
                let refs = |o: &Value| {
                    o["ObjectReference"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| (text(&r["referenced_uuid"]), text(&r["relationship_type"])))
                        .collect::<Vec<_>>()
                };
                if refs(x) != refs(y) {
                    out.push(format!("Object {uuid}.ObjectReference: {:?} -> {:?}", refs(x), refs(y)));
                }
            }
        }
    }
    out
}

#[test]
fn misp_to_stix_to_misp_keeps_every_field_compared() {
    let original: Value = serde_json::from_str(FIXTURE).expect("fixture");
    let (objects, _) = import(&event(), &options());
    let mut report = Report::default();
    let exported = export(&objects.expect("imports"), &options(), &mut report);
    let diff = differences(&original, &exported);
    assert!(diff.is_empty(), "{diff:#?}\n{exported:#}");
    // A second trip changes nothing either.
    let (again, _) = import(&events(exported.clone()).remove(0), &options());
    let twice = export(&again.expect("re-imports"), &options(), &mut Report::default());
    assert!(differences(&exported, &twice).is_empty());
}

#[test]
fn export_never_widens_releasability() {
    let (objects, _) = import(&event(), &options());
    let mut objects = objects.expect("imports");
    // Releasable to a set no distribution maps to: exported as "your organisation only".
    let odd = rel_marking(&["JOR".into()]);
    let incident = objects.iter_mut().find(|o| o["type"] == "incident").expect("incident");
    incident["object_marking_refs"] = json!([odd["id"]]);
    objects.push(odd);
    let mut report = Report::default();
    let exported = export(&objects, &options(), &mut report);
    assert_eq!(exported["Event"]["distribution"], "0");
    assert!(report.not_carried.contains_key("distribution"));
}

#[test]
fn a_tandem_incident_survives_misp_and_back() {
    // An ACLED-style row made into an incident and its location, then out to MISP and in again.
    let csv = "event_id_cnty,event_date,time_precision,event_type,sub_event_type,actor1,actor2,admin1,location,latitude,longitude,geo_precision,source,notes,fatalities,timestamp\n\
               SYR1001,2025-11-12,1,Battles,Armed clash,Islamic State (Syria),SDF,Deir ez-Zor,Thiban,35.0142,40.5628,1,SOHR,Clash at dawn.,2,1763000000\n";
    let row = crate::acled::rows(csv.as_bytes()).next().expect("a row").expect("readable");
    let opts = crate::acled::import::Options {
        markings: vec![rel_marking(&["USA".into()])["id"].as_str().unwrap_or_default().to_string()],
    };
    let mut objects = crate::acled::import::row_to_stix(&row, &opts, &mut Report::default()).expect("imports");
    objects.push(rel_marking(&["USA".into()]));
    let event = export(&objects, &options(), &mut Report::default());
    assert_eq!(event["Event"]["distribution"], "0");
    let (back, report) = import(&events(event).remove(0), &options());
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let back = back.expect("re-imports");
    let before = objects.iter().find(|o| o["type"] == "incident").expect("incident");
    let after = by_id(&back, before["id"].as_str().unwrap_or_default());
    assert_eq!(
        tandem_model::incident::IncidentExt::from_object(after),
        tandem_model::incident::IncidentExt::from_object(before),
        "the incident extension, place included, comes back equal"
    );
    let loc = objects.iter().find(|o| o["type"] == "location").expect("location");
    assert_eq!(by_id(&back, loc["id"].as_str().unwrap_or_default())["latitude"], loc["latitude"]);
}
