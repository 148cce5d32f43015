//! The incident index on SQLite (`incident_index`, schema version 7; see [`crate::incidents`]):
//! its rows written beside each incident version, and the viewer's incidents read from it.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::claims;
use crate::incidents::{IncidentFacts, IncidentRecord, IndexedRow, Scanned, from_copies};
use crate::{Result, ViewContext};

/// Writes the index row of the version stored at `date_added`: the listing's columns copied from
/// its `objects` row (so they cannot differ), the facts bound.
pub(super) fn insert(conn: &Connection, date_added: i64, facts: &IncidentFacts) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO incident_index (date_added, collection, stix_id, originator, version, label, latest, revoked,
             event_type, sub_event_type, admin1, start_day, end_day, precision,
             fatalities_best, fatalities_low, fatalities_high, arrests, seizures, refs)
         SELECT date_added, collection, stix_id, originator, version, label, latest, revoked,
             ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13
         FROM objects WHERE date_added = ?1",
    )?
    .execute(params![
        date_added,
        facts.event_type,
        facts.sub_event_type,
        facts.admin1,
        facts.start,
        facts.end,
        facts.precision,
        facts.fatalities.0 as i64,
        facts.fatalities.1 as i64,
        facts.fatalities.2 as i64,
        facts.arrests as i64,
        facts.seizures as i64,
        facts.refs_text(),
    ])?;
    Ok(())
}

/// Version 7: the index table, and a row for every incident version already stored.
pub(super) fn backfill(tx: &Connection) -> Result<()> {
    tx.execute_batch(include_str!("../../migrations/0007_incident_index.sql"))?;
    let mut stmt = tx.prepare("SELECT date_added, body FROM objects WHERE type = 'incident'")?;
    let mut rows = stmt.query([])?;
    let mut indexed = 0u64;
    while let Some(row) = rows.next()? {
        let date_added: i64 = row.get(0)?;
        let body: String = row.get(1)?;
        if let Some(facts) = IncidentFacts::of_stored("incident", &body)? {
            insert(tx, date_added, &facts)?;
            indexed += 1;
        }
    }
    if indexed > 0 {
        tracing::info!(indexed, "incident index built for the stored incidents");
    }
    Ok(())
}

fn array(values: impl IntoIterator<Item = SqlValue>) -> std::rc::Rc<Vec<SqlValue>> {
    std::rc::Rc::new(values.into_iter().collect())
}

fn u64_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)?.max(0) as u64)
}

impl SqliteStore {
    pub(super) fn incidents_impl(&self, ctx: &ViewContext, collection: &str) -> Result<Vec<IncidentRecord>> {
        self.with_reader(|conn| self.labels.refresh(conn))?;
        let Some(coll) = self.labels.collection_id(collection)? else {
            return Ok(Vec::new());
        };
        let released = self.labels.released(ctx)?;
        if released.ids.is_empty() {
            return Ok(Vec::new());
        }
        let member = ctx.viewer.member.as_str();
        let scanned = self.with_reader(|conn| {
            let any_contested: bool = conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM contested WHERE collection = ?1)")?
                .query_row([coll], |r| r.get(0))?;
            let contested = if any_contested {
                "EXISTS (SELECT 1 FROM contested c WHERE c.collection = i.collection AND c.stix_id = i.stix_id)"
            } else {
                "0"
            };
            // The listing's pre-filter and its `VersionFilter::Last`, on the index's own columns.
            let sql = format!(
                "SELECT i.date_added, i.stix_id, i.originator, i.label, i.revoked, {contested},
                        i.event_type, i.sub_event_type, i.admin1, i.start_day, i.end_day, i.precision,
                        i.fatalities_best, i.fatalities_low, i.fatalities_high, i.arrests, i.seizures, i.refs
                 FROM incident_index i
                 WHERE i.collection = ?1 AND i.label IN rarray(?2)
                   AND (i.latest = 1 OR NOT EXISTS (SELECT 1 FROM incident_index n
                        WHERE n.collection = i.collection AND n.stix_id = i.stix_id AND n.originator = i.originator
                          AND n.version > i.version AND n.label IN rarray(?2)))
                 ORDER BY i.date_added"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let labels = array(released.ids.iter().map(|i| SqlValue::Integer(*i)));
            let mut rows = stmt.query(params![coll, labels])?;
            let mut scanned = Scanned::default();
            let mut settled: std::collections::HashMap<String, Option<String>> = Default::default();
            while let Some(r) = rows.next()? {
                let mut facts = IncidentFacts {
                    event_type: r.get(6)?,
                    sub_event_type: r.get(7)?,
                    admin1: r.get(8)?,
                    start: r.get(9)?,
                    end: r.get(10)?,
                    precision: r.get(11)?,
                    fatalities: (u64_at(r, 12)?, u64_at(r, 13)?, u64_at(r, 14)?),
                    arrests: u64_at(r, 15)?,
                    seizures: u64_at(r, 16)?,
                    ..Default::default()
                };
                facts.set_refs(r.get_ref(17)?.as_str_or_null().map_err(rusqlite::Error::from)?)?;
                let row = IndexedRow {
                    date_added: r.get(0)?,
                    id: r.get(1)?,
                    originator: r.get(2)?,
                    label: r.get(3)?,
                    revoked: r.get(4)?,
                    contested: r.get(5)?,
                    facts,
                };
                scanned.push(row, &released, |id| {
                    if let Some(c) = settled.get(id) {
                        return Ok(c.clone());
                    }
                    let c = claims::settle(conn, coll, id, "incident", member, &released)?;
                    settled.insert(id.to_string(), c.clone());
                    Ok(c)
                })?;
            }
            Ok(scanned)
        })?;
        from_copies(self, ctx, collection, scanned)
    }
}
