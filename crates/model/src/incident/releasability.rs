//! Tandem's releasability property extension on `marking-definition` objects: `REL TO` lists of
//! member codes (ISO 3166-1 alpha-3 trigraphs for states, four letters for bodies) and group codes
//! (four letters, e.g. `LVNT`), with an optional classification.
//!
//! STIX gives no way to say "releasable to these partners", so a releasability marking is a
//! marking-definition carrying this extension; the policy crate decides what it means for a
//! viewer.

use serde_json::{Value, json};

use super::{RELEASABILITY_EXTENSION_ID, TANDEM_IDENTITY_ID};

/// Classification levels, least restrictive first.
pub const CLASSIFICATIONS: [&str; 4] = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"];

/// Three or four ASCII uppercase letters.
pub fn is_member_or_group_code(s: &str) -> bool {
    (3..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// The releasability a marking-definition carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Releasability {
    pub rel_to: Vec<String>,
    pub classification: Option<String>,
}

impl Releasability {
    /// Reads the extension off a marking-definition; `None` if absent or malformed.
    pub fn from_marking(marking: &Value) -> Option<Releasability> {
        let body = marking.get("extensions")?.get(RELEASABILITY_EXTENSION_ID)?;
        let rel_to: Vec<String> = body
            .get("rel_to")?
            .as_array()?
            .iter()
            .map(|c| c.as_str().filter(|s| is_member_or_group_code(s)).map(str::to_string))
            .collect::<Option<_>>()?;
        if rel_to.is_empty() {
            return None;
        }
        let classification = match body.get("classification") {
            None => None,
            Some(c) => Some(c.as_str().filter(|c| CLASSIFICATIONS.contains(c))?.to_string()),
        };
        Some(Releasability { rel_to, classification })
    }
}

/// Orders codes the way coalition banners do: USA first, then other trigraphs, then
/// tetragraphs, each alphabetically; duplicates dropped.
pub fn banner_order(codes: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
    v.sort_by_key(|c| (c != "USA", c.len(), c.clone()));
    v.dedup();
    v
}

/// A releasability marking-definition with id `marking-definition--{id_uuid}`, named like
/// `SECRET//REL TO USA, IRQ, SYR`. `created` is a STIX timestamp.
pub fn releasability_marking(id_uuid: &str, rel_to: &[&str], classification: Option<&str>, created: &str) -> Value {
    let codes = banner_order(rel_to);
    let rel = format!("REL TO {}", codes.join(", "));
    let name = match classification {
        Some(c) => format!("{c}//{rel}"),
        None => rel,
    };
    let mut ext = json!({"extension_type": "property-extension", "rel_to": codes});
    if let Some(c) = classification {
        ext["classification"] = json!(c);
    }
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": format!("marking-definition--{id_uuid}"),
        "created": created,
        "created_by_ref": TANDEM_IDENTITY_ID,
        "name": name,
        "extensions": {RELEASABILITY_EXTENSION_ID: ext},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads_back() {
        let m = releasability_marking(
            "3a4f1f7e-6d0c-4a59-9c51-1b2f0d3e4c5a",
            &["SYR", "IRQ", "USA", "LVNT"],
            Some("SECRET"),
            "2025-11-13T00:00:00.000Z",
        );
        assert_eq!(m["name"], "SECRET//REL TO USA, IRQ, SYR, LVNT");
        let r = Releasability::from_marking(&m).unwrap();
        assert_eq!(r.rel_to, ["USA", "IRQ", "SYR", "LVNT"]);
        assert_eq!(r.classification.as_deref(), Some("SECRET"));
        assert!(super::super::validate_extensions(&m).is_empty());
        let plain =
            releasability_marking("3a4f1f7e-6d0c-4a59-9c51-1b2f0d3e4c5b", &["IRQ"], None, "2025-11-13T00:00:00.000Z");
        assert_eq!(plain["name"], "REL TO IRQ");
        assert!(plain["extensions"][RELEASABILITY_EXTENSION_ID].get("classification").is_none());
    }
}
