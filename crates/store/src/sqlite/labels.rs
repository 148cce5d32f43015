//! Loading and publishing SQLite's in-memory caches: the backend-neutral [`LabelCache`] (labels
//! and marking meanings, see [`crate::access`]) and collection ids.
//!
//! New entries are published only after the transaction that created them commits, so a
//! rolled-back id is never cached.

use std::collections::HashMap;
use std::sync::RwLock;

use rusqlite::{Connection, OptionalExtension};
use tandem_policy::{AccessLabel, MarkingKind};

use crate::access::{LabelCache, Released};
use crate::{Result, StoreError, ViewContext};

#[derive(Default)]
pub(super) struct LabelState {
    pub cache: LabelCache,
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

fn poisoned() -> StoreError {
    StoreError::backend("label cache poisoned by an earlier panic")
}

/// Every stored label not in `known`, into `cache`.
fn load_labels(conn: &Connection, cache: &mut LabelCache, known: &LabelCache) -> Result<()> {
    let mut stmt = conn.prepare("SELECT id, label FROM access_labels")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (id, text) = row?;
        if !known.contains_label(id) {
            cache.insert_stored_label(id, text)?;
        }
    }
    Ok(())
}

fn load_collections(conn: &Connection, into: &mut HashMap<String, i64>) -> Result<()> {
    let mut stmt = conn.prepare("SELECT uuid, id FROM collections")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (uuid, id) = row?;
        into.insert(uuid, id);
    }
    Ok(())
}

fn latest_added(conn: &Connection) -> Result<i64> {
    Ok(conn.prepare_cached("SELECT COALESCE(MAX(date_added), 0) FROM objects")?.query_row([], |r| r.get(0))?)
}

impl Labels {
    pub fn load(conn: &Connection) -> Result<Self> {
        let mut state = LabelState::default();
        load_labels(conn, &mut state.cache, &LabelCache::default())?;
        let mut stmt =
            conn.prepare("SELECT originator, body FROM objects WHERE type = 'marking-definition' AND latest = 1")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (owner, body) = row?;
            state.cache.insert_stored_marking(owner, &body)?;
        }
        load_collections(conn, &mut state.collections)?;
        state.seen_added = latest_added(conn)?;
        Ok(Labels { state: RwLock::new(state) })
    }

    /// Picks up labels, markings and collections written by another process since the caches
    /// were last brought up to date. Cheap when nothing changed (one indexed MAX).
    pub fn refresh(&self, conn: &Connection) -> Result<()> {
        let latest = latest_added(conn)?;
        if latest <= self.read()?.seen_added {
            return Ok(());
        }
        let mut fresh = LabelCache::default();
        let mut collections = HashMap::new();
        let seen = {
            let state = self.read()?;
            // Every label not cached yet: ids are not contiguous in what this process saw
            // (another process may have added label 7 while this one added label 8), so no
            // "id > max" shortcut.
            load_labels(conn, &mut fresh, &state.cache)?;
            state.seen_added
        };
        let mut stmt =
            conn.prepare("SELECT originator, body FROM objects WHERE date_added > ?1 AND type = 'marking-definition'")?;
        for row in stmt.query_map([seen], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (owner, body) = row?;
            fresh.insert_stored_marking(owner, &body)?;
        }
        load_collections(conn, &mut collections)?;
        let mut state = self.state.write().map_err(|_| poisoned())?;
        state.cache.merge(fresh);
        state.collections.extend(collections);
        state.seen_added = state.seen_added.max(latest);
        Ok(())
    }

    pub fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, LabelState>> {
        self.state.read().map_err(|_| poisoned())
    }

    pub fn publish(&self, pending: Pending) -> Result<()> {
        let mut state = self.state.write().map_err(|_| poisoned())?;
        for (id, text, label) in pending.labels {
            state.cache.insert_label(id, text, label);
        }
        for (owner, id, kind) in pending.markings {
            state.cache.insert_marking(owner, id, kind);
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
        Ok(self.read()?.cache.released(ctx))
    }

    /// What `ctx` may see, or with `since` only what widened for it since that roster.
    pub fn released_for(&self, ctx: &ViewContext, since: Option<&tandem_policy::Roster>) -> Result<Released> {
        let cache = self.read()?;
        Ok(match since {
            Some(old) => cache.cache.released_widened(ctx, old),
            None => cache.cache.released(ctx),
        })
    }
}

/// Finds or creates the id of a label within a write transaction; `text` is its
/// [`crate::access::label_key`].
pub(super) fn label_id(
    tx: &Connection,
    state: &LabelState,
    pending: &mut Pending,
    label: &AccessLabel,
    text: &str,
) -> Result<i64> {
    if let Some(id) = state.cache.label_id(text) {
        return Ok(id);
    }
    if let Some((id, _, _)) = pending.labels.iter().find(|(_, t, _)| *t == text) {
        return Ok(*id);
    }
    let existing: Option<i64> = tx
        .prepare_cached("SELECT id FROM access_labels WHERE label = ?1")?
        .query_row([text], |r| r.get(0))
        .optional()?;
    let id = match existing {
        Some(id) => id,
        None => {
            tx.execute("INSERT INTO access_labels (label) VALUES (?1)", [text])?;
            tx.last_insert_rowid()
        }
    };
    pending.labels.push((id, text.to_string(), label.clone()));
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
        tx.prepare_cached("SELECT id FROM collections WHERE uuid = ?1")?.query_row([uuid], |r| r.get(0)).optional()?;
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
