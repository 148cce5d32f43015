//! Writes: storing versions (with the versioning rules of STIX) and deleting them, each in one
//! transaction that holds the node's clock (see the crate doc).

use serde_json::Value;
use tandem_model::{Timestamp, object::Family};
use tandem_policy::classify_marking;
use tandem_store::{
    DeleteOutcome, Incoming, NewStatus, NewVersion, ObjectQuery, PutOutcome, Result, VersionFilter, ViewContext,
};
use tokio_postgres::GenericClient;

use crate::labels::{self, Pending};
use crate::{PgStore, pg};

/// One version of the id being written that the same originator already stored.
#[derive(Clone)]
struct Existing {
    version: String,
    date_added: i64,
    hash: Vec<u8>,
    revoked: bool,
}

impl PgStore {
    /// Every rule here is decided inside the writer's own namespace, `(collection, id,
    /// originator)`, as the SQLite backend decides it.
    pub(crate) async fn put_impl(
        &self,
        collection: &str,
        originator: &str,
        objects: Vec<Incoming>,
        status: &mut (dyn FnMut(&[PutOutcome]) -> Option<NewStatus> + Send),
    ) -> Result<Vec<PutOutcome>> {
        // Hashes, bodies and labels before the clock row is locked (see `tandem_store::prepare`).
        let objects = NewVersion::prepare_all(originator, objects)?;
        let mut conn = self.pool.get().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let floor = crate::lock_clock(&tx).await?;
        let mut last_added = floor;
        let mut pending = Pending { floor_before: floor, ..Default::default() };
        let mut outcomes = Vec::with_capacity(objects.len());
        let mut unresolvable: Vec<(String, String)> = Vec::new();
        let coll = labels::collection_id(&tx, &self.labels, &mut pending, collection).await?;
        let has_tombstones: bool =
            tx.query_one("SELECT EXISTS (SELECT 1 FROM tombstones)", &[]).await.map_err(pg)?.get(0);
        // What is stored under the batch's ids, read in one query (the clock row is held, so no
        // other writer changes it before this transaction commits), then kept up to date here
        // as the batch's own versions are added. A round trip per object for this look-up and
        // another for its insert, all under the clock's lock, made ingest a tenth of SQLite's.
        let mut stored = stored_under(&tx, coll, originator, &objects).await?;
        // The batch's new rows, inserted together by one statement: before a statement that
        // reads or updates an id's stored rows, and at the end.
        let mut rows = NewRows::default();
        for NewVersion { object, id, version, version_key, hash, body, provenance, label, label_key, text } in objects {
            let reject = |reason: String| PutOutcome::Rejected { id: id.clone(), version, reason };

            if has_tombstones {
                let deleted: bool = tx
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM tombstones
                         WHERE collection = $1 AND stix_id = $2 AND originator = $3 AND version = $4)",
                        &[&coll, &id, &originator, &version_key],
                    )
                    .await
                    .map_err(pg)?
                    .get(0);
                if deleted {
                    outcomes.push(reject("this version was deleted and cannot be stored again".into()));
                    continue;
                }
            }
            let (existing, others) = stored.get(&id).cloned().unwrap_or_default();
            if let Some(same) = existing.iter().find(|e| e.version == version_key) {
                let date_added = Timestamp::from_micros(same.date_added);
                let version = version.unwrap_or(date_added);
                if same.hash == hash {
                    outcomes.push(PutOutcome::Duplicate { id, version, date_added });
                } else if version_key.is_empty() {
                    outcomes.push(reject(
                        "a different object with this id is already stored (STIX Cyber-observables are not versioned)"
                            .into(),
                    ));
                } else {
                    outcomes.push(reject(
                        "conflict: a different content is already stored under this id and modified timestamp".into(),
                    ));
                }
                continue;
            }
            if !existing.is_empty() {
                if object.object_type() == "marking-definition" {
                    outcomes.push(reject("marking-definitions are never versioned".into()));
                    continue;
                }
                if existing.iter().any(|e| e.revoked && e.version < version_key) {
                    outcomes.push(reject("the object is revoked: no later version may be created".into()));
                    continue;
                }
            }
            let latest = existing.iter().all(|e| e.version < version_key);
            // Checked once per new label, not per object: a bulk import must not flood the log.
            if self.labels.label_id(&label_key)?.is_none() {
                let state = self.labels.read()?;
                for marking in label.marking_refs() {
                    let known = tandem_policy::decide::builtin(marking).is_some()
                        || state.cache.marking(originator, marking).is_some()
                        || pending
                            .markings
                            .iter()
                            .any(|(o, m, kind)| o == originator && m == marking && kind.is_some())
                        || (object.object_type() == "marking-definition" && object.id() == marking);
                    if !known && !unresolvable.iter().any(|(_, m)| m == marking) {
                        unresolvable.push((id.clone(), marking.to_string()));
                    }
                }
            }
            let label_id = labels::label_id(&tx, &self.labels, &mut pending, &label, &label_key).await?;
            let now = Timestamp::now().as_micros();
            last_added = now.max(last_added + 1);
            if latest && !existing.is_empty() {
                rows.flush(&tx, coll, originator).await?;
                tx.execute(
                    "UPDATE objects SET latest = FALSE
                     WHERE collection = $1 AND stix_id = $2 AND originator = $3 AND latest",
                    &[&coll, &id, &originator],
                )
                .await
                .map_err(pg)?;
            }
            // `text`: the version's full-text entry (NULL for a type not searched; see
            // `tandem_store::text`), folded before the clock was locked.
            rows.date_added.push(last_added);
            rows.stix_id.push(id.clone());
            rows.object_type.push(object.object_type().to_string());
            rows.spec_version.push(object.spec_version().to_string());
            rows.version.push(version_key.clone());
            rows.label.push(label_id);
            rows.latest.push(latest);
            rows.revoked.push(object.revoked());
            rows.hash.push(hash.to_vec());
            rows.body.push(body);
            rows.provenance.push(provenance);
            rows.text.push(text);
            stored.entry(id.clone()).or_default().0.push(Existing {
                version: version_key,
                date_added: last_added,
                hash: hash.to_vec(),
                revoked: object.revoked(),
            });
            let claimed = others || (has_tombstones && tombstoned_by_another(&tx, coll, &id, originator).await?);
            if claimed && existing.is_empty() {
                mark_contested(&tx, coll, &id, last_added).await?;
            }
            let contested = claimed && object.family() != Family::Sco && {
                rows.flush(&tx, coll, originator).await?;
                now_conflicting(&tx, coll, &id, last_added).await?
            };
            if object.object_type() == "marking-definition" {
                pending.markings.push((
                    originator.to_string(),
                    id.clone(),
                    classify_marking(&Value::Object(object.as_map().clone())),
                ));
            }
            let date_added = Timestamp::from_micros(last_added);
            let version = match object.family() {
                Family::Sco if version.is_none() => date_added,
                _ => version.unwrap_or(date_added),
            };
            outcomes.push(PutOutcome::Added { id, version, date_added, contested });
        }
        rows.flush(&tx, coll, originator).await?;
        if let Some(NewStatus { id, owner, body }) = status(&outcomes) {
            tx.execute(
                "INSERT INTO statuses (id, owner, created, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, created = excluded.created, body = excluded.body",
                &[&id, &owner, &Timestamp::now().as_micros(), &body],
            )
            .await
            .map_err(pg)?;
        }
        crate::advance_clock(&tx, floor, last_added).await?;
        tx.commit().await.map_err(pg)?;
        pending.seen = last_added;
        self.labels.publish(pending)?;
        if let Some((id, marking)) = unresolvable.first() {
            tracing::warn!(
                %originator, first_id = %id, %marking, markings = unresolvable.len(),
                "unresolvable markings: versions that reference them stay visible to their originator only until the originator's marking-definition arrives (see tandem doctor)"
            );
        }
        Ok(outcomes)
    }

    pub(crate) async fn set_provenance_impl(
        &self,
        collection: &str,
        originator: &str,
        proofs: Vec<(Timestamp, String, Value)>,
    ) -> Result<usize> {
        let mut conn = self.pool.get().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let mut updated = 0;
        for (date_added, id, proof) in proofs {
            let proof = serde_json::to_string(&proof).map_err(tandem_store::StoreError::backend)?;
            updated += tx
                .execute(
                    "UPDATE objects SET provenance = $4
                     WHERE date_added = $2 AND stix_id = $3 AND originator = $5
                       AND collection = (SELECT id FROM collections WHERE uuid = $1)",
                    &[&collection, &date_added.as_micros(), &id, &proof, &originator],
                )
                .await
                .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)?;
        Ok(updated as usize)
    }

    pub(crate) async fn delete_impl(
        &self,
        ctx: &ViewContext,
        collection: &str,
        id: &str,
        versions: &VersionFilter,
    ) -> Result<DeleteOutcome> {
        let query = ObjectQuery {
            ids: vec![id.to_string()],
            versions: versions.clone(),
            limit: usize::MAX,
            ..Default::default()
        };
        let visible = self.list_impl(ctx, collection, &query).await?.items;
        if visible.is_empty() {
            return Ok(DeleteOutcome::NotFound);
        }
        // The viewer's own claim is what it sees when it has one: it may delete only that.
        if visible.iter().any(|r| r.originator != ctx.viewer.member) {
            return Ok(DeleteOutcome::Forbidden);
        }
        let member = ctx.viewer.member.as_str();
        let Some(coll) = self.labels.collection_id(collection)? else {
            return Ok(DeleteOutcome::NotFound);
        };
        let mut conn = self.pool.get().await?;
        let tx = conn.transaction().await.map_err(pg)?;
        let floor = crate::lock_clock(&tx).await?;
        let mut last_added = floor;
        let now = Timestamp::now().as_micros();
        let mut deleted = 0;
        for record in &visible {
            let row = tx
                .query_opt(
                    "SELECT version, label FROM objects WHERE date_added = $1 AND originator = $2",
                    &[&record.date_added.as_micros(), &member],
                )
                .await
                .map_err(pg)?;
            let Some(row) = row else { continue };
            let key: String = row.try_get(0).map_err(pg)?;
            let label: i64 = row.try_get(1).map_err(pg)?;
            // The tombstone's feed position shares the objects' clock: unique and increasing.
            last_added = now.max(last_added + 1);
            deleted += tx
                .execute("DELETE FROM objects WHERE date_added = $1", &[&record.date_added.as_micros()])
                .await
                .map_err(pg)?;
            tx.execute(
                "INSERT INTO tombstones (collection, stix_id, originator, version, deleted_at, deleted_by, label, added)
                 VALUES ($1, $2, $3, $4, $5, $3, $6, $7) ON CONFLICT DO NOTHING",
                &[&coll, &id, &member, &key, &now, &label, &last_added],
            )
            .await
            .map_err(pg)?;
        }
        mark_latest(&tx, coll, id, member).await?;
        // Deleting one of several identical claims makes them differ.
        if !visible.iter().any(|r| tandem_model::object::family_of(&r.object_type) == Family::Sco) {
            now_conflicting(&tx, coll, id, last_added).await?;
        }
        crate::advance_clock(&tx, floor, last_added).await?;
        tx.commit().await.map_err(pg)?;
        Ok(DeleteOutcome::Deleted(deleted as usize))
    }
}

/// What is stored under the ids of `objects`: per id, `originator`'s versions and whether
/// another member holds any (one query for the batch).
async fn stored_under(
    tx: &impl GenericClient,
    coll: i64,
    originator: &str,
    objects: &[NewVersion],
) -> Result<std::collections::HashMap<String, (Vec<Existing>, bool)>> {
    let mut ids: Vec<&str> = objects.iter().map(|o| o.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut stored: std::collections::HashMap<String, (Vec<Existing>, bool)> = Default::default();
    let rows = tx
        .query(
            "SELECT stix_id, version, date_added, content_hash, revoked, originator = $3 FROM objects
             WHERE collection = $1 AND stix_id = ANY($2)",
            &[&coll, &ids, &originator],
        )
        .await
        .map_err(pg)?;
    for row in rows {
        let entry = stored.entry(row.try_get(0).map_err(pg)?).or_default();
        if row.try_get::<_, bool>(5).map_err(pg)? {
            entry.0.push(Existing {
                version: row.try_get(1).map_err(pg)?,
                date_added: row.try_get(2).map_err(pg)?,
                hash: row.try_get(3).map_err(pg)?,
                revoked: row.try_get(4).map_err(pg)?,
            });
        } else {
            entry.1 = true;
        }
    }
    Ok(stored)
}

/// New `objects` rows of one originator in one collection, a column each, for one
/// `INSERT ... SELECT ... FROM UNNEST`.
#[derive(Default)]
struct NewRows {
    date_added: Vec<i64>,
    stix_id: Vec<String>,
    object_type: Vec<String>,
    spec_version: Vec<String>,
    version: Vec<String>,
    label: Vec<i64>,
    latest: Vec<bool>,
    revoked: Vec<bool>,
    hash: Vec<Vec<u8>>,
    body: Vec<String>,
    provenance: Vec<Option<String>>,
    text: Vec<Option<String>>,
}

impl NewRows {
    /// Inserts the rows held so far (none: no statement) and empties the buffer.
    async fn flush(&mut self, tx: &impl GenericClient, coll: i64, originator: &str) -> Result<()> {
        if self.date_added.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(self);
        tx.execute(
            "INSERT INTO objects (date_added, collection, stix_id, type, spec_version, version, label, latest, revoked, content_hash, body, provenance, originator, search)
             SELECT d, $1, s, t, sv, v, l, la, r, h, b, p, $2, to_tsvector('simple', x)
             FROM UNNEST($3::BIGINT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::BIGINT[], $9::BOOLEAN[],
                         $10::BOOLEAN[], $11::BYTEA[], $12::TEXT[], $13::TEXT[], $14::TEXT[])
                  AS u(d, s, t, sv, v, l, la, r, h, b, p, x)",
            &[
                &coll,
                &originator,
                &rows.date_added,
                &rows.stix_id,
                &rows.object_type,
                &rows.spec_version,
                &rows.version,
                &rows.label,
                &rows.latest,
                &rows.revoked,
                &rows.hash,
                &rows.body,
                &rows.provenance,
                &rows.text,
            ],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }
}

/// Marks the newest remaining version of `originator`'s claim on `id` as its latest.
pub(crate) async fn mark_latest(tx: &impl GenericClient, coll: i64, id: &str, originator: &str) -> Result<()> {
    tx.execute(
        "UPDATE objects SET latest = TRUE WHERE collection = $1 AND stix_id = $2 AND originator = $3
         AND version = (SELECT MAX(version) FROM objects WHERE collection = $1 AND stix_id = $2 AND originator = $3)",
        &[&coll, &id, &originator],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// Whether a member other than `originator` holds a version or a tombstone under `id`.
pub(crate) async fn claimed_by_another(
    tx: &impl GenericClient,
    coll: i64,
    id: &str,
    originator: &str,
    has_tombstones: bool,
) -> Result<bool> {
    let row = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM objects WHERE collection = $1 AND stix_id = $2 AND originator <> $3)",
            &[&coll, &id, &originator],
        )
        .await
        .map_err(pg)?;
    if row.try_get::<_, bool>(0).map_err(pg)? {
        return Ok(true);
    }
    if !has_tombstones {
        return Ok(false);
    }
    tombstoned_by_another(tx, coll, id, originator).await
}

/// Whether a member other than `originator` holds a tombstone under `id`.
async fn tombstoned_by_another(tx: &impl GenericClient, coll: i64, id: &str, originator: &str) -> Result<bool> {
    let row = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM tombstones WHERE collection = $1 AND stix_id = $2 AND originator <> $3)",
            &[&coll, &id, &originator],
        )
        .await
        .map_err(pg)?;
    row.try_get(0).map_err(pg)
}

/// Records that more than one member claims `id` (kept once, with when it was first seen).
pub(crate) async fn mark_contested(tx: &impl GenericClient, coll: i64, id: &str, at: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO contested (collection, stix_id, first_seen) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&coll, &id, &at],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// One member's claim on an id: (version key, content hash; none for a tombstone).
type ClaimVersions = std::collections::BTreeSet<(String, Option<Vec<u8>>)>;

/// When `id` is contested and its claims have just come to differ, records it as conflicting and
/// says so (once).
pub(crate) async fn now_conflicting(tx: &impl GenericClient, coll: i64, id: &str, at: i64) -> Result<bool> {
    let state = tx
        .query_opt("SELECT conflicting FROM contested WHERE collection = $1 AND stix_id = $2", &[&coll, &id])
        .await
        .map_err(pg)?;
    let state: Option<bool> = state.map(|r| r.try_get(0)).transpose().map_err(pg)?;
    if state != Some(false) {
        return Ok(false);
    }
    let mut claims: std::collections::BTreeMap<String, ClaimVersions> = Default::default();
    for row in tx
        .query(
            "SELECT originator, version, content_hash FROM objects WHERE collection = $1 AND stix_id = $2
             UNION ALL SELECT originator, version, NULL FROM tombstones WHERE collection = $1 AND stix_id = $2",
            &[&coll, &id],
        )
        .await
        .map_err(pg)?
    {
        let originator: String = row.try_get(0).map_err(pg)?;
        let version: String = row.try_get(1).map_err(pg)?;
        let hash: Option<Vec<u8>> = row.try_get(2).map_err(pg)?;
        claims.entry(originator).or_default().insert((version, hash));
    }
    let mut sets = claims.values();
    let first = sets.next();
    if sets.all(|s| Some(s) == first) {
        return Ok(false);
    }
    tx.execute(
        "UPDATE contested SET conflicting = TRUE, first_seen = $3 WHERE collection = $1 AND stix_id = $2",
        &[&coll, &id, &at],
    )
    .await
    .map_err(pg)?;
    Ok(true)
}
