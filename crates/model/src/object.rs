//! A STIX object as received: a JSON map with typed accessors for what Tandem needs.
//!
//! Unknown properties and extensions stay in the map untouched, so what comes in is what goes out.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Timestamp;

/// Which of the STIX object families a type belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Domain objects (and custom or extension-defined `new-sdo` types).
    Sdo,
    Sro,
    Sco,
    /// `marking-definition`, `language-content`, `extension-definition`.
    Meta,
}

pub const SDO_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];

pub const SRO_TYPES: &[&str] = &["relationship", "sighting"];

pub const SCO_TYPES: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

pub const META_TYPES: &[&str] = &["marking-definition", "language-content", "extension-definition"];

pub fn family_of(ty: &str) -> Family {
    if SRO_TYPES.contains(&ty) {
        Family::Sro
    } else if SCO_TYPES.contains(&ty) {
        Family::Sco
    } else if META_TYPES.contains(&ty) {
        Family::Meta
    } else {
        Family::Sdo
    }
}

/// A granular marking: a marking applied to the properties its selectors name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
pub struct GranularMarking {
    pub selectors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marking_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// A STIX object that has passed validation (see [`crate::validate`]).
///
/// It is immutable, so its canonical form is computed at most once and kept with it: writing one
/// version needs it twice (the signer's commitment and the store's content hash), on two crates'
/// paths.
#[derive(Clone)]
pub struct StixObject {
    map: Map<String, Value>,
    canonical: OnceLock<Vec<u8>>,
}

impl PartialEq for StixObject {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl std::fmt::Debug for StixObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StixObject").field("map", &self.map).finish()
    }
}

impl StixObject {
    /// Wraps a map without validating it; callers that take outside input use
    /// [`crate::validate::validate_object`].
    pub fn from_map_unchecked(map: Map<String, Value>) -> Self {
        StixObject { map, canonical: OnceLock::new() }
    }

    /// The RFC 8785 canonical form ([`crate::canonical::canonical_map`]), computed on first use.
    pub fn canonical(&self) -> &[u8] {
        self.canonical.get_or_init(|| crate::canonical::canonical_map(&self.map))
    }

    /// SHA-256 of the canonical form: [`crate::canonical::map_hash`] of the map.
    pub fn content_hash(&self) -> [u8; 32] {
        <sha2::Sha256 as sha2::Digest>::digest(self.canonical()).into()
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.map
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.map)
    }

    pub fn str_prop(&self, name: &str) -> Option<&str> {
        self.map.get(name).and_then(Value::as_str)
    }

    pub fn id(&self) -> &str {
        self.str_prop("id").unwrap_or_default()
    }

    pub fn object_type(&self) -> &str {
        self.str_prop("type").unwrap_or_default()
    }

    pub fn family(&self) -> Family {
        family_of(self.object_type())
    }

    /// `spec_version`; STIX 2.0 objects carry none and are taken as "2.0", and SCOs may omit it
    /// (2.1 default).
    pub fn spec_version(&self) -> &str {
        match self.str_prop("spec_version") {
            Some(v) => v,
            None if self.family() == Family::Sco => "2.1",
            None => "2.0",
        }
    }

    pub fn created(&self) -> Option<Timestamp> {
        self.str_prop("created").and_then(|s| Timestamp::parse(s).ok())
    }

    pub fn modified(&self) -> Option<Timestamp> {
        self.str_prop("modified").and_then(|s| Timestamp::parse(s).ok())
    }

    /// The version key: `modified`, else `created` (marking-definitions), else none (SCOs, which
    /// STIX does not version).
    pub fn version(&self) -> Option<Timestamp> {
        self.modified().or_else(|| self.created())
    }

    pub fn revoked(&self) -> bool {
        self.map.get("revoked").and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn object_marking_refs(&self) -> Vec<String> {
        string_list(self.map.get("object_marking_refs"))
    }

    pub fn granular_markings(&self) -> Vec<GranularMarking> {
        self.map.get("granular_markings").and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
    }

    pub fn created_by_ref(&self) -> Option<&str> {
        self.str_prop("created_by_ref")
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod canonical_memo_tests {
    use serde_json::json;

    use super::StixObject;
    use crate::canonical::{canonical_map, map_hash};

    #[test]
    fn the_kept_canonical_form_is_the_maps_and_equality_ignores_it() {
        let map = json!({"type": "location", "id": "location--6ba7b810-9dad-11d1-80b4-00c04fd430c8",
            "latitude": 36.0, "name": "Raqqa \u{2028}", "spec_version": "2.1"})
        .as_object()
        .cloned()
        .expect("a map");
        let object = StixObject::from_map_unchecked(map.clone());
        let fresh = object.clone();
        assert_eq!(object.canonical(), canonical_map(&map).as_slice());
        assert_eq!(object.content_hash(), map_hash(&map));
        // Computed once: the same bytes on the second call, and a clone made before still equal.
        assert!(std::ptr::eq(object.canonical(), object.canonical()));
        assert_eq!(object, fresh);
        assert_eq!(object.clone().canonical(), fresh.canonical());
    }
}
