//! Writes: storing versions (with the versioning rules of STIX) and deleting them.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use tandem_model::{Timestamp, object::Family};
use tandem_policy::classify_marking;

use super::SqliteStore;
use super::labels::{self, Pending};
use crate::{
    DeleteOutcome, Incoming, NewStatus, NewVersion, ObjectQuery, PutOutcome, Result, VersionFilter, ViewContext,
};

/// One version of the id being written that the same originator already stored.
struct Existing {
    version: String,
    date_added: i64,
    hash: Vec<u8>,
    revoked: bool,
}

impl SqliteStore {
    /// Every rule here is decided inside the writer's own namespace, `(collection, id,
    /// originator)`: what another member stored under the same id neither blocks, replaces nor
    /// shows through this write, so an outcome says nothing about other members' data.
    pub(super) fn put_impl(
        &self,
        collection: &str,
        originator: &str,
        objects: Vec<Incoming>,
        status: &mut (dyn FnMut(&[PutOutcome]) -> Option<NewStatus> + Send),
    ) -> Result<Vec<PutOutcome>> {
        // Hashes, bodies and labels before the lock (see `crate::prepare`).
        let objects = NewVersion::prepare_all(originator, objects)?;
        let mut writer = self.writer()?;
        let mut last_added = writer.last_added;
        let mut pending = Pending::default();
        let mut outcomes = Vec::with_capacity(objects.len());
        let mut unresolvable: Vec<(String, String)> = Vec::new();
        {
            let state = self.labels.read()?;
            let tx = writer.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Another process (an import while the node serves) may have written since.
            pending.floor_before = super::clock_floor(&tx)?;
            last_added = last_added.max(pending.floor_before);
            let coll = labels::collection_id(&tx, &state, &mut pending, collection)?;
            let has_tombstones: bool =
                tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM tombstones)")?.query_row([], |r| r.get(0))?;
            for NewVersion { object, id, version, version_key, hash, body, provenance, label, label_key, text } in
                objects
            {
                let reject = |reason: String| PutOutcome::Rejected { id: id.clone(), version, reason };

                if has_tombstones {
                    let deleted: bool = tx
                        .prepare_cached(
                            "SELECT EXISTS (SELECT 1 FROM tombstones
                             WHERE collection = ?1 AND stix_id = ?2 AND originator = ?3 AND version = ?4)",
                        )?
                        .query_row(params![coll, id, originator, version_key], |r| r.get(0))?;
                    if deleted {
                        outcomes.push(reject("this version was deleted and cannot be stored again".into()));
                        continue;
                    }
                }
                // Every member's versions of the id in one seek: this writer's namespace decides,
                // the others' only say whether the id is claimed by several members.
                let (existing, others) = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT version, date_added, content_hash, revoked, originator = ?3 FROM objects
                         WHERE collection = ?1 AND stix_id = ?2",
                    )?;
                    let rows = stmt.query_map(params![coll, id, originator], |r| {
                        Ok((
                            Existing { version: r.get(0)?, date_added: r.get(1)?, hash: r.get(2)?, revoked: r.get(3)? },
                            r.get::<_, bool>(4)?,
                        ))
                    })?;
                    let mut existing = Vec::new();
                    let mut others = false;
                    for row in rows {
                        let (e, own) = row?;
                        if own {
                            existing.push(e);
                        } else {
                            others = true;
                        }
                    }
                    (existing, others)
                };
                // A version written earlier in this same call is visible through the query above
                // because it is the same transaction.
                if let Some(same) = existing.iter().find(|e| e.version == version_key) {
                    let date_added = Timestamp::from_micros(same.date_added);
                    let version = version.unwrap_or(date_added);
                    if same.hash == hash {
                        outcomes.push(PutOutcome::Duplicate { id, version, date_added });
                    } else if version_key.is_empty() {
                        outcomes.push(reject("a different object with this id is already stored (STIX Cyber-observables are not versioned)".into()));
                    } else {
                        outcomes.push(reject(
                            "conflict: a different content is already stored under this id and modified timestamp"
                                .into(),
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
                if state.cache.label_id(&label_key).is_none() {
                    for marking in label.marking_refs() {
                        let known = tandem_policy::decide::builtin(marking).is_some()
                            || state.cache.marking(originator, marking).is_some()
                            || pending
                                .markings
                                .iter()
                                .any(|(o, m, kind)| o == originator && m == marking && kind.is_some())
                            || objects_define(&object, marking);
                        if !known && !unresolvable.iter().any(|(_, m)| m == marking) {
                            unresolvable.push((id.clone(), marking.to_string()));
                        }
                    }
                }
                let label_id = labels::label_id(&tx, &state, &mut pending, &label, &label_key)?;
                let now = Timestamp::now().as_micros();
                last_added = now.max(last_added + 1);
                if latest && !existing.is_empty() {
                    tx.prepare_cached(
                        "UPDATE objects SET latest = 0
                         WHERE collection = ?1 AND stix_id = ?2 AND originator = ?3 AND latest = 1",
                    )?
                    .execute(params![coll, id, originator])?;
                }
                tx.prepare_cached(
                    "INSERT INTO objects (date_added, collection, stix_id, type, spec_version, version, label, latest, revoked, content_hash, body, provenance, originator)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )?
                .execute(params![
                    last_added,
                    coll,
                    id,
                    object.object_type(),
                    object.spec_version(),
                    version_key,
                    label_id,
                    latest,
                    object.revoked(),
                    hash.as_slice(),
                    body,
                    provenance,
                    originator
                ])?;
                // The version's full-text entry, in the same transaction (see `crate::text`).
                if let Some(keys) = text {
                    tx.prepare_cached("INSERT INTO object_text (rowid, keys) VALUES (?1, ?2)")?
                        .execute(params![last_added, keys])?;
                }
                // The first claim of this originator on an id another member already claimed makes
                // it contested; a write to a contested id may make its claims conflict.
                let claimed = others || (has_tombstones && tombstoned_by_another(&tx, coll, &id, originator)?);
                if claimed && existing.is_empty() {
                    mark_contested(&tx, coll, &id, last_added)?;
                }
                let contested =
                    claimed && object.family() != Family::Sco && now_conflicting(&tx, coll, &id, last_added)?;
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
            if let Some(NewStatus { id, owner, body }) = status(&outcomes) {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO statuses (id, owner, created, body) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![id, owner, Timestamp::now().as_micros(), body])?;
            }
            tx.commit()?;
        }
        writer.last_added = last_added;
        pending.seen_added = last_added;
        self.labels.publish(pending)?;
        if let Some((id, marking)) = unresolvable.first() {
            tracing::warn!(
                %originator, first_id = %id, %marking, markings = unresolvable.len(),
                "unresolvable markings: versions that reference them stay visible to their originator only until the originator's marking-definition arrives (see tandem doctor)"
            );
        }
        Ok(outcomes)
    }

    pub(super) fn set_provenance_impl(
        &self,
        collection: &str,
        originator: &str,
        proofs: Vec<(Timestamp, String, Value)>,
    ) -> Result<usize> {
        let mut writer = self.writer()?;
        let tx = writer.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut updated = 0;
        {
            let mut set = tx.prepare_cached(
                "UPDATE objects SET provenance = ?4
                 WHERE date_added = ?2 AND stix_id = ?3 AND originator = ?5
                   AND collection = (SELECT id FROM collections WHERE uuid = ?1)",
            )?;
            for (date_added, id, proof) in proofs {
                let proof = serde_json::to_string(&proof).map_err(crate::StoreError::backend)?;
                updated += set.execute(params![collection, date_added.as_micros(), id, proof, originator])?;
            }
        }
        tx.commit()?;
        Ok(updated)
    }

    pub(super) fn delete_impl(
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
        let visible = self.list_impl(ctx, collection, &query)?.items;
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
        let mut writer = self.writer()?;
        let mut last_added = writer.last_added;
        let tx = writer.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process (an import while the node serves) may have written since.
        last_added = last_added.max(super::clock_floor(&tx)?);
        let now = Timestamp::now().as_micros();
        let mut deleted = 0;
        for record in &visible {
            let row: Option<(String, i64)> = tx
                .prepare_cached("SELECT version, label FROM objects WHERE date_added = ?1 AND originator = ?2")?
                .query_row(params![record.date_added.as_micros(), member], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((key, label)) = row else { continue };
            // The tombstone's feed position shares the objects' clock: unique and increasing.
            last_added = now.max(last_added + 1);
            deleted += tx.execute("DELETE FROM objects WHERE date_added = ?1", [record.date_added.as_micros()])?;
            tx.execute(
                "INSERT OR IGNORE INTO tombstones (collection, stix_id, originator, version, deleted_at, deleted_by, label, added) VALUES (?1, ?2, ?3, ?4, ?5, ?3, ?6, ?7)",
                params![coll, id, member, key, now, label, last_added],
            )?;
        }
        mark_latest(&tx, coll, id, member)?;
        // Deleting one of several identical claims makes them differ.
        if !visible.iter().any(|r| tandem_model::object::family_of(&r.object_type) == Family::Sco) {
            now_conflicting(&tx, coll, id, last_added)?;
        }
        tx.commit()?;
        writer.last_added = last_added;
        Ok(DeleteOutcome::Deleted(deleted))
    }
}

/// Marks the newest remaining version of `originator`'s claim on `id` as its latest.
pub(super) fn mark_latest(tx: &rusqlite::Connection, coll: i64, id: &str, originator: &str) -> Result<()> {
    tx.prepare_cached(
        "UPDATE objects SET latest = 1 WHERE collection = ?1 AND stix_id = ?2 AND originator = ?3
         AND version = (SELECT MAX(version) FROM objects WHERE collection = ?1 AND stix_id = ?2 AND originator = ?3)",
    )?
    .execute(params![coll, id, originator])?;
    Ok(())
}

/// Whether a member other than `originator` holds a version or a tombstone under `id`.
pub(super) fn claimed_by_another(
    tx: &rusqlite::Connection,
    coll: i64,
    id: &str,
    originator: &str,
    has_tombstones: bool,
) -> Result<bool> {
    let mut stmt = tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM objects WHERE collection = ?1 AND stix_id = ?2 AND originator <> ?3)",
    )?;
    if stmt.query_row(params![coll, id, originator], |r| r.get::<_, bool>(0))? {
        return Ok(true);
    }
    if !has_tombstones {
        return Ok(false);
    }
    tombstoned_by_another(tx, coll, id, originator)
}

/// Whether a member other than `originator` holds a tombstone under `id`.
fn tombstoned_by_another(tx: &rusqlite::Connection, coll: i64, id: &str, originator: &str) -> Result<bool> {
    let mut stmt = tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM tombstones WHERE collection = ?1 AND stix_id = ?2 AND originator <> ?3)",
    )?;
    Ok(stmt.query_row(params![coll, id, originator], |r| r.get::<_, bool>(0))?)
}

/// Records that more than one member claims `id` (kept once, with when it was first seen).
pub(super) fn mark_contested(tx: &rusqlite::Connection, coll: i64, id: &str, at: i64) -> Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO contested (collection, stix_id, first_seen) VALUES (?1, ?2, ?3)")?
        .execute(params![coll, id, at])?;
    Ok(())
}

/// One member's claim on an id: (version key, content hash; none for a tombstone).
type ClaimVersions = std::collections::BTreeSet<(String, Option<Vec<u8>>)>;

/// When `id` is contested and its claims have just come to differ (not every member holding the
/// same versions with the same contents), records it as conflicting and says so (once).
pub(super) fn now_conflicting(tx: &rusqlite::Connection, coll: i64, id: &str, at: i64) -> Result<bool> {
    let state: Option<bool> = tx
        .prepare_cached("SELECT conflicting FROM contested WHERE collection = ?1 AND stix_id = ?2")?
        .query_row(params![coll, id], |r| r.get(0))
        .optional()?;
    if state != Some(false) {
        return Ok(false);
    }
    let mut claims: std::collections::BTreeMap<String, ClaimVersions> = Default::default();
    let mut stmt = tx.prepare_cached(
        "SELECT originator, version, content_hash FROM objects WHERE collection = ?1 AND stix_id = ?2
         UNION ALL SELECT originator, version, NULL FROM tombstones WHERE collection = ?1 AND stix_id = ?2",
    )?;
    let rows = stmt.query_map(params![coll, id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<Vec<u8>>>(2)?))
    })?;
    for row in rows {
        let (originator, version, hash) = row?;
        claims.entry(originator).or_default().insert((version, hash));
    }
    let mut sets = claims.values();
    let first = sets.next();
    if sets.all(|s| Some(s) == first) {
        return Ok(false);
    }
    tx.prepare_cached("UPDATE contested SET conflicting = 1, first_seen = ?3 WHERE collection = ?1 AND stix_id = ?2")?
        .execute(params![coll, id, at])?;
    Ok(true)
}

/// Whether `object` is itself the marking-definition `marking` (a marking may mark itself only
/// in malformed data, but an envelope often carries the definition just before its users).
fn objects_define(object: &tandem_model::StixObject, marking: &str) -> bool {
    object.object_type() == "marking-definition" && object.id() == marking
}
