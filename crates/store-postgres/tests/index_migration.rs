//! Schema version 4 builds its index `CONCURRENTLY` (src/migrate.rs): a node's other processes
//! keep writing while a process that opens the store builds it, and a build that was
//! interrupted, which leaves an invalid index, is dropped and built again rather than taken
//! for done.

use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use tandem_model::tlp;
use tandem_store::conformance::{COLL, ctx, incoming, indicator};
use tandem_store::{ObjectQuery, Store};
use tandem_store_postgres::{PgStore, testdb};

const INDEX: &str = "objects_by_label_type";

/// The tests of this file share one server and look at its activity: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn put(store: &dyn Store, n: u32) {
    store.put(COLL, "USA", vec![incoming(indicator(n, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]))]).expect("put");
}

fn count(store: &dyn Store) -> usize {
    let query = ObjectQuery { limit: 1000, ..Default::default() };
    store.list(&ctx("USA"), COLL, &query).expect("list").items.len()
}

/// A runtime and a connection of the test's own, outside any store (to hold a transaction
/// open, or to look at the catalogue).
struct Session {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Session {
    fn connect(url: &str) -> Session {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let client = rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(conn);
            client
        });
        Session { rt, client }
    }

    fn execute(&self, sql: &str) {
        self.rt.block_on(self.client.batch_execute(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// `(valid, definition)` of the index, `None` when there is none.
    fn index(&self) -> Option<(bool, String)> {
        let row = self
            .rt
            .block_on(self.client.query_opt(
                "SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relname = $1 AND n.nspname = current_schema()",
                &[&INDEX],
            ))
            .expect("catalogue");
        row.map(|r| (r.get(0), r.get(1)))
    }

    fn versions(&self) -> Vec<i64> {
        let rows = self
            .rt
            .block_on(self.client.query("SELECT version FROM schema_migrations ORDER BY version", &[]))
            .expect("schema_migrations");
        rows.iter().map(|r| r.get(0)).collect()
    }

    /// Whether a session other than this one is building the index and waiting for a lock.
    fn build_waiting(&self) -> bool {
        let row = self
            .rt
            .block_on(self.client.query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
                 AND query ILIKE '%CREATE INDEX%objects_by_label_type%' AND wait_event_type = 'Lock'",
                &[],
            ))
            .expect("pg_stat_activity");
        row.get::<_, i64>(0) > 0
    }
}

/// The index built by schema version 4, as the migration defines it, and valid.
fn assert_built(session: &Session) {
    let (valid, definition) = session.index().expect("the index exists");
    assert!(valid, "the index is valid: {definition}");
    assert!(definition.contains("(collection, label, type, date_added)"), "{definition}");
    assert!(!definition.contains("UNIQUE"), "{definition}");
    assert_eq!(session.versions().last(), Some(&4));
}

/// Back to schema version 3 on a store that has been at 4: no index, no record of it.
fn undo_version_4(session: &Session) {
    session.execute(&format!("DROP INDEX {INDEX}; DELETE FROM schema_migrations WHERE version = 4"));
    assert_eq!(session.index(), None);
}

#[test]
fn a_fresh_store_has_the_index_valid_and_recorded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let url = testdb::fresh_url();
    let _store = PgStore::open(&url).expect("open");
    assert_built(&Session::connect(&url));
}

#[test]
fn an_interrupted_build_is_dropped_and_built_again() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let url = testdb::fresh_url();
    let store = PgStore::open(&url).expect("open");
    for n in 0..3 {
        put(&store, n);
    }
    drop(store);
    let session = Session::connect(&url);
    undo_version_4(&session);
    // A concurrent build that fails part-way leaves an invalid index under the name, as one
    // interrupted by a kill or a restart does: here a unique index over duplicated values.
    let failed = testdb::run_sql(&url, &format!("CREATE UNIQUE INDEX CONCURRENTLY {INDEX} ON objects(collection)"));
    assert!(failed.is_err(), "the unique build fails on duplicates");
    let (valid, _) = session.index().expect("the failed build left its index");
    assert!(!valid, "the index a failed build leaves is invalid");

    let store = PgStore::open(&url).expect("reopen");
    assert_built(&session);
    assert_eq!(count(&store), 3, "the objects are all there");
    put(&store, 3);
    assert_eq!(count(&store), 4);
}

#[test]
fn other_processes_write_while_the_index_builds() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let url = testdb::fresh_url();
    let writer = PgStore::open(&url).expect("open");
    put(&writer, 0);
    let session = Session::connect(&url);
    undo_version_4(&session);

    // A transaction that holds a writer's lock on the table: a concurrent build waits for it
    // (a plain CREATE INDEX would wait too, and queue every later insert behind itself).
    let holder = Session::connect(&url);
    holder.execute("BEGIN; LOCK TABLE objects IN ROW EXCLUSIVE MODE");

    let (opened_tx, opened) = mpsc::channel();
    let open_url = url.clone();
    let migrating = std::thread::spawn(move || {
        let result = PgStore::open(&open_url).map(|_| ());
        let _ = opened_tx.send(result);
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while !session.build_waiting() {
        assert!(Instant::now() < deadline, "the opening process never started its index build");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Another process's write goes through while the build waits.
    let (wrote_tx, wrote) = mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            put(&writer, 1);
            let _ = wrote_tx.send(());
        });
        let went_through = wrote.recv_timeout(Duration::from_secs(60)).is_ok();
        if !went_through {
            holder.execute("COMMIT"); // let the stuck write finish before the scope joins it
        }
        assert!(went_through, "a write waited for the index build");
    });
    assert!(opened.try_recv().is_err(), "the build is still waiting for the open transaction");

    holder.execute("COMMIT");
    opened.recv_timeout(Duration::from_secs(60)).expect("the opening process finished").expect("open");
    migrating.join().expect("join");
    assert_built(&session);
    assert_eq!(count(&writer), 2);
}
