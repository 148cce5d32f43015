//! The stream against an oracle: what a viewer receives is exactly what `Store::list` and
//! `Store::list_tombstones` release to it, in feed order, across resumes, with a hostile member
//! writing; suspension and roster changes while connected; slow consumers.

use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tandem_model::Timestamp;
use tandem_policy::{Classification, Group, Member, MemberStatus, Roster, Viewer};
use tandem_store::sealed::SealKey;
use tandem_store::{ObjectQuery, SqliteStore, Store, VersionFilter, ViewContext};
use tandem_taxii::auth::{Account, hash_secret};
use tandem_taxii::{AppState, CollectionConfig, NoHooks, TaxiiConfig, UserDirectory, WriteHooks};
use tower::ServiceExt;

use crate::{FeedHooks, LiveConfig};

const COLL: &str = "365fed99-08fa-4fdc-a1b3-fb247eb41d01";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const PASSWORD: &str = "live-test";
const MEMBERS: [&str; 3] = ["USA", "IRQ", "GBR"];

fn user(member: &str) -> String {
    format!("u-{}", member.to_lowercase())
}

fn accounts() -> &'static Vec<Account> {
    static A: OnceLock<Vec<Account>> = OnceLock::new();
    A.get_or_init(|| {
        let hash = hash_secret(PASSWORD);
        MEMBERS
            .iter()
            .map(|m| Account {
                name: user(m),
                member: m.to_string(),
                password_hash: hash.clone(),
                clearance: Classification::Secret,
                roles: vec!["analyst".into()],
                read_only: false,
            })
            .collect()
    })
}

fn roster(status_irq: MemberStatus, group: &[&str]) -> Roster {
    let m =
        |code: &str, status| Member { code: code.into(), name: code.into(), joined: None, status, public_key: None };
    Roster::new(
        [m("USA", MemberStatus::Active), m("IRQ", status_irq), m("GBR", MemberStatus::Active)],
        [Group { code: "FVEY".into(), name: "group".into(), members: group.iter().map(|s| s.to_string()).collect() }],
    )
}

struct Fixture {
    app: Router,
    state: AppState,
    hooks: Arc<dyn WriteHooks>,
    _dir: tempfile::TempDir,
}

fn fixture(config: LiveConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let (hooks, feed) = FeedHooks::new(Arc::clone(&store), Arc::new(NoHooks));
    let hooks: Arc<dyn WriteHooks> = Arc::new(hooks);
    let taxii = TaxiiConfig {
        collections: vec![CollectionConfig {
            id: COLL.into(),
            alias: Some("intel".into()),
            title: "intel".into(),
            description: None,
            can_read: true,
            can_write: true,
        }],
        ..TaxiiConfig::default()
    };
    let state = AppState {
        store,
        auth: Arc::new(UserDirectory::new(accounts().clone(), [])),
        config: Arc::new(taxii),
        roster: Arc::new(RwLock::new(Arc::new(roster(MemberStatus::Active, &["USA"])))),
        hooks: Arc::clone(&hooks),
        audit: Arc::new(tandem_taxii::NoAudit),
        signer: None,
    };
    let secrets = Arc::new(SealKey::load_or_create(dir.path()).unwrap());
    let app = crate::router(state.clone(), feed, config, secrets);
    Fixture { app, state, hooks, _dir: dir }
}

impl Fixture {
    fn submit(&self, member: &str, objects: Vec<Value>) {
        let ingest = self.state.ingest();
        let summary = ingest.submit(COLL, member, objects).unwrap();
        assert!(
            summary.entries.iter().all(|e| !matches!(e.outcome, tandem_taxii::ingest::Outcome::Rejected { .. })),
            "{summary:?}"
        );
    }

    fn delete(&self, member: &str, id: &str) {
        let ctx = self.ctx(member);
        let out = self.state.store.delete(&ctx, COLL, id, &VersionFilter::All).unwrap();
        if let tandem_store::DeleteOutcome::Deleted(n) = out {
            self.hooks.after_delete(COLL, member, id, n);
        }
    }

    fn ctx(&self, member: &str) -> ViewContext {
        let roster = Arc::clone(&self.state.roster.read().unwrap());
        ViewContext { viewer: Viewer { member: member.into(), clearance: Classification::Secret }, roster }
    }

    fn set_roster(&self, r: Roster) {
        *self.state.roster.write().unwrap() = Arc::new(r);
    }

    /// What the stream must deliver to `member` after `after`: (id, event, data) in feed order.
    fn oracle(&self, member: &str, after: Option<Timestamp>) -> Vec<(String, String, Value)> {
        let ctx = self.ctx(member);
        let b = crate::read_batch(&*self.state.store, &ctx, &[COLL.to_string()], after, &[], 100_000).unwrap();
        assert!(!b.more);
        // Cross-check read_batch with the store's own listings, independently.
        let q =
            ObjectQuery { added_after: after, versions: VersionFilter::All, limit: 100_000, ..ObjectQuery::default() };
        let versions = self.state.store.list(&ctx, COLL, &q).unwrap().items;
        let tombs = self.state.store.list_tombstones(&ctx, COLL, after, 100_000).unwrap().items;
        let mut expect: Vec<(Timestamp, Value)> = versions
            .iter()
            .map(|r| (r.date_added, r.object.clone()))
            .chain(tombs.iter().map(|t| (t.added, json!({"deleted": t.id}))))
            .collect();
        expect.sort_by_key(|(p, _)| *p);
        assert_eq!(expect.len(), b.items.len());
        for ((pos, obj), item) in expect.iter().zip(&b.items) {
            assert_eq!(*pos, item.position());
            match item {
                crate::Item::Version { record, .. } => assert_eq!(obj, &record.object),
                crate::Item::Deletion { tombstone, .. } => assert_eq!(obj, &json!({"deleted": tombstone.id})),
            }
        }
        b.items.iter().map(|i| (i.position().to_string(), i.kind().to_string(), i.to_json())).collect()
    }

    async fn connect(&self, member: &str, query: &str, last_id: Option<&str>) -> Sse {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{PASSWORD}", user(member)));
        let mut req =
            Request::get(format!("/api/tandem/stream/{query}")).header("authorization", format!("Basic {auth}"));
        if let Some(id) = last_id {
            req = req.header("last-event-id", id);
        }
        let resp = self.app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        Sse { body: resp.into_body(), buf: String::new() }
    }
}

/// A minimal SSE reader over a response body.
struct Sse {
    body: Body,
    buf: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Ev {
    id: String,
    event: String,
    data: Value,
}

enum Next {
    Event(Ev),
    Closed,
    Quiet,
}

impl Sse {
    /// The next event (comments skipped), `Closed` at the end, `Quiet` after `wait` of silence.
    async fn next(&mut self, wait: Duration) -> Next {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ").or(line.strip_prefix("id:")) {
                        id = v.to_string();
                    } else if let Some(v) = line.strip_prefix("event: ").or(line.strip_prefix("event:")) {
                        event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ").or(line.strip_prefix("data:")) {
                        data.push_str(v);
                    }
                }
                if event.is_empty() && data.is_empty() {
                    continue; // a comment (heartbeat)
                }
                return Next::Event(Ev { id, event, data: serde_json::from_str(&data).unwrap() });
            }
            match tokio::time::timeout(wait, self.body.frame()).await {
                Err(_) => return Next::Quiet,
                Ok(None) => return Next::Closed,
                Ok(Some(Err(e))) => panic!("body error {e}"),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.push_str(std::str::from_utf8(&data).unwrap());
                    }
                }
            }
        }
    }

    /// Events until one with `id`, or until 60 s of silence fails the test.
    async fn until(&mut self, id: &str) -> Vec<Ev> {
        let mut out = Vec::new();
        loop {
            match self.next(Duration::from_secs(60)).await {
                Next::Event(e) => {
                    let done = e.id == id;
                    out.push(e);
                    if done {
                        return out;
                    }
                }
                Next::Closed => panic!("stream closed before {id}: {out:?}"),
                Next::Quiet => panic!("no event {id} within 60 s: {out:?}"),
            }
        }
    }
}

fn triples(evs: &[Ev]) -> Vec<(String, String, Value)> {
    evs.iter().map(|e| (e.id.clone(), e.event.clone(), e.data.clone())).collect()
}

fn rel_marking(owner: &str, n: u32, rel_to: &[&str]) -> Value {
    let uuid = format!("00000000-0000-4000-8000-{:04}{:08}", MEMBERS.iter().position(|m| *m == owner).unwrap(), n);
    tandem_model::incident::releasability_marking(&uuid, rel_to, None, "2025-11-13T00:00:00.000Z")
}

fn incident(
    key: &str,
    modified: &str,
    markings: &[String],
    granular: Option<&str>,
    admin1: &str,
    revoked: bool,
) -> Value {
    use tandem_model::incident::*;
    let ext = IncidentExt {
        actors: vec![ActorRole::by_name("ISIS cell", Role::Perpetrator)],
        fatalities: Some(Count::exact(2)),
        ..IncidentExt::new(
            "Battles",
            "Armed clash",
            TimeWindow::day(Date::parse("2025-06-22").unwrap()),
            Place::admin(admin1),
        )
    };
    let mut obj = json!({"type": "incident", "spec_version": "2.1", "id": deterministic_id("incident", key),
        "created": "2025-06-22T12:00:00.000Z", "modified": modified, "name": key, "description": "secret details"});
    if !markings.is_empty() {
        obj["object_marking_refs"] = json!(markings);
    }
    if let Some(m) = granular {
        obj["granular_markings"] = json!([{"marking_ref": m, "selectors": ["description"]}]);
    }
    if revoked {
        obj["revoked"] = json!(true);
    }
    ext.attach(&mut obj);
    obj
}

/// Random writes by every member (IRQ the hostile one: it reuses the others' ids and marking
/// ids), versions, revocations and deletions.
fn random_history(f: &Fixture, seed: u64, n: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for m in MEMBERS {
        let mut defs = vec![rel_marking(m, 1, &["USA"]), rel_marking(m, 2, &["IRQ"]), rel_marking(m, 3, &["FVEY"])];
        defs.push(rel_marking(m, 4, &["GBR", "USA"]));
        f.submit(m, defs);
    }
    let mut written: Vec<(String, String, u32)> = Vec::new();
    for i in 0..n {
        let m = MEMBERS[rng.gen_range(0..3)];
        let owner_for_markings = if m == "IRQ" && rng.gen_bool(0.3) { "USA" } else { m };
        let choices: Vec<String> = vec![
            GREEN.into(),
            AMBER.into(),
            rel_marking(owner_for_markings, rng.gen_range(1..5), &[])["id"].as_str().unwrap().into(),
            "marking-definition--00000000-0000-4000-8000-999999999999".into(),
        ];
        let markings: Vec<String> = match rng.gen_range(0..4) {
            0 => vec![],
            1 => vec![choices[rng.gen_range(0..4)].clone()],
            _ => vec![GREEN.into(), choices[2].clone()],
        };
        let granular = rng.gen_bool(0.3).then(|| choices[rng.gen_range(0..3)].clone());
        let action = rng.gen_range(0..10);
        if action < 2 && !written.is_empty() {
            let (owner, key, _) = written[rng.gen_range(0..written.len())].clone();
            f.delete(&owner, &tandem_model::incident::deterministic_id("incident", &key));
            continue;
        }
        // A hostile IRQ often claims an id another member used.
        let key = if m == "IRQ" && !written.is_empty() && rng.gen_bool(0.5) {
            written[rng.gen_range(0..written.len())].1.clone()
        } else {
            format!("k{}", rng.gen_range(0..(n / 3).max(1)))
        };
        let version = written.iter().filter(|(o, k, _)| o == m && *k == key).map(|(_, _, v)| *v).max().unwrap_or(0) + 1;
        let modified = format!("2025-06-22T12:{:02}:{:02}.000Z", version / 60, version % 60);
        let admin1 = ["SY-DY", "SY-HM", "IQ-NI"][i % 3];
        let obj = incident(&key, &modified, &markings, granular.as_deref(), admin1, rng.gen_bool(0.05));
        let _ = f.state.ingest().submit(COLL, m, vec![obj]).unwrap();
        written.push((m.to_string(), key, version));
    }
}

fn sentinel(f: &Fixture, key: &str) -> String {
    let obj = incident(key, "2025-06-22T12:00:00.000Z", &[GREEN.to_string()], None, "SY-DY", false);
    f.submit("USA", vec![obj]);
    let head = f.state.store.feed_position().unwrap().unwrap();
    head.to_string()
}

const EPOCH: &str = "1970-01-01T00:00:00.000000Z";

#[tokio::test]
async fn replay_and_resume_match_the_oracle_for_every_viewer() {
    for seed in 0..3u64 {
        let f = fixture(LiveConfig::default());
        random_history(&f, seed, 60);
        let end = sentinel(&f, &format!("sentinel-{seed}"));
        for viewer in MEMBERS {
            let expect = f.oracle(viewer, None);
            assert!(!expect.is_empty());
            let mut s = f.connect(viewer, &format!("?after={EPOCH}"), None).await;
            let all = s.until(&end).await;
            assert_eq!(triples(&all), expect, "seed {seed} viewer {viewer}");
            // Nothing another member withheld, no redacted property, leaks into the copies.
            for e in &all {
                if e.data["redacted"] == json!(true) {
                    assert!(e.data["object"].get("description").is_none());
                }
            }
            // Resume after a disconnect at every third event: nothing lost, nothing twice.
            let mut got: Vec<Ev> = Vec::new();
            let mut last = EPOCH.to_string();
            let mut rounds = 0;
            while last != end {
                rounds += 1;
                let mut s = f.connect(viewer, "?after=ignored-when-last-event-id-is-set", Some(&last)).await;
                for _ in 0..3 {
                    match s.next(Duration::from_secs(60)).await {
                        Next::Event(e) => {
                            last = e.id.clone();
                            got.push(e);
                            if last == end {
                                break;
                            }
                        }
                        _ => panic!("stream ended early"),
                    }
                }
            }
            assert!(rounds > 1);
            assert_eq!(triples(&got), expect, "resumed, seed {seed} viewer {viewer}");
        }
    }
}

#[tokio::test]
async fn live_events_match_the_oracle_while_a_hostile_member_writes() {
    let f = fixture(LiveConfig::default());
    let mut streams = Vec::new();
    for viewer in MEMBERS {
        streams.push((viewer, f.connect(viewer, "", None).await));
    }
    let start = f.state.store.feed_position().unwrap();
    // Writes while connected (no deletions: a replay shows a deleted version as its deletion only).
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for m in MEMBERS {
        f.submit(m, vec![rel_marking(m, 1, &["USA"]), rel_marking(m, 3, &["FVEY"])]);
    }
    for i in 0..40 {
        let m = MEMBERS[rng.gen_range(0..3)];
        let marks = match rng.gen_range(0..4) {
            0 => vec![GREEN.to_string()],
            1 => vec![AMBER.to_string()],
            2 => vec![rel_marking(if m == "IRQ" { "USA" } else { m }, 1, &[])["id"].as_str().unwrap().to_string()],
            _ => vec![GREEN.to_string(), rel_marking(m, 3, &[])["id"].as_str().unwrap().to_string()],
        };
        let gran = rng.gen_bool(0.3).then(|| AMBER.to_string());
        let obj = incident(
            &format!("live-{}", i % 25),
            &format!("2025-06-22T12:00:{:02}.000Z", i),
            &marks,
            gran.as_deref(),
            "SY-HM",
            false,
        );
        let _ = f.state.ingest().submit(COLL, m, vec![obj]).unwrap();
    }
    let end = sentinel(&f, "live-sentinel");
    for (viewer, mut s) in streams {
        let got = s.until(&end).await;
        assert_eq!(triples(&got), f.oracle(viewer, start), "viewer {viewer}");
    }
}

#[tokio::test]
async fn a_member_suspended_while_connected_receives_nothing_more() {
    let f = fixture(LiveConfig { poll: Duration::from_millis(50), ..LiveConfig::default() });
    let mut s = f.connect("IRQ", "", None).await;
    let first = sentinel(&f, "before");
    assert_eq!(s.until(&first).await.len(), 1);
    f.set_roster(roster(MemberStatus::Suspended, &["USA"]));
    sentinel(&f, "after");
    match s.next(Duration::from_secs(60)).await {
        Next::Closed => {}
        Next::Event(e) => panic!("a suspended member received {e:?}"),
        Next::Quiet => panic!("the stream of a suspended member stayed open"),
    }
    // And it cannot reconnect.
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("u-irq:{PASSWORD}"));
    let req = Request::get("/api/tandem/stream/").header("authorization", format!("Basic {auth}"));
    let resp = f.app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn joining_a_group_while_connected_says_reset_and_a_replay_delivers_the_released() {
    let f = fixture(LiveConfig { poll: Duration::from_millis(50), ..LiveConfig::default() });
    f.submit("USA", vec![rel_marking("USA", 3, &["FVEY"])]);
    let fvey = rel_marking("USA", 3, &[])["id"].as_str().unwrap().to_string();
    f.submit("USA", vec![incident("fvey-only", "2025-06-22T12:00:00.000Z", &[fvey], None, "SY-DY", false)]);
    let mut s = f.connect("GBR", "", None).await;
    let before = f.state.store.feed_position().unwrap();
    f.set_roster(roster(MemberStatus::Active, &["USA", "GBR"]));
    match s.next(Duration::from_secs(60)).await {
        Next::Event(e) => {
            assert_eq!(e.event, "reset");
            assert_eq!(e.data["reason"], "roster-changed");
            assert_eq!(e.id, before.unwrap().to_string());
        }
        _ => panic!("no reset after a roster change"),
    }
    let mut replay = f.connect("GBR", &format!("?after={EPOCH}"), None).await;
    let got = replay.until(&before.unwrap().to_string()).await;
    assert!(got.iter().any(|e| e.data["object"]["name"] == "fvey-only"), "{got:?}");
}

/// A marking-definition that arrives after a version referencing it (federation then moves the
/// release epoch, as `Federation::release_late_markings` does): every connected client gets a
/// `reset`, a replay delivers the version to the member the marking releases it to, and a
/// member it does not name receives nothing new but the marking-definition itself.
#[tokio::test]
async fn a_marking_arriving_late_says_reset_and_a_replay_delivers_only_what_it_releases() {
    let f = fixture(LiveConfig { poll: Duration::from_millis(50), ..LiveConfig::default() });
    let late = rel_marking("USA", 5, &["GBR"]);
    let late_id = late["id"].as_str().unwrap().to_string();
    f.submit(
        "USA",
        vec![incident("late-marked", "2025-06-22T12:00:00.000Z", std::slice::from_ref(&late_id), None, "SY-DY", false)],
    );
    let replay_ids =
        |got: &[Ev]| -> Vec<String> { got.iter().map(|e| e.data["id"].as_str().unwrap_or("").to_string()).collect() };
    let names = |got: &[Ev]| -> Vec<Value> { got.iter().map(|e| e.data["object"]["name"].clone()).collect() };
    for m in ["GBR", "IRQ"] {
        assert!(f.oracle(m, None).iter().all(|(_, _, d)| d["object"]["name"] != "late-marked"), "withheld from {m}");
    }
    let irq_before: Vec<String> =
        f.oracle("IRQ", None).iter().map(|(_, _, d)| d["id"].as_str().unwrap().to_string()).collect();
    let mut gbr = f.connect("GBR", "", None).await;
    let mut irq = f.connect("IRQ", "", None).await;
    f.submit("USA", vec![late]);
    let head = f.state.store.feed_position().unwrap().unwrap().to_string();
    f.state.store.put_meta(tandem_store::RELEASE_EPOCH_KEY, Some(&json!("epoch-after-late-marking"))).unwrap();
    for (m, s) in [("GBR", &mut gbr), ("IRQ", &mut irq)] {
        let mut seen = Vec::new();
        let reset = loop {
            match s.next(Duration::from_secs(60)).await {
                Next::Event(e) if e.event == "reset" => break e,
                Next::Event(e) => seen.push(e),
                _ => panic!("{m}: no reset after a late marking: {seen:?}"),
            }
        };
        assert_eq!(reset.data["reason"], "release-changed", "{m}");
        // Live, the only new event is the marking-definition: the version is older than the cursor.
        assert!(replay_ids(&seen).iter().all(|id| *id == late_id), "{m}: {seen:?}");
    }
    let gbr_replay = f.connect("GBR", &format!("?after={EPOCH}"), None).await.until(&head).await;
    assert!(names(&gbr_replay).contains(&json!("late-marked")), "released to GBR now: {gbr_replay:?}");
    assert_eq!(triples(&gbr_replay), f.oracle("GBR", None));
    // Leak check: IRQ, whom the marking does not name, replays what it had plus the marking.
    let irq_replay = f.connect("IRQ", &format!("?after={EPOCH}"), None).await.until(&head).await;
    assert_eq!(triples(&irq_replay), f.oracle("IRQ", None));
    assert!(!names(&irq_replay).contains(&json!("late-marked")), "{irq_replay:?}");
    let new: Vec<String> = replay_ids(&irq_replay).into_iter().filter(|id| !irq_before.contains(id)).collect();
    assert_eq!(new, vec![late_id], "IRQ received nothing new but the marking-definition");
}

#[tokio::test]
async fn a_cursor_ahead_of_the_feed_gets_an_explicit_reset() {
    let f = fixture(LiveConfig::default());
    let head = sentinel(&f, "one");
    let mut s = f.connect("USA", "?after=2999-01-01T00:00:00.000000Z", None).await;
    match s.next(Duration::from_secs(60)).await {
        Next::Event(e) => {
            assert_eq!((e.event.as_str(), e.id.as_str()), ("reset", head.as_str()));
            assert_eq!(e.data["reason"], "cursor-ahead");
        }
        _ => panic!("no reset"),
    }
    let next = sentinel(&f, "two");
    assert_eq!(s.until(&next).await.len(), 1);
}

#[tokio::test]
async fn filters_select_types_governorates_and_event_types() {
    let f = fixture(LiveConfig::default());
    let mut dy = f.connect("USA", &format!("?after={EPOCH}&admin1=SY-DY&event_type=Battles"), None).await;
    let mut other = f.connect("USA", &format!("?after={EPOCH}&type=marking-definition"), None).await;
    let g = [GREEN.to_string()];
    f.submit("USA", vec![rel_marking("USA", 1, &["USA"])]);
    f.submit("USA", vec![incident("hm", "2025-06-22T12:00:00.000Z", &g, None, "SY-HM", false)]);
    let end = sentinel(&f, "dy");
    let got = dy.until(&end).await;
    assert_eq!(got.len(), 1, "{got:?}");
    match other.next(Duration::from_secs(5)).await {
        Next::Event(e) => assert_eq!(e.data["type"], "marking-definition"),
        _ => panic!("no marking event"),
    }
    assert!(matches!(other.next(Duration::from_millis(300)).await, Next::Quiet));
    let bad = base64::engine::general_purpose::STANDARD.encode(format!("u-usa:{PASSWORD}"));
    let req = Request::get("/api/tandem/stream/?colour=red").header("authorization", format!("Basic {bad}"));
    let resp = f.app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_slow_consumer_is_dropped_and_resumes_without_loss() {
    let f = fixture(LiveConfig { buffer: 2, slow_grace: Duration::from_millis(100), page: 5, ..LiveConfig::default() });
    let mut s = f.connect("USA", &format!("?after={EPOCH}"), None).await;
    let g = [GREEN.to_string()];
    for i in 0..30 {
        f.submit("USA", vec![incident(&format!("s{i}"), "2025-06-22T12:00:00.000Z", &g, None, "SY-DY", false)]);
    }
    let end = f.state.store.feed_position().unwrap().unwrap().to_string();
    // Not reading for a while: the producer gives up on this consumer.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut got = Vec::new();
    loop {
        match s.next(Duration::from_secs(60)).await {
            Next::Event(e) => got.push(e),
            Next::Closed => break,
            Next::Quiet => panic!("a slow consumer was not dropped"),
        }
    }
    assert!(got.len() < 30, "dropped early: {}", got.len());
    let mut resumed = f.connect("USA", "", Some(&got.last().unwrap().id)).await;
    got.extend(resumed.until(&end).await);
    assert_eq!(triples(&got), f.oracle("USA", None));
}

async fn call(f: &Fixture, member: &str, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{PASSWORD}", user(member)));
    let req = Request::builder().method(method).uri(path).header("authorization", format!("Basic {auth}"));
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = f.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn watch_zones_belong_to_their_creator() {
    let f = fixture(LiveConfig::default());
    let (s, z) = call(
        &f,
        "USA",
        "POST",
        "/api/tandem/watch-zones/",
        Some(json!({"name": "Deir ez-Zor", "governorate": "SY-DY"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{z}");
    let id = z["id"].as_str().unwrap().to_string();
    for bad in [
        json!({"name": "x"}),
        json!({"name": "x", "place": "Atlantis", "radius_km": 5}),
        json!({"name": "x", "colour": 1}),
    ] {
        let (s, _) = call(&f, "USA", "POST", "/api/tandem/watch-zones/", Some(bad.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (_, mine) = call(&f, "USA", "GET", "/api/tandem/watch-zones/", None).await;
    assert_eq!(mine["zones"].as_array().unwrap().len(), 1);
    let (_, theirs) = call(&f, "IRQ", "GET", "/api/tandem/watch-zones/", None).await;
    assert_eq!(theirs["zones"], json!([]));
    let (s, _) = call(&f, "IRQ", "DELETE", &format!("/api/tandem/watch-zones/{id}/"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another user's zone is a missing one");
    let (s, _) = call(&f, "USA", "DELETE", &format!("/api/tandem/watch-zones/{id}/"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, mine) = call(&f, "USA", "GET", "/api/tandem/watch-zones/", None).await;
    assert_eq!(mine["zones"], json!([]));
}

#[tokio::test]
async fn watch_zones_are_changed_by_their_owner_only_and_alert_where_they_now_are() {
    let f = fixture(LiveConfig::default());
    let zones = "/api/tandem/watch-zones/";
    let (s, z) =
        call(&f, "USA", "POST", zones, Some(json!({"name": "Tadmur", "point": [34.56, 38.27], "radius_km": 30}))).await;
    assert_eq!(s, StatusCode::CREATED, "{z}");
    let id = z["id"].as_str().unwrap().to_string();
    let one = format!("{zones}{id}/");
    let epoch = || tandem_store::MetaStore::get_meta(&*f.state.store, crate::zones::EPOCH_KEY).unwrap();
    let before = epoch();

    // Renamed and resized (radius alone), then moved: the answer is the zone as stored.
    let (s, z) = call(&f, "USA", "PATCH", &one, Some(json!({"name": " Palmyra ", "radius_km": 45}))).await;
    assert_eq!(s, StatusCode::OK, "{z}");
    assert_eq!((z["name"].as_str(), z["id"].as_str()), (Some("Palmyra"), Some(id.as_str())));
    assert_eq!(z["geometry"], json!({"kind": "radius", "lat": 34.56, "lon": 38.27, "radius_km": 45.0}));
    assert_ne!(epoch(), before, "readers that cache zones see the change");
    let (s, z) = call(&f, "USA", "PATCH", &one, Some(json!({"point": [35.3, 40.1], "radius_km": 20}))).await;
    assert_eq!(s, StatusCode::OK, "{z}");
    let (_, mine) = call(&f, "USA", "GET", zones, None).await;
    assert_eq!(mine["zones"].as_array().unwrap().len(), 1);
    let stored = &mine["zones"][0];
    assert_eq!(stored["geometry"], json!({"kind": "radius", "lat": 35.3, "lon": 40.1, "radius_km": 20.0}));
    assert_eq!((stored["name"].as_str(), &stored["created"]), (Some("Palmyra"), &z["created"]));

    // Refused, and the zone left as it was: another user's change (answered as a missing zone),
    // a missing zone, an empty name, an unknown field, a bad radius, two geometries at once.
    let (s, _) = call(&f, "IRQ", "PATCH", &one, Some(json!({"name": "mine now"}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&f, "USA", "PATCH", &format!("{zones}zone--missing/"), Some(json!({"name": "x"}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for bad in [
        json!({"name": "  "}),
        json!({"colour": "red"}),
        json!({"radius_km": 0}),
        json!({"radius_km": 5000}),
        json!({"point": [35.0, 40.0], "governorate": "SY-DY", "radius_km": 5}),
        json!({"geometry": {"type": "Polygon", "coordinates": [[[40.0, 35.0], [41.0, 35.0]]]}}),
    ] {
        let (s, _) = call(&f, "USA", "PATCH", &one, Some(bad.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (_, after) = call(&f, "USA", "GET", zones, None).await;
    assert_eq!(&after["zones"][0], stored, "a refused change leaves the zone as it was");

    // A polygon's corners moved; radius alone does not apply to it.
    let ring = json!({"type": "Polygon", "coordinates": [[[38.0, 34.0], [39.0, 34.0], [38.5, 35.0], [38.0, 34.0]]]});
    let (s, z) = call(&f, "USA", "POST", zones, Some(json!({"name": "Badia", "geometry": ring}))).await;
    assert_eq!(s, StatusCode::CREATED);
    let poly = format!("{zones}{}/", z["id"].as_str().unwrap());
    let moved = json!({"type": "Polygon", "coordinates": [[[38.0, 34.0], [39.5, 34.2], [38.5, 35.0]]]});
    let (s, z) = call(&f, "USA", "PATCH", &poly, Some(json!({"geometry": moved}))).await;
    assert_eq!(s, StatusCode::OK, "{z}");
    assert_eq!(z["geometry"]["ring"], json!([[38.0, 34.0], [39.5, 34.2], [38.5, 35.0]]));
    let (s, _) = call(&f, "USA", "PATCH", &poly, Some(json!({"radius_km": 5}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Alerts follow the zone: a governorate zone moved from Homs to Deir ez-Zor alerts on an
    // incident in Deir ez-Zor, not on one in Homs.
    let (s, z) = call(&f, "IRQ", "POST", zones, Some(json!({"name": "gov", "governorate": "SY-HM"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    let gov = z["id"].as_str().unwrap().to_string();
    let cols = [COLL.to_string()];
    let roster = || Arc::clone(&f.state.roster.read().unwrap());
    assert!(crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap().is_empty());
    let (s, _) = call(&f, "IRQ", "PATCH", &format!("{zones}{gov}/"), Some(json!({"governorate": "SY-DY"}))).await;
    assert_eq!(s, StatusCode::OK);
    f.submit("USA", vec![incident("in-homs", "2025-06-22T12:00:00.000Z", &[GREEN.to_string()], None, "SY-HM", false)]);
    f.submit("USA", vec![incident("in-dy", "2025-06-22T12:00:00.000Z", &[GREEN.to_string()], None, "SY-DY", false)]);
    let raised = crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap();
    let (_, a) = call(&f, "IRQ", "GET", "/api/tandem/alerts/", None).await;
    let names: Vec<&str> =
        a["alerts"].as_array().unwrap().iter().filter_map(|x| x["incident_object"]["name"].as_str()).collect();
    assert_eq!(names, ["in-dy"], "{raised:?}");
}

#[tokio::test]
async fn alerts_are_raised_once_in_the_owners_view_and_on_its_stream() {
    let f = fixture(LiveConfig::default());
    for m in ["USA", "IRQ"] {
        let (s, _) =
            call(&f, m, "POST", "/api/tandem/watch-zones/", Some(json!({"name": "DY", "governorate": "SY-DY"}))).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _) =
        call(&f, "IRQ", "POST", "/api/tandem/watch-zones/", Some(json!({"name": "Homs", "governorate": "SY-HM"})))
            .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut usa = f.connect("USA", "?type=incident", None).await;
    let mut irq_zone_only = f.connect("IRQ", "?zone=none-of-mine", None).await;
    let cols = [COLL.to_string()];
    let roster = || Arc::clone(&f.state.roster.read().unwrap());
    // Nothing written yet: the alerter starts at the head.
    assert!(crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap().is_empty());
    f.submit("USA", vec![incident("amber-dy", "2025-06-22T12:00:00.000Z", &[AMBER.to_string()], None, "SY-DY", false)]);
    f.submit("USA", vec![incident("green-dy", "2025-06-22T12:00:00.000Z", &[GREEN.to_string()], None, "SY-DY", false)]);
    let end = f.state.store.feed_position().unwrap().unwrap().to_string();
    let raised = crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap();
    // USA's zone: both incidents; IRQ's SY-DY zone: the GREEN one only; IRQ's SY-HM zone: none.
    assert_eq!(raised.len(), 3, "{raised:?}");
    assert!(crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap().is_empty(), "raised twice");
    // A restart: another handle on the same data raises nothing again.
    let again: Arc<dyn Store> = Arc::new(SqliteStore::open(f._dir.path()).unwrap());
    assert!(crate::alerts::alert_pass(&*again, roster(), &cols).unwrap().is_empty(), "raised again after a restart");
    let (_, a) = call(&f, "IRQ", "GET", "/api/tandem/alerts/", None).await;
    let a = a["alerts"].as_array().unwrap().clone();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["incident_object"]["name"], "green-dy");
    let (_, a) = call(&f, "USA", "GET", "/api/tandem/alerts/", None).await;
    assert_eq!(a["alerts"].as_array().unwrap().len(), 2);
    // On the stream: each incident is preceded by its alert.
    let got = usa.until(&end).await;
    let kinds: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, ["alert", "version", "alert", "version"], "{got:?}");
    assert_eq!(got[0].data["match"], "inside");
    assert_eq!(got[0].data["incident"], got[1].data["id"]);
    // A zone filter naming no zone of the caller passes no incident.
    assert!(matches!(irq_zone_only.next(Duration::from_millis(500)).await, Next::Quiet));
}

/// An incident at a point (town precision) on a day, with its location object.
fn located(key: &str, day: &str, (lat, lon): (f64, f64), marking: &str) -> Vec<Value> {
    use tandem_model::incident::*;
    let loc_id = deterministic_id("location", key);
    let loc = json!({"type": "location", "spec_version": "2.1", "id": loc_id, "created": "2025-11-01T00:00:00.000Z",
        "modified": "2025-11-01T00:00:00.000Z", "latitude": lat, "longitude": lon, "object_marking_refs": [marking]});
    let mut obj = incident(key, "2025-11-01T00:00:00.000Z", &[marking.to_string()], None, "SY-DY", false);
    let mut ext = IncidentExt::from_object(&obj).unwrap();
    ext.time = TimeWindow::day(Date::parse(day).unwrap());
    ext.place =
        Place { location_refs: vec![loc_id], precision: GeoPrecision::Town, admin1: "SY-DY".into(), description: None };
    ext.attach(&mut obj);
    vec![loc, obj]
}

#[tokio::test]
async fn a_near_repeat_names_the_nearest_recent_incident_its_owner_may_see() {
    let f = fixture(LiveConfig::default());
    let spec = json!({"name": "DY near repeats", "governorate": "SY-DY", "near_repeat": {}});
    let (s, z) = call(&f, "USA", "POST", "/api/tandem/watch-zones/", Some(spec)).await;
    assert_eq!(s, StatusCode::CREATED, "{z}");
    assert_eq!(z["near_repeat"], json!({"km": 1.0, "hours": 48}), "{z}");
    let bad = json!({"name": "x", "governorate": "SY-DY", "near_repeat": {"km": 500}});
    assert_eq!(call(&f, "USA", "POST", "/api/tandem/watch-zones/", Some(bad)).await.0, StatusCode::BAD_REQUEST);
    let cols = [COLL.to_string()];
    let roster = || Arc::clone(&f.state.roster.read().unwrap());
    assert!(crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap().is_empty());
    let mut usa = f.connect("USA", "?type=incident", None).await;
    // Deir ez-Zor; 0.45 km east of it; 5.4 km east of it.
    let (here, near, far) = ((35.3359, 40.1408), (35.3359, 40.1458), (35.3359, 40.2000));
    f.submit("USA", located("first", "2025-11-10", here, GREEN));
    // IRQ's own report, closer in time and place than USA's first one but withheld from USA
    // (AMBER): it must not be what USA's near repeat names, nor raise one on its own.
    f.submit("IRQ", located("hidden", "2025-11-11", (35.3360, 40.1459), AMBER));
    f.submit("USA", located("second", "2025-11-11", near, GREEN));
    f.submit("USA", located("elsewhere", "2025-11-11", far, GREEN));
    f.submit("USA", located("much-later", "2025-11-20", here, GREEN));
    let end = f.state.store.feed_position().unwrap().unwrap().to_string();
    let raised = crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap();
    let near_keys: Vec<&String> = raised.iter().filter(|k| k.ends_with("/near-repeat")).collect();
    // Four zone alerts (USA sees its four incidents) and one near repeat: "second" repeats "first".
    assert_eq!(raised.len(), 5, "{raised:?}");
    assert_eq!(near_keys.len(), 1, "{raised:?}");
    let (_, a) = call(&f, "USA", "GET", "/api/tandem/alerts/", None).await;
    let a = a["alerts"].as_array().unwrap().clone();
    let nr: Vec<&Value> = a.iter().filter(|x| x["rule"] == "near-repeat").collect();
    assert_eq!(nr.len(), 1, "{a:?}");
    assert_eq!(nr[0]["incident_object"]["name"], "second");
    assert_eq!(nr[0]["near"]["incident"], tandem_model::incident::deterministic_id("incident", "first"));
    assert_eq!(nr[0]["near"]["hours"], 24.0);
    let km = nr[0]["near"]["km"].as_f64().unwrap();
    assert!(km > 0.3 && km < 0.6, "{km}");
    assert!(crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap().is_empty(), "raised twice");
    // The stream says the same, before the version it concerns.
    let got = usa.until(&end).await;
    let alerts: Vec<&Ev> = got.iter().filter(|e| e.event == "alert").collect();
    let rules: Vec<&str> = alerts.iter().map(|e| e.data["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["zone", "zone", "near-repeat", "zone", "zone"], "{got:?}");
    assert_eq!(alerts[2].data["near"], nr[0]["near"]);
}

/// A loopback webhook receiver answering each POST with the next status of its script (200
/// when the script is empty), recording what it received.
struct Receiver {
    url: String,
    got: Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>,
    script: Arc<std::sync::Mutex<std::collections::VecDeque<u16>>>,
}

async fn receiver(script: &[u16]) -> Receiver {
    let got: Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let script = Arc::new(std::sync::Mutex::new(script.iter().copied().collect::<std::collections::VecDeque<u16>>()));
    let (g, s) = (Arc::clone(&got), Arc::clone(&script));
    let app = Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let (g, s) = (Arc::clone(&g), Arc::clone(&s));
            async move {
                g.lock().unwrap().push((headers, body));
                StatusCode::from_u16(s.lock().unwrap().pop_front().unwrap_or(200)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, got, script }
}

/// Runs delivery passes until nothing is pending (or 60 s passed).
async fn deliver_until_settled(store: Arc<dyn Store>, f: &Fixture) -> Vec<Value> {
    let client = reqwest::Client::new();
    let retry =
        crate::webhooks::Retry { attempts: 3, base: Duration::from_millis(20), timeout: Duration::from_secs(10) };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let key = SealKey::load(f._dir.path()).unwrap();
    loop {
        let zones = crate::zones::list(&*store).unwrap();
        let secrets = |id: &str| match zones.iter().find(|z| z.id == id) {
            Some(z) => crate::webhooks::secret(z, &key).map_err(|e| e.to_string()),
            None => Ok(None),
        };
        crate::webhooks::deliver_due(Arc::clone(&store), Arc::clone(&f.state.roster), &secrets, &client, &retry)
            .await
            .unwrap();
        let d = crate::webhooks::deliveries(&*store, None).unwrap();
        if (!d.is_empty() && d.iter().all(|e| e["status"] != "pending")) || std::time::Instant::now() > deadline {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_dead_lettered_and_survive_a_restart() {
    let f = fixture(LiveConfig::default());
    let flaky = receiver(&[500, 503]).await;
    let secret = "0123456789abcdef-secret";
    let (s, z) = call(
        &f,
        "USA",
        "POST",
        "/api/tandem/watch-zones/",
        Some(json!({"name": "DY", "governorate": "SY-DY", "webhook": {"url": flaky.url, "secret": secret}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{z}");
    assert_eq!(z["webhook"]["secret"], "***", "the secret is never served back");
    let cols = [COLL.to_string()];
    let roster = || Arc::clone(&f.state.roster.read().unwrap());
    crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap();
    f.submit("USA", vec![incident("hook-1", "2025-06-22T12:00:00.000Z", &[GREEN.to_string()], None, "SY-DY", false)]);
    assert_eq!(crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap().len(), 1);

    // Two failures, then delivered; every attempt signed over timestamp and body.
    let d = deliver_until_settled(Arc::clone(&f.state.store), &f).await;
    assert_eq!((d.len(), d[0]["status"].as_str(), d[0]["attempts"].as_u64()), (1, Some("delivered"), Some(3)), "{d:?}");
    assert_eq!(d[0]["log"].as_array().unwrap().len(), 3);
    let got = flaky.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    for (headers, body) in &got {
        let ts: i64 = headers["x-tandem-timestamp"].to_str().unwrap().parse().unwrap();
        assert_eq!(headers["x-tandem-signature"].to_str().unwrap(), crate::webhooks::signature(secret, ts, body));
        assert_ne!(
            headers["x-tandem-signature"].to_str().unwrap(),
            crate::webhooks::signature("wrong-secret-0000", ts, body)
        );
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["incident_object"]["name"], "hook-1");
    }
    let (_, mine) = call(&f, "USA", "GET", "/api/tandem/webhooks/deliveries/", None).await;
    assert_eq!(mine["deliveries"].as_array().unwrap().len(), 1);
    assert!(mine["deliveries"][0].get("alert").is_none());
    let (_, theirs) = call(&f, "IRQ", "GET", "/api/tandem/webhooks/deliveries/", None).await;
    assert_eq!(theirs["deliveries"], json!([]));

    // Always failing: dead after the last attempt.
    flaky.script.lock().unwrap().extend([500, 500, 500]);
    f.submit("USA", vec![incident("hook-2", "2025-06-22T12:00:00.000Z", &[GREEN.to_string()], None, "SY-DY", false)]);
    crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap();
    let d = deliver_until_settled(Arc::clone(&f.state.store), &f).await;
    let dead: Vec<&Value> = d.iter().filter(|e| e["status"] == "dead").collect();
    assert_eq!(dead.len(), 1, "{d:?}");
    assert_eq!((dead[0]["attempts"].as_u64(), dead[0]["last_error"].as_str()), (Some(3), Some("HTTP 500")));

    // Queued, then the node restarts before delivering: a new handle delivers it.
    f.submit("USA", vec![incident("hook-3", "2025-06-22T12:00:00.000Z", &[GREEN.to_string()], None, "SY-DY", false)]);
    crate::alerts::alert_pass(&*f.state.store, roster(), &cols).unwrap();
    let before = flaky.got.lock().unwrap().len();
    let restarted: Arc<dyn Store> = Arc::new(SqliteStore::open(f._dir.path()).unwrap());
    let client = reqwest::Client::new();
    let retry =
        crate::webhooks::Retry { attempts: 3, base: Duration::from_millis(20), timeout: Duration::from_secs(10) };
    // The restarted node reads its secrets key from the data directory again.
    let key = SealKey::load(f._dir.path()).unwrap();
    let zones = crate::zones::list(&*restarted).unwrap();
    let secrets = |id: &str| match zones.iter().find(|z| z.id == id) {
        Some(z) => crate::webhooks::secret(z, &key).map_err(|e| e.to_string()),
        None => Ok(None),
    };
    crate::webhooks::deliver_due(Arc::clone(&restarted), Arc::clone(&f.state.roster), &secrets, &client, &retry)
        .await
        .unwrap();
    let d = crate::webhooks::deliveries(&*restarted, None).unwrap();
    assert_eq!(d.iter().filter(|e| e["status"] == "delivered").count(), 2, "{d:?}");
    let got = flaky.got.lock().unwrap().clone();
    assert_eq!(got.len(), before + 1, "delivered once");
    let (headers, body) = got.last().unwrap();
    let ts: i64 = headers["x-tandem-timestamp"].to_str().unwrap().parse().unwrap();
    assert_eq!(
        headers["x-tandem-signature"].to_str().unwrap(),
        crate::webhooks::signature(secret, ts, body),
        "signed with the clear secret after a restart"
    );
    // Secrets at rest: nothing in the data directory but the key file holds the secret.
    for entry in std::fs::read_dir(f._dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name() == Some(std::ffi::OsStr::new(tandem_store::sealed::FILE)) || !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{} holds the secret", path.display());
    }
}

/// A webhook secret stored in clear by an older version is sealed at start and still signs; a
/// wrong key file is an error naming it, not a panic.
#[tokio::test]
async fn clear_webhook_secrets_are_sealed_at_start_and_a_wrong_key_is_named() {
    let f = fixture(LiveConfig::default());
    let secret = "clear-from-an-older-version";
    let spec = crate::zones::ZoneSpec {
        name: "DY".into(),
        governorate: Some("SY-DY".into()),
        webhook: Some(crate::webhooks::Webhook { url: "http://127.0.0.1:9/hook".into(), secret: secret.into() }),
        ..Default::default()
    };
    let zone = crate::zones::new_zone(spec, &user("USA"), "USA", Classification::Secret).unwrap();
    assert!(crate::zones::create(&*f.state.store, &zone).unwrap());
    let key = SealKey::load(f._dir.path()).unwrap();
    assert_eq!(crate::webhooks::seal_stored(&*f.state.store, &key).unwrap(), 1);
    assert_eq!(crate::webhooks::seal_stored(&*f.state.store, &key).unwrap(), 0, "once");
    let stored = crate::zones::list(&*f.state.store).unwrap().remove(0);
    let sealed = &stored.webhook.as_ref().unwrap().secret;
    assert!(tandem_store::sealed::is_sealed(sealed) && !sealed.contains(secret), "{sealed}");
    assert_eq!(crate::webhooks::secret(&stored, &key).unwrap().as_deref(), Some(secret));
    // Listings never show it.
    let (_, listed) = call(&f, "USA", "GET", "/api/tandem/watch-zones/", None).await;
    assert_eq!(listed["zones"][0]["webhook"]["secret"], "***");
    // Another key (the file lost and made anew): a clear error naming the file.
    let other = tempfile::tempdir().unwrap();
    let wrong = SealKey::load_or_create(other.path()).unwrap();
    let err = crate::webhooks::seal_stored(&*f.state.store, &wrong).unwrap_err().to_string();
    assert!(err.contains(tandem_store::sealed::FILE) && err.contains("restore"), "{err}");
}
