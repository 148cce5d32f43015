//! STIX 2.1 validation at the MUST level (placeholder until the full validator lands).

use serde_json::Value;

use crate::StixObject;

/// One reason an object is not valid STIX 2.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The property concerned (a selector such as `external_references.[0].source_name`), or
    /// empty for the object as a whole.
    pub property: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.property.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.property, self.message)
        }
    }
}

/// Validates one object; on success returns it wrapped.
pub fn validate_object(value: &Value) -> Result<StixObject, Vec<Violation>> {
    match value {
        Value::Object(map) => Ok(StixObject::from_map_unchecked(map.clone())),
        _ => Err(vec![Violation { property: String::new(), message: "not a JSON object".into() }]),
    }
}
