//! Fixtures the tests share, written once: the TAXII media type, TLP and releasability
//! markings, fresh ids and strictly later timestamps, an indicator builder.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tandem_model::Timestamp;
use tandem_policy::marking::RELEASABILITY_EXTENSION_ID;

/// The TAXII 2.1 media type (`Accept` and `Content-Type` of every TAXII request).
pub const TAXII: &str = tandem_taxii::TAXII_CONTENT_TYPE;

/// TLP:GREEN (TLP 2.0).
pub const GREEN: &str = tandem_model::tlp::TLP2_GREEN;
/// TLP:AMBER (TLP 2.0).
pub const AMBER: &str = tandem_model::tlp::TLP2_AMBER;

/// The id of a `REL TO <codes>` marking-definition.
pub fn rel_id<S: AsRef<str>>(codes: &[S]) -> String {
    let name = codes.iter().map(AsRef::as_ref).collect::<Vec<_>>().join("-");
    let u = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes());
    format!("marking-definition--{u}")
}

/// A `REL TO <codes>` marking-definition.
pub fn rel<S: AsRef<str>>(codes: &[S]) -> Value {
    let codes: Vec<&str> = codes.iter().map(AsRef::as_ref).collect();
    json!({
        "type": "marking-definition", "spec_version": "2.1", "id": rel_id(&codes),
        "created": "2025-11-13T00:00:00.000Z", "name": format!("REL TO {}", codes.join(", ")),
        "extensions": {RELEASABILITY_EXTENSION_ID: {"extension_type": "property-extension", "rel_to": codes}}
    })
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A new random id of type `kind`.
pub fn fresh_id(kind: &str) -> String {
    format!("{kind}--{}", uuid::Uuid::new_v4())
}

/// A unique, strictly later timestamp each call (millisecond precision as STIX needs).
pub fn now_ms() -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst) as i64;
    let base = Timestamp::now().as_micros() / 1000 * 1000 + n * 1000;
    Timestamp::from_micros(base).to_taxii()
}

/// An indicator with the given object markings.
pub fn indicator(id: &str, modified: &str, created: &str, markings: &[&str]) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": created, "modified": modified,
        "name": "Suspicious VBIED staging", "description": "Observed near the checkpoint",
        "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z",
        "object_marking_refs": markings
    })
}

/// When [`reported_indicator`]s were created and modified.
pub const REPORTED: &str = "2025-11-20T10:00:00.000Z";

/// An indicator as an analyst reports it: a fresh id, created and modified at [`REPORTED`],
/// named "Checkpoint VBIED", with `pattern` and the given object markings.
pub fn reported_indicator(markings: &[&str], pattern: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": fresh_id("indicator"),
        "created": REPORTED, "modified": REPORTED,
        "name": "Checkpoint VBIED", "pattern": pattern, "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z", "object_marking_refs": markings
    })
}

/// A TLP:GREEN indicator, created and modified now.
pub fn green(id: &str) -> Value {
    let t = now_ms();
    indicator(id, &t, &t, &[GREEN])
}

/// A TLP:GREEN incident under `id`: an armed clash on 22 June 2025 in governorate `admin1`,
/// known to its governorate only (no location), with `fatalities` killed.
pub fn incident_in(id: &str, name: &str, admin1: &str, fatalities: u32) -> Value {
    use tandem_model::incident::*;
    let ext = IncidentExt {
        fatalities: Some(Count::exact(fatalities)),
        ..IncidentExt::new(
            "Battles",
            "Armed clash",
            TimeWindow::day(Date::new(2025, 6, 22).expect("a date")),
            Place::admin(admin1),
        )
    };
    let mut obj = json!({"type": "incident", "spec_version": "2.1", "id": id,
        "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
        "name": name, "object_marking_refs": [GREEN]});
    ext.attach(&mut obj);
    obj
}
