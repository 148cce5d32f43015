//! What a marking-definition means for releasability.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_model::tlp::{Tlp, tlp_of};

/// Tandem's releasability property extension on marking-definitions.
pub const RELEASABILITY_EXTENSION_ID: &str = "extension-definition--7d672761-f8ff-4c5e-9337-dc547165f993";
/// The OASIS TLP 2.0 property extension.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Classification {
    #[default]
    Unclassified,
    Restricted,
    Confidential,
    Secret,
}

impl Classification {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "UNCLASSIFIED" => Classification::Unclassified,
            "RESTRICTED" => Classification::Restricted,
            "CONFIDENTIAL" => Classification::Confidential,
            "SECRET" => Classification::Secret,
            _ => return None,
        })
    }
}

/// The releasability meaning of one marking-definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkingKind {
    Tlp(Tlp),
    /// `REL TO` a list of member and group codes, with an optional classification.
    Releasability {
        rel_to: Vec<String>,
        classification: Option<Classification>,
    },
    /// A marking with no releasability meaning (a statement, a copyright notice).
    Neutral,
}

/// Classifies a marking-definition object. `None` means the definition is malformed for
/// releasability (for instance a releasability extension with a bad `rel_to`); such a marking
/// is treated as unresolvable, which makes the objects it marks originator-only.
pub fn classify_marking(def: &Value) -> Option<MarkingKind> {
    let id = def.get("id")?.as_str()?;
    if let Some(tlp) = tlp_of(id) {
        return Some(MarkingKind::Tlp(tlp));
    }
    let exts = def.get("extensions").and_then(Value::as_object);
    if let Some(ext) = exts.and_then(|e| e.get(RELEASABILITY_EXTENSION_ID)) {
        let rel_to: Vec<String> =
            ext.get("rel_to")?.as_array()?.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<_>>()?;
        if rel_to.is_empty() {
            return None;
        }
        let classification = match ext.get("classification") {
            None => None,
            Some(v) => Some(Classification::parse(v.as_str()?)?),
        };
        return Some(MarkingKind::Releasability { rel_to, classification });
    }
    if let Some(ext) = exts.and_then(|e| e.get(TLP2_EXTENSION_ID)) {
        // A TLP 2.0 marking under a non-canonical id: honour its level.
        let level = match ext.get("tlp_2_0")?.as_str()? {
            "clear" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => return None,
        };
        return Some(MarkingKind::Tlp(level));
    }
    match def.get("definition_type").and_then(Value::as_str) {
        Some("statement") => Some(MarkingKind::Neutral),
        Some("tlp") => {
            let level = match def.get("definition")?.get("tlp")?.as_str()? {
                "white" => Tlp::Clear,
                "green" => Tlp::Green,
                "amber" => Tlp::Amber,
                "red" => Tlp::Red,
                _ => return None,
            };
            Some(MarkingKind::Tlp(level))
        }
        // An extension-based marking Tandem does not know: it may restrict something we cannot
        // see, so it is not neutral.
        _ => None,
    }
}
