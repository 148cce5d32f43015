//! The releasability markings the demo uses, and shorthands for TLP 2.0.
//!
//! The markings are fixed objects with deterministic ids, shared by the seed facts and the
//! synthetic history, so loading both (or either twice) stores each marking once.

use serde_json::Value;
use tandem_model::incident::{deterministic_uuid, releasability_marking};
use tandem_model::tlp;

/// `(key, rel_to, classification)`.
pub const RELEASABILITY: &[(&str, &[&str], Option<&str>)] = &[
    ("usa-irq", &["USA", "IRQ"], None),
    ("usa-irq-syr", &["USA", "IRQ", "SYR"], None),
    ("usa-irq-syr-secret", &["USA", "IRQ", "SYR"], Some("SECRET")),
    ("usa-syr-confidential", &["USA", "SYR"], Some("CONFIDENTIAL")),
    ("lvnt", &["LVNT"], None),
    ("usa-lvnt-restricted", &["USA", "LVNT"], Some("RESTRICTED")),
    ("fvey", &["FVEY"], None),
    ("usa-gbr-fra-confidential", &["USA", "GBR", "FRA"], Some("CONFIDENTIAL")),
    ("usa-tur", &["USA", "TUR"], None),
];

const CREATED: &str = "2025-11-13T00:00:00.000Z";

/// The id of the releasability marking with this key.
pub fn rel(key: &str) -> String {
    format!("marking-definition--{}", deterministic_uuid(&format!("demo/marking/{key}")))
}

/// All demo releasability marking-definitions.
pub fn releasability_markings() -> Vec<Value> {
    RELEASABILITY
        .iter()
        .map(|(key, codes, class)| {
            releasability_marking(&deterministic_uuid(&format!("demo/marking/{key}")), codes, *class, CREATED)
        })
        .collect()
}

/// The TLP 2.0 marking-definition id for a level name (`clear`, `green`, `amber`,
/// `amber+strict`, `red`).
pub fn tlp(level: &str) -> &'static str {
    match level {
        "clear" => tlp::TLP2_CLEAR,
        "green" => tlp::TLP2_GREEN,
        "amber" => tlp::TLP2_AMBER,
        "amber+strict" => tlp::TLP2_AMBER_STRICT,
        _ => tlp::TLP2_RED,
    }
}

/// `object_marking_refs` for a TLP level and an optional releasability key.
pub fn refs(tlp_level: &str, rel_key: Option<&str>) -> Vec<String> {
    let mut v = vec![tlp(tlp_level).to_string()];
    if let Some(k) = rel_key {
        v.push(rel(k));
    }
    v
}
