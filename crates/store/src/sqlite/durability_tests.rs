//! The durability settings the module doc promises, read back from the connections the store
//! itself opened (the writer and a pooled reader): a refactor that drops a pragma, or opens a
//! connection another way, fails here rather than silently weakening crash safety.

use rusqlite::Connection;

use super::SqliteStore;

fn pragma(conn: &Connection, name: &str) -> String {
    conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, rusqlite::types::Value>(0))
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
        .expect("pragma")
}

/// `PRAGMA synchronous` answers 2 for FULL (0 OFF, 1 NORMAL, 3 EXTRA).
const FULL: &str = "2";

#[test]
fn writer_runs_wal_with_synchronous_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let writer = store.writer().expect("writer");
    assert_eq!(pragma(&writer.conn, "journal_mode"), "wal");
    assert_eq!(pragma(&writer.conn, "synchronous"), FULL);
    assert_eq!(pragma(&writer.conn, "foreign_keys"), "1");
}

#[test]
fn readers_run_wal_with_synchronous_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let (journal, sync) =
        store.with_reader(|conn| Ok((pragma(conn, "journal_mode"), pragma(conn, "synchronous")))).expect("reader");
    assert_eq!(journal, "wal");
    assert_eq!(sync, FULL);
}

#[test]
fn reopened_store_keeps_wal() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(SqliteStore::open(dir.path()).expect("open"));
    // WAL is persistent in the file: a plain connection opened by anyone else sees it too.
    let conn = Connection::open(dir.path().join("tandem.sqlite")).expect("open file");
    assert_eq!(pragma(&conn, "journal_mode"), "wal");
    let store = SqliteStore::open(dir.path()).expect("reopen");
    assert_eq!(pragma(&store.writer().expect("writer").conn, "synchronous"), FULL);
}
