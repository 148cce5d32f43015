//! Reads: every listing is filtered by releasability in SQL (released labels) and finished in
//! Rust (redaction), so nothing unreleased leaves this module.

use std::rc::Rc;

use rusqlite::types::Value as SqlValue;
use tandem_model::Timestamp;
use tandem_policy::{Decision, redact};

use super::SqliteStore;
use crate::cursor::Cursor;
use crate::{ObjectQuery, Page, Record, Result, StoreError, VersionFilter, ViewContext};

const NEWER_VISIBLE: &str = "EXISTS (SELECT 1 FROM objects n WHERE n.collection = o.collection AND n.stix_id = o.stix_id AND n.version > o.version AND n.label IN rarray(?3))";
const OLDER_VISIBLE: &str = "EXISTS (SELECT 1 FROM objects n WHERE n.collection = o.collection AND n.stix_id = o.stix_id AND n.version < o.version AND n.label IN rarray(?3))";

fn array(values: impl IntoIterator<Item = SqlValue>) -> Rc<Vec<SqlValue>> {
    Rc::new(values.into_iter().collect())
}

impl SqliteStore {
    pub(super) fn list_impl(&self, ctx: &ViewContext, collection: &str, query: &ObjectQuery) -> Result<Page<Record>> {
        self.with_reader(|conn| self.labels.refresh(conn))?;
        let Some(coll) = self.labels.collection_id(collection)? else {
            return Ok(Page::default());
        };
        let released = self.labels.released(ctx)?;
        if released.ids.is_empty() || query.limit == 0 {
            return Ok(Page::default());
        }
        let after = match (query.added_after, query.cursor) {
            (Some(a), Some(Cursor { after: c })) => a.max(c),
            (Some(a), None) => a,
            (None, Some(Cursor { after: c })) => c,
            (None, None) => Timestamp::from_micros(i64::MIN / 2),
        };
        let provenance = if query.with_provenance { "o.provenance" } else { "NULL" };
        let mut sql = format!(
            "SELECT o.date_added, o.stix_id, o.type, o.spec_version, o.version, o.label, o.body, {provenance}
             FROM objects o WHERE o.collection = ?1 AND o.date_added > ?2 AND o.label IN rarray(?3)",
        );
        let mut params: Vec<Box<dyn rusqlite::ToSql>> = vec![
            Box::new(coll),
            Box::new(after.as_micros()),
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
                    return Ok(Page::default());
                }
                sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
            }
        }
        let limit = query.limit.min(i64::MAX as usize - 1);
        sql.push_str(&format!(" ORDER BY o.date_added LIMIT {}", limit.saturating_add(1).min(i64::MAX as usize)));

        let rows = self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let refs: Vec<&dyn rusqlite::ToSql> = params.iter().map(|p| p.as_ref()).collect();
            let rows = stmt.query_map(refs.as_slice(), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(StoreError::from)
        })?;

        let more = rows.len() > limit;
        let state = self.labels.read()?;
        let mut page = Page { items: Vec::with_capacity(rows.len().min(limit)), next: None };
        for (n, (date_added, id, object_type, spec_version, version, label, body, provenance)) in
            rows.into_iter().enumerate()
        {
            if n == limit {
                break;
            }
            if more && n + 1 == limit {
                page.next = Some(Cursor { after: Timestamp::from_micros(date_added) });
            }
            let Some(decision) = released.decisions.get(&label) else {
                continue;
            };
            let value: serde_json::Value =
                serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("object {id}: {e}")))?;
            let (object, redacted) = match decision {
                Decision::Full => (value, false),
                Decision::Redact(selectors) => {
                    let Some(map) = value.as_object() else {
                        continue;
                    };
                    match redact(map, selectors) {
                        Some(copy) => (serde_json::Value::Object(copy), true),
                        None => continue,
                    }
                }
                Decision::Deny => continue,
            };
            let date_added = Timestamp::from_micros(date_added);
            let version = if version.is_empty() {
                date_added
            } else {
                Timestamp::parse(&version).map_err(|e| StoreError::Corrupt(e.to_string()))?
            };
            let originator = state.labels.get(&label).map(|l| l.originator.clone()).unwrap_or_default();
            page.items.push(Record {
                id,
                object_type,
                spec_version,
                version,
                date_added,
                object,
                originator,
                redacted,
                provenance: provenance.and_then(|p| serde_json::from_str(&p).ok()),
            });
        }
        Ok(page)
    }
}
