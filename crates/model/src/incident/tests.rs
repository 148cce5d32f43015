//! Tests of the extension definitions, the validator and the schemas' agreement with the code.

use serde_json::{Value, json};

use super::*;

fn sample() -> Value {
    let ext = IncidentExt {
        event_type: "Explosions/Remote violence".into(),
        sub_event_type: "Suicide bomb".into(),
        time: TimeWindow::day(Date::parse("2025-06-22").unwrap()),
        place: Place {
            location_refs: vec![deterministic_id("location", "test")],
            precision: GeoPrecision::Town,
            admin1: "SY-DI".into(),
            description: None,
        },
        actors: vec![ActorRole::by_name("ISIS suicide attacker", Role::Perpetrator)],
        fatalities: Some(Count::exact(22)),
        injured: Some(Count { best: 24, low: Some(24), high: None, note: Some("dozens".into()) }),
        arrested: None,
        materiel: vec![Materiel::at_least("mortar shells", 130, MaterielAction::Destroyed)],
        claimed_only: false,
        confirmed: true,
        civilian_targeting: true,
        sources: vec![Source {
            identity_ref: None,
            name: Some("Syrian Interior Ministry".into()),
            reliability: 'B',
            credibility: 2,
            url: None,
            published: None,
            note: None,
        }],
        notes: Some("test".into()),
    };
    let mut obj = json!({"type": "incident", "spec_version": "2.1", "id": deterministic_id("incident", "t"),
        "created": "2025-06-22T12:00:00.000Z", "modified": "2025-06-22T12:00:00.000Z", "name": "t"});
    ext.attach(&mut obj);
    obj
}

fn violations(obj: &Value) -> Vec<String> {
    validate_extensions(obj).iter().map(ToString::to_string).collect()
}

#[test]
fn valid_sample_round_trips() {
    let obj = sample();
    assert_eq!(violations(&obj), Vec::<String>::new());
    let back = IncidentExt::from_object(&obj).unwrap();
    assert_eq!(back.fatalities, Some(Count::exact(22)));
    assert_eq!(back.sources[0].grading(), "B2");
}

fn broken(path: &[&str], value: Value) -> Vec<String> {
    let mut obj = sample();
    let mut cur = &mut obj["extensions"][INCIDENT_EXTENSION_ID];
    for p in &path[..path.len() - 1] {
        cur = match p.parse::<usize>() {
            Ok(i) => &mut cur[i],
            Err(_) => &mut cur[*p],
        };
    }
    let last = path[path.len() - 1];
    if value.is_null() {
        cur.as_object_mut().unwrap().remove(last);
    } else {
        cur[last] = value;
    }
    violations(&obj)
}

#[test]
fn rejects_what_the_schema_and_rules_forbid() {
    let cases: Vec<(&[&str], Value, &str)> = vec![
        (&["sub_event_type"], json!("Armed clash"), "is not a sub-event type of"),
        (&["event_type"], json!("Battle"), "is not an ACLED event type"),
        (&["time", "end"], json!("2025-06-21"), "is before start"),
        (&["time", "precision"], json!("fortnight"), "is not one of"),
        (&["time", "precision"], json!("day"), ""),
        (&["fatalities", "low"], json!(30), "is above best"),
        (&["place", "precision"], json!(4), "is not 1, 2, 3"),
        (&["place", "admin1"], json!("Deir ez-Zor"), "ISO 3166-2"),
        (&["place", "location_refs"], json!(["identity--5f1b3a0e-2d6c-4c1e-9a57-7e3c1b4d2a90"]), "not an identifier"),
        (&["sources", "0", "reliability"], json!("G"), "reliability A-F"),
        (&["sources", "0", "credibility"], json!(7), "credibility 1-6"),
        (&["materiel", "0", "quantity"], json!(3), "not both"),
        (&["materiel", "0", "action"], json!("used"), "seized or destroyed"),
        (&["claimed_only"], json!(true), "both claimed_only and confirmed"),
        (&["actors", "0", "role"], json!("victim"), "is not one of"),
        (&["colour"], json!("red"), "unknown property"),
        (&["time"], Value::Null, "required"),
    ];
    for (path, value, expected) in cases {
        let got = broken(path, value.clone());
        if expected.is_empty() {
            assert!(got.is_empty(), "{path:?}={value}: {got:?}");
        } else {
            assert!(got.iter().any(|m| m.contains(expected)), "{path:?}={value}: {got:?}");
        }
    }
}

#[test]
fn extension_on_wrong_type_is_reported() {
    let mut obj = sample();
    obj["type"] = json!("report");
    assert!(violations(&obj).iter().any(|m| m.contains("applies to incident objects")));
}

#[test]
fn definitions_are_well_formed() {
    let defs = published_extension_definitions();
    assert_eq!(defs.len(), 4);
    for d in &defs {
        crate::StixId::parse(d["id"].as_str().unwrap()).unwrap();
        assert_eq!(d["spec_version"], "2.1");
        assert_eq!(d["object_marking_refs"], json!([crate::tlp::TLP2_CLEAR]));
        crate::check_object(d).unwrap();
    }
    assert_eq!(defs[1]["id"], INCIDENT_EXTENSION_ID);
    assert_eq!(defs[2]["id"], RELEASABILITY_EXTENSION_ID);
    assert_eq!(defs[3]["id"], REDACTION_EXTENSION_ID);
    assert_eq!(defs[1]["created_by_ref"], TANDEM_IDENTITY_ID);
    assert_eq!(deterministic_id("incident", "x"), deterministic_id("incident", "x"));
    crate::StixId::parse(&deterministic_id("incident", "x")).unwrap();
}

/// The schema files and the Rust tables must agree, or stix2-validator and Tandem would judge
/// the same object differently.
#[test]
fn schemas_agree_with_code() {
    let inc: Value = serde_json::from_str(INCIDENT_SCHEMA).unwrap();
    let ext = &inc["$defs"]["extension"];
    let types: Vec<&str> =
        ext["properties"]["event_type"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(types, acled::EVENT_TYPES.iter().map(|(t, _)| *t).collect::<Vec<_>>());
    for (i, (t, subs)) in acled::EVENT_TYPES.iter().enumerate() {
        let rule = &ext["allOf"][i];
        assert_eq!(rule["if"]["properties"]["event_type"]["const"], *t);
        assert_eq!(rule["then"]["properties"]["sub_event_type"]["enum"], json!(subs));
    }
    assert_eq!(ext["properties"]["time"]["properties"]["precision"]["enum"], json!(TimePrecision::ALL));
    let roles = &ext["properties"]["actors"]["items"]["properties"]["role"]["enum"];
    assert_eq!(roles, &json!(Role::ALL));
    assert!(inc["properties"]["extensions"]["required"][0] == INCIDENT_EXTENSION_ID);
    let rel: Value = serde_json::from_str(RELEASABILITY_SCHEMA).unwrap();
    let classes = &rel["$defs"]["extension"]["properties"]["classification"]["enum"];
    assert_eq!(classes, &json!(releasability::CLASSIFICATIONS));
    assert_eq!(rel["properties"]["extensions"]["required"][0], RELEASABILITY_EXTENSION_ID);
}

#[test]
fn releasability_violations() {
    let mut m =
        releasability_marking("3a4f1f7e-6d0c-4a59-9c51-1b2f0d3e4c5a", &["IRQ"], None, "2025-11-13T00:00:00.000Z");
    let body = &mut m["extensions"][RELEASABILITY_EXTENSION_ID];
    body["rel_to"] = json!(["IRQ", "iraq", "IRQ"]);
    body["classification"] = json!("TOP SECRET");
    let v = violations(&m);
    assert!(v.iter().any(|s| s.contains("not a member code")), "{v:?}");
    assert!(v.iter().any(|s| s.contains("listed twice")), "{v:?}");
    assert!(v.iter().any(|s| s.contains("is not one of")), "{v:?}");
    m["extensions"][RELEASABILITY_EXTENSION_ID]["rel_to"] = json!([]);
    assert!(violations(&m).iter().any(|s| s.contains("non-empty")));
}
