//! The STIX 2.1 model Tandem stores and serves.
//!
//! Objects are kept as JSON maps so that every property a client sends, known or not, comes back
//! out unchanged; typed accessors and the validator give the guarantees the rest of the system
//! relies on. Nothing here does I/O.

pub mod canonical;
pub mod id;
pub mod incident;
pub mod object;
pub mod parallel;
pub mod timestamp;
pub mod tlp;
pub mod validate;

pub use id::StixId;
pub use object::{GranularMarking, StixObject};
pub use timestamp::Timestamp;

/// The one validation every entry point applies (TAXII POST, import, validate, sync): STIX 2.1
/// at the MUST level plus Tandem's own extensions against their schemas.
pub fn check_object(value: &serde_json::Value) -> Result<StixObject, Vec<validate::Violation>> {
    let object = validate::validate_object(value)?;
    let problems = incident::validate_extensions(value);
    if problems.is_empty() { Ok(object) } else { Err(problems) }
}

/// [`check_object`] taking the value: a valid object becomes the [`StixObject`] without a copy
/// (what a batch of thousands of objects through the ingest path wants); an invalid one comes back
/// with its violations, for the per-object failure it reports.
pub fn check_owned(value: serde_json::Value) -> Result<StixObject, (serde_json::Value, Vec<validate::Violation>)> {
    let object = validate::validate_owned(value)?;
    let problems = incident::validate_extensions_of(object.as_map());
    if problems.is_empty() { Ok(object) } else { Err((serde_json::Value::Object(object.into_map()), problems)) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn indicator() -> serde_json::Value {
        json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z"
        })
    }

    #[test]
    fn check_owned_agrees_with_check_object() {
        let valid = indicator();
        let mut no_pattern = indicator();
        no_pattern.as_object_mut().unwrap().remove("pattern");
        let mut bad_extension = indicator();
        bad_extension["extensions"] =
            json!({ incident::INCIDENT_EXTENSION_ID: { "extension_type": "property-extension" } });
        for value in [valid, no_pattern, bad_extension, json!([1, 2]), json!("text")] {
            match (check_object(&value), check_owned(value.clone())) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err((back, b))) => {
                    assert_eq!(a, b, "{value}");
                    assert_eq!(back, value, "an invalid value comes back unchanged");
                }
                (a, b) => panic!("{value}: check_object {a:?}, check_owned {b:?}"),
            }
        }
    }
}
