//! Federation support: the tombstone feed, deletions learnt from peers, and small named state
//! (meta keys, with compare-and-set).

use serde_json::Value;
use tandem_model::Timestamp;
use tandem_policy::AccessLabel;
use tandem_store::{Page, Result, StoreError, Tombstone, ViewContext};

use crate::labels::{self, Pending};
use crate::{PgStore, pg, write};

impl PgStore {
    pub(crate) async fn list_tombstones_impl(
        &self,
        ctx: &ViewContext,
        collection: &str,
        after: Option<Timestamp>,
        limit: usize,
    ) -> Result<Page<Tombstone>> {
        let conn = self.pool.get().await?;
        self.labels.refresh(&*conn).await?;
        let Some(coll) = self.labels.collection_id(collection)? else {
            return Ok(Page::default());
        };
        let released = self.labels.released(ctx)?;
        if released.ids.is_empty() || limit == 0 {
            return Ok(Page::default());
        }
        let after = after.map_or(i64::MIN, |a| a.as_micros());
        let fetch = limit.min(100_000) as i64 + 1;
        let rows = conn
            .query(
                "SELECT stix_id, version, label, added, proof, originator FROM tombstones
                 WHERE collection = $1 AND added > $2 AND label = ANY($3)
                 ORDER BY added LIMIT $4",
                &[&coll, &after, &released.ids, &fetch],
            )
            .await
            .map_err(pg)?;
        let more = rows.len() > limit;
        let state = self.labels.read()?;
        let mut page = Page::default();
        for r in rows.into_iter().take(limit) {
            let id: String = r.try_get(0).map_err(pg)?;
            let version: String = r.try_get(1).map_err(pg)?;
            let label: i64 = r.try_get(2).map_err(pg)?;
            let added: i64 = r.try_get(3).map_err(pg)?;
            let proof: Option<String> = r.try_get(4).map_err(pg)?;
            let originator: String = r.try_get(5).map_err(pg)?;
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
            page.next = page.items.last().map(|t| tandem_store::cursor::Cursor { after: t.added });
        }
        Ok(page)
    }

    pub(crate) async fn apply_tombstones_impl(
        &self,
        collection: &str,
        tombstones: Vec<Tombstone>,
    ) -> Result<Vec<Tombstone>> {
        let mut conn = self.pool.get().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let floor = crate::lock_clock(&tx).await?;
        let mut last_added = floor;
        let mut pending = Pending { floor_before: floor, ..Default::default() };
        let mut applied = Vec::new();
        let coll = labels::collection_id(&tx, &self.labels, &mut pending, collection).await?;
        let now = Timestamp::now().as_micros();
        let has_tombstones: bool =
            tx.query_one("SELECT EXISTS (SELECT 1 FROM tombstones)", &[]).await.map_err(pg)?.try_get(0).map_err(pg)?;
        for t in tombstones {
            // A deletion acts in its originator's namespace only (the caller verified the
            // originator's signature).
            let key = t.version.map(|v| v.sort_key()).unwrap_or_default();
            let known: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM tombstones WHERE collection = $1 AND stix_id = $2 AND originator = $3 AND version = $4)",
                    &[&coll, &t.id, &t.originator, &key],
                )
                .await
                .map_err(pg)?
                .try_get(0)
                .map_err(pg)?;
            if known {
                continue;
            }
            let stored = tx
                .query_opt(
                    "SELECT date_added, label FROM objects WHERE collection = $1 AND stix_id = $2 AND originator = $3 AND version = $4",
                    &[&coll, &t.id, &t.originator, &key],
                )
                .await
                .map_err(pg)?;
            let label: i64 = match &stored {
                Some(row) => {
                    let date_added: i64 = row.try_get(0).map_err(pg)?;
                    tx.execute("DELETE FROM objects WHERE date_added = $1", &[&date_added]).await.map_err(pg)?;
                    row.try_get(1).map_err(pg)?
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
                    labels::label_id(&tx, &self.labels, &mut pending, &label, &tandem_store::access::label_key(&label)?)
                        .await?
                }
            };
            last_added = now.max(last_added + 1);
            let first_claim = stored.is_none()
                && !tx
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM objects WHERE collection = $1 AND stix_id = $2 AND originator = $3)
                             OR EXISTS (SELECT 1 FROM tombstones WHERE collection = $1 AND stix_id = $2 AND originator = $3)",
                        &[&coll, &t.id, &t.originator],
                    )
                    .await
                    .map_err(pg)?
                    .try_get::<_, bool>(0)
                    .map_err(pg)?;
            let proof = t.proof.as_ref().map(|p| p.to_string());
            tx.execute(
                "INSERT INTO tombstones (collection, stix_id, originator, version, deleted_at, deleted_by, label, added, proof)
                 VALUES ($1, $2, $3, $4, $5, $3, $6, $7, $8)",
                &[&coll, &t.id, &t.originator, &key, &now, &label, &last_added, &proof],
            )
            .await
            .map_err(pg)?;
            if first_claim && write::claimed_by_another(&tx, coll, &t.id, &t.originator, has_tombstones).await? {
                write::mark_contested(&tx, coll, &t.id, last_added).await?;
            }
            write::now_conflicting(&tx, coll, &t.id, last_added).await?;
            write::mark_latest(&tx, coll, &t.id, &t.originator).await?;
            applied.push(Tombstone { added: Timestamp::from_micros(last_added), ..t });
        }
        crate::advance_clock(&tx, floor, last_added).await?;
        tx.commit().await.map_err(pg)?;
        pending.seen = last_added;
        self.labels.publish(pending)?;
        Ok(applied)
    }

    pub(crate) async fn get_meta_impl(&self, key: &str) -> Result<Option<Value>> {
        let conn = self.pool.get().await?;
        let row = conn.query_opt("SELECT value FROM sync_meta WHERE key = $1", &[&key]).await.map_err(pg)?;
        let Some(row) = row else { return Ok(None) };
        let text: String = row.try_get(0).map_err(pg)?;
        serde_json::from_str(&text).map(Some).map_err(|e| StoreError::Corrupt(format!("meta key {key}: {e}")))
    }

    pub(crate) async fn put_meta_impl(&self, key: &str, value: Option<&Value>) -> Result<()> {
        let conn = self.pool.get().await?;
        match value.map(Value::to_string) {
            Some(text) => conn
                .execute(
                    "INSERT INTO sync_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&key, &text],
                )
                .await
                .map_err(pg)?,
            None => conn.execute("DELETE FROM sync_meta WHERE key = $1", &[&key]).await.map_err(pg)?,
        };
        Ok(())
    }

    /// Compare-and-set in one transaction: the current row is locked (`FOR UPDATE`) before it is
    /// compared; an absent key is claimed by an insert that conflicts for all but one writer.
    pub(crate) async fn cas_meta_impl(&self, key: &str, expected: Option<&Value>, new: Option<&Value>) -> Result<bool> {
        let mut conn = self.pool.get().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let row = tx.query_opt("SELECT value FROM sync_meta WHERE key = $1 FOR UPDATE", &[&key]).await.map_err(pg)?;
        let current = row
            .map(|r| r.try_get::<_, String>(0))
            .transpose()
            .map_err(pg)?
            .map(|t| serde_json::from_str::<Value>(&t))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("meta key {key}: {e}")))?;
        if current.as_ref() != expected {
            return Ok(false);
        }
        let changed = match (current.is_some(), new) {
            (true, Some(v)) => tx
                .execute("UPDATE sync_meta SET value = $2 WHERE key = $1", &[&key, &v.to_string()])
                .await
                .map_err(pg)?,
            (true, None) => tx.execute("DELETE FROM sync_meta WHERE key = $1", &[&key]).await.map_err(pg)?,
            // Absent: of several writers inserting at once, one inserts and the others wait for
            // it and then insert nothing.
            (false, Some(v)) => tx
                .execute(
                    "INSERT INTO sync_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                    &[&key, &v.to_string()],
                )
                .await
                .map_err(pg)?,
            (false, None) => 1,
        };
        if changed == 0 {
            return Ok(false);
        }
        tx.commit().await.map_err(pg)?;
        Ok(true)
    }

    /// Inserts-if-absent in one statement and one transaction. Rows are inserted in key order,
    /// so two batches with keys in common wait for each other instead of deadlocking; a writer
    /// inserting a key another one holds uncommitted waits for it and then inserts nothing.
    pub(crate) async fn insert_meta_absent_impl(&self, entries: &[(String, Value)]) -> Result<Vec<bool>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, (key, _)) in entries.iter().enumerate() {
            first.entry(key.as_str()).or_insert(i);
        }
        let mut order: Vec<usize> = first.values().copied().collect();
        order.sort_by(|a, b| entries[*a].0.cmp(&entries[*b].0));
        let keys: Vec<&str> = order.iter().map(|i| entries[*i].0.as_str()).collect();
        let values: Vec<String> = order.iter().map(|i| entries[*i].1.to_string()).collect();
        let mut conn = self.pool.get().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let rows = tx
            .query(
                "INSERT INTO sync_meta (key, value)
                 SELECT k, v FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(k, v, n) ORDER BY n
                 ON CONFLICT (key) DO NOTHING RETURNING key",
                &[&keys, &values],
            )
            .await
            .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        let mut inserted = vec![false; entries.len()];
        for row in rows {
            let key: String = row.try_get(0).map_err(pg)?;
            if let Some(i) = first.get(key.as_str()) {
                inserted[*i] = true;
            }
        }
        Ok(inserted)
    }

    pub(crate) async fn list_meta_impl(&self, prefix: &str) -> Result<Vec<(String, Value)>> {
        let conn = self.pool.get().await?;
        // A key range on the primary key (collation "C": byte order), not a scan of every entry.
        let rows = match tandem_store::prefix_end(prefix) {
            Some(end) => conn
                .query("SELECT key, value FROM sync_meta WHERE key >= $1 AND key < $2 ORDER BY key", &[&prefix, &end])
                .await
                .map_err(pg)?,
            None => conn
                .query("SELECT key, value FROM sync_meta WHERE key >= $1 ORDER BY key", &[&prefix])
                .await
                .map_err(pg)?,
        };
        rows.into_iter()
            .map(|r| {
                let key: String = r.try_get(0).map_err(pg)?;
                let value: String = r.try_get(1).map_err(pg)?;
                serde_json::from_str(&value).map(|v| (key, v)).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }
}
