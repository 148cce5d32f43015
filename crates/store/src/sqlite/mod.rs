//! The embedded SQLite backend: one writer connection, a small pool of readers, WAL.
//!
//! Durability: `synchronous = FULL`, and `put` returns only after its transaction commits, so an
//! acknowledged write survives a crash or power loss.

mod accounts;
mod claims;
mod federation;
mod labels;
mod migrate;
mod read;
pub mod snapshot;
pub mod transfer;
mod write;

#[cfg(test)]
mod durability_tests;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::{Result, StoreError};
use labels::Labels;

pub struct SqliteStore {
    path: PathBuf,
    cache_kib: u32,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Connection>>,
    labels: Labels,
}

struct Writer {
    conn: Connection,
    /// The last `date_added` handed out, in microseconds.
    last_added: i64,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`, applying pending migrations.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, DEFAULT_CACHE_KIB)
    }

    /// [`SqliteStore::open`] with a page cache of `cache_kib` KiB per connection (many nodes in
    /// one process, as the federation simulation runs them, need a small one).
    pub fn open_with(dir: &Path, cache_kib: u32) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::backend(format!("creating {}: {e}", dir.display())))?;
        let path = dir.join("tandem.sqlite");
        let mut conn = open_conn(&path, true, cache_kib)?;
        migrate::apply(&mut conn)?;
        let last_added: i64 =
            conn.prepare_cached("SELECT COALESCE(MAX(date_added), 0) FROM objects")?.query_row([], |r| r.get(0))?;
        let labels = Labels::load(&conn)?;
        // Status resources are kept for at least 24 hours; a week is plenty.
        let week_ago = tandem_model::Timestamp::now().as_micros() - 7 * 86_400 * 1_000_000;
        conn.execute("DELETE FROM statuses WHERE created < ?1", [week_ago])?;
        Ok(SqliteStore {
            path,
            cache_kib,
            writer: Mutex::new(Writer { conn, last_added }),
            readers: Mutex::new(Vec::new()),
            labels,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with a pooled read connection.
    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = match self.readers.lock().map_err(|_| poisoned())?.pop() {
            Some(c) => c,
            None => open_conn(&self.path, false, self.cache_kib)?,
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < 8
        {
            pool.push(conn);
        }
        out
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, Writer>> {
        self.writer.lock().map_err(|_| poisoned())
    }
}

/// The largest position handed out on the node's clock (object versions and tombstones), as
/// stored: the floor for the next `date_added`, whichever process wrote last.
fn clock_floor(conn: &Connection) -> Result<i64> {
    Ok(conn.prepare_cached("SELECT MAX(COALESCE((SELECT MAX(date_added) FROM objects), 0), COALESCE((SELECT MAX(added) FROM tombstones), 0))")?.query_row([],
        |r| r.get(0),
    )?)
}

fn poisoned() -> StoreError {
    StoreError::backend("a store lock was poisoned by an earlier panic")
}

/// The page cache per connection unless told otherwise: 64 MiB.
pub const DEFAULT_CACHE_KIB: u32 = 65_536;

/// Statements cached per connection: more than the store's distinct statements.
const STATEMENT_CACHE: usize = 128;

fn open_conn(path: &Path, writer: bool, cache_kib: u32) -> Result<Connection> {
    let flags = if writer {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    if writer {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -i64::from(cache_kib))?;
    rusqlite::vtab::array::load_module(&conn)?;
    // Every statement of the store is prepared once per connection and cached: rusqlite's
    // default of 16 is fewer than the store has, and an evicted statement is parsed again.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl crate::ObjectStore for SqliteStore {
    fn put_with_status(
        &self,
        collection: &str,
        originator: &str,
        objects: Vec<crate::Incoming>,
        status: &mut (dyn FnMut(&[crate::PutOutcome]) -> Option<crate::NewStatus> + Send),
    ) -> Result<Vec<crate::PutOutcome>> {
        self.put_impl(collection, originator, objects, status)
    }

    fn list(
        &self,
        ctx: &crate::ViewContext,
        collection: &str,
        query: &crate::ObjectQuery,
    ) -> Result<crate::Page<crate::Record>> {
        self.list_impl(ctx, collection, query)
    }

    fn delete(
        &self,
        ctx: &crate::ViewContext,
        collection: &str,
        id: &str,
        versions: &crate::VersionFilter,
    ) -> Result<crate::DeleteOutcome> {
        self.delete_impl(ctx, collection, id, versions)
    }

    fn unresolved_markings(&self) -> Result<Vec<(String, u64)>> {
        self.unresolved_markings_impl()
    }

    fn contested(&self) -> Result<Vec<crate::Contest>> {
        self.contested_impl()
    }

    fn holds_versions(
        &self,
        collection: &str,
        versions: &[(String, tandem_model::Timestamp, String)],
    ) -> Result<Vec<bool>> {
        self.with_reader(|conn| {
            let coll: Option<i64> =
                conn.prepare_cached("SELECT id FROM collections WHERE uuid = ?1")?.query_row([collection], |r| r.get(0)).optional()?;
            let Some(coll) = coll else {
                return Ok(vec![false; versions.len()]);
            };
            let mut held = conn.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM objects WHERE collection = ?1 AND stix_id = ?2 AND originator = ?4 AND version = ?3)
                     OR EXISTS (SELECT 1 FROM tombstones WHERE collection = ?1 AND stix_id = ?2 AND originator = ?4 AND version = ?3)",
            )?;
            versions
                .iter()
                .map(|(id, v, originator)| {
                    Ok(held.query_row(rusqlite::params![coll, id, v.sort_key(), originator], |r| r.get(0))?)
                })
                .collect()
        })
    }

    fn referenced_before(&self, owner: &str, marking_id: &str, before: tandem_model::Timestamp) -> Result<bool> {
        self.with_reader(|conn| self.labels.refresh(conn))?;
        let labels = self.labels.read()?.cache.referencing(owner, marking_id);
        if labels.is_empty() {
            return Ok(false);
        }
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM objects WHERE label = ?1 AND date_added < ?2)")?;
            for label in labels {
                if stmt.query_row(rusqlite::params![label, before.as_micros()], |r| r.get::<_, bool>(0))? {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }

    fn set_provenance(
        &self,
        collection: &str,
        originator: &str,
        proofs: Vec<(tandem_model::Timestamp, String, serde_json::Value)>,
    ) -> Result<usize> {
        self.set_provenance_impl(collection, originator, proofs)
    }

    fn feed_position(&self) -> Result<Option<tandem_model::Timestamp>> {
        let floor = self.with_reader(clock_floor)?;
        Ok((floor > 0).then(|| tandem_model::Timestamp::from_micros(floor)))
    }

    fn list_tombstones(
        &self,
        ctx: &crate::ViewContext,
        collection: &str,
        after: Option<tandem_model::Timestamp>,
        limit: usize,
    ) -> Result<crate::Page<crate::Tombstone>> {
        self.list_tombstones_impl(ctx, collection, after, limit)
    }

    fn apply_tombstones(&self, collection: &str, tombstones: Vec<crate::Tombstone>) -> Result<Vec<crate::Tombstone>> {
        self.apply_tombstones_impl(collection, tombstones)
    }
}

impl crate::AccountStore for SqliteStore {
    fn put_status(&self, id: &str, owner: &str, body: &serde_json::Value) -> Result<()> {
        self.put_status_impl(id, owner, body)
    }

    fn get_status(&self, id: &str, owner: &str) -> Result<Option<serde_json::Value>> {
        self.get_status_impl(id, owner)
    }

    fn users(&self) -> Result<Vec<crate::StoredUser>> {
        self.users_impl()
    }

    fn put_user(&self, user: &crate::StoredUser) -> Result<()> {
        self.put_user_impl(user)
    }

    fn tokens(&self) -> Result<Vec<crate::StoredToken>> {
        self.tokens_impl()
    }

    fn put_token(&self, token: &crate::StoredToken) -> Result<()> {
        self.put_token_impl(token)
    }

    fn accounts_version(&self) -> Result<Vec<i64>> {
        // A user is stored with INSERT OR REPLACE (a new rowid each time), a token inserted: the
        // largest rowids and the counts move with every change.
        self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT (SELECT COALESCE(MAX(rowid), 0) FROM users), (SELECT COUNT(*) FROM users),
                        (SELECT COALESCE(MAX(rowid), 0) FROM tokens), (SELECT COUNT(*) FROM tokens)",
                )?
                .query_row([], |r| Ok(vec![r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]))?)
        })
    }
}

impl crate::MetaStore for SqliteStore {
    fn get_meta(&self, key: &str) -> Result<Option<serde_json::Value>> {
        self.get_meta_impl(key)
    }

    fn put_meta(&self, key: &str, value: Option<&serde_json::Value>) -> Result<()> {
        self.put_meta_impl(key, value)
    }

    fn list_meta(&self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>> {
        self.list_meta_impl(prefix)
    }

    fn cas_meta(
        &self,
        key: &str,
        expected: Option<&serde_json::Value>,
        new: Option<&serde_json::Value>,
    ) -> Result<bool> {
        self.cas_meta_impl(key, expected, new)
    }

    fn insert_meta_absent(&self, entries: &[(String, serde_json::Value)]) -> Result<Vec<bool>> {
        self.insert_meta_absent_impl(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::SqliteStore;

    fn fresh() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        (dir, store)
    }

    mod conformance {
        crate::store_conformance_suite!(
            {
                let (dir, store) = super::fresh();
                // Keep the directory alive as long as the store.
                std::mem::forget(dir);
                Box::new(store) as Box<dyn crate::Store>
            },
            twins: {
                // Two handles on one data directory, as the node and `tandem import` beside it.
                let (dir, first) = super::fresh();
                let second = super::SqliteStore::open(dir.path()).expect("second handle");
                std::mem::forget(dir);
                (Box::new(first) as Box<dyn crate::Store>, Box::new(second) as Box<dyn crate::Store>)
            }
        );
    }

    #[test]
    fn survives_reopen() {
        use crate::ObjectStore;
        let (dir, store) = fresh();
        let o = crate::conformance::indicator(1, "2025-01-01T00:00:00.000Z", &[]);
        let obj = tandem_model::StixObject::from_map_unchecked(o.as_object().cloned().unwrap_or_default());
        store.put(crate::conformance::COLL, "USA", vec![crate::Incoming::new(obj)]).unwrap();
        drop(store);
        let store = SqliteStore::open(dir.path()).unwrap();
        let got = store
            .list(
                &crate::conformance::ctx("USA"),
                crate::conformance::COLL,
                &crate::ObjectQuery { limit: 10, ..Default::default() },
            )
            .unwrap();
        assert_eq!(got.items.len(), 1);
    }

    /// Two processes on one store (the node serving, `tandem marking create` beside it): labels
    /// and markings the other one wrote are picked up even when this one wrote a newer label
    /// since, so a REL TO marking made from the CLI is served and decides what it marks.
    #[test]
    fn another_process_labels_are_seen_after_own_writes() {
        use crate::ObjectStore;
        let (dir, serving) = fresh();
        let cli = SqliteStore::open(dir.path()).unwrap();
        let check = |v: serde_json::Value| tandem_model::check_object(&v).unwrap();
        let marking = serde_json::json!({
            "type": "marking-definition", "spec_version": "2.1",
            "id": "marking-definition--3a4f1f7e-6d0c-4a59-9c51-1b2f0d3e4c5a",
            "created": "2025-11-13T00:00:00.000Z", "name": "REL TO IRQ",
            "extensions": {tandem_model::incident::RELEASABILITY_EXTENSION_ID: {"extension_type": "property-extension", "rel_to": ["IRQ"]}}
        });
        cli.put(crate::conformance::COLL, "USA", vec![crate::Incoming::new(check(marking))]).unwrap();
        let restricted = crate::conformance::indicator(
            1,
            "2025-01-01T00:00:00.000Z",
            &["marking-definition--3a4f1f7e-6d0c-4a59-9c51-1b2f0d3e4c5a"],
        );
        serving.put(crate::conformance::COLL, "USA", vec![crate::Incoming::new(check(restricted))]).unwrap();
        let q = crate::ObjectQuery { limit: 10, ..Default::default() };
        for member in ["USA", "IRQ"] {
            let got = serving.list(&crate::conformance::ctx(member), crate::conformance::COLL, &q).unwrap();
            let types: Vec<&str> = got.items.iter().map(|r| r.object_type.as_str()).collect();
            assert_eq!(types, vec!["marking-definition", "indicator"], "{member}");
        }
        let got = serving.list(&crate::conformance::ctx("SYR"), crate::conformance::COLL, &q).unwrap();
        assert_eq!(got.items.len(), 1, "SYR sees the marking only");
    }
}
