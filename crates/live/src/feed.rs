//! Reading the feed after a cursor: versions and deletions of every readable collection, merged
//! into one `date_added` order, each read through the store's one chokepoint for the viewer.
//!
//! Why a bound: the store hands out positions inside its write transaction, so everything at or
//! before the feed position read *first* is committed and visible; a write committing while the
//! pages are read gets a later position and is left to the next batch. Without it, a version at
//! position p committing between the versions page and the tombstones page could be skipped
//! when a tombstone at p+1 moved the cursor past it.

use serde_json::{Value, json};
use tandem_model::Timestamp;
use tandem_store::{ObjectQuery, Record, Store, StoreError, Tombstone, VersionFilter, ViewContext};

/// One event of the feed, as the viewer may see it.
#[derive(Debug, Clone)]
pub enum Item {
    Version { collection: String, record: Record },
    Deletion { collection: String, tombstone: Tombstone },
}

impl Item {
    /// The item's position in the node's feed: its event id.
    pub fn position(&self) -> Timestamp {
        match self {
            Item::Version { record, .. } => record.date_added,
            Item::Deletion { tombstone, .. } => tombstone.added,
        }
    }

    /// The SSE event name.
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Version { record, .. } if record.object.get("revoked") == Some(&Value::Bool(true)) => "revocation",
            Item::Version { .. } => "version",
            Item::Deletion { .. } => "deletion",
        }
    }

    /// The event's data.
    pub fn to_json(&self) -> Value {
        match self {
            Item::Version { collection, record } => json!({
                "collection": collection,
                "id": record.id,
                "type": record.object_type,
                "version": record.version,
                "date_added": record.date_added,
                "originator": record.originator,
                "redacted": record.redacted,
                "object": record.object,
            }),
            Item::Deletion { collection, tombstone } => json!({
                "collection": collection,
                "id": tombstone.id,
                "version": tombstone.version,
                "originator": tombstone.originator,
                "position": tombstone.added,
            }),
        }
    }
}

/// What one read returned.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// In ascending position.
    pub items: Vec<Item>,
    /// Where the next read starts: everything the viewer could see up to here was returned
    /// (withheld rows included, so they are not read again).
    pub scanned: Option<Timestamp>,
    /// The read stopped at a page limit: more is ready now.
    pub more: bool,
    /// The node's feed position when the read started.
    pub head: Option<Timestamp>,
}

/// Reads up to about `limit` versions and deletions per collection after `after`, for `ctx`.
/// `types` narrows versions (and deletions, by their id's type); empty means all.
pub fn read_batch(
    store: &dyn Store,
    ctx: &ViewContext,
    collections: &[String],
    after: Option<Timestamp>,
    types: &[String],
    limit: usize,
) -> Result<Batch, StoreError> {
    let head = store.feed_position()?;
    let Some(head_at) = head else {
        return Ok(Batch { scanned: after, head, ..Batch::default() });
    };
    if after.is_some_and(|a| a >= head_at) {
        return Ok(Batch { scanned: after, head, ..Batch::default() });
    }
    let mut items = Vec::new();
    let mut bound = head_at;
    let mut more = false;
    for c in collections {
        let q = ObjectQuery {
            added_after: after,
            types: types.to_vec(),
            versions: VersionFilter::All,
            limit,
            ..ObjectQuery::default()
        };
        let page = store.list(ctx, c, &q)?;
        if page.next.is_some()
            && let Some(last) = page.items.last()
        {
            bound = bound.min(last.date_added);
            more = true;
        }
        items.extend(page.items.into_iter().map(|record| Item::Version { collection: c.clone(), record }));
        let tombs = store.list_tombstones(ctx, c, after, limit)?;
        if tombs.next.is_some()
            && let Some(last) = tombs.items.last()
        {
            bound = bound.min(last.added);
            more = true;
        }
        items.extend(
            tombs
                .items
                .into_iter()
                .filter(|t| types.is_empty() || types.iter().any(|ty| id_type(&t.id) == ty))
                .map(|tombstone| Item::Deletion { collection: c.clone(), tombstone }),
        );
    }
    items.retain(|i| i.position() <= bound);
    items.sort_by_key(Item::position);
    Ok(Batch { items, scanned: Some(bound), more: more || bound < head_at, head })
}

/// The STIX type of an id (`incident--…` → `incident`).
pub fn id_type(id: &str) -> &str {
    id.split_once("--").map(|(t, _)| t).unwrap_or(id)
}
