//! Reads: every listing is filtered by releasability in SQL (released label ids, `= ANY`) and
//! finished by [`tandem_store::access`] (redaction, and which claim of a contested id the viewer
//! receives), as the SQLite backend does (a text search narrowed by the `search` column's GIN
//! index, then checked again on each released copy): a page holds only versions the viewer receives, and its
//! `next` token is the position of the last of them.

use std::collections::HashMap;

use tandem_model::Timestamp;
use tandem_store::access::{Released, StoredRow, release_matching};
use tandem_store::cursor::Cursor;
use tandem_store::{ObjectQuery, Page, Record, Result, VersionFilter, ViewContext};
use tokio_postgres::types::{ToSql, Type};

use crate::{PgStore, claims, pg};

const NEWER_VISIBLE: &str = "EXISTS (SELECT 1 FROM objects n WHERE n.collection = o.collection AND n.stix_id = o.stix_id AND n.originator = o.originator AND n.version > o.version AND n.label = ANY($3))";
const OLDER_VISIBLE: &str = "EXISTS (SELECT 1 FROM objects n WHERE n.collection = o.collection AND n.stix_id = o.stix_id AND n.originator = o.originator AND n.version < o.version AND n.label = ANY($3))";

/// A parameter with its PostgreSQL type: the listing runs as one typed query per batch (parse,
/// bind and execute in one round trip, no statement to prepare first and close after).
type Param = (Box<dyn ToSql + Sync + Send>, Type);

impl PgStore {
    pub(crate) async fn list_impl(
        &self,
        ctx: &ViewContext,
        collection: &str,
        query: &ObjectQuery,
    ) -> Result<Page<Record>> {
        let conn = self.pool.get().await?;
        self.labels.refresh(&*conn).await?;
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
        // Most stores hold no contested id: then no row of a long listing needs the per-row
        // look-up. A look-up by id reads a few rows: the per-row check costs less than asking.
        let any_contested = !query.every_claim
            && (!query.ids.is_empty()
                || conn
                    .query_one("SELECT EXISTS (SELECT 1 FROM contested WHERE collection = $1)", &[&coll])
                    .await
                    .map_err(pg)?
                    .try_get::<_, bool>(0)
                    .map_err(pg)?);
        // A viewer released some of the labels reads them label by label (see `listing_sql`).
        let per_label = released.ids.len() <= PER_LABEL_MAX && released.ids.len() < self.labels.label_count()?;
        let Some((sql, mut params)) = listing_sql(query, &released, any_contested, per_label) else {
            return Ok(Page::default());
        };
        params[0].0 = Box::new(coll);
        let limit = query.limit.min(i64::MAX as usize - 1);
        // One more than a page tells whether more follow.
        let wanted = limit + 1;
        let mut settled: HashMap<String, Option<String>> = HashMap::new();
        let mut items: Vec<Record> = Vec::with_capacity(wanted.min(10_000));
        loop {
            let batch = (wanted - items.len()).clamp(1, 10_000);
            params[1].0 = Box::new(after);
            let last = params.len() - 1;
            params[last].0 = Box::new(batch as i64);
            let typed: Vec<(&(dyn ToSql + Sync), Type)> =
                params.iter().map(|(p, t)| (p.as_ref() as &(dyn ToSql + Sync), t.clone())).collect();
            let rows = conn.query_typed(&sql, &typed).await.map_err(pg)?;
            let exhausted = rows.len() < batch;
            for r in rows {
                let row = StoredRow {
                    date_added: r.try_get(0).map_err(pg)?,
                    id: r.try_get(1).map_err(pg)?,
                    object_type: r.try_get(2).map_err(pg)?,
                    spec_version: r.try_get(3).map_err(pg)?,
                    version: r.try_get(4).map_err(pg)?,
                    label: r.try_get(5).map_err(pg)?,
                    body: r.try_get(6).map_err(pg)?,
                    provenance: r.try_get(7).map_err(pg)?,
                    originator: r.try_get(8).map_err(pg)?,
                };
                let contested: bool = r.try_get(9).map_err(pg)?;
                after = row.date_added;
                if contested && !query.every_claim {
                    let chosen = match settled.get(&row.id) {
                        Some(c) => c.clone(),
                        None => {
                            let c =
                                claims::settle(&*conn, coll, &row.id, &row.object_type, &ctx.viewer.member, &released)
                                    .await?;
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

/// Whether `value` can be a PostgreSQL text value (one holding NUL cannot).
pub(crate) fn storable(value: &str) -> bool {
    !value.contains('\0')
}

/// The most released labels a listing reads one by one ([`listing_sql`]'s `per_label`): each
/// label's scan may read up to a batch of rows, so many labels would read many batches.
const PER_LABEL_MAX: usize = 64;

/// The listing query for `query` (parameters: $1 collection, $2 position, $3 released labels,
/// then the filters, the batch size last); `None` when it can match nothing.
///
/// `per_label`: for a viewer released only some labels. One scan over the released labels in
/// `date_added` order cannot use an index on the label (PostgreSQL 15 keeps index order only
/// without `= ANY` on a column before the order's), so it either reads and drops every withheld
/// row after the position, or reads every released row after it and sorts them all, however
/// far the collection goes on (`bench/postgres_explain.py`). Instead, each released label is
/// read in order through `objects_by_label_type` (collection, label, type, date_added; migration
/// 4) up to the batch size, and the first batch of the union kept: the same rows, since the
/// batch holds at most a batch of each label. What is released is still decided by
/// `tandem_store::access` (`released.ids`); only how SQL walks those ids changes.
fn listing_sql(
    query: &ObjectQuery,
    released: &Released,
    any_contested: bool,
    per_label: bool,
) -> Option<(String, Vec<Param>)> {
    let provenance = if query.with_provenance { "o.provenance" } else { "NULL::text" };
    let contested = if any_contested {
        "EXISTS (SELECT 1 FROM contested c WHERE c.collection = o.collection AND c.stix_id = o.stix_id)"
    } else {
        "FALSE"
    };
    let label = if per_label { "o.label = l.id" } else { "o.label = ANY($3)" };
    let mut sql = format!(
        "SELECT o.date_added, o.stix_id, o.type, o.spec_version, o.version, o.label, o.body, {provenance} AS provenance,
                o.originator, {contested} AS contested
         FROM objects o WHERE o.collection = $1 AND o.date_added > $2 AND {label}",
    );
    let mut params: Vec<Param> = vec![
        (Box::new(0i64), Type::INT8), // the collection, set by the caller
        (Box::new(0i64), Type::INT8), // the position, set per batch
        (Box::new(released.ids.clone()), Type::INT8_ARRAY),
    ];
    // A filter's values come from the request (`match[id]`, a path's id). PostgreSQL's text
    // cannot hold NUL, and rejects a parameter holding one (an error, a 500), so a value with a
    // NUL can equal no stored value: it is left out, and a filter left with none matches nothing
    // (as on SQLite, where such a value simply matches no row).
    let mut push_in = |sql: &mut String, column: &str, values: &[String]| -> Option<()> {
        let values: Vec<String> = values.iter().filter(|v| storable(v)).cloned().collect();
        if values.is_empty() {
            return None;
        }
        // One value is compared by equality rather than `= ANY` of one: an index on the column
        // then keeps its order (`match[type]=incident` through `objects_by_label_type`).
        if let [one] = values.as_slice() {
            params.push((Box::new(one.clone()), Type::TEXT));
            sql.push_str(&format!(" AND {column} = ${}", params.len()));
        } else {
            params.push((Box::new(values), Type::TEXT_ARRAY));
            sql.push_str(&format!(" AND {column} = ANY(${})", params.len()));
        }
        Some(())
    };
    if !query.ids.is_empty() {
        push_in(&mut sql, "o.stix_id", &query.ids)?;
    }
    if !query.types.is_empty() {
        push_in(&mut sql, "o.type", &query.types)?;
    }
    if !query.spec_versions.is_empty() {
        push_in(&mut sql, "o.spec_version", &query.spec_versions)?;
    }
    if query.signed_only {
        sql.push_str(" AND o.provenance IS NOT NULL");
    }
    if let Some(text) = &query.text {
        // Candidates only: the match is checked again on the viewer's copy (`release_matching`).
        params.push((Box::new(text.tsquery()), Type::TEXT));
        sql.push_str(&format!(" AND o.search @@ to_tsquery('simple', ${})", params.len()));
    }
    let last = format!("(o.latest OR NOT {NEWER_VISIBLE})");
    let first = format!("(NOT {OLDER_VISIBLE})");
    match &query.versions {
        VersionFilter::All => {}
        VersionFilter::Last => sql.push_str(&format!(" AND {last}")),
        VersionFilter::First => sql.push_str(&format!(" AND {first}")),
        VersionFilter::Some { exact, last: want_last, first: want_first } => {
            let mut alternatives = Vec::new();
            if !exact.is_empty() {
                let keys: Vec<String> = exact.iter().map(Timestamp::sort_key).collect();
                params.push((Box::new(keys), Type::TEXT_ARRAY));
                alternatives.push(format!("o.version = ANY(${})", params.len()));
            }
            if *want_last {
                alternatives.push(last.clone());
            }
            if *want_first {
                alternatives.push(first.clone());
            }
            if alternatives.is_empty() {
                return None;
            }
            sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
        }
    }
    params.push((Box::new(0i64), Type::INT8));
    let n = params.len();
    sql.push_str(&format!(" ORDER BY o.date_added LIMIT ${n}"));
    if per_label {
        sql = format!(
            "SELECT x.* FROM unnest($3::int8[]) AS l(id) CROSS JOIN LATERAL ({sql}) x ORDER BY x.date_added LIMIT ${n}"
        );
    }
    Some((sql, params))
}
