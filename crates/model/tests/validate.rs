//! Data-driven tests of STIX 2.1 validation.
//!
//! `fixtures/validate/valid/*.json` holds a valid example of every object type (mostly the
//! specification's own examples); `fixtures/validate/invalid.json` is a table of cases, each a
//! fixture with properties set or removed and the exact list of violated properties expected.
//! Every case goes through one `check` helper, so changing the API changes one function.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tandem_model::validate::{Violation, validate_object, validate_objects};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validate")
}

fn valid_fixture(name: &str) -> Value {
    let path = fixtures().join("valid").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn all_valid() -> Vec<(String, Value)> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures().join("valid"))
        .expect("valid fixtures directory")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().trim_end_matches(".json").to_string())
        .collect();
    names.sort();
    names.into_iter().map(|n| (n.clone(), valid_fixture(&n))).collect()
}

fn render(v: &[Violation]) -> String {
    v.iter().map(|v| format!("  {v}\n")).collect()
}

/// Validates `input` and compares the violated properties (in report order, sorted) with
/// `expected`; an empty `expected` means the object must be valid and returned unchanged.
fn check(name: &str, input: &Value, expected: &[String]) -> Result<(), String> {
    match validate_object(input) {
        Ok(obj) if expected.is_empty() => {
            if &obj.clone().into_value() != input {
                return Err(format!("{name}: validation altered the object"));
            }
            Ok(())
        }
        Ok(_) => Err(format!("{name}: expected violations {expected:?}, but it validated")),
        Err(v) => {
            let mut got: Vec<String> = v.iter().map(|v| v.property.clone()).collect();
            got.sort();
            let mut want = expected.to_vec();
            want.sort();
            if got == want {
                if v.iter().any(|v| v.message.is_empty()) {
                    return Err(format!("{name}: a violation has no message:\n{}", render(&v)));
                }
                Ok(())
            } else {
                Err(format!("{name}: expected {want:?}, got:\n{}", render(&v)))
            }
        }
    }
}

#[test]
fn every_valid_fixture_validates_unchanged() {
    let mut failures = Vec::new();
    let all = all_valid();
    for (name, value) in &all {
        if let Err(e) = check(name, value, &[]) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every STIX 2.1 type has at least one valid fixture.
    let types: Vec<&str> = all.iter().filter_map(|(_, v)| v["type"].as_str()).collect();
    for ty in tandem_model::object::SDO_TYPES
        .iter()
        .chain(tandem_model::object::SRO_TYPES)
        .chain(tandem_model::object::SCO_TYPES)
        .chain(tandem_model::object::META_TYPES)
    {
        assert!(types.contains(ty), "no valid fixture of type {ty}");
    }
}

#[test]
fn invalid_cases_report_expected_properties() {
    let text = std::fs::read_to_string(fixtures().join("invalid.json")).expect("invalid.json");
    let table: Value = serde_json::from_str(&text).expect("invalid.json parses");
    let cases = table["cases"].as_array().expect("cases");
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("case name");
        let input = match case.get("object") {
            Some(o) => o.clone(),
            None => {
                let mut base = valid_fixture(case["base"].as_str().expect("base"));
                let map = base.as_object_mut().expect("fixture is an object");
                for p in case.get("remove").and_then(Value::as_array).into_iter().flatten() {
                    map.remove(p.as_str().expect("removed property name"));
                }
                if let Some(set) = case.get("set").and_then(Value::as_object) {
                    for (k, v) in set {
                        map.insert(k.clone(), v.clone());
                    }
                }
                base
            }
        };
        let expected: Vec<String> = case["expect"]
            .as_array()
            .expect("expect")
            .iter()
            .map(|p| p.as_str().expect("expected property").to_string())
            .collect();
        if let Err(e) = check(name, &input, &expected) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn stix_2_0_message_is_explicit() {
    let mut obj = valid_fixture("indicator");
    obj.as_object_mut().expect("object").remove("spec_version");
    let v = validate_object(&obj).expect_err("2.0 object");
    assert_eq!(v[0].message, "STIX 2.0 objects are not accepted: spec_version must be \"2.1\"");
}

#[test]
fn validate_objects_keeps_order() {
    let good = valid_fixture("indicator");
    let results = validate_objects(&[good.clone(), json!(42), valid_fixture("file")]);
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().map(|o| o.id().to_string()).ok(), good["id"].as_str().map(String::from));
    assert!(results[1].is_err());
    assert!(results[2].is_ok());
}

#[test]
fn published_tlp_definitions_validate() {
    for def in tandem_model::tlp::published_definitions() {
        if let Err(v) = validate_object(&def) {
            panic!("{}:\n{}", def["id"], render(&v));
        }
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[a-z_\\-\\.\\[\\]0-9]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            Just("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"),
            Just("2016-01-01T00:00:00.000Z"),
            Just("2.1"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_]{1,12}",
                    Just("type".to_string()),
                    Just("id".to_string()),
                    Just("extensions".to_string()),
                    Just("granular_markings".to_string()),
                    Just("selectors".to_string()),
                    Just("x_ref".to_string()),
                    Just("hashes".to_string()),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_json(v in arb_json()) {
        let _ = validate_object(&v);
    }

    /// Replacing or removing one property of a valid object never panics, and a successful
    /// validation always returns the object unchanged.
    #[test]
    fn never_panics_on_mutated_fixtures(idx in 0usize..64, key in 0usize..64, replacement in arb_json(), remove in any::<bool>()) {
        let all = all_valid();
        let (_, mut v) = all[idx % all.len()].clone();
        let map = v.as_object_mut().expect("object");
        let k = map.keys().nth(key % map.len()).cloned().expect("a key");
        if remove { map.remove(&k); } else { map.insert(k, replacement); }
        if let Ok(obj) = validate_object(&v) {
            prop_assert_eq!(obj.into_value(), v);
        }
    }
}
