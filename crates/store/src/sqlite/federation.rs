//! Federation support: the tombstone feed, deletions learnt from peers, and small named state
//! (meta keys, with compare-and-set).

use std::rc::Rc;

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, params};
use tandem_model::Timestamp;
use tandem_policy::AccessLabel;

use super::SqliteStore;
use super::labels::{self, Pending};
use super::write;
use crate::{Page, Result, StoreError, Tombstone, ViewContext};

impl SqliteStore {
    pub(super) fn list_tombstones_impl(
        &self,
        ctx: &ViewContext,
        collection: &str,
        after: Option<Timestamp>,
        limit: usize,
    ) -> Result<Page<Tombstone>> {
        self.with_reader(|conn| self.labels.refresh(conn))?;
        let Some(coll) = self.labels.collection_id(collection)? else {
            return Ok(Page::default());
        };
        let released = self.labels.released(ctx)?;
        if released.ids.is_empty() || limit == 0 {
            return Ok(Page::default());
        }
        let ids: Rc<Vec<SqlValue>> = Rc::new(released.ids.iter().map(|i| SqlValue::Integer(*i)).collect());
        let after = after.map_or(i64::MIN, |a| a.as_micros());
        let fetch = limit.min(100_000) as i64 + 1;
        let rows = self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT stix_id, version, label, added, proof, originator FROM tombstones
                 WHERE collection = ?1 AND added > ?2 AND label IN rarray(?3)
                 ORDER BY added LIMIT ?4",
            )?;
            let rows = stmt.query_map(params![coll, after, ids, fetch], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(StoreError::from)
        })?;
        let more = rows.len() > limit;
        let state = self.labels.read()?;
        let mut page = Page::default();
        for (id, version, label, added, proof, originator) in rows.into_iter().take(limit) {
            // The SQL released this label, so it is cached; and a deletion travels under its
            // own originator, never a default one.
            let Some(l) = state.cache.label(label) else {
                return Err(StoreError::Corrupt(format!("tombstone of {id}: label {label} is unknown")));
            };
            if originator.is_empty() || originator != l.originator {
                return Err(StoreError::Corrupt(format!(
                    "tombstone of {id}: originator {originator:?} differs from its label's {:?}",
                    l.originator
                )));
            }
            let version = if version.is_empty() {
                None
            } else {
                Some(Timestamp::parse(&version).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            };
            page.items.push(Tombstone {
                id,
                version,
                originator,
                object_markings: l.object_markings.clone(),
                added: Timestamp::from_micros(added),
                proof: proof.and_then(|p| serde_json::from_str(&p).ok()),
            });
        }
        if more {
            page.next = page.items.last().map(|t| crate::cursor::Cursor { after: t.added });
        }
        Ok(page)
    }

    pub(super) fn apply_tombstones_impl(&self, collection: &str, tombstones: Vec<Tombstone>) -> Result<Vec<Tombstone>> {
        let mut writer = self.writer()?;
        let mut last_added = writer.last_added;
        let mut pending = Pending::default();
        let mut applied = Vec::new();
        {
            let state = self.labels.read()?;
            let tx = writer.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Another process (an import while the node serves) may have written since.
            last_added = last_added.max(super::clock_floor(&tx)?);
            let coll = labels::collection_id(&tx, &state, &mut pending, collection)?;
            let now = Timestamp::now().as_micros();
            let has_tombstones: bool =
                tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM tombstones)")?.query_row([], |r| r.get(0))?;
            for t in tombstones {
                // A deletion acts in its originator's namespace only: it can delete that member's
                // version and nobody else's (the caller verified the originator's signature).
                let key = t.version.map(|v| v.sort_key()).unwrap_or_default();
                let known: bool = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM tombstones WHERE collection = ?1 AND stix_id = ?2 AND originator = ?3 AND version = ?4)")?.query_row(params![coll, t.id, t.originator, key],
                    |r| r.get(0),
                )?;
                if known {
                    continue;
                }
                let stored: Option<(i64, i64)> = tx
                    .prepare_cached("SELECT date_added, label FROM objects WHERE collection = ?1 AND stix_id = ?2 AND originator = ?3 AND version = ?4")?.query_row(params![coll, t.id, t.originator, key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let label = match stored {
                    Some((date_added, label)) => {
                        tx.execute("DELETE FROM objects WHERE date_added = ?1", [date_added])?;
                        label
                    }
                    None => {
                        let mut markings = t.object_markings.clone();
                        markings.sort();
                        markings.dedup();
                        let label = AccessLabel {
                            originator: t.originator.clone(),
                            public: false,
                            object_markings: markings,
                            granular: Vec::new(),
                        };
                        labels::label_id(&tx, &state, &mut pending, &label, &crate::access::label_key(&label)?)?
                    }
                };
                last_added = now.max(last_added + 1);
                let first_claim = stored.is_none()
                    && !tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM objects WHERE collection = ?1 AND stix_id = ?2 AND originator = ?3)
                             OR EXISTS (SELECT 1 FROM tombstones WHERE collection = ?1 AND stix_id = ?2 AND originator = ?3)")?.query_row(params![coll, t.id, t.originator],
                        |r| r.get::<_, bool>(0),
                    )?;
                tx.execute(
                    "INSERT INTO tombstones (collection, stix_id, originator, version, deleted_at, deleted_by, label, added, proof) VALUES (?1, ?2, ?3, ?4, ?5, ?3, ?6, ?7, ?8)",
                    params![coll, t.id, t.originator, key, now, label, last_added, t.proof.as_ref().map(|p| p.to_string())],
                )?;
                if first_claim && write::claimed_by_another(&tx, coll, &t.id, &t.originator, has_tombstones)? {
                    write::mark_contested(&tx, coll, &t.id, last_added)?;
                }
                write::now_conflicting(&tx, coll, &t.id, last_added)?;
                write::mark_latest(&tx, coll, &t.id, &t.originator)?;
                applied.push(Tombstone { added: Timestamp::from_micros(last_added), ..t });
            }
            tx.commit()?;
        }
        writer.last_added = last_added;
        self.labels.publish(pending)?;
        Ok(applied)
    }

    pub(super) fn get_meta_impl(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let text: Option<String> = self.with_reader(|conn| {
            Ok(conn
                .prepare_cached("SELECT value FROM sync_meta WHERE key = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()?)
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()
    }

    pub(super) fn put_meta_impl(&self, key: &str, value: Option<&serde_json::Value>) -> Result<()> {
        let writer = self.writer()?;
        match value {
            Some(v) => writer.conn.execute(
                "INSERT INTO sync_meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, v.to_string()],
            )?,
            None => writer
                .conn
                .execute("DELETE FROM sync_meta WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    /// Compare-and-set in one IMMEDIATE transaction: the write lock is taken before the read,
    /// so another handle or process cannot change the key in between.
    pub(super) fn cas_meta_impl(
        &self,
        key: &str,
        expected: Option<&serde_json::Value>,
        new: Option<&serde_json::Value>,
    ) -> Result<bool> {
        let mut writer = self.writer()?;
        let tx = writer.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let text: Option<String> = tx
            .prepare_cached("SELECT value FROM sync_meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        let current = text
            .map(|t| serde_json::from_str::<serde_json::Value>(&t))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("meta key {key}: {e}")))?;
        if current.as_ref() != expected {
            return Ok(false);
        }
        match new {
            Some(v) => tx.execute(
                "INSERT INTO sync_meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, v.to_string()],
            )?,
            None => tx.execute("DELETE FROM sync_meta WHERE key = ?1", [key])?,
        };
        tx.commit()?;
        Ok(true)
    }

    /// Inserts-if-absent in one IMMEDIATE transaction: one commit for the whole batch.
    pub(super) fn insert_meta_absent_impl(&self, entries: &[(String, serde_json::Value)]) -> Result<Vec<bool>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut writer = self.writer()?;
        let tx = writer.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut inserted = Vec::with_capacity(entries.len());
        {
            let mut stmt =
                tx.prepare_cached("INSERT INTO sync_meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING")?;
            for (key, value) in entries {
                inserted.push(stmt.execute(params![key, value.to_string()])? == 1);
            }
        }
        tx.commit()?;
        Ok(inserted)
    }

    pub(super) fn list_meta_impl(&self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>> {
        // A key range on the primary key, not a scan of every entry (alerts, outbox, statuses).
        let end = crate::prefix_end(prefix);
        let rows: Vec<(String, String)> = self.with_reader(|conn| {
            let rows = match &end {
                Some(end) => conn
                    .prepare_cached("SELECT key, value FROM sync_meta WHERE key >= ?1 AND key < ?2 ORDER BY key")?
                    .query_map([prefix, end.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                None => conn
                    .prepare_cached("SELECT key, value FROM sync_meta WHERE key >= ?1 ORDER BY key")?
                    .query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            };
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(k, v)| serde_json::from_str(&v).map(|v| (k, v)).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }
}
