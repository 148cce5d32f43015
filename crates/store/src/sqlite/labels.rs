//! In-memory caches of access labels, marking meanings and collection ids.
//!
//! Policy decides once per distinct label, not once per row: a listing asks for the decisions
//! of every label, hands the released label ids to SQL as a pre-filter, and applies redactions
//! to the rows it returns. New entries are published only after the transaction that created
//! them commits, so a rolled-back id is never cached.

use std::collections::HashMap;
use std::sync::RwLock;

use rusqlite::{Connection, OptionalExtension};
use tandem_policy::{AccessLabel, Decision, MarkingKind, classify_marking, decide};

use crate::{Result, StoreError, ViewContext};

#[derive(Default)]
pub(super) struct LabelState {
    pub labels: HashMap<i64, AccessLabel>,
    pub label_ids: HashMap<String, i64>,
    /// Owner (the member that stored the definition) -> marking id -> meaning; `None` when the
    /// definition is stored but malformed. A marking counts only for its owner's objects.
    pub markings: HashMap<String, HashMap<String, Option<MarkingKind>>>,
    pub collections: HashMap<String, i64>,
    /// The largest `date_added` these caches reflect; a larger one in the database means another
    /// process (`tandem import`, `tandem marking create`) wrote while this one runs.
    pub seen_added: i64,
}

pub(super) struct Labels {
    state: RwLock<LabelState>,
}

/// Entries created inside a write transaction, published after it commits.
#[derive(Default)]
pub(super) struct Pending {
    pub labels: Vec<(i64, String, AccessLabel)>,
    /// (owner, marking id, meaning).
    pub markings: Vec<(String, String, Option<MarkingKind>)>,
    pub collections: Vec<(String, i64)>,
    pub seen_added: i64,
    /// The database clock when the transaction began: if it is ahead of the caches, another
    /// process wrote first and the caches must not skip its rows.
    pub floor_before: i64,
}

/// What one viewer may see, per label.
pub(super) struct Released {
    pub ids: Vec<i64>,
    pub decisions: HashMap<i64, Decision>,
}

impl LabelState {
    /// The meaning of `owner`'s marking-definition `id`, if it holds a usable one.
    pub fn marking(&self, owner: &str, id: &str) -> Option<&MarkingKind> {
        self.markings.get(owner).and_then(|m| m.get(id)).and_then(Option::as_ref)
    }
}

/// A stored marking-definition's id and meaning.
fn marking_of(body: &str) -> Result<(String, Option<MarkingKind>)> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("marking body: {e}")))?;
    let id = value
        .get("id")
        .and_then(|v| v.as_str())
        .ok_or_else(|| StoreError::Corrupt("a stored marking-definition has no id".into()))?;
    Ok((id.to_string(), classify_marking(&value)))
}

pub(super) fn label_key(label: &AccessLabel) -> String {
    serde_json::to_string(label).unwrap_or_default()
}

impl Labels {
    pub fn load(conn: &Connection) -> Result<Self> {
        let mut state = LabelState::default();
        let mut stmt = conn.prepare("SELECT id, label FROM access_labels")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, text) = row?;
            let label: AccessLabel =
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("access label {id}: {e}")))?;
            state.label_ids.insert(text, id);
            state.labels.insert(id, label);
        }
        let mut stmt =
            conn.prepare("SELECT originator, body FROM objects WHERE type = 'marking-definition' AND latest = 1")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (owner, body) = row?;
            let (id, kind) = marking_of(&body)?;
            state.markings.entry(owner).or_default().insert(id, kind);
        }
        let mut stmt = conn.prepare("SELECT uuid, id FROM collections")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (uuid, id) = row?;
            state.collections.insert(uuid, id);
        }
        state.seen_added = conn.query_row("SELECT COALESCE(MAX(date_added), 0) FROM objects", [], |r| r.get(0))?;
        Ok(Labels { state: RwLock::new(state) })
    }

    /// Picks up labels, markings and collections written by another process since the caches
    /// were last brought up to date. Cheap when nothing changed (one indexed MAX).
    pub fn refresh(&self, conn: &Connection) -> Result<()> {
        let latest: i64 = conn.query_row("SELECT COALESCE(MAX(date_added), 0) FROM objects", [], |r| r.get(0))?;
        if latest <= self.read()?.seen_added {
            return Ok(());
        }
        let mut fresh = LabelState::default();
        let (seen, known) = {
            let state = self.read()?;
            (state.seen_added, state.labels.keys().copied().collect::<std::collections::HashSet<i64>>())
        };
        // Every label not cached yet: ids are not contiguous in what this process saw (another
        // process may have added label 7 while this one added label 8), so no "id > max" shortcut.
        let mut stmt = conn.prepare("SELECT id, label FROM access_labels")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (id, text) = row?;
            if known.contains(&id) {
                continue;
            }
            let label: AccessLabel =
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("access label {id}: {e}")))?;
            fresh.label_ids.insert(text, id);
            fresh.labels.insert(id, label);
        }
        let mut stmt =
            conn.prepare("SELECT originator, body FROM objects WHERE date_added > ?1 AND type = 'marking-definition'")?;
        for row in stmt.query_map([seen], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (owner, body) = row?;
            let (id, kind) = marking_of(&body)?;
            fresh.markings.entry(owner).or_default().insert(id, kind);
        }
        let mut stmt = conn.prepare("SELECT uuid, id FROM collections")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (uuid, id) = row?;
            fresh.collections.insert(uuid, id);
        }
        let mut state = self.state.write().map_err(|_| StoreError::Backend("label cache poisoned".into()))?;
        state.labels.extend(fresh.labels);
        state.label_ids.extend(fresh.label_ids);
        for (owner, defs) in fresh.markings {
            let known = state.markings.entry(owner).or_default();
            for (id, kind) in defs {
                known.entry(id).or_insert(kind);
            }
        }
        state.collections.extend(fresh.collections);
        state.seen_added = state.seen_added.max(latest);
        Ok(())
    }

    pub fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, LabelState>> {
        self.state.read().map_err(|_| StoreError::Backend("label cache poisoned".into()))
    }

    pub fn publish(&self, pending: Pending) -> Result<()> {
        let mut state = self.state.write().map_err(|_| StoreError::Backend("label cache poisoned".into()))?;
        for (id, text, label) in pending.labels {
            state.label_ids.insert(text, id);
            state.labels.insert(id, label);
        }
        for (owner, id, kind) in pending.markings {
            state.markings.entry(owner).or_default().insert(id, kind);
        }
        for (uuid, id) in pending.collections {
            state.collections.insert(uuid, id);
        }
        if pending.floor_before <= state.seen_added {
            state.seen_added = state.seen_added.max(pending.seen_added);
        }
        Ok(())
    }

    pub fn collection_id(&self, uuid: &str) -> Result<Option<i64>> {
        Ok(self.read()?.collections.get(uuid).copied())
    }

    /// Asks policy, once per label, what `ctx` may see.
    pub fn released(&self, ctx: &ViewContext) -> Result<Released> {
        let state = self.read()?;
        let lookup = |owner: &str, id: &str| state.marking(owner, id);
        let mut released = Released { ids: Vec::new(), decisions: HashMap::new() };
        for (id, label) in &state.labels {
            let decision = decide(&ctx.viewer, &ctx.roster, label, &lookup);
            if decision.allows() {
                released.ids.push(*id);
                released.decisions.insert(*id, decision);
            }
        }
        Ok(released)
    }
}

/// Finds or creates the id of a label within a write transaction.
pub(super) fn label_id(tx: &Connection, state: &LabelState, pending: &mut Pending, label: &AccessLabel) -> Result<i64> {
    let text = label_key(label);
    if let Some(id) = state.label_ids.get(&text) {
        return Ok(*id);
    }
    if let Some((id, _, _)) = pending.labels.iter().find(|(_, t, _)| *t == text) {
        return Ok(*id);
    }
    let existing: Option<i64> =
        tx.query_row("SELECT id FROM access_labels WHERE label = ?1", [&text], |r| r.get(0)).optional()?;
    let id = match existing {
        Some(id) => id,
        None => {
            tx.execute("INSERT INTO access_labels (label) VALUES (?1)", [&text])?;
            tx.last_insert_rowid()
        }
    };
    pending.labels.push((id, text, label.clone()));
    Ok(id)
}

/// Finds or creates the id of a collection within a write transaction.
pub(super) fn collection_id(tx: &Connection, state: &LabelState, pending: &mut Pending, uuid: &str) -> Result<i64> {
    if let Some(id) = state.collections.get(uuid) {
        return Ok(*id);
    }
    if let Some((_, id)) = pending.collections.iter().find(|(u, _)| u == uuid) {
        return Ok(*id);
    }
    let existing: Option<i64> =
        tx.query_row("SELECT id FROM collections WHERE uuid = ?1", [uuid], |r| r.get(0)).optional()?;
    let id = match existing {
        Some(id) => id,
        None => {
            tx.execute("INSERT INTO collections (uuid) VALUES (?1)", [uuid])?;
            tx.last_insert_rowid()
        }
    };
    pending.collections.push((uuid.to_string(), id));
    Ok(id)
}
