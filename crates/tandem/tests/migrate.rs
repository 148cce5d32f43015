//! The real `tandem migrate`: a node served from SQLite is moved to PostgreSQL (in two sittings:
//! stopped after two batches, then resumed), served again from the same configuration with
//! `[storage] backend = "postgres"`, and every reader gets the very pages and `next` tokens it
//! got before; its audit chain moves with it (`tandem audit verify` passes on the database, and
//! the node goes on appending to the copied chain), and back to SQLite; a second source into the
//! same target is refused, a repeated run only verifies, a damaged row makes it fail, a tampered
//! audit chain in the source and another chain in the target are refused before anything is
//! written.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().expect("client")
}

fn config(path: &Path, port: u16, db: Option<&str>) {
    let mut toml = NodeToml::new("USA", port);
    if let Some(db) = db {
        toml = toml.postgres(db);
    }
    toml.member("USA")
        .member("IRQ")
        .member("SYR")
        .user("usa", "USA", "dev-only")
        .user("irq", "IRQ", "dev-only")
        .user("syr", "SYR", "dev-only")
        .write(path)
        .expect("config");
}

fn incident(n: u32, markings: &[&str]) -> Value {
    json!({"type": "incident", "spec_version": "2.1", "id": format!("incident--5b2e0d4c-7c1a-4f0e-9a55-{n:012}"),
           "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
           "name": format!("incident {n}"), "object_marking_refs": markings})
}

fn post(port: u16, user: &str, objects: Vec<Value>) {
    let r = client()
        .post(format!("http://127.0.0.1:{port}/api/collections/intel/objects/"))
        .basic_auth(user, Some("dev-only"))
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(json!({ "objects": objects }).to_string())
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 202, "post");
}

/// Every page (the whole JSON body, `next` included) of a listing, for each user.
fn pages(port: u16) -> Vec<Value> {
    let mut out = Vec::new();
    for user in ["usa", "irq", "syr"] {
        for listing in ["objects/?limit=4", "objects/?limit=3&match[version]=all", "manifest/?limit=5"] {
            let mut next: Option<String> = None;
            loop {
                let mut url = format!("http://127.0.0.1:{port}/api/collections/intel/{listing}");
                if let Some(t) = &next {
                    url.push_str(&format!("&next={t}"));
                }
                let r =
                    client().get(&url).basic_auth(user, Some("dev-only")).header("Accept", TAXII).send().expect("get");
                assert_eq!(r.status().as_u16(), 200, "{url}");
                let page: Value = r.json().expect("a page");
                next = page["next"].as_str().filter(|_| page["more"] == true).map(String::from);
                out.push(json!({"user": user, "url": listing, "page": page}));
                if next.is_none() {
                    break;
                }
            }
        }
    }
    out
}

fn migrate(args: &[&str]) -> (i32, String) {
    let out = tandem(&[&["migrate"], args].concat());
    (out.status.code().unwrap_or(-1), text(&out))
}

/// `tandem audit verify` on the node of `config`: its exit code and output.
fn audit_verify(config: &Path, extra: &[&str]) -> (i32, String) {
    let out = tandem(&[&["audit", "verify", "--config", p(config)], extra].concat());
    (out.status.code().unwrap_or(-1), text(&out))
}

/// Every entry of the node's audit chain, through `tandem audit show`.
fn audit_entries(config: &Path) -> Vec<Value> {
    let out = tandem(&["audit", "show", "--config", p(config), "--limit", "100000"]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

/// The number in `out` after `before` (the first occurrence).
fn number_after(out: &str, before: &str) -> u64 {
    let at = out.find(before).unwrap_or_else(|| panic!("{before:?} not in {out}")) + before.len();
    out[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("a number")
}

#[test]
fn a_node_moves_to_postgres_in_two_sittings_and_serves_the_same_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = dir.path().join("node.toml");
    let data = dir.path().join("data");
    let port = free_port();
    config(&path, port, None);
    let before = {
        let _node = Proc(serve_on(&path, port));
        post(port, "usa", (0..12).map(|n| incident(n, &[GREEN])).collect());
        post(port, "usa", (12..16).map(|n| incident(n, &[AMBER])).collect());
        post(port, "irq", (16..20).map(|n| incident(n, &[GREEN])).collect());
        let mut changed = incident(3, &[GREEN]);
        changed["modified"] = json!("2025-11-25T00:00:00.000Z");
        post(port, "usa", vec![changed]);
        pages(port)
    };
    assert!(before.len() > 15, "several pages per reader");
    let key = std::fs::read(data.join("node.key")).expect("the node key");
    let chain_before = audit_entries(&path);
    assert!(!chain_before.is_empty(), "the node audited its requests");

    let db = tandem_store_postgres::testdb::fresh_url();
    let from = format!("sqlite:{}", data.display());
    let (code, out) = migrate(&["--from", &from, "--to", &db, "--batch-size", "5", "--stop-after-batches", "2"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("stopped after 2 batches"), "{out}");
    assert!(out.contains("rows"), "plain progress lines when not on a terminal: {out}");
    assert!(out.contains("the audit chain verified in the source"), "{out}");

    let (code, out) = migrate(&["--from", &from, "--to", &db, "--batch-size", "5"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("copy resumed and completed"), "{out}");
    assert!(out.contains("verified: the target is an identical copy"), "{out}");
    assert!(out.contains("audit.sqlite") && out.contains("node.key"), "says what stays behind: {out}");
    assert!(!out.contains(":dev-only@") && !out.contains("MISMATCH"), "{out}");
    let entries = chain_before.len() as u64;
    assert_eq!(number_after(&out, "audit chain: "), entries, "{out}");
    assert_eq!(number_after(&out, "entries copied now, "), 0, "{out}");
    assert!(out.contains(&format!("audit chain: {entries} entries copied now")), "{out}");
    assert!(out.contains("audit chain: verified in the target"), "{out}");

    // Run again: nothing to copy, verified again (before the node on PostgreSQL writes its own
    // bookkeeping).
    let (code, out) = migrate(&["--from", &from, "--to", &db]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already complete"), "{out}");

    // The same node, now on PostgreSQL: same data directory (node key), same pages, and the
    // same audit chain, in the database, which `tandem audit verify` checks there.
    config(&path, port, Some(&db));
    let (code, out) = audit_verify(&path, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("INTACT") && out.contains(&format!("{entries} entries")), "{out}");
    assert!(!out.contains("audit.sqlite"), "the chain verified is the database's: {out}");
    assert_eq!(audit_entries(&path), chain_before, "the chain in the database is the one the node kept");
    {
        let _node = Proc(serve_on(&path, port));
        assert_eq!(pages(port), before, "every reader gets the same pages and next tokens");
        // The node is killed below: let its audit writer commit first (at most 100 ms a batch).
        wait_until("the node on PostgreSQL audits its requests", || audit_entries(&path).len() > chain_before.len());
    }
    assert_eq!(std::fs::read(data.join("node.key")).expect("the node key"), key);
    // The node went on with the copied chain: one chain, longer, intact.
    let chain_after = audit_entries(&path);
    assert!(chain_after.len() > chain_before.len(), "the node on PostgreSQL audited its requests");
    assert_eq!(chain_after[..chain_before.len()], chain_before[..], "and appended to the copied chain");
    let (code, out) = audit_verify(&path, &[]);
    assert_eq!(code, 0, "{out}");

    // And back to SQLite, from the database the node served (its bookkeeping included) into
    // another data directory: without a node key at either end the chain cannot be verified,
    // so it is refused until the public key is given.
    let back_config = dir.path().join("back").join("node.toml");
    std::fs::create_dir_all(back_config.parent().expect("a parent")).expect("mkdir");
    config(&back_config, port, None);
    let back = back_config.with_file_name("data");
    let to_back = format!("sqlite:{}", back.display());
    let (code, out) = migrate(&["--from", &db, "--to", &to_back, "--quiet"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--public-key") && out.contains("no node.key"), "{out}");
    assert!(!back.join("tandem.sqlite").exists(), "a refusal writes nothing");
    let public = tandem_audit::keys::public_key_string(
        &tandem_audit::keys::load_node_key(&data).expect("the node key").verifying_key(),
    );
    let (code, out) = migrate(&["--from", &db, "--to", &to_back, "--quiet", "--public-key", &public]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("verified: the target is an identical copy"), "{out}");
    assert!(out.contains(&format!("audit chain: {} entries copied now", chain_after.len())), "{out}");
    assert!(back.join("tandem.sqlite").is_file());
    let (code, out) = audit_verify(&back_config, &["--public-key", &public]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("INTACT") && out.contains("audit.sqlite"), "{out}");
    assert_eq!(audit_entries(&back_config), chain_after, "the chain came back whole");

    // The database's chain with an edited entry: a move out of it is refused, nothing written.
    tandem_store_postgres::testdb::run_sql(&db, "UPDATE audit_entries SET path = '/elsewhere' WHERE seq = 3")
        .expect("tamper");
    let elsewhere = dir.path().join("elsewhere");
    let (code, out) =
        migrate(&["--from", &db, "--to", &format!("sqlite:{}", elsewhere.display()), "--public-key", &public]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not verify with the node key") && out.contains("first broken at seq 3"), "{out}");
    assert!(!elsewhere.exists(), "a refusal writes nothing");
    tandem_store_postgres::testdb::run_sql(
        &db,
        &format!(
            "UPDATE audit_entries SET path = '{}' WHERE seq = 3",
            chain_after[2]["path"].as_str().expect("a path").replace('\'', "''")
        ),
    )
    .expect("undo");

    // Another source into this target is refused.
    let other = tempfile::tempdir().expect("tempdir");
    drop(tandem_store::SqliteStore::open(other.path()).expect("another store"));
    let (code, out) = migrate(&["--from", &format!("sqlite:{}", other.path().display()), "--to", &db]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("another source"), "{out}");

    // A damaged version is found and fails the run.
    tandem_store_postgres::testdb::run_sql(
        &db,
        "UPDATE objects SET body = replace(body, 'incident 7', 'incident 77') WHERE body LIKE '%incident 7\"%'",
    )
    .expect("damage");
    let (code, out) = migrate(&["--from", &from, "--to", &db]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("VERIFICATION FAILED") && out.contains("does not match its content hash"), "{out}");
}

/// A data directory with a store of a few incidents and an audit chain of `entries` entries
/// signed with its own node key (created there).
fn audited_store(dir: &Path, entries: u64) {
    use tandem_store::ObjectStore;
    let store = tandem_store::SqliteStore::open(dir).expect("open");
    let objects = (0..5)
        .map(|n| {
            let map = incident(n, &[GREEN]).as_object().cloned().expect("an object");
            tandem_store::Incoming::new(tandem_model::StixObject::from_map_unchecked(map))
        })
        .collect();
    store.put("a2e983c8-a193-5637-9d6e-73a1eac79b36", "USA", objects).expect("put");
    drop(store);
    let log = tandem_audit::AuditLog::open_in(dir).expect("audit log");
    for n in 0..entries {
        log.record(tandem_audit::Entry {
            ts: "2026-01-01T00:00:00.000000Z".into(),
            actor_user: Some(format!("user{n}")),
            actor_member: Some("USA".into()),
            action: "objects.read".into(),
            method: "GET".into(),
            path: "/taxii2/".into(),
            status: 200,
            detail: json!({"returned": n}),
        });
    }
    log.close().expect("close");
}

/// A target keeping another chain (another node's `audit.sqlite`), and a source whose chain was
/// edited, are refused, and neither target gets a store; the untouched source then moves.
#[test]
fn another_audit_chain_in_the_target_or_a_tampered_one_in_the_source_is_refused() {
    let (from, to) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    audited_store(from.path(), 12);
    // Another node's audit log alone in the target directory.
    let log = tandem_audit::AuditLog::open_in(to.path()).expect("another chain");
    log.record(tandem_audit::Entry {
        ts: "2026-01-02T00:00:00.000000Z".into(),
        actor_user: None,
        actor_member: None,
        action: "discovery".into(),
        method: "GET".into(),
        path: "/taxii2/".into(),
        status: 200,
        detail: json!({}),
    });
    log.close().expect("close");
    let source = format!("sqlite:{}", from.path().display());
    let (code, out) = migrate(&["--from", &source, "--to", &format!("sqlite:{}", to.path().display())]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the target already holds a different audit chain"), "{out}");
    assert!(!to.path().join("tandem.sqlite").exists(), "a refusal writes nothing");

    // An edited entry in the source.
    let fresh = tempfile::tempdir().expect("tempdir");
    let target = fresh.path().join("moved");
    let audit = tandem_audit::audit_path(from.path());
    let edit = |sql: &str| rusqlite::Connection::open(&audit).expect("open").execute_batch(sql).expect("edit");
    edit("UPDATE entries SET actor_user = 'mallory' WHERE seq = 7");
    let (code, out) = migrate(&["--from", &source, "--to", &format!("sqlite:{}", target.display())]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not verify with the node key") && out.contains("seq 7: entry edited"), "{out}");
    assert!(!target.exists(), "a refusal writes nothing");

    edit("UPDATE entries SET actor_user = 'user6' WHERE seq = 7");
    let (code, out) = migrate(&["--from", &source, "--to", &format!("sqlite:{}", target.display())]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit chain: 12 entries copied now"), "{out}");
    let key = tandem_audit::keys::load_node_key(from.path()).expect("key").verifying_key();
    let report = tandem_audit::verify(&tandem_audit::audit_path(&target), &key).expect("verify");
    assert!(report.is_intact() && report.entries == 12 && report.unsigned_tail == 0, "{report}");
}

#[test]
fn an_unreadable_source_or_a_bad_location_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out) =
        migrate(&["--from", &format!("sqlite:{}", dir.path().display()), "--to", "sqlite:/nonexistent/x"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no store in"), "{out}");
    let (code, out) = migrate(&["--from", "mysql://x", "--to", "sqlite:/tmp/x"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("expected sqlite:DIR or postgres://URL"), "{out}");
    assert!(!dir.path().join("tandem.sqlite").exists(), "an empty source directory is not made a store");
}

/// On a terminal the copy draws a progress bar per table (run under `script`, which gives the
/// child a pseudo-terminal); SQLite to SQLite works as well (a node moved to another disk).
#[test]
fn migrate_draws_a_progress_bar_on_a_terminal() {
    use tandem_store::ObjectStore;
    let (from, to) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let store = tandem_store::SqliteStore::open(from.path()).expect("open");
    let objects = (0..40)
        .map(|n| {
            let map = incident(n, &[GREEN]).as_object().cloned().expect("an object");
            tandem_store::Incoming::new(tandem_model::StixObject::from_map_unchecked(map))
        })
        .collect();
    store.put("a2e983c8-a193-5637-9d6e-73a1eac79b36", "USA", objects).expect("put");
    drop(store);
    let target = to.path().join("moved");
    let command = format!(
        "{} migrate --batch-size 10 --from sqlite:{} --to sqlite:{}",
        bin(),
        from.path().display(),
        target.display()
    );
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("TERM", "xterm")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run script");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{tty}");
    assert!(tty.contains("verified: the target is an identical copy"), "{tty}");
    let bar = tty.lines().find(|l| l.contains("objects [") && l.contains("40/40")).unwrap_or_default();
    assert!(!bar.is_empty(), "no progress bar for the objects: {tty:?}");
    assert!(target.join("tandem.sqlite").is_file());
}

/// Killed (SIGKILL) in the middle of the copy and started again, `tandem migrate` goes on from
/// its marker and ends with a verified, identical copy.
#[test]
fn a_migration_killed_mid_run_resumes_from_its_marker() {
    use tandem_store::ObjectStore;
    use tandem_store::transfer::{Access, RowStore};
    let from = tempfile::tempdir().expect("tempdir");
    let store = tandem_store::SqliteStore::open(from.path()).expect("open");
    for chunk in (0..600).collect::<Vec<u32>>().chunks(100) {
        let objects = chunk
            .iter()
            .map(|n| {
                let map = incident(*n, &[GREEN]).as_object().cloned().expect("an object");
                tandem_store::Incoming::new(tandem_model::StixObject::from_map_unchecked(map))
            })
            .collect();
        store.put("a2e983c8-a193-5637-9d6e-73a1eac79b36", "USA", objects).expect("put");
    }
    drop(store);
    let db = tandem_store_postgres::testdb::fresh_url();
    let source = format!("sqlite:{}", from.path().display());
    let mut child = Proc(
        std::process::Command::new(bin())
            .args(["migrate", "--quiet", "--batch-size", "1", "--from", &source, "--to", &db])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn migrate"),
    );
    // Wait for the copy to be inside the objects table, then kill it.
    let watcher = loop {
        if let Ok(w) = tandem_store_postgres::transfer::open(&db, Access::Read) {
            break w;
        }
        assert!(child.0.try_wait().expect("wait").is_none(), "migrate ended before its target had a schema");
        std::thread::sleep(Duration::from_millis(5));
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let marker = watcher.marker().expect("marker");
        if marker.as_ref().is_some_and(|m| m["table"] == "objects") {
            break;
        }
        assert!(child.0.try_wait().expect("wait").is_none(), "migrate ended before it was killed: {marker:?}");
        assert!(std::time::Instant::now() < deadline, "no progress into the objects table");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.0.kill().expect("SIGKILL");
    child.0.wait().expect("reap");
    let marker = watcher.marker().expect("marker").expect("a marker");
    assert_eq!(marker["complete"], false, "killed before the end: {marker}");
    let objects = tandem_store::transfer::table("objects").expect("objects");
    let copied = watcher.count_rows(objects).expect("count");
    assert!(copied < 600, "{copied} of 600 copied when killed");
    eprintln!("killed with {copied} of 600 versions copied");

    let (code, out) = migrate(&["--from", &source, "--to", &db, "--batch-size", "50"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("copy resumed and completed"), "{out}");
    assert!(out.contains("verified: the target is an identical copy"), "{out}");
    assert_eq!(watcher.count_rows(objects).expect("count"), 600);
}

/// The row copy takes no `ViewContext`, so it must stay operator machinery: outside the two
/// backends that implement it, only `tandem_node::migrate` and the `tandem migrate` command may
/// use it (no route, no node process, no other command reaches it). A source scan of every
/// crate's `src/`.
#[test]
fn the_row_copy_is_reachable_only_from_tandem_migrate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let allowed = |path: &Path| {
        let p = path.to_string_lossy().replace('\\', "/");
        p.contains("/crates/store/src/")
            || p.contains("/crates/store-postgres/src/")
            || p.ends_with("/crates/node/src/migrate.rs")
            || p.ends_with("/crates/tandem/src/cli/migrate.rs")
    };
    let mut stack = vec![root.join("crates")];
    let (mut scanned, mut users) = (0, Vec::new());
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                // Only sources: tests, examples and build output may use anything.
                let parent_is_crate = dir.parent().is_some_and(|d| d.ends_with("crates"));
                if !(parent_is_crate && name != "src") && name != "target" && name != "node_modules" {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                scanned += 1;
                let text = std::fs::read_to_string(&path).expect("read source");
                let uses = ["transfer::", "RowStore", "node::migrate"].iter().any(|p| text.contains(p));
                if uses && !allowed(&path) {
                    users.push(path.display().to_string());
                }
            }
        }
    }
    assert!(scanned > 100, "the scan found the sources ({scanned} files)");
    assert_eq!(users, Vec::<String>::new(), "the row copy used outside tandem migrate");
}
