//! Gathering the claims on a contested id from SQL, for [`tandem_store::access::Claims`] to
//! settle, and the operator's list of contested ids.

use tandem_model::Timestamp;
use tandem_store::access::{Claims, Released};
use tandem_store::{Contest, Result};
use tokio_postgres::GenericClient;

use crate::{PgStore, pg};

/// Which member's claim on `id` the reader of member `reader` receives; `None` when it receives
/// none.
pub(crate) async fn settle(
    conn: &impl GenericClient,
    coll: i64,
    id: &str,
    object_type: &str,
    reader: &str,
    released: &Released,
) -> Result<Option<String>> {
    let rows = conn
        .query(
            "SELECT originator, version, content_hash, label, provenance IS NOT NULL FROM objects
             WHERE collection = $1 AND stix_id = $2
             UNION ALL
             SELECT originator, version, NULL, label, proof IS NOT NULL FROM tombstones
             WHERE collection = $1 AND stix_id = $2",
            &[&coll, &id],
        )
        .await
        .map_err(pg)?;
    let mut claims = Claims::default();
    for r in rows {
        claims.add(
            released,
            r.try_get(0).map_err(pg)?,
            r.try_get(1).map_err(pg)?,
            r.try_get(2).map_err(pg)?,
            r.try_get(3).map_err(pg)?,
            r.try_get(4).map_err(pg)?,
        );
    }
    Ok(claims.settle(reader, object_type))
}

impl PgStore {
    pub(crate) async fn contested_impl(&self) -> Result<Vec<Contest>> {
        let conn = self.pool.get().await?;
        let rows = conn
            .query(
                "SELECT col.uuid, c.stix_id, c.first_seen,
                        ARRAY(SELECT originator FROM objects o WHERE o.collection = c.collection AND o.stix_id = c.stix_id
                              UNION SELECT originator FROM tombstones t WHERE t.collection = c.collection AND t.stix_id = c.stix_id)
                 FROM contested c JOIN collections col ON col.id = c.collection
                 WHERE c.conflicting
                 ORDER BY c.first_seen",
                &[],
            )
            .await
            .map_err(pg)?;
        let mut out = Vec::new();
        for r in rows {
            let mut claimants: Vec<String> = r.try_get(3).map_err(pg)?;
            claimants.retain(|s| !s.is_empty());
            claimants.sort();
            claimants.dedup();
            out.push(Contest {
                collection: r.try_get(0).map_err(pg)?,
                id: r.try_get(1).map_err(pg)?,
                claimants,
                first_seen: Timestamp::from_micros(r.try_get(2).map_err(pg)?),
            });
        }
        Ok(out)
    }
}
