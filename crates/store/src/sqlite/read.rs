//! Reads: every listing is filtered by releasability in SQL (released labels) and finished by
//! [`crate::access`] (redaction, and which claim of a contested id the viewer receives), so
//! nothing unreleased leaves this module.
//!
//! A text search narrows the rows by the full-text index (`object_text`) and is checked again on
//! each copy released (see [`crate::text`]). A page holds only versions the viewer receives, and its `next` token is the position of the
//! last of them: rows withheld after the SQL pre-filter (a copy that would not be valid STIX once
//! redacted, a claim the viewer is not served) are skipped by reading on, never by ending a page
//! on them, so a token never reveals where a withheld version sits in the feed.

use std::collections::HashMap;
use std::rc::Rc;

use rusqlite::types::Value as SqlValue;
use tandem_model::Timestamp;

use super::SqliteStore;
use super::claims;
use crate::access::{Released, StoredRow, release_matching};
use crate::cursor::Cursor;
use crate::{ObjectQuery, Page, Record, Result, StoreError, VersionFilter, ViewContext};

const NEWER_VISIBLE: &str = "EXISTS (SELECT 1 FROM objects n WHERE n.collection = o.collection AND n.stix_id = o.stix_id AND n.originator = o.originator AND n.version > o.version AND n.label IN rarray(?3))";
const OLDER_VISIBLE: &str = "EXISTS (SELECT 1 FROM objects n WHERE n.collection = o.collection AND n.stix_id = o.stix_id AND n.originator = o.originator AND n.version < o.version AND n.label IN rarray(?3))";

fn array(values: impl IntoIterator<Item = SqlValue>) -> Rc<Vec<SqlValue>> {
    Rc::new(values.into_iter().collect())
}

/// One row as the listing query returns it.
struct Row {
    stored: StoredRow,
    contested: bool,
}

impl SqliteStore {
    pub(super) fn list_impl(&self, ctx: &ViewContext, collection: &str, query: &ObjectQuery) -> Result<Page<Record>> {
        self.with_reader(|conn| self.labels.refresh(conn))?;
        let Some(coll) = self.labels.collection_id(collection)? else {
            return Ok(Page::default());
        };
        let released = self.labels.released_for(ctx, query.widened_since.as_deref())?;
        if released.ids.is_empty() || query.limit == 0 {
            return Ok(Page::default());
        }
        let mut after = match (query.added_after, query.cursor) {
            (Some(a), Some(Cursor { after: c })) => a.max(c),
            (Some(a), None) => a,
            (None, Some(Cursor { after: c })) => c,
            (None, None) => Timestamp::from_micros(i64::MIN / 2),
        }
        .as_micros();
        // Most stores hold no contested id: then no row needs the per-row look-up.
        let any_contested = !query.every_claim
            && self.with_reader(|conn| {
                Ok(conn
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM contested WHERE collection = ?1)")?
                    .query_row([coll], |r| r.get::<_, bool>(0))?)
            })?;
        let Some((sql, mut params)) = listing_sql(query, &released, any_contested)? else {
            return Ok(Page::default());
        };
        params[0] = Box::new(coll);
        let limit = query.limit.min(i64::MAX as usize - 1);
        // One more than a page tells whether more follow.
        let wanted = limit + 1;
        let mut settled: HashMap<String, Option<String>> = HashMap::new();
        let mut items: Vec<Record> = Vec::with_capacity(wanted.min(10_000));
        loop {
            let batch = (wanted - items.len()).clamp(1, 10_000);
            params[1] = Box::new(after);
            let batch_len = params.len();
            params[batch_len - 1] = Box::new(batch as i64);
            let rows = self.with_reader(|conn| {
                let mut stmt = conn.prepare_cached(&sql)?;
                let refs: Vec<&dyn rusqlite::ToSql> = params.iter().map(|p| p.as_ref()).collect();
                let rows = stmt.query_map(refs.as_slice(), |r| {
                    Ok(Row {
                        stored: StoredRow {
                            date_added: r.get(0)?,
                            id: r.get(1)?,
                            object_type: r.get(2)?,
                            spec_version: r.get(3)?,
                            version: r.get(4)?,
                            label: r.get(5)?,
                            body: r.get(6)?,
                            provenance: r.get(7)?,
                            originator: r.get(8)?,
                        },
                        contested: r.get(9)?,
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(StoreError::from)
            })?;
            let exhausted = rows.len() < batch;
            for Row { stored: row, contested } in rows {
                after = row.date_added;
                if contested && !query.every_claim {
                    let chosen = match settled.get(&row.id) {
                        Some(c) => c.clone(),
                        None => {
                            let c = self.with_reader(|conn| {
                                claims::settle(conn, coll, &row.id, &row.object_type, &ctx.viewer.member, &released)
                            })?;
                            settled.insert(row.id.clone(), c.clone());
                            c
                        }
                    };
                    if chosen.as_deref() != Some(row.originator.as_str()) {
                        continue;
                    }
                }
                if let Some(record) = release_matching(row, &released, query)? {
                    items.push(record);
                    if items.len() == wanted {
                        break;
                    }
                }
            }
            if items.len() == wanted || exhausted {
                break;
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more { items.last().map(|r| Cursor { after: r.date_added }) } else { None };
        debug_assert!(items.windows(2).all(|w| w[0].date_added < w[1].date_added), "date_added strictly increases");
        Ok(Page { items, next })
    }
}

/// The listing query for `query` (parameters: ?1 collection, ?2 position, ?3 released labels,
/// then the filters, the batch size last); `None` when it can match nothing.
#[allow(clippy::type_complexity)]
fn listing_sql(
    query: &ObjectQuery,
    released: &Released,
    any_contested: bool,
) -> Result<Option<(String, Vec<Box<dyn rusqlite::ToSql>>)>> {
    let provenance = if query.with_provenance { "o.provenance" } else { "NULL" };
    let contested = if any_contested {
        "EXISTS (SELECT 1 FROM contested c WHERE c.collection = o.collection AND c.stix_id = o.stix_id)"
    } else {
        "0"
    };
    // A look-up by id must use the id index (`objects_by_version`): without table statistics
    // SQLite otherwise walks `objects_by_added` for its order, reading the whole collection to
    // find a few ids. The unary `+` keeps the position out of the index choice; the few rows
    // found are then sorted. (bench/postgres.sh, 20,000 objects: get-by-id 185/s before,
    // 15,410/s after.)
    let by_id = !query.ids.is_empty();
    let position = if by_id { "+o.date_added" } else { "o.date_added" };
    let mut sql = format!(
        "SELECT o.date_added, o.stix_id, o.type, o.spec_version, o.version, o.label, o.body, {provenance}, o.originator,
                {contested}
         FROM objects o WHERE o.collection = ?1 AND {position} > ?2 AND o.label IN rarray(?3)",
    );
    let mut params: Vec<Box<dyn rusqlite::ToSql>> = vec![
        Box::new(0i64), // the collection, set below
        Box::new(0i64), // the position, set per batch
        Box::new(array(released.ids.iter().map(|i| SqlValue::Integer(*i)))),
    ];
    let mut push_in = |sql: &mut String, column: &str, values: &[String]| {
        params.push(Box::new(array(values.iter().map(|v| SqlValue::Text(v.clone())))));
        sql.push_str(&format!(" AND {column} IN rarray(?{})", params.len()));
    };
    if !query.ids.is_empty() {
        push_in(&mut sql, "o.stix_id", &query.ids);
    }
    if !query.types.is_empty() {
        push_in(&mut sql, "o.type", &query.types);
    }
    if !query.spec_versions.is_empty() {
        push_in(&mut sql, "o.spec_version", &query.spec_versions);
    }
    if query.signed_only {
        sql.push_str(" AND o.provenance IS NOT NULL");
    }
    if let Some(text) = &query.text {
        // Candidates only: the match is checked again on the viewer's copy (`release_matching`).
        params.push(Box::new(text.fts5()));
        sql.push_str(&format!(
            " AND o.date_added IN (SELECT rowid FROM object_text WHERE object_text MATCH ?{})",
            params.len()
        ));
    }
    let last = format!("(o.latest = 1 OR NOT {NEWER_VISIBLE})");
    let first = format!("(NOT {OLDER_VISIBLE})");
    match &query.versions {
        VersionFilter::All => {}
        VersionFilter::Last => sql.push_str(&format!(" AND {last}")),
        VersionFilter::First => sql.push_str(&format!(" AND {first}")),
        VersionFilter::Some { exact, last: want_last, first: want_first } => {
            let mut alternatives = Vec::new();
            if !exact.is_empty() {
                let keys: Vec<String> = exact.iter().map(Timestamp::sort_key).collect();
                params.push(Box::new(array(keys.into_iter().map(SqlValue::Text))));
                alternatives.push(format!("o.version IN rarray(?{})", params.len()));
            }
            if *want_last {
                alternatives.push(last.clone());
            }
            if *want_first {
                alternatives.push(first.clone());
            }
            if alternatives.is_empty() {
                return Ok(None);
            }
            sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
        }
    }
    params.push(Box::new(0i64));
    sql.push_str(&format!(" ORDER BY {position} LIMIT ?{}", params.len()));
    Ok(Some((sql, params)))
}
