//! Granular redaction: removes the properties a viewer may not receive and says so.
//!
//! The redacted copy carries Tandem's redaction extension listing the selectors that were
//! removed (as they were named in the original), keeps every granular marking that still selects
//! something (with list indexes renumbered), and drops the ones whose content is gone. A copy
//! that would no longer be valid STIX (a required property removed) is withheld entirely.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// Marks a copy from which properties were removed for releasability.
pub use tandem_model::incident::REDACTION_EXTENSION_ID;

/// One step of a STIX granular-marking selector: a property name or a list index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Reads a selector (`external_references.[0].source_name`) as steps; `None` when malformed.
pub fn parse_selector(selector: &str) -> Option<Vec<Step>> {
    selector
        .split('.')
        .map(|part| {
            if let Some(inner) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
                inner.parse().ok().map(Step::Index)
            } else if part.is_empty() {
                None
            } else {
                Some(Step::Key(part.to_string()))
            }
        })
        .collect()
}

/// Writes steps back as a selector.
pub fn render_selector(path: &[Step]) -> String {
    path.iter()
        .map(|s| match s {
            Step::Key(k) => k.clone(),
            Step::Index(i) => format!("[{i}]"),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn exists(value: &Value, path: &[Step]) -> bool {
    let mut cur = value;
    for step in path {
        cur = match (step, cur) {
            (Step::Key(k), Value::Object(m)) => match m.get(k) {
                Some(v) => v,
                None => return false,
            },
            (Step::Index(i), Value::Array(a)) => match a.get(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    true
}

fn remove(value: &mut Value, path: &[Step]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = value;
    for step in parents {
        cur = match (step, cur) {
            (Step::Key(k), Value::Object(m)) => match m.get_mut(k) {
                Some(v) => v,
                None => return,
            },
            (Step::Index(i), Value::Array(a)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match (last, cur) {
        (Step::Key(k), Value::Object(m)) => {
            m.remove(k);
        }
        (Step::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
        }
        _ => {}
    }
}

/// One redaction step: the paths it removes, reduced (sorted, deduplicated, none under another),
/// and how the paths that remain are renumbered. Provenance replays steps with it to check a
/// redacted copy (see tandem-sync), so redacting and verifying cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub removed: Vec<Vec<Step>>,
    /// Removed list elements per list path.
    removed_indexes: BTreeMap<Vec<Step>, BTreeSet<usize>>,
}

impl Removal {
    pub fn new(mut removed: Vec<Vec<Step>>) -> Self {
        removed.sort();
        removed.dedup();
        // A path under another removed path is already covered.
        let all = removed.clone();
        removed.retain(|p| !all.iter().any(|q| q.len() < p.len() && p.starts_with(q)));
        let mut removed_indexes: BTreeMap<Vec<Step>, BTreeSet<usize>> = BTreeMap::new();
        for p in &removed {
            if let Some((Step::Index(i), parent)) = p.split_last() {
                removed_indexes.entry(parent.to_vec()).or_default().insert(*i);
            }
        }
        Removal { removed, removed_indexes }
    }

    /// Where a path of the object ends up in the copy, or `None` when it was removed.
    pub fn remap(&self, path: &[Step]) -> Option<Vec<Step>> {
        if self.removed.iter().any(|r| path.starts_with(r)) {
            return None;
        }
        let mut out = Vec::with_capacity(path.len());
        for (n, step) in path.iter().enumerate() {
            match step {
                Step::Index(i) => {
                    let shift = self.removed_indexes.get(&path[..n]).map_or(0, |set| set.range(..*i).count());
                    out.push(Step::Index(i - shift));
                }
                k => out.push(k.clone()),
            }
        }
        Some(out)
    }

    /// The `granular_markings` list the copy carries: selectors renumbered, removed ones dropped,
    /// markings left without a selector dropped; `None` when none is left.
    pub fn rewrite_granular(&self, markings: &Value) -> Option<Value> {
        let mut kept = Vec::new();
        for gm in markings.as_array()? {
            let mut gm = gm.clone();
            let selectors: Vec<Value> = gm
                .get("selectors")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter_map(parse_selector)
                        .filter_map(|p| self.remap(&p))
                        .map(|p| Value::String(render_selector(&p)))
                        .collect()
                })
                .unwrap_or_default();
            if !selectors.is_empty() {
                gm["selectors"] = Value::Array(selectors);
                kept.push(gm);
            }
        }
        (!kept.is_empty()).then_some(Value::Array(kept))
    }
}

/// Returns the copy of `object` that a viewer receives when `selectors` are withheld, or `None`
/// when no valid copy can be made.
pub fn redact(object: &Map<String, Value>, selectors: &[String]) -> Option<Map<String, Value>> {
    let mut removed: Vec<Vec<Step>> = Vec::new();
    for s in selectors {
        let path = parse_selector(s)?;
        if matches!(path.first(), Some(Step::Key(k)) if ["id", "type", "spec_version", "created", "modified", "granular_markings", "object_marking_refs"].contains(&k.as_str()))
        {
            // Withholding identity or markings would make the copy meaningless or unsafe.
            return None;
        }
        removed.push(path);
    }
    let removal = Removal::new(removed);

    let mut value = Value::Object(object.clone());
    // Remove deepest and highest-index paths first so earlier removals do not shift later ones.
    let mut order = removal.removed.clone();
    order.sort_by(|a, b| b.cmp(a));
    for p in &order {
        remove(&mut value, p);
    }

    let map = value.as_object_mut()?;
    if let Some(markings) = object.get("granular_markings") {
        match removal.rewrite_granular(markings) {
            Some(kept) => map.insert("granular_markings".into(), kept),
            None => map.remove("granular_markings"),
        };
    }
    // A copy redacted again at a later hop lists that step's removals (as selectors of the copy
    // it started from); the provenance proof keeps every step (see tandem-sync).
    let redacted: Vec<Value> = removal.removed.iter().map(|p| Value::String(render_selector(p))).collect();
    let exts = map.entry("extensions").or_insert_with(|| json!({}));
    exts.as_object_mut()?.insert(
        REDACTION_EXTENSION_ID.to_string(),
        json!({ "extension_type": "property-extension", "redacted": redacted }),
    );
    let copy = map.clone();
    tandem_model::validate::validate_object(&Value::Object(copy.clone())).ok()?;
    Some(copy)
}

/// Whether every selector of an object's granular markings names content that exists.
pub fn selector_exists(object: &Value, selector: &str) -> bool {
    parse_selector(selector).is_some_and(|p| exists(object, &p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_and_renumbers() {
        let obj = json!({
            "type": "incident", "spec_version": "2.1", "id": "incident--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z", "name": "x",
            "external_references": [{"source_name": "secret"}, {"source_name": "open", "url": "https://e.org"}],
            "granular_markings": [
                {"selectors": ["external_references.[0]"], "marking_ref": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"},
                {"selectors": ["external_references.[1].url", "name"], "marking_ref": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"}
            ]
        });
        let out = redact(obj.as_object().unwrap(), &["external_references.[0]".into()]).unwrap();
        assert_eq!(out["external_references"], json!([{"source_name": "open", "url": "https://e.org"}]));
        assert_eq!(out["granular_markings"][0]["selectors"], json!(["external_references.[0].url", "name"]));
        assert_eq!(out["granular_markings"].as_array().unwrap().len(), 1);
        assert_eq!(out["extensions"][REDACTION_EXTENSION_ID]["redacted"], json!(["external_references.[0]"]));
    }

    #[test]
    fn refuses_to_withhold_identity() {
        let obj = json!({"type": "x", "id": "x--1"});
        assert!(redact(obj.as_object().unwrap(), &["id".into()]).is_none());
    }
}
