//! The label cache: access labels by id, and the marking-definitions each member stored.
//!
//! Policy decides once per distinct label, not once per row. A marking-definition counts only
//! for its owner's objects (`tandem_policy::decide` resolves markings in the originator's
//! namespace), so meanings are kept per owner.

use std::collections::HashMap;

use tandem_policy::{AccessLabel, Decision, MarkingKind, classify_marking, decide};

use crate::{Result, StoreError, ViewContext};

/// Labels and marking meanings as a backend has loaded them.
#[derive(Default, Clone)]
pub struct LabelCache {
    labels: HashMap<i64, AccessLabel>,
    label_ids: HashMap<String, i64>,
    /// Owner (the member that stored the definition) -> marking id -> meaning; `None` when the
    /// definition is stored but malformed.
    markings: HashMap<String, HashMap<String, Option<MarkingKind>>>,
}

/// What one viewer may see, per label: the ids to filter rows by and each one's decision.
#[derive(Debug, Default)]
pub struct Released {
    pub ids: Vec<i64>,
    pub decisions: HashMap<i64, Decision>,
}

impl Released {
    /// The decision for rows of `label`; `None` when they are not released.
    pub fn decision(&self, label: i64) -> Option<&Decision> {
        self.decisions.get(&label)
    }

    pub fn allows(&self, label: i64) -> bool {
        self.decisions.contains_key(&label)
    }
}

/// The stored text of a label: its identity in every backend (equal labels share one id).
pub fn label_key(label: &AccessLabel) -> Result<String> {
    // Cannot fail for this plain struct; if it ever did, an empty key would merge labels.
    serde_json::to_string(label).map_err(|e| StoreError::Corrupt(format!("access label does not serialize: {e}")))
}

/// A stored marking-definition's id and meaning.
pub fn marking_of(body: &str) -> Result<(String, Option<MarkingKind>)> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("marking body: {e}")))?;
    let id = value
        .get("id")
        .and_then(|v| v.as_str())
        .ok_or_else(|| StoreError::Corrupt("a stored marking-definition has no id".into()))?;
    Ok((id.to_string(), classify_marking(&value)))
}

impl LabelCache {
    /// Adds a label the backend holds under `id`, from its stored text.
    pub fn insert_stored_label(&mut self, id: i64, text: String) -> Result<()> {
        let label: AccessLabel =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("access label {id}: {e}")))?;
        self.insert_label(id, text, label);
        Ok(())
    }

    /// Adds a label with its key (see [`label_key`]).
    pub fn insert_label(&mut self, id: i64, key: String, label: AccessLabel) {
        self.label_ids.insert(key, id);
        self.labels.insert(id, label);
    }

    pub fn label(&self, id: i64) -> Option<&AccessLabel> {
        self.labels.get(&id)
    }

    /// The id of the label stored under `key`, if known.
    pub fn label_id(&self, key: &str) -> Option<i64> {
        self.label_ids.get(key).copied()
    }

    /// How many labels the cache holds (a backend's query planning: whether a viewer is
    /// released every label).
    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    pub fn contains_label(&self, id: i64) -> bool {
        self.labels.contains_key(&id)
    }

    /// Records what `owner`'s marking-definition `id` means (a new definition replaces nothing
    /// in another owner's namespace).
    pub fn insert_marking(&mut self, owner: String, id: String, kind: Option<MarkingKind>) {
        self.markings.entry(owner).or_default().insert(id, kind);
    }

    /// Records `owner`'s marking-definition from its stored body.
    pub fn insert_stored_marking(&mut self, owner: String, body: &str) -> Result<()> {
        let (id, kind) = marking_of(body)?;
        self.insert_marking(owner, id, kind);
        Ok(())
    }

    /// The meaning of `owner`'s marking-definition `id`, if it holds a usable one.
    pub fn marking(&self, owner: &str, id: &str) -> Option<&MarkingKind> {
        self.markings.get(owner).and_then(|m| m.get(id)).and_then(Option::as_ref)
    }

    /// Takes in what another cache loaded later (another process wrote): new labels, and
    /// definitions this cache does not know yet (marking-definitions are never versioned, so a
    /// known one does not change).
    pub fn merge(&mut self, fresh: LabelCache) {
        self.labels.extend(fresh.labels);
        self.label_ids.extend(fresh.label_ids);
        for (owner, defs) in fresh.markings {
            let known = self.markings.entry(owner).or_default();
            for (id, kind) in defs {
                known.entry(id).or_insert(kind);
            }
        }
    }

    /// Asks policy, once per label, what `ctx` may see.
    pub fn released(&self, ctx: &ViewContext) -> Released {
        let lookup = |owner: &str, id: &str| self.marking(owner, id);
        let mut released = Released::default();
        for (id, label) in &self.labels {
            let decision = decide(&ctx.viewer, &ctx.roster, label, &lookup);
            if decision.allows() {
                released.ids.push(*id);
                released.decisions.insert(*id, decision);
            }
        }
        released
    }

    /// What `ctx` may see now that it was not released under `old` (a roster it was served
    /// under earlier): per label, policy decides under both rosters (one rule:
    /// `tandem_policy::decide`), and a label is kept when the current decision allows it and
    /// [`widened`] says it releases more than the old one, or when its originator's public key
    /// differs between the two rosters (versions signed with a key the receiver could not check
    /// then). The decisions kept are the current ones, so what is served is exactly what
    /// [`LabelCache::released`] would serve, restricted to these labels.
    pub fn released_widened(&self, ctx: &ViewContext, old: &tandem_policy::Roster) -> Released {
        let lookup = |owner: &str, id: &str| self.marking(owner, id);
        let mut released = Released::default();
        for (id, label) in &self.labels {
            let now = decide(&ctx.viewer, &ctx.roster, label, &lookup);
            if !now.allows() {
                continue;
            }
            let key_of = |r: &tandem_policy::Roster| r.member(&label.originator).and_then(|m| m.public_key.clone());
            let rekeyed = key_of(old) != key_of(&ctx.roster);
            if rekeyed || widened(&decide(&ctx.viewer, old, label, &lookup), &now) {
                released.ids.push(*id);
                released.decisions.insert(*id, now);
            }
        }
        released
    }

    /// Every (label id, marking id) where the label refers to a marking that resolves neither to
    /// a built-in one nor to a definition of the label's originator (as policy resolves it).
    pub fn unresolved(&self) -> Vec<(i64, String)> {
        let mut out = Vec::new();
        for (id, label) in &self.labels {
            for m in label.marking_refs() {
                if tandem_policy::decide::builtin(m).is_none() && self.marking(&label.originator, m).is_none() {
                    out.push((*id, m.to_string()));
                }
            }
        }
        out
    }

    /// The labels of `owner`'s versions that refer to `marking`.
    pub fn referencing(&self, owner: &str, marking: &str) -> Vec<i64> {
        self.labels
            .iter()
            .filter(|(_, l)| l.originator == owner && l.marking_refs().any(|m| m == marking))
            .map(|(id, _)| *id)
            .collect()
    }
}

/// Whether `now` releases something `before` did not: the label was denied, or a property
/// withheld before is shown now. A narrowing (fewer properties, or denied now) releases nothing
/// new, so nothing needs sending again for it.
pub fn widened(before: &Decision, now: &Decision) -> bool {
    match (before, now) {
        (_, Decision::Deny) => false,
        (Decision::Deny, _) => true,
        (Decision::Full, _) => false,
        (Decision::Redact(_), Decision::Full) => true,
        (Decision::Redact(old), Decision::Redact(new)) => old.iter().any(|s| !new.contains(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_is_more_released_never_less() {
        let r = |s: &[&str]| Decision::Redact(s.iter().map(|x| x.to_string()).collect());
        assert!(widened(&Decision::Deny, &Decision::Full));
        assert!(widened(&Decision::Deny, &r(&["name"])));
        assert!(widened(&r(&["name"]), &Decision::Full));
        assert!(widened(&r(&["name", "pattern"]), &r(&["name"])));
        assert!(widened(&r(&["name"]), &r(&["pattern"])), "name is shown now");
        assert!(!widened(&Decision::Full, &Decision::Full));
        assert!(!widened(&Decision::Full, &r(&["name"])));
        assert!(!widened(&r(&["name"]), &r(&["name", "pattern"])));
        assert!(!widened(&r(&["name"]), &r(&["name"])));
        assert!(!widened(&Decision::Full, &Decision::Deny));
        assert!(!widened(&Decision::Deny, &Decision::Deny));
    }

    #[test]
    fn unreadable_labels_and_markings_are_corrupt_not_defaults() {
        let mut cache = LabelCache::default();
        assert!(matches!(cache.insert_stored_label(1, "not json".into()), Err(StoreError::Corrupt(_))));
        assert!(matches!(cache.insert_stored_label(2, r#"{"public":true}"#.into()), Err(StoreError::Corrupt(_))));
        assert!(matches!(cache.insert_stored_marking("USA".into(), "{"), Err(StoreError::Corrupt(_))));
        assert!(matches!(cache.insert_stored_marking("USA".into(), r#"{"type":"x"}"#), Err(StoreError::Corrupt(_))));
        assert!(!cache.contains_label(1) && !cache.contains_label(2));
        cache.insert_stored_label(3, r#"{"originator":"USA"}"#.into()).unwrap();
        assert_eq!(cache.label(3).map(|l| l.originator.as_str()), Some("USA"));
    }
}
