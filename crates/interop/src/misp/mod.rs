//! MISP event JSON (the MISP core format: `Event` with `Attribute`, `Object` and
//! `ObjectReference`, `Tag`, `Galaxy`/`GalaxyCluster`, `Sighting`, `distribution` and
//! `sharing_group_id`) to and from STIX with Tandem's model.
//!
//! The mapping, written once here so [`import`] and [`export`] agree:
//!
//! - **Event** → `incident--<event uuid>` (`info` its name, `date` its creation day, `timestamp`
//!   its `modified`, `threat_level_id` and `analysis` as `x_misp_*` properties, the convention
//!   of MISP's own STIX converter). A newer event `timestamp` is a new version of the incident.
//!   Tandem's incident extension travels as one event-level `text` attribute whose comment is
//!   [`EXTENSION_COMMENT`] and whose value is the extension's JSON.
//! - **Attributes** (event-level and inside objects) → `indicator--<uuid>` for the types with a
//!   STIX pattern ([`pattern_for`]), linked by an `indicates` relationship to the incident, else
//!   `note--<uuid>` about the incident; `category`, `type`, `to_ids`, the containing object's
//!   name, uuid and `object_relation` ride as `x_misp_*` properties. A `deleted` attribute is
//!   stored as a **revoked** version.
//! - **`geolocation` objects** → `location--<object uuid>` (latitude, longitude, city, region
//!   as administrative area, country); the incident extension's place points at it.
//! - **ObjectReference** → a relationship between what its two ends became.
//! - **Sighting** → a `sighting` of the attribute's indicator.
//! - **Tags**: `tlp:*` → the TLP 2.0 marking; `PAP:*` → a statement marking-definition; every
//!   other tag, and each galaxy cluster's `tag_name`, → a label.
//! - **Distribution** → releasability through a [`Mapping`]: 0 (your organisation) is the
//!   importing member only; 1 (this community), 2 (connected communities), 3 (all
//!   communities) and 4 (a sharing group, by uuid, id or name) release to the member and group
//!   codes the mapping names, and **when the mapping names none the event or attribute is
//!   refused, never widened**; 5 (inherit) is the event's. An attribute's own distribution is
//!   added to the event's, so it only narrows (releasability markings intersect).

pub mod export;
pub mod import;

use std::collections::BTreeMap;

use serde::Deserialize;

/// The comment that marks the event attribute carrying Tandem's incident extension.
pub const EXTENSION_COMMENT: &str = "tandem:incident-extension";

/// The geolocation object template (MISP objects), whose uuid and version pymisp checks.
pub const GEOLOCATION_TEMPLATE: (&str, u32) = ("cd6f2238-ba55-4888-82c4-104e6e1acf21", 8);

/// What MISP distribution levels and sharing groups mean in the coalition. Configured per node
/// (`[interop.misp]`-style TOML, see the README); a level it leaves out is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Distribution 1, "this community only".
    #[serde(default)]
    pub community: Option<Vec<String>>,
    /// Distribution 2, "connected communities".
    #[serde(default)]
    pub connected: Option<Vec<String>>,
    /// Distribution 3, "all communities".
    #[serde(default)]
    pub all: Option<Vec<String>>,
    /// Distribution 4: sharing group uuid, numeric id or name → member and group codes.
    #[serde(default)]
    pub sharing_groups: BTreeMap<String, Vec<String>>,
}

/// The TLP tag names and their TLP 2.0 marking ids.
pub(crate) fn tlp_marking(tag: &str) -> Option<&'static str> {
    use tandem_model::tlp::*;
    Some(match tag.to_ascii_lowercase().as_str() {
        "tlp:clear" | "tlp:white" => TLP2_CLEAR,
        "tlp:green" => TLP2_GREEN,
        "tlp:amber" => TLP2_AMBER,
        "tlp:amber+strict" => TLP2_AMBER_STRICT,
        "tlp:red" => TLP2_RED,
        _ => return None,
    })
}

/// The TLP tag for a TLP marking id (1.0 or 2.0).
pub(crate) fn tlp_tag(marking: &str) -> Option<&'static str> {
    use tandem_model::tlp::*;
    Some(match marking {
        m if m == TLP2_CLEAR || m == TLP1_WHITE => "tlp:clear",
        m if m == TLP2_GREEN || m == TLP1_GREEN => "tlp:green",
        m if m == TLP2_AMBER || m == TLP1_AMBER => "tlp:amber",
        m if m == TLP2_AMBER_STRICT => "tlp:amber+strict",
        m if m == TLP2_RED || m == TLP1_RED => "tlp:red",
        _ => return None,
    })
}

/// The STIX pattern for a MISP attribute, for the types that have one.
pub fn pattern_for(misp_type: &str, value: &str) -> Option<String> {
    let v = value.replace('\\', "\\\\").replace('\'', "\\'");
    let path = match misp_type {
        "ip-src" | "ip-dst" if value.contains(':') => "ipv6-addr:value",
        "ip-src" | "ip-dst" => "ipv4-addr:value",
        "domain" | "hostname" => "domain-name:value",
        "url" | "link" => "url:value",
        "email" | "email-src" | "email-dst" => "email-addr:value",
        "filename" => "file:name",
        "md5" => "file:hashes.'MD5'",
        "sha1" => "file:hashes.'SHA-1'",
        "sha256" => "file:hashes.'SHA-256'",
        _ => return None,
    };
    Some(format!("[{path} = '{v}']"))
}

/// The value back out of a pattern [`pattern_for`] wrote.
pub fn value_of_pattern(pattern: &str) -> Option<String> {
    let inner = pattern.strip_prefix('[')?.strip_suffix(']')?;
    let (_, quoted) = inner.split_once(" = '")?;
    let raw = quoted.strip_suffix('\'')?;
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(chars.next()?);
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
