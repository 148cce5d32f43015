//! Tandem's STIX 2.1 extensions: the incident property extension (ACLED-style event fields with
//! uncertain time and place, actors, casualties, materiel and graded sources) and the
//! releasability property extension on marking-definitions.
//!
//! Both are published as `extension-definition` objects created by the Tandem identity
//! ([`published_extension_definitions`]), with JSON schemas in `crates/model/schemas/` that
//! `stix2-validator -s` applies (see that directory's README). [`validate_extensions`] checks
//! instances in Rust, including the cross-field rules a schema cannot express.

pub mod acled;
mod check;
pub mod ext;
pub mod releasability;
pub mod time;

use serde_json::{Value, json};

pub use check::{validate_extensions, validate_extensions_of};
pub use ext::{ActorRole, Count, GeoPrecision, IncidentExt, Materiel, MaterielAction, Place, Role, Source};
pub use releasability::{Releasability, releasability_marking};
pub use time::{Date, TimePrecision, TimeWindow, parse_time_expression};

/// The incident property extension.
pub const INCIDENT_EXTENSION_ID: &str = "extension-definition--447704c2-c7f8-4c08-993a-83a938df3ee7";
/// The releasability property extension on marking-definitions.
pub const RELEASABILITY_EXTENSION_ID: &str = "extension-definition--7d672761-f8ff-4c5e-9337-dc547165f993";
/// The identity that creates Tandem's extension definitions and releasability markings.
pub const TANDEM_IDENTITY_ID: &str = "identity--5f1b3a0e-2d6c-4c1e-9a57-7e3c1b4d2a90";

/// The JSON schema of the incident extension (applied by stix2-validator to whole objects).
pub const INCIDENT_SCHEMA: &str = include_str!("../../schemas/incident-extension.json");
/// Marks a copy from which properties were removed for releasability (see `tandem-policy`).
pub const REDACTION_EXTENSION_ID: &str = "extension-definition--2f5b8c1e-6f0a-4d4e-9a55-8c7f1b3e9d21";
/// The JSON schema of the redaction extension.
pub const REDACTION_SCHEMA: &str = include_str!("../../schemas/redaction-extension.json");
/// The JSON schema of the releasability extension.
pub const RELEASABILITY_SCHEMA: &str = include_str!("../../schemas/releasability-extension.json");

const PUBLISHED: &str = "2025-11-13T00:00:00.000Z";

/// Namespace for Tandem's name-based (v5) UUIDs.
const TANDEM_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x0b4d_6f2e_8c1a_4e37_9d05_3f6a_2c7e_1b48);

/// A deterministic STIX id `ty--UUIDv5(Tandem namespace, key)`: loading the same data twice
/// yields the same ids, so reloading is idempotent.
pub fn deterministic_id(ty: &str, key: &str) -> String {
    format!("{ty}--{}", deterministic_uuid(key))
}

/// The UUIDv5 behind [`deterministic_id`].
pub fn deterministic_uuid(key: &str) -> String {
    uuid::Uuid::new_v5(&TANDEM_NAMESPACE, key.as_bytes()).to_string()
}

/// The Tandem identity and Tandem's extension-definitions, as Tandem publishes them. They carry
/// no intelligence and are marked TLP:CLEAR, so every member can read them.
pub fn published_extension_definitions() -> Vec<Value> {
    let mut published = vec![
        json!({
            "type": "identity", "spec_version": "2.1", "id": TANDEM_IDENTITY_ID,
            "created": PUBLISHED, "modified": PUBLISHED,
            "name": "Tandem", "identity_class": "system",
            "description": "Tandem, the federated STIX/TAXII intelligence-sharing platform of the Global Coalition to Defeat ISIS; creator of Tandem's STIX extensions."
        }),
        json!({
            "type": "extension-definition", "spec_version": "2.1", "id": INCIDENT_EXTENSION_ID,
            "created_by_ref": TANDEM_IDENTITY_ID, "created": PUBLISHED, "modified": PUBLISHED,
            "name": "Tandem incident extension",
            "description": "Physical-world incident fields for STIX incident objects: ACLED event and sub-event type, a time window (start, end, precision), place (location_refs, ACLED geo precision or admin-only, ISO 3166-2 admin1), actors with roles, fatalities/injured/arrested as best-low-high, materiel seized or destroyed, claimed-only vs confirmed, civilian targeting, and sources with Admiralty grading.",
            "schema": "Tandem JSON Schema (draft 2020-12) incident-extension.json, shipped in crates/model/schemas/ of Tandem; validated with stix2-validator -s",
            "version": "1.0.0",
            "extension_types": ["property-extension"]
        }),
        json!({
            "type": "extension-definition", "spec_version": "2.1", "id": RELEASABILITY_EXTENSION_ID,
            "created_by_ref": TANDEM_IDENTITY_ID, "created": PUBLISHED, "modified": PUBLISHED,
            "name": "Tandem releasability extension",
            "description": "Coalition releasability on marking-definition objects: rel_to, a non-empty list of member codes (ISO 3166-1 alpha-3 for states, four letters for bodies) and group codes (four letters), and an optional classification (UNCLASSIFIED, RESTRICTED, CONFIDENTIAL, SECRET).",
            "schema": "Tandem JSON Schema (draft 2020-12) releasability-extension.json, shipped in crates/model/schemas/ of Tandem; validated with stix2-validator -s",
            "version": "1.0.0",
            "extension_types": ["property-extension"]
        }),
        json!({
            "type": "extension-definition", "spec_version": "2.1", "id": REDACTION_EXTENSION_ID,
            "created_by_ref": TANDEM_IDENTITY_ID, "created": PUBLISHED, "modified": PUBLISHED,
            "name": "Tandem redaction extension",
            "description": "Present on a copy of an object from which Tandem removed properties that granular releasability markings do not release to the reader: redacted lists the removed content as granular-marking selectors of the original object.",
            "schema": "Tandem JSON Schema (draft 2020-12) redaction-extension.json, shipped in crates/model/schemas/ of Tandem; validated with stix2-validator -s",
            "version": "1.0.0",
            "extension_types": ["property-extension"]
        }),
    ];
    for object in &mut published {
        object["object_marking_refs"] = json!([crate::tlp::TLP2_CLEAR]);
    }
    published
}

#[cfg(test)]
mod tests;
