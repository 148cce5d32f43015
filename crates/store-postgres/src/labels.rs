//! Loading and publishing the in-memory caches: the backend-neutral [`LabelCache`] (labels and
//! marking meanings, see [`tandem_store::access`]) and collection ids.
//!
//! Another process on the same database may create labels, markings and collections at any
//! time; every read first compares the node's clock with what the caches reflect and loads what
//! is new (one indexed read when nothing changed). Entries a transaction creates are published
//! only after it commits, so a rolled-back id is never cached.

use std::collections::HashMap;
use std::sync::RwLock;

use tandem_policy::{AccessLabel, MarkingKind};
use tandem_store::access::{LabelCache, Released};
use tandem_store::{Result, StoreError, ViewContext};
use tokio_postgres::GenericClient;

use crate::pg;

#[derive(Default)]
pub(crate) struct LabelState {
    pub cache: LabelCache,
    pub collections: HashMap<String, i64>,
    /// The node's clock as far as these caches reflect it.
    pub seen: i64,
}

#[derive(Default)]
pub(crate) struct Labels {
    state: RwLock<LabelState>,
}

/// Entries created inside a write transaction, published after it commits.
#[derive(Default)]
pub(crate) struct Pending {
    pub labels: Vec<(i64, String, AccessLabel)>,
    /// (owner, marking id, meaning).
    pub markings: Vec<(String, String, Option<MarkingKind>)>,
    pub collections: Vec<(String, i64)>,
    /// The clock after the transaction.
    pub seen: i64,
    /// The clock when the transaction took it: when the caches are behind it, another process
    /// wrote first and the caches must not skip its rows.
    pub floor_before: i64,
}

fn poisoned() -> StoreError {
    StoreError::backend("label cache poisoned by an earlier panic")
}

async fn load_labels(conn: &impl GenericClient, cache: &mut LabelCache, known: &LabelCache) -> Result<()> {
    for row in conn.query("SELECT id, label FROM access_labels", &[]).await.map_err(pg)? {
        let id: i64 = row.try_get(0).map_err(pg)?;
        if !known.contains_label(id) {
            cache.insert_stored_label(id, row.try_get(1).map_err(pg)?)?;
        }
    }
    Ok(())
}

async fn load_collections(conn: &impl GenericClient, into: &mut HashMap<String, i64>) -> Result<()> {
    for row in conn.query("SELECT uuid, id FROM collections", &[]).await.map_err(pg)? {
        into.insert(row.try_get(0).map_err(pg)?, row.try_get(1).map_err(pg)?);
    }
    Ok(())
}

async fn load_markings(conn: &impl GenericClient, cache: &mut LabelCache, after: Option<i64>) -> Result<()> {
    let rows = match after {
        None => conn
            .query("SELECT originator, body FROM objects WHERE type = 'marking-definition' AND latest", &[])
            .await
            .map_err(pg)?,
        Some(after) => conn
            .query(
                "SELECT originator, body FROM objects WHERE type = 'marking-definition' AND date_added > $1",
                &[&after],
            )
            .await
            .map_err(pg)?,
    };
    for row in rows {
        let owner: String = row.try_get(0).map_err(pg)?;
        let body: String = row.try_get(1).map_err(pg)?;
        cache.insert_stored_marking(owner, &body)?;
    }
    Ok(())
}

impl Labels {
    pub async fn load(conn: &impl GenericClient) -> Result<Self> {
        let mut state = LabelState { seen: crate::clock(conn).await?, ..Default::default() };
        load_labels(conn, &mut state.cache, &LabelCache::default()).await?;
        load_markings(conn, &mut state.cache, None).await?;
        load_collections(conn, &mut state.collections).await?;
        Ok(Labels { state: RwLock::new(state) })
    }

    /// Picks up labels, markings and collections written by another process since the caches
    /// were last brought up to date.
    pub async fn refresh(&self, conn: &impl GenericClient) -> Result<()> {
        let latest = crate::clock(conn).await?;
        let (seen, known) = {
            let state = self.read()?;
            if latest <= state.seen {
                return Ok(());
            }
            // Label ids are not contiguous in what this process saw (another one may have added
            // label 7 while this one added label 8), so every label not cached yet is read.
            (state.seen, state.cache.clone())
        };
        let mut fresh = LabelCache::default();
        let mut collections = HashMap::new();
        load_labels(conn, &mut fresh, &known).await?;
        load_markings(conn, &mut fresh, Some(seen)).await?;
        load_collections(conn, &mut collections).await?;
        let mut state = self.state.write().map_err(|_| poisoned())?;
        state.cache.merge(fresh);
        state.collections.extend(collections);
        state.seen = state.seen.max(latest);
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
        if pending.floor_before <= state.seen {
            state.seen = state.seen.max(pending.seen);
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

    /// How many labels are cached.
    pub fn label_count(&self) -> Result<usize> {
        Ok(self.read()?.cache.label_count())
    }

    /// The cached id of a label, if any (never holds the lock across an await).
    pub fn label_id(&self, key: &str) -> Result<Option<i64>> {
        Ok(self.read()?.cache.label_id(key))
    }
}

/// Finds or creates the id of a label within a write transaction; `text` is its
/// [`tandem_store::access::label_key`].
pub(crate) async fn label_id(
    tx: &impl GenericClient,
    labels: &Labels,
    pending: &mut Pending,
    label: &AccessLabel,
    text: &str,
) -> Result<i64> {
    if let Some(id) = labels.label_id(text)? {
        return Ok(id);
    }
    if let Some((id, _, _)) = pending.labels.iter().find(|(_, t, _)| *t == text) {
        return Ok(*id);
    }
    let existing = tx.query_opt("SELECT id FROM access_labels WHERE label = $1", &[&text]).await.map_err(pg)?;
    let id: i64 = match existing {
        Some(row) => row.try_get(0).map_err(pg)?,
        None => tx
            .query_one("INSERT INTO access_labels (label) VALUES ($1) RETURNING id", &[&text])
            .await
            .map_err(pg)?
            .try_get(0)
            .map_err(pg)?,
    };
    pending.labels.push((id, text.to_string(), label.clone()));
    Ok(id)
}

/// Finds or creates the id of a collection within a write transaction.
pub(crate) async fn collection_id(
    tx: &impl GenericClient,
    labels: &Labels,
    pending: &mut Pending,
    uuid: &str,
) -> Result<i64> {
    if let Some(id) = labels.collection_id(uuid)? {
        return Ok(id);
    }
    if let Some((_, id)) = pending.collections.iter().find(|(u, _)| u == uuid) {
        return Ok(*id);
    }
    let existing = tx.query_opt("SELECT id FROM collections WHERE uuid = $1", &[&uuid]).await.map_err(pg)?;
    let id: i64 = match existing {
        Some(row) => row.try_get(0).map_err(pg)?,
        None => tx
            .query_one("INSERT INTO collections (uuid) VALUES ($1) RETURNING id", &[&uuid])
            .await
            .map_err(pg)?
            .try_get(0)
            .map_err(pg)?,
    };
    pending.collections.push((uuid.to_string(), id));
    Ok(id)
}
