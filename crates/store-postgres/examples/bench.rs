//! SQLite against PostgreSQL (one handle, and two handles as two `tandem serve` processes would
//! use one database), through the `Store` trait: ingest, paging the whole collection, get-by-id
//! and a filtered listing. `cargo run -p tandem-store-postgres --example bench -- [OBJECTS]`
//! (default 100,000); PostgreSQL is `TANDEM_PG_URL` or a throw-away local cluster.
//! Run by `bench/postgres.sh`.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use tandem_model::StixObject;
use tandem_policy::{Classification, Member, MemberStatus, Roster, Viewer};
use tandem_store::{Incoming, ObjectQuery, SqliteStore, Store, ViewContext};
use tandem_store_postgres::{PgStore, testdb};

const COLL: &str = "0b1e5c55-0000-4000-8000-00000000beef";
const BATCH: usize = 100;

fn object(n: usize) -> Incoming {
    let kind = if n.is_multiple_of(2) { "indicator" } else { "report" };
    let v = json!({
        "type": kind, "spec_version": "2.1", "id": format!("{kind}--00000000-0000-4000-8000-{n:012}"),
        "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
        "name": format!("object {n}"), "description": "Observed near the checkpoint at dawn",
        "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z",
        "object_marking_refs": [tandem_model::tlp::TLP2_GREEN]
    });
    Incoming::new(StixObject::from_map_unchecked(v.as_object().cloned().unwrap_or_default()))
}

fn ctx() -> ViewContext {
    let m = |code: &str| Member {
        code: code.into(),
        name: code.into(),
        joined: None,
        status: MemberStatus::Active,
        public_key: None,
    };
    ViewContext {
        viewer: Viewer { member: "IRQ".into(), clearance: Classification::Secret },
        roster: Arc::new(Roster::new([m("USA"), m("IRQ")], [])),
    }
}

/// Runs `f(handle, part)` for each handle on its own thread, parts 0..handles.
fn each(handles: &[Arc<dyn Store>], f: impl Fn(&dyn Store, usize) + Sync) {
    std::thread::scope(|s| {
        for (i, h) in handles.iter().enumerate() {
            let f = &f;
            s.spawn(move || f(h.as_ref(), i));
        }
    });
}

fn run(name: &str, handles: Vec<Arc<dyn Store>>, n: usize) {
    let k = handles.len();
    let ctx = ctx();
    let t = Instant::now();
    each(&handles, |store, part| {
        let batches: Vec<usize> = (0..n.div_ceil(BATCH)).filter(|b| b % k == part).collect();
        for b in batches {
            let objects = (b * BATCH..((b + 1) * BATCH).min(n)).map(object).collect();
            store.put(COLL, "USA", objects).expect("put");
        }
    });
    let ingest = n as f64 / t.elapsed().as_secs_f64();

    // Paging the whole collection, 1000 a page, alternating handles.
    let t = Instant::now();
    let mut q = ObjectQuery { limit: 1000, ..Default::default() };
    let (mut seen, mut page_no) = (0, 0);
    loop {
        let page = handles[page_no % k].list(&ctx, COLL, &q).expect("list");
        seen += page.items.len();
        page_no += 1;
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, n);
    let paging = n as f64 / t.elapsed().as_secs_f64();

    let lookups = 500.min(n);
    let t = Instant::now();
    each(&handles, |store, part| {
        for i in (0..lookups).filter(|i| i % k == part) {
            let id = (i * 7919) % n;
            let kind = if id.is_multiple_of(2) { "indicator" } else { "report" };
            let q = ObjectQuery {
                limit: 10,
                ids: vec![format!("{kind}--00000000-0000-4000-8000-{id:012}")],
                ..Default::default()
            };
            assert_eq!(store.list(&ctx, COLL, &q).expect("get").items.len(), 1);
        }
    });
    let gets = lookups as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut q = ObjectQuery { limit: 1000, types: vec!["report".into()], ..Default::default() };
    let mut reports = 0;
    loop {
        let page = handles[0].list(&ctx, COLL, &q).expect("list");
        reports += page.items.len();
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(reports, n / 2);
    let filtered = reports as f64 / t.elapsed().as_secs_f64();
    println!(
        "{name:<22} {n:>9} objects  ingest {ingest:>8.0}/s  paging {paging:>8.0}/s  get-by-id {gets:>7.0}/s  filtered {filtered:>8.0}/s"
    );
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    run("sqlite", vec![Arc::new(SqliteStore::open(dir.path()).expect("sqlite"))], n);
    drop(dir);
    let url = testdb::fresh_url();
    run("postgres, 1 handle", vec![Arc::new(PgStore::open(&url).expect("pg"))], n);
    let url = testdb::fresh_url();
    let two: Vec<Arc<dyn Store>> =
        vec![Arc::new(PgStore::open(&url).expect("pg")), Arc::new(PgStore::open(&url).expect("pg"))];
    run("postgres, 2 handles", two, n);
}
