//! Property-style tests: random operation orders (posts of mixed releasability, new versions,
//! revocations, deletions, restarts, duplicate deliveries) on a four-node topology, then every
//! node must hold exactly what it may see and can reach: zero loss, zero duplicates, zero
//! resurrections, zero releasability violations. The oracle is `tandem_policy::decide` itself.
//!
//! The second test mixes in link faults through the sandbox's real TCP proxies (cut a link,
//! delay it, drop responses mid-transfer, replay requests twice out of order, deliver stale pages)
//! and checks the same oracle once every fault is healed. Every link is mutual TLS: the proxies
//! are men in the middle holding both nodes' certificates (`LinkProxy::start_tls`), and the test
//! checks that every kind of fault really happened. Seeds are few so that CI stays quick;
//! run more with `TANDEM_FAULT_SEEDS=100 cargo test -p tandem-testkit --test convergence -- faults`
//! (seeds 1..=N) or a single one with `TANDEM_FAULT_SEED=42`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tandem_policy::{AccessLabel, Classification, Decision, MarkingKind, Viewer, classify_marking, decide};
use tandem_testkit::fixtures::*;
use tandem_testkit::sandbox::{LinkProxy, Sandbox, SandboxBuilder};

const MEMBERS: [&str; 4] = ["USA", "IRQ", "SYR", "JOR"];
/// USA - IRQ - SYR, and JOR hanging off IRQ.
const LINKS: [(&str, &str); 3] = [("USA", "IRQ"), ("IRQ", "SYR"), ("IRQ", "JOR")];

/// One posted version and whether its object was deleted or revoked.
struct Posted {
    origin: String,
    object: Value,
    deleted: bool,
    revoked: bool,
}

fn marking_sets() -> Vec<Vec<String>> {
    vec![
        vec![GREEN.to_string()],
        vec![AMBER.to_string()],
        vec![rel_id(&["IRQ"])],
        vec![rel_id(&["SYR"])],
        vec![rel_id(&["IRQ", "SYR"])],
        vec![rel_id(&["LVNT"])],
        vec![GREEN.to_string(), rel_id(&["IRQ", "SYR", "JOR", "USA"])],
    ]
}

fn markings_defs() -> Vec<Value> {
    vec![rel(&["IRQ"]), rel(&["SYR"]), rel(&["IRQ", "SYR"]), rel(&["LVNT"]), rel(&["IRQ", "SYR", "JOR", "USA"])]
}

/// Whether `member` may see `object` originated by `origin`.
fn may_see(sb: &Sandbox, kinds: &BTreeMap<String, MarkingKind>, member: &str, origin: &str, object: &Value) -> bool {
    let obj = tandem_model::check_object(object).unwrap();
    let label = AccessLabel::of(origin, &obj);
    let viewer = Viewer { member: member.into(), clearance: Classification::Secret };
    // Every member defines the same markings on its own node, so the owner does not matter.
    let lookup = |_owner: &str, id: &str| kinds.get(id);
    !matches!(decide(&viewer, &sb.roster, &label, &lookup), Decision::Deny)
}

/// The versions each node must end with: reachable from the origin through nodes that may all
/// see the version, and not deleted.
fn expected(sb: &Sandbox, posted: &[Posted]) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut kinds = BTreeMap::new();
    for d in markings_defs() {
        kinds.insert(d["id"].as_str().unwrap().to_string(), classify_marking(&d).unwrap());
    }
    for d in tandem_model::tlp::published_definitions() {
        kinds.insert(d["id"].as_str().unwrap().to_string(), classify_marking(&d).unwrap());
    }
    let mut out: BTreeMap<String, BTreeSet<(String, String)>> =
        MEMBERS.iter().map(|m| (m.to_string(), BTreeSet::new())).collect();
    for p in posted.iter().filter(|p| !p.deleted) {
        let key = (p.object["id"].as_str().unwrap().to_string(), version(&p.object));
        let mut reached = BTreeSet::from([p.origin.clone()]);
        let mut frontier = vec![p.origin.clone()];
        while let Some(n) = frontier.pop() {
            for (a, b) in LINKS {
                let next = if a == n {
                    b
                } else if b == n {
                    a
                } else {
                    continue;
                };
                if !reached.contains(next) && may_see(sb, &kinds, next, &p.origin, &p.object) {
                    reached.insert(next.to_string());
                    frontier.push(next.to_string());
                }
            }
        }
        for m in reached {
            out.get_mut(&m).unwrap().insert(key.clone());
        }
    }
    out
}

fn version(v: &Value) -> String {
    tandem_model::Timestamp::parse(v["modified"].as_str().unwrap()).unwrap().to_taxii()
}

/// What a node holds, indicators only; panics on a duplicate.
fn held(sb: &Sandbox, member: &str) -> BTreeSet<(String, String)> {
    let list: Vec<(String, String)> =
        sb.versions(member).unwrap().into_iter().filter(|(id, _)| id.starts_with("indicator--")).collect();
    let set: BTreeSet<_> = list.iter().cloned().collect();
    assert_eq!(set.len(), list.len(), "duplicates on {member}");
    set
}

/// What the link proxies did over one schedule, summed over links.
#[derive(Debug, Default, Clone, Copy)]
struct Injected {
    resets: u64,
    dropped: u64,
    stale: u64,
    replayed: u64,
}

/// Runs one random schedule; `faults` adds revocations and link faults to the operations.
/// Returns the faults the proxies injected.
async fn run(seed: u64, faults: bool) -> Injected {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut builder = SandboxBuilder::new().group("LVNT", &["IRQ", "JOR"]);
    if faults {
        // Lost notifications (stale or cut) are made up by polling.
        builder = builder.poll_interval(Duration::from_millis(500)).max_backoff(Duration::from_secs(2));
    }
    for m in MEMBERS {
        builder = builder.node(m);
    }
    for (a, b) in LINKS {
        builder = builder.link(a, b);
    }
    // Over TLS: each link's proxy is a man in the middle that sees the HTTP messages it drops,
    // replays and withholds, while both nodes still check each other's roster keys.
    let mut sb = builder.build().await.unwrap();
    // The schedule may cut a link before the REL TO definitions have crossed it, so a node may
    // hold (and withhold) a version before its definition arrives: the release epoch then makes
    // its peers re-read (ARCHITECTURE.md, Federation), which this test checks too.
    // A marking counts only for its own member's objects: every member defines them.
    for m in MEMBERS {
        sb.post(m, markings_defs()).await.unwrap();
    }
    let sets = marking_sets();
    let mut posted: Vec<Posted> = Vec::new();
    let mut down: Option<String> = None;
    let mut replays = Vec::new();
    let steps = if faults { 60 } else { 30 };
    for _ in 0..steps {
        let op = if faults { rng.gen_range(0..17) } else { rng.gen_range(0..10) };
        let live: Vec<&str> = MEMBERS.iter().copied().filter(|m| down.as_deref() != Some(*m)).collect();
        let origin = live[rng.gen_range(0..live.len())].to_string();
        match op {
            // New object.
            0..=4 => {
                let marks = &sets[rng.gen_range(0..sets.len())];
                let refs: Vec<&str> = marks.iter().map(String::as_str).collect();
                let t = now_ms();
                let obj = indicator(&fresh_id("indicator"), &t, &t, &refs);
                sb.post(&origin, vec![obj.clone()]).await.unwrap();
                posted.push(Posted { origin, object: obj, deleted: false, revoked: false });
            }
            // A new version of one of the origin's live objects.
            5 => {
                if let Some(p) = posted.iter().rev().find(|p| p.origin == origin && !p.deleted && !p.revoked) {
                    let mut obj = p.object.clone();
                    obj["modified"] = Value::String(now_ms());
                    obj["description"] = Value::String(format!("update {}", rng.r#gen::<u32>()));
                    sb.post(&origin, vec![obj.clone()]).await.unwrap();
                    posted.push(Posted { origin, object: obj, deleted: false, revoked: false });
                }
            }
            // Delete every version of one of the origin's objects.
            6 => {
                let ids: Vec<String> = posted
                    .iter()
                    .filter(|p| p.origin == origin && !p.deleted)
                    .map(|p| p.object["id"].as_str().unwrap().to_string())
                    .collect();
                if !ids.is_empty() {
                    let id = ids[rng.gen_range(0..ids.len())].clone();
                    assert_eq!(sb.delete(&origin, &id).await.unwrap(), 200);
                    for p in posted.iter_mut().filter(|p| p.object["id"] == id.as_str()) {
                        p.deleted = true;
                    }
                }
            }
            // Duplicate delivery: the same version posted again.
            7 => {
                if let Some(p) = posted.iter().rev().find(|p| p.origin == origin && !p.deleted) {
                    let obj = p.object.clone();
                    sb.post(&origin, vec![obj]).await.unwrap();
                }
            }
            // Revocation: a last version with `revoked`; a later version is then refused at the
            // origin, so it exists nowhere.
            10 => {
                if let Some(p) = posted.iter().rev().find(|p| p.origin == origin && !p.deleted && !p.revoked) {
                    let id = p.object["id"].as_str().unwrap().to_string();
                    let mut obj = p.object.clone();
                    obj["modified"] = Value::String(now_ms());
                    obj["revoked"] = Value::Bool(true);
                    sb.post(&origin, vec![obj.clone()]).await.unwrap();
                    for p in posted.iter_mut().filter(|p| p.object["id"] == id.as_str()) {
                        p.revoked = true;
                    }
                    posted.push(Posted { origin: origin.clone(), object: obj.clone(), deleted: false, revoked: true });
                    let mut after = obj;
                    after["modified"] = Value::String(now_ms());
                    after["revoked"] = Value::Bool(false);
                    let status = sb.post(&origin, vec![after]).await.unwrap();
                    assert_eq!(status["failure_count"], 1, "seed {seed}: a version after a revocation: {status}");
                }
            }
            // Link faults: cut both directions of a link (or heal it if cut).
            11 => {
                let (a, b) = LINKS[rng.gen_range(0..LINKS.len())];
                for p in sb.links_between(a, b).unwrap() {
                    if p.faults().cut { p.heal() } else { p.cut() }
                }
            }
            // Slow one direction: every response chunk delayed.
            12 => {
                let p = random_link(&sb, &mut rng);
                p.delay(Duration::from_millis(rng.gen_range(1..30)));
            }
            // Responses longer than a few hundred bytes are cut mid-transfer, connection reset.
            13 => {
                let p = random_link(&sb, &mut rng);
                p.drop_after(rng.gen_range(100..1500));
            }
            // Duplicated and reordered requests: the last few (notifications, page requests)
            // sent again, newest first, twice each, between two operations of the schedule.
            14 => {
                let (from, to) = random_link_name(&sb, &mut rng);
                let k = rng.gen_range(1..6);
                let proxy = sb.link(&from, &to).unwrap();
                replays.push(proxy.replay(k).await);
            }
            // Stale deliveries: the next responses are earlier ones to the same request path.
            15 => {
                let p = random_link(&sb, &mut rng);
                p.stale_responses(rng.gen_range(1..4));
            }
            // Heal one direction.
            16 => random_link(&sb, &mut rng).heal(),
            // Restart: bring the down node back, or take one down.
            _ => match down.take() {
                Some(m) => sb.start(&m).await.unwrap(),
                None => {
                    let m = MEMBERS[rng.gen_range(0..MEMBERS.len())].to_string();
                    sb.stop(&m).await.unwrap();
                    down = Some(m);
                }
            },
        }
        if rng.gen_bool(0.3) {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..40))).await;
        }
    }
    if let Some(m) = down.take() {
        sb.start(&m).await.unwrap();
    }
    let mut injected = fault_summary(&sb);
    injected.replayed = replays.iter().sum::<usize>() as u64;
    sb.heal_all();
    let want = expected(&sb, &posted);
    let sizes: Vec<String> = MEMBERS.iter().map(|m| format!("{m} {}", want[*m].len())).collect();
    let deleted = posted.iter().filter(|p| p.deleted).count();
    eprintln!(
        "seed {seed}: {} versions posted, {deleted} deleted; expected holdings: {}; faults: {} connections reset, \
         {} responses dropped mid-transfer, {} stale responses, {} requests replayed",
        posted.len(),
        sizes.join(", "),
        injected.resets,
        injected.dropped,
        injected.stale,
        injected.replayed,
    );
    let ok = sb.wait_for(Duration::from_secs(30), |s| MEMBERS.iter().all(|m| held(s, m) == want[*m])).await;
    let mut report = Vec::new();
    for m in MEMBERS {
        let got = held(&sb, m);
        let lost: Vec<_> = want[m].difference(&got).collect();
        let extra: Vec<_> = got.difference(&want[m]).collect();
        if !lost.is_empty() || !extra.is_empty() {
            let holders: Vec<String> = lost
                .iter()
                .map(|(id, v)| {
                    let marks = posted
                        .iter()
                        .find(|p| p.object["id"] == id.as_str())
                        .map(|p| format!("{} by {}", p.object["object_marking_refs"], p.origin));
                    format!(
                        "{id} ({marks:?}) held by {:?}",
                        MEMBERS.iter().filter(|n| sb.holds(n, id, v)).collect::<Vec<_>>()
                    )
                })
                .collect();
            let statuses = sb.federation(m).map(|f| format!("{:?}", f.statuses())).unwrap_or_default();
            // What the node stores of the lost versions and of the markings, whoever may see it.
            let store = sb.store(m).unwrap();
            for (id, _) in &lost {
                for viewer in MEMBERS {
                    let ctx = tandem_store::ViewContext {
                        viewer: tandem_policy::Viewer { member: viewer.into(), clearance: Classification::Secret },
                        roster: sb.federation(m).unwrap().roster_log().roster(),
                    };
                    let q = tandem_store::ObjectQuery {
                        ids: vec![id.to_string()],
                        versions: tandem_store::VersionFilter::All,
                        limit: 100,
                        every_claim: true,
                        ..Default::default()
                    };
                    let got =
                        tandem_store::ObjectStore::list(&*store, &ctx, &Sandbox::collection(m), &q).unwrap().items;
                    eprintln!(
                        "{m} stores as {viewer} sees it: {:?}",
                        got.iter().map(|r| (r.originator.clone(), r.version.to_taxii())).collect::<Vec<_>>()
                    );
                }
            }
            let ctx = tandem_store::ViewContext {
                viewer: tandem_policy::Viewer { member: m.into(), clearance: Classification::Secret },
                roster: sb.federation(m).unwrap().roster_log().roster(),
            };
            let q = tandem_store::ObjectQuery {
                types: vec!["marking-definition".into()],
                versions: tandem_store::VersionFilter::All,
                limit: 1000,
                every_claim: true,
                ..Default::default()
            };
            let defs = tandem_store::ObjectStore::list(&*store, &ctx, &Sandbox::collection(m), &q).unwrap().items;
            eprintln!(
                "{m} holds the REL TO IRQ, SYR, JOR, USA marking of: {:?}",
                defs.iter().filter(|r| r.id.contains("cae8e722")).map(|r| r.originator.clone()).collect::<Vec<_>>()
            );

            report.push(format!(
                "{m}: lost {lost:?}, extra (leak or resurrection) {extra:?}; {holders:?}; peers {statuses}"
            ));
        }
    }
    assert!(ok && report.is_empty(), "seed {seed}: converged {ok}: {}", report.join("\n"));
    sb.shutdown().await;
    injected
}

fn random_link_name(sb: &Sandbox, rng: &mut StdRng) -> (String, String) {
    let names = sb.link_names();
    names[rng.gen_range(0..names.len())].clone()
}

fn random_link<'a>(sb: &'a Sandbox, rng: &mut StdRng) -> &'a LinkProxy {
    let (from, to) = random_link_name(sb, rng);
    sb.link(&from, &to).unwrap()
}

/// What the proxies did over the whole schedule (summed over links; replays are counted by
/// the caller).
fn fault_summary(sb: &Sandbox) -> Injected {
    let mut sum = Injected::default();
    for (from, to) in sb.link_names() {
        let s = sb.link(&from, &to).unwrap().stats();
        sum.resets += s.resets.load(Ordering::Relaxed);
        sum.dropped += s.dropped_mid_transfer.load(Ordering::Relaxed);
        sum.stale += s.stale_served.load(Ordering::Relaxed);
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_operation_orders_converge_exactly() {
    for seed in [1, 2, 3, 4, 5] {
        run(seed, false).await;
    }
}

/// The seeds of the fault test: `TANDEM_FAULT_SEED` (one), else `1..=TANDEM_FAULT_SEEDS`, else
/// four.
fn fault_seeds() -> Vec<u64> {
    if let Some(one) = std::env::var("TANDEM_FAULT_SEED").ok().and_then(|v| v.parse().ok()) {
        return vec![one];
    }
    let n = std::env::var("TANDEM_FAULT_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    (1..=n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_operation_orders_with_link_faults_converge_exactly() {
    let seeds = fault_seeds();
    let mut total = Injected::default();
    for &seed in &seeds {
        let i = run(seed, true).await;
        total = Injected {
            resets: total.resets + i.resets,
            dropped: total.dropped + i.dropped,
            stale: total.stale + i.stale,
            replayed: total.replayed + i.replayed,
        };
    }
    eprintln!("{} seeds over TLS links: {total:?}", seeds.len());
    // The default seeds schedule every kind of fault: each must have happened on the TLS links
    // (a proxy that could not see the HTTP messages would inject none and the test would prove
    // nothing). One chosen seed may schedule none of a kind.
    if seeds == [1, 2, 3, 4] {
        assert!(
            total.resets > 0 && total.dropped > 0 && total.stale > 0 && total.replayed > 0,
            "a kind of fault never happened: {total:?}"
        );
    }
}
