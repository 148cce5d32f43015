//! The PostgreSQL backend of the Tandem store: the whole [`tandem_store::Store`] trait on one
//! database, so that several `tandem serve` processes (behind a load balancer) serve one member's
//! data as one node. Access control is not here: rows are filtered and released by
//! [`tandem_store::access`], exactly as the SQLite backend does; this crate does SQL and cache
//! loading only.
//!
//! # Why `tokio-postgres` on a private runtime
//!
//! The `Store` trait is synchronous and is called from three kinds of threads: a runtime's
//! blocking pool (`spawn_blocking`), plain threads (the CLI, with no runtime at all) and, by
//! mistake or convenience, an async worker. The sync `postgres` crate blocks on a runtime of its
//! own and panics on a thread that already runs one; `deadpool-postgres` and `sqlx` need the
//! caller's runtime handle. So this backend owns a one-thread tokio runtime that drives its
//! connections, and [`PgStore::run`] blocks the calling thread on it in whichever way that
//! thread allows (directly, through `block_in_place`, or from a scoped helper thread), never
//! panicking. The pool is a few lines over `tokio-postgres` (idle clients in a `Mutex<Vec>`,
//! closed ones dropped), which keeps the dependency tree to `tokio-postgres` alone (tokio is
//! already the node's).
//!
//! # Guarantees
//! - **Acknowledged means durable**: every session runs with `synchronous_commit = on`, and a
//!   write returns only after its `COMMIT`.
//! - **One clock per node**: every transaction that hands out feed positions (`date_added` of a
//!   version, `added` of a tombstone) first locks the single `clock` row `FOR UPDATE` and hands
//!   out positions above its value. The lock is held to `COMMIT`, so writers, in any number of
//!   processes, commit in position order: a reader never sees a later position committed before
//!   an earlier one, and paging by position never skips a version.
//! - **The feed signal crosses processes**: the transaction that moves the clock also sends a
//!   `NOTIFY` on the schema's channel (delivered at `COMMIT`); [`feed::follow`] listens, so a
//!   write through one process wakes the others' streams and peer notifications at once.
//! - `cas_meta` is one `SELECT ... FOR UPDATE` (or an insert that conflicts) and a write in one
//!   transaction.
//! - Errors map to the same [`StoreError`] kinds as SQLite's: serialization failures,
//!   deadlocks and lost connections are `Retryable`, constraint violations `Conflict`.

mod accounts;
pub mod audit;
mod claims;
mod federation;
pub mod feed;
mod labels;
mod migrate;
mod pool;
mod read;
pub mod transfer;
mod write;

#[cfg(feature = "testdb")]
pub mod testdb;

use std::future::Future;

use tandem_store::{Result, StoreError};

use labels::Labels;
use pool::Pool;

pub use audit::PgAudit;
pub use pool::PoolConfig;

/// A store on one PostgreSQL database (its `search_path` schema), shared by any number of
/// processes.
pub struct PgStore {
    /// Always `Some` until drop (taken there to shut down without blocking).
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
    labels: Labels,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, libpq key-value form also accepted),
    /// applies pending migrations and loads the caches.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, PoolConfig::default())
    }

    pub fn open_with(url: &str, config: PoolConfig) -> Result<Self> {
        let pg_config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::backend(format!("invalid PostgreSQL url: {e}")))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tandem-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::backend(format!("starting the PostgreSQL runtime: {e}")))?;
        let pool = Pool::new(pg_config, config, rt.handle().clone());
        let mut store = PgStore { rt: Some(rt), pool, labels: Labels::default() };
        let labels = store.run(async {
            let mut conn = store.pool.get().await?;
            migrate::apply(&mut conn).await?;
            // Status resources are kept for at least 24 hours; a week is plenty.
            let week_ago = tandem_model::Timestamp::now().as_micros() - 7 * 86_400 * 1_000_000;
            conn.execute("DELETE FROM statuses WHERE created < $1", &[&week_ago]).await.map_err(pg)?;
            Labels::load(&*conn).await
        })?;
        store.labels = labels;
        Ok(store)
    }

    /// Runs `fut` on this store's runtime, blocking the calling thread until it completes.
    fn run<T: Send>(&self, fut: impl Future<Output = Result<T>> + Send) -> Result<T> {
        let Some(rt) = self.rt.as_ref() else {
            return Err(StoreError::backend("the store is shut down"));
        };
        match tokio::runtime::Handle::try_current() {
            // A plain thread (the CLI): block right here.
            Err(_) => rt.block_on(fut),
            // A thread of another multi-thread runtime (its blocking pool, or a worker):
            // `block_in_place` lets this thread block without stalling the others' tasks.
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| rt.block_on(fut))
            }
            // A current-thread runtime (tests, small tools): `block_on` would panic on it, so
            // block from a helper thread.
            Ok(_) => std::thread::scope(|s| s.spawn(|| rt.block_on(fut)).join())
                .map_err(|_| StoreError::backend("a store thread panicked"))?,
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime; nothing is left to wait
        // for once the store is gone (every call has completed).
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The [`StoreError`] kind of a PostgreSQL error.
pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    use tokio_postgres::error::SqlState;
    if let Some(code) = e.code() {
        let retry = [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
        ];
        if retry.contains(code) || code.code().starts_with("08") {
            return StoreError::retryable(e);
        }
        if code.code().starts_with("23") {
            return StoreError::Conflict(e.to_string());
        }
        if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED {
            return StoreError::Corrupt(e.to_string());
        }
        return StoreError::backend(e);
    }
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        return StoreError::retryable(e);
    }
    // A stored value of the wrong type: the data, not the backend, is at fault.
    if e.to_string().starts_with("error deserializing column") {
        return StoreError::Corrupt(e.to_string());
    }
    StoreError::backend(e)
}

pub(crate) fn poisoned() -> StoreError {
    StoreError::backend("a store lock was poisoned by an earlier panic")
}

/// The latest position handed out on the node's clock (0 for none yet).
pub(crate) async fn clock(conn: &impl tokio_postgres::GenericClient) -> Result<i64> {
    let row = conn.query_one("SELECT last FROM clock WHERE id = 1", &[]).await.map_err(pg)?;
    row.try_get(0).map_err(pg)
}

/// Takes the node's clock for this transaction (see the crate doc): returns its value, the floor
/// for the positions the transaction hands out. Held until COMMIT or ROLLBACK.
pub(crate) async fn lock_clock(tx: &tokio_postgres::Transaction<'_>) -> Result<i64> {
    let row = tx.query_one("SELECT last FROM clock WHERE id = 1 FOR UPDATE", &[]).await.map_err(pg)?;
    row.try_get(0).map_err(pg)
}

/// Records the last position a transaction handed out (still under its lock), and queues the
/// feed notification that every process listening on this schema's channel receives when the
/// transaction commits ([`feed`]); one statement, so a write pays no extra round trip.
pub(crate) async fn advance_clock(tx: &tokio_postgres::Transaction<'_>, floor: i64, last: i64) -> Result<()> {
    if last > floor {
        tx.query_one(feed::ADVANCE_AND_NOTIFY, &[&last]).await.map_err(pg)?;
    }
    Ok(())
}

impl tandem_store::ObjectStore for PgStore {
    fn put_with_status(
        &self,
        collection: &str,
        originator: &str,
        objects: Vec<tandem_store::Incoming>,
        status: &mut (dyn FnMut(&[tandem_store::PutOutcome]) -> Option<tandem_store::NewStatus> + Send),
    ) -> Result<Vec<tandem_store::PutOutcome>> {
        self.run(self.put_impl(collection, originator, objects, status))
    }

    fn list(
        &self,
        ctx: &tandem_store::ViewContext,
        collection: &str,
        query: &tandem_store::ObjectQuery,
    ) -> Result<tandem_store::Page<tandem_store::Record>> {
        self.run(self.list_impl(ctx, collection, query))
    }

    fn delete(
        &self,
        ctx: &tandem_store::ViewContext,
        collection: &str,
        id: &str,
        versions: &tandem_store::VersionFilter,
    ) -> Result<tandem_store::DeleteOutcome> {
        self.run(self.delete_impl(ctx, collection, id, versions))
    }

    fn list_tombstones(
        &self,
        ctx: &tandem_store::ViewContext,
        collection: &str,
        after: Option<tandem_model::Timestamp>,
        limit: usize,
    ) -> Result<tandem_store::Page<tandem_store::Tombstone>> {
        self.run(self.list_tombstones_impl(ctx, collection, after, limit))
    }

    fn apply_tombstones(
        &self,
        collection: &str,
        tombstones: Vec<tandem_store::Tombstone>,
    ) -> Result<Vec<tandem_store::Tombstone>> {
        self.run(self.apply_tombstones_impl(collection, tombstones))
    }

    fn unresolved_markings(&self) -> Result<Vec<(String, u64)>> {
        self.run(self.unresolved_markings_impl())
    }

    fn holds_versions(
        &self,
        collection: &str,
        versions: &[(String, tandem_model::Timestamp, String)],
    ) -> Result<Vec<bool>> {
        self.run(self.holds_versions_impl(collection, versions))
    }

    fn referenced_before(&self, owner: &str, marking_id: &str, before: tandem_model::Timestamp) -> Result<bool> {
        self.run(self.referenced_before_impl(owner, marking_id, before))
    }

    fn contested(&self) -> Result<Vec<tandem_store::Contest>> {
        self.run(self.contested_impl())
    }

    fn set_provenance(
        &self,
        collection: &str,
        originator: &str,
        proofs: Vec<(tandem_model::Timestamp, String, serde_json::Value)>,
    ) -> Result<usize> {
        self.run(self.set_provenance_impl(collection, originator, proofs))
    }

    fn feed_position(&self) -> Result<Option<tandem_model::Timestamp>> {
        let last = self.run(async { clock(&*self.pool.get().await?).await })?;
        Ok((last > 0).then(|| tandem_model::Timestamp::from_micros(last)))
    }
}

impl tandem_store::AccountStore for PgStore {
    fn put_status(&self, id: &str, owner: &str, body: &serde_json::Value) -> Result<()> {
        self.run(self.put_status_impl(id, owner, body))
    }

    fn get_status(&self, id: &str, owner: &str) -> Result<Option<serde_json::Value>> {
        // An id from a request's path may hold NUL, which no stored text can (read::storable).
        if !read::storable(id) || !read::storable(owner) {
            return Ok(None);
        }
        self.run(self.get_status_impl(id, owner))
    }

    fn users(&self) -> Result<Vec<tandem_store::StoredUser>> {
        self.run(self.users_impl())
    }

    fn put_user(&self, user: &tandem_store::StoredUser) -> Result<()> {
        self.run(self.put_user_impl(user))
    }

    fn tokens(&self) -> Result<Vec<tandem_store::StoredToken>> {
        self.run(self.tokens_impl())
    }

    fn put_token(&self, token: &tandem_store::StoredToken) -> Result<()> {
        self.run(self.put_token_impl(token))
    }

    fn accounts_version(&self) -> Result<Vec<i64>> {
        self.run(self.accounts_version_impl())
    }
}

impl tandem_store::MetaStore for PgStore {
    fn get_meta(&self, key: &str) -> Result<Option<serde_json::Value>> {
        if !read::storable(key) {
            return Ok(None);
        }
        self.run(self.get_meta_impl(key))
    }

    fn put_meta(&self, key: &str, value: Option<&serde_json::Value>) -> Result<()> {
        self.run(self.put_meta_impl(key, value))
    }

    fn list_meta(&self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>> {
        if !read::storable(prefix) {
            return Ok(Vec::new());
        }
        self.run(self.list_meta_impl(prefix))
    }

    fn cas_meta(
        &self,
        key: &str,
        expected: Option<&serde_json::Value>,
        new: Option<&serde_json::Value>,
    ) -> Result<bool> {
        self.run(self.cas_meta_impl(key, expected, new))
    }

    fn insert_meta_absent(&self, entries: &[(String, serde_json::Value)]) -> Result<Vec<bool>> {
        self.run(self.insert_meta_absent_impl(entries))
    }
}

#[cfg(all(test, feature = "testdb"))]
mod tests {
    use super::pg;

    /// Each SQLSTATE class a caller branches on maps to its kind, with the server's error kept.
    #[test]
    fn postgres_errors_map_to_kinds() {
        let url = crate::testdb::fresh_url();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(conn);
            let raise = |code: &str| format!("DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{code}'; END $$");
            for (code, retryable) in [("40001", true), ("40P01", true), ("08006", true), ("42P01", false)] {
                let e = pg(client.batch_execute(&raise(code)).await.expect_err("raised"));
                assert_eq!(e.is_retryable(), retryable, "{code}: {e:?}");
                assert!(std::error::Error::source(&e).is_some(), "{code}: the source is kept");
            }
            client.batch_execute("CREATE TABLE t (k TEXT PRIMARY KEY); INSERT INTO t VALUES ('x')").await.expect("t");
            let dup = pg(client.batch_execute("INSERT INTO t VALUES ('x')").await.expect_err("duplicate"));
            assert!(matches!(dup, tandem_store::StoreError::Conflict(_)), "{dup:?}");
            let row = client.query_one("SELECT k FROM t", &[]).await.expect("row");
            let wrong = pg(row.try_get::<_, i64>(0).expect_err("text is no integer"));
            assert!(matches!(wrong, tandem_store::StoreError::Corrupt(_)), "{wrong:?}");
        });
    }
}
