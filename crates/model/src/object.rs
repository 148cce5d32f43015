//! A STIX object as received: a JSON map with typed accessors for what Tandem needs.
//!
//! Unknown properties and extensions stay in the map untouched, so what comes in is what goes out.

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
#[derive(Debug, Clone, PartialEq)]
pub struct StixObject {
    map: Map<String, Value>,
}

impl StixObject {
    /// Wraps a map without validating it; callers that take outside input use
    /// [`crate::validate::validate_object`].
    pub fn from_map_unchecked(map: Map<String, Value>) -> Self {
        StixObject { map }
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
