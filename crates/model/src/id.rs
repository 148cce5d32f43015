//! STIX identifiers: `type--UUID`.

use std::fmt;

/// A syntactically valid STIX identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StixId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid STIX identifier {value:?}: {reason}")]
pub struct IdError {
    pub value: String,
    pub reason: &'static str,
}

impl StixId {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let err = |reason| IdError { value: s.to_string(), reason };
        let (ty, uuid) = s.split_once("--").ok_or_else(|| err("expected <type>--<uuid>"))?;
        if !is_valid_type_name(ty) {
            return Err(err("type part is not a valid STIX type name"));
        }
        let parsed = uuid::Uuid::try_parse(uuid).map_err(|_| err("not a UUID"))?;
        // STIX requires the RFC 4122 hyphenated form, lower or upper case hex is tolerated by
        // parsers but the canonical form is lowercase; we keep what was sent.
        if uuid.len() != 36 || parsed.get_variant() != uuid::Variant::RFC4122 {
            return Err(err("UUID must be an RFC 4122 UUID in hyphenated form"));
        }
        Ok(StixId(s.to_string()))
    }

    /// A fresh random (v4) identifier of the given type.
    pub fn new_v4(ty: &str) -> Self {
        StixId(format!("{ty}--{}", uuid::Uuid::new_v4()))
    }

    pub fn object_type(&self) -> &str {
        self.0.split_once("--").map(|(t, _)| t).unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StixId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// STIX type names: 3-250 characters of lowercase ASCII letters, digits and hyphens, no leading
/// digit and no double hyphen.
pub fn is_valid_type_name(ty: &str) -> bool {
    (3..=250).contains(&ty.len())
        && ty.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !ty.starts_with('-')
        && !ty.ends_with('-')
        && !ty.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_and_rejects_invalid() {
        let id = StixId::parse("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").unwrap();
        assert_eq!(id.object_type(), "indicator");
        for bad in [
            "indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f",
            "Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "in--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "indicator--not-a-uuid",
        ] {
            assert!(StixId::parse(bad).is_err(), "{bad}");
        }
    }
}
