//! Versioned schema migrations, applied in order at open. Each is applied once, in its own
//! transaction, and recorded in `schema_migrations`. Most are SQL files in `migrations/`; a
//! migration that must compute something SQLite cannot (a content hash) is a Rust function.
//!
//! A migration runs when its version is not recorded yet, not merely when it is above the
//! highest recorded one: versions developed on separate branches (SQL 0004, Rust 5) then apply
//! whichever order a data directory met them in.

use rusqlite::{Connection, Transaction, params};

use crate::{Result, StoreError};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_federation.sql")),
    (3, include_str!("../../migrations/0003_tombstone_proofs.sql")),
    (4, include_str!("../../migrations/0004_member_namespaces.sql")),
];

/// A migration written in Rust: runs inside the migration's transaction.
type RustMigration = fn(&Transaction) -> Result<()>;

/// Migrations written in Rust, numbered in the same sequence as the SQL ones.
const RUST_MIGRATIONS: &[(i64, RustMigration)] = &[(5, rehash_rfc8785), (6, text_search)];

enum Step {
    Sql(&'static str),
    Rust(RustMigration),
}

fn steps() -> Vec<(i64, Step)> {
    let mut all: Vec<(i64, Step)> = MIGRATIONS
        .iter()
        .map(|(v, sql)| (*v, Step::Sql(sql)))
        .chain(RUST_MIGRATIONS.iter().map(|(v, f)| (*v, Step::Rust(*f))))
        .collect();
    all.sort_by_key(|(v, _)| *v);
    all
}

/// The newest schema version this binary knows.
pub(super) fn latest() -> i64 {
    steps().last().map(|(v, _)| *v).unwrap_or(0)
}

/// The newest schema version recorded in a database (`None`: not a Tandem store, or empty).
pub(super) fn applied_max(conn: &Connection) -> Result<Option<i64>> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(None);
    }
    Ok(conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0))?)
}

pub(super) fn apply(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)",
    )?;
    let applied: Vec<i64> = {
        let mut stmt = conn.prepare("SELECT version FROM schema_migrations")?;
        stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
    };
    let steps = steps();
    let latest = steps.last().map(|(v, _)| *v).unwrap_or(0);
    if let Some(newer) = applied.iter().copied().filter(|v| *v > latest).max() {
        return Err(StoreError::backend(format!(
            "the data directory has schema version {newer}, newer than this binary's {latest}"
        )));
    }
    for (version, step) in steps.iter().filter(|(v, _)| !applied.contains(v)) {
        let tx = conn.transaction()?;
        match step {
            Step::Sql(sql) => tx.execute_batch(sql)?,
            Step::Rust(f) => f(&tx)?,
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, applied) VALUES (?1, ?2)",
            (version, tandem_model::Timestamp::now().as_micros()),
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// Version 5: content hashes become SHA-256 of the RFC 8785 canonical form (they were computed
/// over the legacy form, which prints `36.0` as `36.0`; see `tandem_model::canonical`). Without
/// this, re-sending a stored version with a float would be a false conflict. Only rows whose hash
/// changes (those with floats in their body) are written. Provenance needs no rewrite: stored
/// format-2 proofs are verified with the legacy form.
fn rehash_rfc8785(tx: &Transaction) -> Result<()> {
    let mut changed: Vec<(i64, [u8; 32])> = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT date_added, content_hash, body FROM objects")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let date_added: i64 = row.get(0)?;
            let stored: Vec<u8> = row.get(1)?;
            let body: String = row.get(2)?;
            let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&body).map_err(|e| {
                StoreError::Corrupt(format!(
                    "object at date_added {date_added} has a body that is not a JSON object: {e}"
                ))
            })?;
            let hash = tandem_model::canonical::map_hash(&map);
            if stored != hash {
                changed.push((date_added, hash));
            }
        }
    }
    let mut update = tx.prepare("UPDATE objects SET content_hash = ?1 WHERE date_added = ?2")?;
    for (date_added, hash) in &changed {
        update.execute(params![hash.as_slice(), date_added])?;
    }
    if !changed.is_empty() {
        tracing::info!(rehashed = changed.len(), "content hashes recomputed with RFC 8785 canonical JSON");
    }
    Ok(())
}

/// Version 6: the full-text index (`migrations/0006_text_search.sql`), filled for every version
/// already stored of a searched type (the keys are folded in Rust, with the gazetteer's rules,
/// so SQL alone cannot fill it).
fn text_search(tx: &Transaction) -> Result<()> {
    tx.execute_batch(include_str!("../../migrations/0006_text_search.sql"))?;
    let placeholders = vec!["?"; crate::text::INDEXED_TYPES.len()].join(", ");
    let mut stmt = tx.prepare(&format!("SELECT date_added, body FROM objects WHERE type IN ({placeholders})"))?;
    let mut insert = tx.prepare("INSERT INTO object_text (rowid, keys) VALUES (?1, ?2)")?;
    let mut rows = stmt.query(rusqlite::params_from_iter(crate::text::INDEXED_TYPES))?;
    let mut indexed = 0u64;
    while let Some(row) = rows.next()? {
        let date_added: i64 = row.get(0)?;
        let body: String = row.get(1)?;
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&body).map_err(|e| {
            StoreError::Corrupt(format!("object at date_added {date_added} has a body that is not a JSON object: {e}"))
        })?;
        if let Some(keys) = crate::text::index_text(&object) {
            insert.execute(params![date_added, keys])?;
            indexed += 1;
        }
    }
    if indexed > 0 {
        tracing::info!(indexed, "full-text index built for the stored incidents and reports");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sha2::Digest;

    use crate::conformance::{COLL, ctx};
    use crate::sqlite::SqliteStore;
    use crate::{Incoming, ObjectQuery, ObjectStore, PutOutcome};

    fn location(text: &str) -> Incoming {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).expect("object");
        Incoming::new(tandem_model::StixObject::from_map_unchecked(map))
    }

    const WITH_FLOAT: &str = r#"{"type": "location", "spec_version": "2.1",
        "id": "location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",
        "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
        "latitude": 36.0, "longitude": 43.125}"#;

    /// A data directory written before RFC 8785 (legacy hashes, schema without version 5): at
    /// open its hashes are recomputed, and the same location sent again, with its number printed
    /// either way, is a duplicate rather than a conflict.
    #[test]
    fn legacy_content_hashes_are_recomputed_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        store.put(COLL, "USA", vec![location(WITH_FLOAT)]).expect("put");
        let path = store.path().to_path_buf();
        drop(store);

        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(WITH_FLOAT).expect("object");
        let legacy: [u8; 32] = sha2::Sha256::digest(tandem_model::canonical::legacy::canonical_map(&map)).into();
        let current = tandem_model::canonical::map_hash(&map);
        assert_ne!(legacy, current, "the object must hash differently in the two forms");
        {
            // Put the directory back as a binary before RFC 8785 left it.
            let conn = rusqlite::Connection::open(&path).expect("sqlite");
            conn.execute("UPDATE objects SET content_hash = ?1", [legacy.as_slice()]).expect("legacy hash");
            conn.execute("DELETE FROM schema_migrations WHERE version = 5", []).expect("unrecord");
        }

        let store = SqliteStore::open(dir.path()).expect("reopen");
        {
            let conn = rusqlite::Connection::open(&path).expect("sqlite");
            let stored: Vec<u8> = conn.query_row("SELECT content_hash FROM objects", [], |r| r.get(0)).expect("row");
            assert_eq!(stored, current.to_vec());
            let recorded: bool = conn
                .query_row("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = 5)", [], |r| r.get(0))
                .expect("row");
            assert!(recorded);
        }
        for text in [WITH_FLOAT.to_string(), WITH_FLOAT.replace("36.0", "36")] {
            let out = store.put(COLL, "USA", vec![location(&text)]).expect("put");
            assert!(matches!(out[0], PutOutcome::Duplicate { .. }), "{out:?}");
        }
        let q = ObjectQuery { limit: 10, ..Default::default() };
        assert_eq!(store.list(&ctx("USA"), COLL, &q).expect("list").items.len(), 1);
    }

    fn incident(n: u32, name: &str) -> Incoming {
        location(&format!(
            r#"{{"type": "incident", "spec_version": "2.1", "id": "incident--00000000-0000-4000-8000-{n:012}",
                "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z", "name": "{name}",
                "object_marking_refs": ["{}"]}}"#,
            tandem_model::tlp::TLP2_GREEN
        ))
    }

    fn search(store: &SqliteStore, text: &str) -> usize {
        let q =
            ObjectQuery { text: Some(crate::TextQuery::parse(text).expect("query")), limit: 10, ..Default::default() };
        store.list(&ctx("IRQ"), COLL, &q).expect("list").items.len()
    }

    /// A data directory from before full-text search (schema without version 6): at open the
    /// index is built for what is stored; and it is the index that proposes rows (a version
    /// without its entry is not found, whatever its text).
    #[test]
    fn the_text_index_is_backfilled_at_open_and_proposes_the_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        store.put(COLL, "USA", vec![incident(1, "Raid in Raqqa"), incident(2, "Raid in al-Raqqah")]).expect("put");
        store.put(COLL, "USA", vec![location(WITH_FLOAT)]).expect("put");
        let path = store.path().to_path_buf();
        drop(store);
        rusqlite::Connection::open(&path)
            .expect("sqlite")
            .execute_batch(
                "DROP TRIGGER objects_text_delete; DROP TABLE object_text;
                 DELETE FROM schema_migrations WHERE version = 6",
            )
            .expect("back to version 5");

        let store = SqliteStore::open(dir.path()).expect("reopen");
        assert_eq!(search(&store, "raqqa"), 2);
        let conn = rusqlite::Connection::open(&path).expect("sqlite");
        let entries: i64 = conn.query_row("SELECT COUNT(*) FROM object_text", [], |r| r.get(0)).expect("count");
        assert_eq!(entries, 2, "one entry per incident, none for the location");
        conn.execute("DELETE FROM object_text WHERE rowid = (SELECT MIN(date_added) FROM objects)", [])
            .expect("drop one entry");
        assert_eq!(search(&store, "raqqa"), 1);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let path = store.path().to_path_buf();
        drop(store);
        rusqlite::Connection::open(&path)
            .expect("sqlite")
            .execute("INSERT INTO schema_migrations (version, applied) VALUES (999, 0)", [])
            .expect("insert");
        assert!(SqliteStore::open(dir.path()).is_err());
    }
}
