//! Crash safety through the real binary: a node under continuous TAXII ingest is killed with
//! SIGKILL at random moments and restarted, again and again, and after every restart everything
//! it acknowledged must be there, intact, with no envelope half-written, paging cursors taken
//! before the kill still valid, and at the end an audit chain that verifies and databases that
//! pass SQLite's integrity check.
//!
//! Randomness (kill moments, ids) comes from one seed, printed on failure; rerun a failure with
//! `TANDEM_CRASH_SEED=<seed>`.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// Objects per envelope: an envelope is one transaction, so after any kill it is all or nothing.
const PER_ENVELOPE: usize = 3;
const CLIENTS: u64 = 4;
const CYCLES: usize = 20;

/// splitmix64: small, seedable, good enough to pick kill moments and ids.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A version-4 UUID.
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            8 + (b >> 62),
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// The seed of this run: `TANDEM_CRASH_SEED` or the clock.
fn seed() -> u64 {
    std::env::var("TANDEM_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    })
}

/// Prints the seed when the test fails (a panic unwinds through it).
struct SeedReport(u64);

impl Drop for SeedReport {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("crash test failed with seed {0}; rerun with TANDEM_CRASH_SEED={0}", self.0);
        }
    }
}

/// One node's directory and configuration; the process is started and killed by the test.
struct Node {
    dir: tempfile::TempDir,
    config: PathBuf,
    port: u16,
    member: String,
}

impl Node {
    /// A node of `member` alone in its roster.
    fn new(member: &str) -> Node {
        let node = Node::bare(member);
        node.write(&[(member, String::new())], &[], "");
        node
    }

    fn bare(member: &str) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("node.toml");
        Node { dir, config, port: free_port(), member: member.into() }
    }

    /// (Re)writes the configuration: the roster `members` with their keys (empty: none yet),
    /// the user named after the member (lower case), a sync account for every other member,
    /// `peers` pulled, and `extra` `[node]` lines.
    fn write(&self, members: &[(&str, String)], peers: &[(&str, u16)], extra: &str) {
        let mut toml = NodeToml::new(&self.member, self.port);
        for line in extra.lines() {
            toml = toml.node_key(line);
        }
        for (m, key) in members {
            let key = if key.is_empty() { String::new() } else { format!("public_key = \"{key}\"") };
            toml = toml.member_with(m, &key);
        }
        toml = toml.user_with(&self.user(), &self.member, "dev-only", r#"clearance = "SECRET""#);
        for (m, _) in members.iter().filter(|(m, _)| *m != self.member) {
            toml = toml.user_with(&format!("sync-{m}"), m, "dev-only", r#"roles = ["peer"]"#);
        }
        for (m, port) in peers {
            let url = format!("http://127.0.0.1:{port}/taxii2/");
            toml = toml.peer(m, &url, &format!("sync-{}", self.member), "dev-only");
        }
        toml.write(&self.config).expect("config");
    }

    fn user(&self) -> String {
        self.member.to_lowercase()
    }

    fn key(&self) -> String {
        let out = tandem(&["key", "show", "--config", p(&self.config)]);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().expect("client")
}

/// What a client was told was stored: the envelope's tag and each object's id and content hash.
#[derive(Clone)]
struct Acked {
    tag: String,
    objects: Vec<(String, String)>,
}

fn hash(v: &Value) -> String {
    tandem_model::canonical::hex(&tandem_model::canonical::content_hash(v))
}

fn envelope(rng: &mut Rng, tag: &str) -> Vec<Value> {
    (0..PER_ENVELOPE)
        .map(|k| {
            json!({
                "type": "indicator", "spec_version": "2.1", "id": format!("indicator--{}", rng.uuid()),
                "created": "2025-11-20T10:00:00.000Z", "modified": "2025-11-20T10:00:00.000Z",
                "name": format!("{tag} #{k}"), "pattern": format!("[ipv4-addr:value = '10.0.{}.{}']", k, rng.below(250)),
                "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z", "object_marking_refs": [GREEN],
                "x_tandem_envelope": tag
            })
        })
        .collect()
}

/// Posts envelopes until `stop`, recording every one acknowledged whole; errors (the node is
/// down, or died mid-request) are expected and retried with a new envelope.
fn ingest(url: String, user: String, seed: u64, client_no: u64, stop: Arc<AtomicBool>, acked: Arc<Mutex<Vec<Acked>>>) {
    let http = client();
    let mut rng = Rng(seed ^ (client_no + 1).wrapping_mul(0xA24B_AED4_963E_E407));
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let tag = format!("env-{client_no}-{n}");
        let objects = envelope(&mut rng, &tag);
        let sent = http
            .post(&url)
            .basic_auth(&user, Some("dev-only"))
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .body(json!({ "objects": objects }).to_string())
            .send();
        let ok = match sent {
            Ok(r) if r.status().as_u16() == 202 => {
                r.json::<Value>().ok().is_some_and(|b| b["success_count"].as_u64() == Some(PER_ENVELOPE as u64))
            }
            _ => false,
        };
        if ok {
            let objects = objects.iter().map(|o| (o["id"].as_str().unwrap_or_default().to_string(), hash(o))).collect();
            acked.lock().expect("acked").push(Acked { tag, objects });
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One page of the intel collection: its objects, `next` and `X-TAXII-Date-Added-Last`.
struct Page {
    objects: Vec<Value>,
    next: Option<String>,
    last: Option<String>,
}

fn page(node: &Node, user: &str, query: &str) -> Page {
    let r = client()
        .get(node.url(&format!("/api/collections/intel/objects/?{query}")))
        .basic_auth(user, Some("dev-only"))
        .header("Accept", TAXII)
        .send()
        .expect("get page");
    assert_eq!(r.status().as_u16(), 200, "page {query}");
    let last = r.headers().get("x-taxii-date-added-last").and_then(|v| v.to_str().ok()).map(String::from);
    let body: Value = r.json().expect("page json");
    let objects = body["objects"].as_array().cloned().unwrap_or_default();
    let next = if body["more"].as_bool() == Some(true) { body["next"].as_str().map(String::from) } else { None };
    Page { objects, next, last }
}

/// Everything from `query` on, following `next` to the end.
fn follow(node: &Node, user: &str, first: Page) -> Vec<Value> {
    let mut all = first.objects;
    let mut next = first.next;
    while let Some(token) = next {
        let p = page(node, user, &format!("limit=1000&next={token}"));
        all.extend(p.objects);
        next = p.next;
    }
    all
}

fn list_all(node: &Node, user: &str) -> Vec<Value> {
    let first = page(node, user, "limit=1000");
    follow(node, user, first)
}

fn ids(objects: &[Value]) -> Vec<String> {
    objects.iter().filter_map(|o| o["id"].as_str().map(String::from)).collect()
}

fn kill(child: &mut std::process::Child) {
    // `Child::kill` is SIGKILL on Unix: no destructor, no shutdown checkpoint, no flush.
    let _ = child.kill();
    let _ = child.wait();
}

/// Every acknowledged object present with its content hash, and every stored envelope whole.
fn check_acked(stored: &[Value], acked: &[Acked], context: &str) -> usize {
    let by_id: HashMap<&str, &Value> = stored.iter().filter_map(|o| Some((o["id"].as_str()?, o))).collect();
    for a in acked {
        for (id, h) in &a.objects {
            let got = by_id.get(id.as_str()).unwrap_or_else(|| panic!("{context}: acknowledged {id} ({}) lost", a.tag));
            assert_eq!(&hash(got), h, "{context}: acknowledged {id} ({}) changed", a.tag);
        }
    }
    let mut per_envelope: HashMap<&str, usize> = HashMap::new();
    for o in stored {
        if let Some(tag) = o["x_tandem_envelope"].as_str() {
            *per_envelope.entry(tag).or_default() += 1;
        }
    }
    for (tag, n) in &per_envelope {
        assert_eq!(*n, PER_ENVELOPE, "{context}: envelope {tag} half-written ({n} of {PER_ENVELOPE} objects visible)");
    }
    let unique: HashSet<&str> = by_id.keys().copied().collect();
    assert_eq!(unique.len(), stored.len(), "{context}: a listing repeats an object");
    acked.iter().map(|a| a.objects.len()).sum()
}

/// `PRAGMA integrity_check` of every database in the data directory.
fn integrity(data: &Path) {
    for name in ["tandem.sqlite", "audit.sqlite"] {
        let path = data.join(name);
        let db = rusqlite::Connection::open(&path).expect("open database");
        let verdict: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
        assert_eq!(verdict, "ok", "{}", path.display());
    }
}

fn audit_verifies(node: &Node) {
    let out = tandem(&["audit", "verify", "--config", p(&node.config)]);
    assert!(out.status.success(), "audit verify after the kills: {}", text(&out));
}

#[test]
fn ingest_survives_sigkill_at_random_moments() {
    let seed = seed();
    let _report = SeedReport(seed);
    println!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let node = Node::new("USA");
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (url, stop, acked) = (node.url("/api/collections/intel/objects/"), stop.clone(), acked.clone());
            std::thread::spawn(move || ingest(url, "usa".into(), seed, c, stop, acked))
        })
        .collect();

    let started = Instant::now();
    let mut kill_points = Vec::new();
    let mut child = Proc(serve_on(&node.config, node.port));
    let mut checked = 0;
    for cycle in 0..CYCLES {
        // Let ingest run a random while, take a paging cursor, let it run on, then kill.
        std::thread::sleep(Duration::from_millis(100 + rng.below(700)));
        let before = page(&node, "usa", "limit=7");
        let before_ids = ids(&before.objects);
        let cursor = before.last.clone();
        let token = before.next.clone();
        let kill_at = rng.below(400);
        kill_points.push(kill_at);
        std::thread::sleep(Duration::from_millis(kill_at));
        kill(&mut child.0);
        let acked_now: Vec<Acked> = acked.lock().expect("acked").clone();

        child = Proc(serve_on(&node.config, node.port));
        let context = format!("cycle {cycle} (seed {seed})");
        let stored = list_all(&node, "usa");
        checked = check_acked(&stored, &acked_now, &context);

        // A `next` token and an `added_after` cursor from before the kill continue exactly
        // where they stopped: no gap, no repeat.
        if let (Some(token), Some(cursor)) = (token, cursor) {
            let rest = follow(&node, "usa", page(&node, "usa", &format!("limit=1000&next={token}")));
            let mut joined = before_ids.clone();
            joined.extend(ids(&rest));
            let stored_ids = ids(&stored);
            assert!(joined.len() >= stored_ids.len(), "{context}: paging from a pre-kill token lost versions");
            assert_eq!(joined[..stored_ids.len()], stored_ids[..], "{context}: paging from a pre-kill token differs");
            let unique: HashSet<&String> = joined.iter().collect();
            assert_eq!(unique.len(), joined.len(), "{context}: paging from a pre-kill token repeats");
            let after = ids(&page(&node, "usa", &format!("limit=5&added_after={cursor}")).objects);
            let rest = ids(&rest);
            let n = after.len().min(rest.len());
            assert!(!after.is_empty(), "{context}: nothing after a pre-kill cursor");
            assert_eq!(after[..n], rest[..n], "{context}: added_after from a pre-kill cursor");
        }
    }
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().expect("client thread");
    }
    kill(&mut child.0);
    integrity(&node.data());
    audit_verifies(&node);
    println!(
        "crash: {CYCLES} SIGKILL cycles under {CLIENTS} concurrent clients, {checked} acknowledged objects checked \
         after every restart, kill points (ms after the cursor) {kill_points:?}, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(checked > 0, "no envelope was acknowledged at all");
}

/// How many object versions a node's database holds, read from outside the process (a WAL
/// reader sees the last committed transaction).
fn stored_versions(node: &Node) -> i64 {
    let path = node.data().join("tandem.sqlite");
    let Ok(db) = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return 0;
    };
    db.query_row("SELECT count(*) FROM objects", [], |r| r.get(0)).unwrap_or(0)
}

/// Imports `n` fresh TLP:GREEN indicators into `node` with `tandem import` (signed by its key).
fn import(node: &Node, rng: &mut Rng, n: usize, tag: &str) {
    let objects: Vec<Value> = (0..n / PER_ENVELOPE + 1).flat_map(|k| envelope(rng, &format!("{tag}-{k}"))).collect();
    let file = node.dir.path().join(format!("{tag}.json"));
    let bundle = json!({"type": "bundle", "id": format!("bundle--{}", rng.uuid()), "objects": objects});
    std::fs::write(&file, bundle.to_string()).expect("bundle");
    let out = tandem(&["import", "--quiet", "--config", p(&node.config), p(&file)]);
    assert!(out.status.success(), "import: {}", text(&out));
    let _ = std::fs::remove_file(&file);
}

/// `(id, content hash)` of everything `node`'s own user sees, sorted.
fn held(node: &Node) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = list_all(node, &node.user())
        .iter()
        .map(|o| (o["id"].as_str().unwrap_or_default().to_string(), hash(o)))
        .collect();
    all.sort();
    all
}

/// A puller killed while it stores pages: IRQ pulls a growing backlog from USA and is killed
/// with SIGKILL each time it has stored part of it; after the last restart it holds exactly
/// what USA holds (nothing lost, nothing twice, every content hash equal).
#[test]
fn a_puller_killed_mid_page_converges_exactly() {
    let seed = seed();
    let _report = SeedReport(seed);
    println!("puller crash test seed {seed}");
    let mut rng = Rng(seed);
    let (usa, irq) = (Node::bare("USA"), Node::bare("IRQ"));
    let none = [("USA", String::new()), ("IRQ", String::new())];
    usa.write(&none, &[], "");
    irq.write(&none, &[], "");
    let keys = [("USA", usa.key()), ("IRQ", irq.key())];
    usa.write(&keys, &[], "");
    irq.write(&keys, &[("USA", usa.port)], "");
    import(&usa, &mut rng, 3000, "backlog");
    let _usa_proc = Proc(serve_on(&usa.config, usa.port));
    let source = held(&usa).len() as i64;

    let mut kills = Vec::new();
    let mut total = source;
    for cycle in 0..8 {
        let before = stored_versions(&irq);
        let mut child = Proc(serve_on(&irq.config, irq.port));
        if cycle % 2 == 0 {
            // Kill once the puller has stored some, not all, of what is waiting for it (just
            // after a page's transaction committed)...
            let target = before + 1 + rng.below((total - before).max(2) as u64 - 1) as i64;
            let deadline = Instant::now() + Duration::from_secs(60);
            while stored_versions(&irq) < target && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        } else {
            // ...or a random moment after its first page, which may fall inside the next
            // page's transaction.
            let deadline = Instant::now() + Duration::from_secs(60);
            while stored_versions(&irq) == before && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(Duration::from_millis(rng.below(300)));
        }
        kill(&mut child.0);
        let at = stored_versions(&irq);
        kills.push(format!("{at}/{total}"));
        assert!(at <= total, "cycle {cycle} (seed {seed}): the puller holds more than its source");
        // More arrives at the source while the puller is down.
        let more = 1100 + rng.below(1400) as usize;
        import(&usa, &mut rng, more, &format!("more-{cycle}"));
        total = held(&usa).len() as i64;
    }
    let _irq_proc = Proc(serve_on(&irq.config, irq.port));
    let want = held(&usa);
    wait_until("the puller converges", || held(&irq).len() >= want.len());
    assert_eq!(held(&irq), want, "seed {seed}: the puller differs from its source after the kills");
    drop(_irq_proc);
    integrity(&irq.data());
    println!(
        "puller crash: 8 SIGKILLs while storing, versions held / waiting at each kill {kills:?}, {} converged",
        want.len()
    );
}

/// An incident in governorate `admin1`, TLP:GREEN.
fn incident_in(rng: &mut Rng, admin1: &str) -> Value {
    tandem_testkit::fixtures::incident_in(&format!("incident--{}", rng.uuid()), "clash", admin1, 1)
}

/// A webhook receiver on a loopback port: records the incident id of every delivery it
/// answered 200, after a random delay of up to `delay_ms` (so a kill can fall mid-delivery).
fn receiver(seed: u64, delay_ms: u64) -> (u16, Arc<Mutex<Vec<String>>>) {
    use std::io::{BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let record = got.clone();
    std::thread::spawn(move || {
        let mut rng = Rng(seed);
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let Some(body) = read_request_body(&mut reader) else {
                continue;
            };
            std::thread::sleep(Duration::from_millis(rng.below(delay_ms + 1)));
            let mut stream = reader.into_inner();
            if stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").is_ok() {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                record.lock().expect("record").push(v["incident"].as_str().unwrap_or_default().to_string());
            }
        }
    });
    (port, got)
}

fn deliveries(node: &Node) -> Vec<Value> {
    let out = tandem(&["watch", "deliveries", "--json", "--config", p(&node.config)]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("delivery json")).collect()
}

/// The webhook outbox killed mid-delivery: alerts are queued for a slow receiver and the node
/// is killed with SIGKILL while it delivers; after the last restart every alert was delivered at
/// least once, none lost, and the delivery log says `delivered` once per alert.
#[test]
fn the_webhook_outbox_killed_mid_delivery_loses_nothing() {
    let seed = seed();
    let _report = SeedReport(seed);
    println!("webhook crash test seed {seed}");
    let mut rng = Rng(seed);
    let (hook_port, received) = receiver(seed, 150);
    let node = Node::new("USA");
    add_webhook_zone(p(&node.config), &format!("http://127.0.0.1:{hook_port}/hook"));

    let mut posted = HashSet::new();
    let mut child = Proc(serve_on(&node.config, node.port));
    let http = client();
    const CYCLES: usize = 8;
    for cycle in 0..CYCLES {
        let batch: Vec<Value> = (0..5).map(|_| incident_in(&mut rng, "SY-DY")).collect();
        posted.extend(ids(&batch));
        let r = http
            .post(node.url("/api/collections/intel/objects/"))
            .basic_auth("usa", Some("dev-only"))
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .body(json!({ "objects": batch }).to_string())
            .send()
            .expect("post incidents");
        assert_eq!(r.status().as_u16(), 202, "cycle {cycle}");
        // Kill once deliveries are under way, at a random moment.
        let start = received.lock().expect("received").len();
        let deadline = Instant::now() + Duration::from_secs(60);
        while received.lock().expect("received").len() == start && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        kill(&mut child.0);
        child = Proc(serve_on(&node.config, node.port));
    }
    wait_until("every alert is delivered", || {
        let d = deliveries(&node);
        d.len() == posted.len() && d.iter().all(|e| e["status"] == "delivered")
    });
    kill(&mut child.0);
    let got: HashSet<String> = received.lock().expect("received").iter().cloned().collect();
    assert_eq!(got, posted, "seed {seed}: every alert reaches the webhook");
    let log = deliveries(&node);
    for e in &log {
        // The log has one line per attempt it counted, the last one the success.
        let lines = e["log"].as_array().map(Vec::len).unwrap_or(0) as u64;
        assert_eq!(e["attempts"].as_u64(), Some(lines), "seed {seed}: delivery log inconsistent: {e}");
        assert_eq!(e["last_status"].as_u64(), Some(200), "seed {seed}: {e}");
    }
    let attempts: u64 = log.iter().filter_map(|e| e["attempts"].as_u64()).sum();
    let total = received.lock().expect("received").len();
    assert!(total >= posted.len());
    integrity(&node.data());
    println!(
        "webhook crash: {CYCLES} SIGKILLs mid-delivery, {} alerts, {total} deliveries received ({} repeated after a \
         kill), {attempts} attempts logged",
        posted.len(),
        total - posted.len()
    );
}

/// Starts `tandem serve` with every file it writes limited to `bytes` (the soft `RLIMIT_FSIZE`,
/// set with `prlimit`; the hard limit stays unlimited so that it can be raised again without
/// privileges) and `SIGXFSZ` ignored (an ignored disposition survives `exec`), so a write past the
/// limit fails with `EFBIG` as on a full disk, instead of killing the process. Returns the child,
/// whose pid is the node's (`sh` and `prlimit` both `exec`).
fn serve_with_file_limit(node: &Node, bytes: u64) -> Proc {
    let script = format!("trap '' XFSZ; exec prlimit --fsize={bytes}:unlimited \"$0\" serve --config \"$1\"");
    let child = std::process::Command::new("sh")
        .args(["-c", &script, bin(), p(&node.config)])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn sh (prlimit is util-linux: apt-get install util-linux)");
    let mut child = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", node.port)).is_err() {
        assert!(Instant::now() < deadline, "node under a file-size limit did not start");
        assert!(child.0.try_wait().ok().flatten().is_none(), "node under a file-size limit exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Sets the running process's file-size limit (`prlimit --pid`), as freeing disk space would.
fn set_file_limit(pid: u32, limit: &str) {
    let out = std::process::Command::new("prlimit")
        .args([format!("--pid={pid}"), format!("--fsize={limit}")])
        .output()
        .expect("run prlimit");
    assert!(out.status.success(), "prlimit --pid: {}", text(&out));
}

fn post_envelope(node: &Node, objects: &[Value]) -> (u16, Value) {
    let r = client()
        .post(node.url("/api/collections/intel/objects/"))
        .basic_auth("usa", Some("dev-only"))
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(json!({ "objects": objects }).to_string())
        .send()
        .expect("post (the node must answer, not die)");
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let body: Value = r.json().unwrap_or(Value::Null);
    assert!(ct.starts_with("application/taxii+json"), "status {status}: content type {ct:?}");
    (status, body)
}

/// A disk that fills up: the node runs with a file-size limit, and ingest continues until a
/// write is refused. The refusal is a 507 with a TAXII error body (nothing of that envelope
/// stored), reads are still served, the process lives on, and once the limit is lifted (space
/// returns) the next write succeeds; afterwards every acknowledged object is intact and the
/// databases pass their integrity check.
#[test]
fn a_full_disk_refuses_writes_cleanly_and_recovers() {
    let seed = seed();
    let _report = SeedReport(seed);
    let mut rng = Rng(seed);
    let node = Node::new("USA");
    // Initialise the data directory, then measure it: the limit leaves room for a little more.
    let mut child = Proc(serve_on(&node.config, node.port));
    let warm = envelope(&mut rng, "warm-up");
    assert_eq!(post_envelope(&node, &warm).0, 202);
    let mut acked = vec![Acked { tag: "warm-up".into(), objects: warm.iter().map(|o| (id_of(o), hash(o))).collect() }];
    kill(&mut child.0);
    let biggest = std::fs::read_dir(node.data())
        .expect("data dir")
        .flatten()
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .max()
        .unwrap_or(0);
    let mut child = serve_with_file_limit(&node, biggest + 512 * 1024);
    let mut refused = None;
    for n in 0..2000 {
        let objects: Vec<Value> = (0..20).flat_map(|k| envelope(&mut rng, &format!("fill-{n}-{k}"))).collect();
        let (status, body) = post_envelope(&node, &objects);
        if status == 202 && body["success_count"].as_u64() == Some(objects.len() as u64) {
            acked.push(Acked {
                tag: format!("fill-{n}"),
                objects: objects.iter().map(|o| (id_of(o), hash(o))).collect(),
            });
        } else {
            refused = Some((status, body, objects));
            break;
        }
    }
    let (status, body, lost) = refused.expect("the file-size limit was never reached");
    assert_eq!(status, 507, "a full disk is 507 Insufficient Storage: {body}");
    assert_eq!(body["http_status"], "507", "{body}");
    assert!(body["description"].as_str().is_some_and(|d| d.contains("full")), "{body}");
    assert!(child.0.try_wait().ok().flatten().is_none(), "the node died on a full disk");

    // Reads are still served, with everything acknowledged and nothing of the refused envelope.
    let stored = list_all(&node, "usa");
    let objects = check_acked(&stored, &acked, "full disk");
    let held: HashSet<String> = ids(&stored).into_iter().collect();
    assert!(lost.iter().all(|o| !held.contains(&id_of(o))), "part of a refused envelope is visible");

    // Space returns: the same process takes writes again.
    set_file_limit(child.0.id(), "unlimited");
    let after = envelope(&mut rng, "after");
    let (status, body) = post_envelope(&node, &after);
    assert_eq!(status, 202, "writes resume when space returns: {body}");
    acked.push(Acked { tag: "after".into(), objects: after.iter().map(|o| (id_of(o), hash(o))).collect() });
    kill(&mut child.0);

    let mut child = Proc(serve_on(&node.config, node.port));
    check_acked(&list_all(&node, "usa"), &acked, "after the full disk");
    kill(&mut child.0);
    integrity(&node.data());
    audit_verifies(&node);
    println!("full disk: refused with 507 after {objects} acknowledged objects, reads served, writes resumed");
}

fn id_of(o: &Value) -> String {
    o["id"].as_str().unwrap_or_default().to_string()
}

/// `tandem backup` of a node under ingest, then `tandem restore` into a new data directory: the
/// restored node serves every object acknowledged before the backup began, intact; a damaged
/// snapshot and a restore over an existing store are refused.
#[test]
fn a_backup_under_ingest_restores_everything_acknowledged_before_it() {
    let seed = seed();
    let _report = SeedReport(seed);
    let node = Node::new("USA");
    let mut child = Proc(serve_on(&node.config, node.port));
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (url, stop, acked) = (node.url("/api/collections/intel/objects/"), stop.clone(), acked.clone());
            std::thread::spawn(move || ingest(url, "usa".into(), seed, c, stop, acked))
        })
        .collect();
    wait_until("some envelopes are acknowledged", || acked.lock().map(|a| a.len() >= 20).unwrap_or(false));
    let before: Vec<Acked> = acked.lock().expect("acked").clone();
    let snap = node.dir.path().join("snapshot");
    let out = tandem(&["backup", "--config", p(&node.config), p(&snap)]);
    let during = acked.lock().expect("acked").len() - before.len();
    assert!(out.status.success(), "backup: {}", text(&out));
    assert!(text(&out).contains("NOT in the snapshot"), "the backup says the key is not in it: {}", text(&out));
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().expect("client thread");
    }
    kill(&mut child.0);
    let public_key = node.key();

    // Restored onto a new machine: the key is not there yet, so the audit chain is checked
    // against the published key.
    let fresh = Node::new("USA");
    let out = tandem(&["restore", p(&snap), "--config", p(&fresh.config), "--public-key", &public_key]);
    assert!(out.status.success(), "restore: {}", text(&out));
    assert!(text(&out).contains("audit chain verified"), "{}", text(&out));
    let mut restored = Proc(serve_on(&fresh.config, fresh.port));
    let checked = check_acked(&list_all(&fresh, "usa"), &before, "restored snapshot");
    kill(&mut restored.0);
    integrity(&fresh.data());

    // A second restore over it is refused without --replace.
    let out = tandem(&["restore", p(&snap), "--config", p(&fresh.config), "--public-key", &public_key]);
    assert!(!out.status.success() && text(&out).contains("--replace"), "{}", text(&out));

    // A damaged snapshot (one byte of the store changed) is refused, and nothing is replaced.
    let store = snap.join("tandem.sqlite");
    let mut bytes = std::fs::read(&store).expect("read snapshot");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(&store, &bytes).expect("damage snapshot");
    let damaged = Node::new("USA");
    let out = tandem(&["restore", p(&snap), "--config", p(&damaged.config), "--public-key", &public_key]);
    assert!(!out.status.success() && text(&out).contains("refusing"), "{}", text(&out));
    assert!(!damaged.data().join("tandem.sqlite").exists(), "a refused snapshot is not put in place");
    println!(
        "backup: snapshot under ingest ({during} envelopes acknowledged while it ran), {checked} objects \
         acknowledged before it all restored intact; damaged snapshot refused"
    );
}
