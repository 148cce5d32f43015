//! What only the PostgreSQL backend has to prove: it can be called from any kind of thread,
//! refuses a newer schema, reports a server it cannot reach as retryable, and builds the
//! full-text index of what a database held before migration 2.

use std::sync::Arc;

use tandem_store::Store;
use tandem_store_postgres::{PgStore, testdb};

/// The trait is sync: the CLI calls it with no runtime, the node from `spawn_blocking` and
/// (against advice, but it must not panic) from async workers of either flavour.
#[test]
fn callable_from_every_kind_of_thread() {
    let store: Arc<dyn Store> = Arc::new(PgStore::open(&testdb::fresh_url()).expect("open"));
    assert_eq!(store.feed_position().expect("plain thread"), None);

    let current = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let s = store.clone();
    current.block_on(async move {
        assert!(s.feed_position().expect("current-thread worker").is_none());
        let s2 = s.clone();
        tokio::task::spawn_blocking(move || s2.feed_position().expect("its blocking pool")).await.expect("join");
    });

    let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let s = store.clone();
    multi.block_on(async move {
        let on_worker = tokio::spawn({
            let s = s.clone();
            async move { s.feed_position().map(|p| p.is_none()) }
        });
        assert!(on_worker.await.expect("join").expect("multi-thread worker"));
        let s2 = s.clone();
        tokio::task::spawn_blocking(move || s2.feed_position().expect("its blocking pool")).await.expect("join");
        // Dropped here, inside the runtime: must not panic either.
        drop(s);
    });
    drop(multi);
    drop(current);
    assert!(Arc::strong_count(&store) == 1);
}

#[test]
fn a_newer_schema_is_refused() {
    let url = testdb::fresh_url();
    drop(PgStore::open(&url).expect("open"));
    testdb::run_sql(&url, "INSERT INTO schema_migrations (version, applied) VALUES (999, 0)").expect("insert");
    let err = PgStore::open(&url).err().expect("refused");
    assert!(err.to_string().contains("newer than this binary"), "{err}");
}

#[test]
fn an_unreachable_server_is_retryable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    // Nothing listens on that port any more.
    let err = PgStore::open(&format!("postgres://tandem@127.0.0.1:{port}/postgres")).err().expect("no server");
    assert!(err.is_retryable(), "{err:?}");
}

fn incident(n: u32, name: &str) -> tandem_store::Incoming {
    let v = serde_json::json!({"type": "incident", "spec_version": "2.1",
        "id": format!("incident--00000000-0000-4000-8000-{n:012}"),
        "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z", "name": name,
        "object_marking_refs": [tandem_model::tlp::TLP2_GREEN]});
    tandem_store::Incoming::new(tandem_model::check_object(&v).expect("valid"))
}

fn search(store: &PgStore, text: &str) -> usize {
    let q = tandem_store::ObjectQuery {
        text: Some(tandem_store::TextQuery::parse(text).expect("query")),
        limit: 10,
        ..Default::default()
    };
    let ctx = tandem_store::conformance::ctx("IRQ");
    tandem_store::ObjectStore::list(store, &ctx, tandem_store::conformance::COLL, &q).expect("list").items.len()
}

/// A database from before full-text search (schema version 1): migration 2 fills the index for
/// what is stored; and it is the index that proposes rows (a version without its entry is not
/// found, whatever its text).
#[test]
fn the_text_index_is_backfilled_and_proposes_the_rows() {
    let url = testdb::fresh_url();
    let store = PgStore::open(&url).expect("open");
    let coll = tandem_store::conformance::COLL;
    tandem_store::ObjectStore::put(
        &store,
        coll,
        "USA",
        vec![incident(1, "Raid in Raqqa"), incident(2, "Raid in al-Raqqah")],
    )
    .expect("put");
    drop(store);
    testdb::run_sql(&url, "ALTER TABLE objects DROP COLUMN search; DELETE FROM schema_migrations WHERE version = 2")
        .expect("back to version 1");
    let store = PgStore::open(&url).expect("reopen");
    assert_eq!(search(&store, "raqqa"), 2);
    testdb::run_sql(&url, "UPDATE objects SET search = NULL WHERE date_added = (SELECT MIN(date_added) FROM objects)")
        .expect("drop one entry");
    assert_eq!(search(&store, "raqqa"), 1);
}
