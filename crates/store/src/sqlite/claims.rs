//! Gathering the claims on a contested id from SQL, for [`crate::access::Claims`] to settle,
//! and the operator's list of contested ids.

use rusqlite::{Connection, params};
use tandem_model::Timestamp;

use super::SqliteStore;
use crate::access::{Claims, Released};
use crate::{Contest, Result};

/// Which member's claim on `id` the reader of member `reader` receives (see
/// [`crate::access::Claims::settle`]); `None` when it receives none.
pub(super) fn settle(
    conn: &Connection,
    coll: i64,
    id: &str,
    object_type: &str,
    reader: &str,
    released: &Released,
) -> Result<Option<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT originator, version, content_hash, label, provenance IS NOT NULL FROM objects
         WHERE collection = ?1 AND stix_id = ?2
         UNION ALL
         SELECT originator, version, NULL, label, proof IS NOT NULL FROM tombstones
         WHERE collection = ?1 AND stix_id = ?2",
    )?;
    let rows = stmt.query_map(params![coll, id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<Vec<u8>>>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    let mut claims = Claims::default();
    for row in rows {
        let (originator, version, hash, label, signed) = row?;
        claims.add(released, originator, version, hash, label, signed);
    }
    Ok(claims.settle(reader, object_type))
}

impl SqliteStore {
    pub(super) fn contested_impl(&self) -> Result<Vec<Contest>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(
                "SELECT col.uuid, c.stix_id, c.first_seen,
                        (SELECT group_concat(originator, ',') FROM
                            (SELECT originator FROM objects o WHERE o.collection = c.collection AND o.stix_id = c.stix_id
                             UNION SELECT originator FROM tombstones t WHERE t.collection = c.collection AND t.stix_id = c.stix_id))
                 FROM contested c JOIN collections col ON col.id = c.collection
                 WHERE c.conflicting = 1
                 ORDER BY c.first_seen",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (collection, id, first_seen, claimants) = row?;
                let mut claimants: Vec<String> =
                    claimants.unwrap_or_default().split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
                claimants.sort();
                claimants.dedup();
                out.push(Contest { collection, id, claimants, first_seen: Timestamp::from_micros(first_seen) });
            }
            Ok(out)
        })
    }
}
