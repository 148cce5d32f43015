//! Writes: storing versions (with the versioning rules of STIX) and deleting them.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use tandem_model::{Timestamp, canonical::map_hash, object::Family};
use tandem_policy::{AccessLabel, classify_marking};

use super::SqliteStore;
use super::labels::{self, Pending};
use crate::{DeleteOutcome, Incoming, ObjectQuery, PutOutcome, Result, VersionFilter, ViewContext};

/// One already-stored version of the id being written.
struct Existing {
    version: String,
    date_added: i64,
    hash: Vec<u8>,
    revoked: bool,
    originator: String,
}

impl SqliteStore {
    pub(super) fn put_impl(
        &self,
        collection: &str,
        originator: &str,
        objects: Vec<Incoming>,
    ) -> Result<Vec<PutOutcome>> {
        let mut writer = self.writer()?;
        let mut last_added = writer.last_added;
        let mut pending = Pending::default();
        let mut outcomes = Vec::with_capacity(objects.len());
        {
            let state = self.labels.read()?;
            let tx = writer.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Another process (an import while the node serves) may have written since.
            pending.floor_before = super::clock_floor(&tx)?;
            last_added = last_added.max(pending.floor_before);
            let coll = labels::collection_id(&tx, &state, &mut pending, collection)?;
            let has_tombstones: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM tombstones)", [], |r| r.get(0))?;
            for Incoming { object, provenance } in objects {
                let id = object.id().to_string();
                let version = object.version();
                let version_key = version.map(|v| v.sort_key()).unwrap_or_default();
                let hash = map_hash(object.as_map());
                let reject = |reason: String| PutOutcome::Rejected { id: id.clone(), version, reason };

                if has_tombstones {
                    let deleted: bool = tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM tombstones WHERE collection = ?1 AND stix_id = ?2 AND version = ?3)",
                        params![coll, id, version_key],
                        |r| r.get(0),
                    )?;
                    if deleted {
                        outcomes.push(reject("this version was deleted and cannot be stored again".into()));
                        continue;
                    }
                }
                let existing = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT o.version, o.date_added, o.content_hash, o.revoked, l.label
                         FROM objects o JOIN access_labels l ON l.id = o.label
                         WHERE o.collection = ?1 AND o.stix_id = ?2",
                    )?;
                    let rows = stmt.query_map(params![coll, id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                            r.get::<_, bool>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    })?;
                    let mut out = Vec::new();
                    for row in rows {
                        let (version, date_added, hash, revoked, label) = row?;
                        let originator =
                            serde_json::from_str::<AccessLabel>(&label).map(|l| l.originator).unwrap_or_default();
                        out.push(Existing { version, date_added, hash, revoked, originator });
                    }
                    out
                };
                // Pending labels are not in the table yet; a version written earlier in this
                // same call is visible through the query above because it is the same transaction.
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
                if let Some(owner) = existing.first().map(|e| e.originator.clone()) {
                    if owner != originator {
                        // Do not name the owner: the writer may not be allowed to see the object.
                        let msg = "only the originating member may create new versions of this object";
                        outcomes.push(reject(msg.into()));
                        continue;
                    }
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
                let label = AccessLabel::of(originator, &object);
                // Checked once per new label, not per object: a bulk import must not flood the log.
                let new_label = !state.label_ids.contains_key(&labels::label_key(&label));
                for marking in label.marking_refs().filter(|_| new_label) {
                    let known = matches!(state.markings.get(marking), Some(Some(_)))
                        || pending.markings.iter().any(|(m, kind)| m == marking && kind.is_some())
                        || objects_define(&object, marking);
                    if !known {
                        tracing::warn!(%id, %marking, "unresolvable marking: the version stays visible to its originator only until the marking-definition arrives (see tandem doctor)");
                    }
                }
                let label_id = labels::label_id(&tx, &state, &mut pending, &label)?;
                let now = Timestamp::now().as_micros();
                last_added = now.max(last_added + 1);
                if latest && !existing.is_empty() {
                    tx.prepare_cached(
                        "UPDATE objects SET latest = 0 WHERE collection = ?1 AND stix_id = ?2 AND latest = 1",
                    )?
                    .execute(params![coll, id])?;
                }
                let body =
                    serde_json::to_string(object.as_map()).map_err(|e| crate::StoreError::Backend(e.to_string()))?;
                let provenance = provenance.as_ref().map(|p| p.to_string());
                tx.prepare_cached(
                    "INSERT INTO objects (date_added, collection, stix_id, type, spec_version, version, label, latest, revoked, content_hash, body, provenance)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
                    provenance
                ])?;
                if object.object_type() == "marking-definition" {
                    pending.markings.push((id.clone(), classify_marking(&Value::Object(object.as_map().clone()))));
                }
                let date_added = Timestamp::from_micros(last_added);
                let version = match object.family() {
                    Family::Sco if version.is_none() => date_added,
                    _ => version.unwrap_or(date_added),
                };
                outcomes.push(PutOutcome::Added { id, version, date_added });
            }
            tx.commit()?;
        }
        writer.last_added = last_added;
        pending.seen_added = last_added;
        self.labels.publish(pending)?;
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
            let mut find = tx.prepare_cached(
                "SELECT l.label FROM objects o JOIN access_labels l ON l.id = o.label
                 JOIN collections c ON c.id = o.collection
                 WHERE c.uuid = ?1 AND o.date_added = ?2 AND o.stix_id = ?3",
            )?;
            let mut set = tx.prepare_cached(
                "UPDATE objects SET provenance = ?3
                 WHERE date_added = ?1 AND stix_id = ?2",
            )?;
            for (date_added, id, proof) in proofs {
                let label: Option<String> =
                    find.query_row(params![collection, date_added.as_micros(), id], |r| r.get(0)).optional()?;
                let owner = label.and_then(|l| serde_json::from_str::<AccessLabel>(&l).ok()).map(|l| l.originator);
                if owner.as_deref() == Some(originator) {
                    updated += set.execute(params![date_added.as_micros(), id, proof.to_string()])?;
                }
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
        if visible.iter().any(|r| r.originator != ctx.viewer.member) {
            return Ok(DeleteOutcome::Forbidden);
        }
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
                .query_row(
                    "SELECT version, label FROM objects WHERE date_added = ?1",
                    [record.date_added.as_micros()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((key, label)) = row else { continue };
            // The tombstone's feed position shares the objects' clock: unique and increasing.
            last_added = now.max(last_added + 1);
            deleted += tx.execute("DELETE FROM objects WHERE date_added = ?1", [record.date_added.as_micros()])?;
            tx.execute(
                "INSERT OR IGNORE INTO tombstones (collection, stix_id, version, deleted_at, deleted_by, label, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![coll, id, key, now, ctx.viewer.member, label, last_added],
            )?;
        }
        tx.execute(
            "UPDATE objects SET latest = 1 WHERE collection = ?1 AND stix_id = ?2
             AND version = (SELECT MAX(version) FROM objects WHERE collection = ?1 AND stix_id = ?2)",
            params![coll, id],
        )?;
        tx.commit()?;
        writer.last_added = last_added;
        Ok(DeleteOutcome::Deleted(deleted))
    }
}

/// Whether `object` is itself the marking-definition `marking` (a marking may mark itself only
/// in malformed data, but an envelope often carries the definition just before its users).
fn objects_define(object: &tandem_model::StixObject, marking: &str) -> bool {
    object.object_type() == "marking-definition" && object.id() == marking
}
