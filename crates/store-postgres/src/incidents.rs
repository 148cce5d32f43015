//! The incident index on PostgreSQL (`incident_index`, schema version 4; see
//! [`tandem_store::incidents`]): its rows written beside each incident version, and the
//! viewer's incidents read from it, filtered and settled exactly as the SQLite backend does.

use std::collections::HashMap;

use tandem_store::incidents::{IncidentFacts, IndexedRow, Scanned};
use tandem_store::{Result, StoreError, ViewContext};
use tokio_postgres::GenericClient;

use crate::{PgStore, claims, pg};

/// The insert of index rows: the listing's columns copied from the versions' `objects` rows (so
/// they cannot differ), the facts as parallel arrays, any number of rows in one statement.
const INSERT: &str = "INSERT INTO incident_index (date_added, collection, stix_id, originator, version, label, latest, revoked,
         event_type, sub_event_type, admin1, start_day, end_day, precision,
         fatalities_best, fatalities_low, fatalities_high, arrests, seizures, refs)
     SELECT o.date_added, o.collection, o.stix_id, o.originator, o.version, o.label, o.latest, o.revoked,
         f.event_type, f.sub_event_type, f.admin1, f.start_day, f.end_day, f.precision,
         f.fb, f.fl, f.fh, f.arrests, f.seizures, f.refs
     FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::BIGINT[], $7::SMALLINT[],
                 $8::BIGINT[], $9::BIGINT[], $10::BIGINT[], $11::BIGINT[], $12::BIGINT[], $13::TEXT[])
          AS f(date_added, event_type, sub_event_type, admin1, start_day, end_day, precision, fb, fl, fh, arrests, seizures, refs)
     JOIN objects o ON o.date_added = f.date_added";

/// Writes the index rows of the versions stored at the given positions.
pub(crate) async fn insert(conn: &impl GenericClient, rows: &[(i64, IncidentFacts)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: &dyn Fn(&IncidentFacts) -> Option<String>| -> Vec<Option<String>> {
        rows.iter().map(|(_, x)| f(x)).collect()
    };
    let int =
        |f: &dyn Fn(&IncidentFacts) -> Option<i64>| -> Vec<Option<i64>> { rows.iter().map(|(_, x)| f(x)).collect() };
    let positions: Vec<i64> = rows.iter().map(|(p, _)| *p).collect();
    let event_type = col(&|f| f.event_type.clone());
    let sub_event_type = col(&|f| f.sub_event_type.clone());
    let admin1 = col(&|f| f.admin1.clone());
    let start = int(&|f| f.start);
    let end = int(&|f| f.end);
    let precision: Vec<Option<i16>> = rows.iter().map(|(_, f)| f.precision.map(i16::from)).collect();
    let fb = int(&|f| Some(f.fatalities.0 as i64));
    let fl = int(&|f| Some(f.fatalities.1 as i64));
    let fh = int(&|f| Some(f.fatalities.2 as i64));
    let arrests = int(&|f| Some(f.arrests as i64));
    let seizures = int(&|f| Some(f.seizures as i64));
    let refs = col(&|f| f.refs_text());
    conn.execute(
        INSERT,
        &[
            &positions,
            &event_type,
            &sub_event_type,
            &admin1,
            &start,
            &end,
            &precision,
            &fb,
            &fl,
            &fh,
            &arrests,
            &seizures,
            &refs,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// Version 4: a row for every incident version already stored, in batches by position.
pub(crate) async fn backfill(tx: &tokio_postgres::Transaction<'_>) -> Result<()> {
    let select = tx
        .prepare(
            "SELECT date_added, body FROM objects WHERE type = 'incident' AND date_added > $1 ORDER BY date_added LIMIT 1000",
        )
        .await
        .map_err(pg)?;
    let mut after = i64::MIN;
    let mut indexed = 0usize;
    loop {
        let rows = tx.query(&select, &[&after]).await.map_err(pg)?;
        if rows.is_empty() {
            break;
        }
        let mut batch = Vec::with_capacity(rows.len());
        for row in rows {
            let date_added: i64 = row.try_get(0).map_err(pg)?;
            let body: String = row.try_get(1).map_err(pg)?;
            after = date_added;
            if let Some(facts) = IncidentFacts::of_stored("incident", &body)? {
                batch.push((date_added, facts));
            }
        }
        indexed += batch.len();
        insert(tx, &batch).await?;
    }
    if indexed > 0 {
        tracing::info!(indexed, "incident index built for the stored incidents");
    }
    Ok(())
}

fn count(r: &tokio_postgres::Row, i: usize) -> Result<u64> {
    Ok(r.try_get::<_, i64>(i).map_err(pg)?.max(0) as u64)
}

impl PgStore {
    /// The index rows `ctx` may use as they are, and the ids it receives redacted (read by
    /// [`tandem_store::incidents::from_copies`] through `list`, outside this runtime).
    pub(crate) async fn scan_incidents(&self, ctx: &ViewContext, collection: &str) -> Result<Scanned> {
        {
            let conn = self.pool.get().await?;
            self.labels.refresh(&*conn).await?;
            let Some(coll) = self.labels.collection_id(collection)? else {
                return Ok(Scanned::default());
            };
            let released = self.labels.released(ctx)?;
            if released.ids.is_empty() {
                return Ok(Scanned::default());
            }
            let any_contested: bool = conn
                .query_one("SELECT EXISTS (SELECT 1 FROM contested WHERE collection = $1)", &[&coll])
                .await
                .map_err(pg)?
                .try_get(0)
                .map_err(pg)?;
            let contested = if any_contested {
                "EXISTS (SELECT 1 FROM contested c WHERE c.collection = i.collection AND c.stix_id = i.stix_id)"
            } else {
                "FALSE"
            };
            // The listing's pre-filter and its `VersionFilter::Last`, on the index's own columns.
            let sql = format!(
                "SELECT i.date_added, i.stix_id, i.originator, i.label, i.revoked, {contested},
                        i.event_type, i.sub_event_type, i.admin1, i.start_day, i.end_day, i.precision,
                        i.fatalities_best, i.fatalities_low, i.fatalities_high, i.arrests, i.seizures, i.refs
                 FROM incident_index i
                 WHERE i.collection = $1 AND i.label = ANY($2)
                   AND (i.latest OR NOT EXISTS (SELECT 1 FROM incident_index n
                        WHERE n.collection = i.collection AND n.stix_id = i.stix_id AND n.originator = i.originator
                          AND n.version > i.version AND n.label = ANY($2)))
                 ORDER BY i.date_added"
            );
            let rows = conn.query(sql.as_str(), &[&coll, &released.ids]).await.map_err(pg)?;
            let member = ctx.viewer.member.as_str();
            let mut scanned = Scanned::default();
            let mut settled: HashMap<String, Option<String>> = HashMap::new();
            for r in rows {
                let precision: Option<i16> = r.try_get(11).map_err(pg)?;
                let mut facts = IncidentFacts {
                    event_type: r.try_get(6).map_err(pg)?,
                    sub_event_type: r.try_get(7).map_err(pg)?,
                    admin1: r.try_get(8).map_err(pg)?,
                    start: r.try_get(9).map_err(pg)?,
                    end: r.try_get(10).map_err(pg)?,
                    precision: precision
                        .map(|p| u8::try_from(p).map_err(|_| StoreError::Corrupt(format!("incident precision {p}"))))
                        .transpose()?,
                    fatalities: (count(&r, 12)?, count(&r, 13)?, count(&r, 14)?),
                    arrests: count(&r, 15)?,
                    seizures: count(&r, 16)?,
                    ..Default::default()
                };
                facts.set_refs(r.try_get::<_, Option<&str>>(17).map_err(pg)?)?;
                let row = IndexedRow {
                    date_added: r.try_get(0).map_err(pg)?,
                    id: r.try_get(1).map_err(pg)?,
                    originator: r.try_get(2).map_err(pg)?,
                    label: r.try_get(3).map_err(pg)?,
                    revoked: r.try_get(4).map_err(pg)?,
                    contested: r.try_get(5).map_err(pg)?,
                    facts,
                };
                // Settled ahead of `push`, which takes a synchronous answer.
                if row.contested && !settled.contains_key(&row.id) {
                    let c = claims::settle(&*conn, coll, &row.id, "incident", member, &released).await?;
                    settled.insert(row.id.clone(), c);
                }
                scanned.push(row, &released, |id| Ok(settled.get(id).cloned().flatten()))?;
            }
            Ok(scanned)
        }
    }
}
