//! Property-style test: random operation orders (posts of mixed releasability, new versions,
//! deletions, restarts, duplicate deliveries) on a four-node topology, then every node must hold
//! exactly what it may see and can reach: zero loss, zero duplicates, zero resurrections, zero
//! releasability violations. The oracle is `tandem_policy::decide` itself.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tandem_policy::{AccessLabel, Classification, Decision, MarkingKind, Viewer, classify_marking, decide};
use tandem_sync::sandbox::{Sandbox, SandboxBuilder};

const MEMBERS: [&str; 4] = ["USA", "IRQ", "SYR", "JOR"];
/// USA - IRQ - SYR, and JOR hanging off IRQ.
const LINKS: [(&str, &str); 3] = [("USA", "IRQ"), ("IRQ", "SYR"), ("IRQ", "JOR")];

/// One posted version and whether it was deleted.
struct Posted {
    origin: String,
    object: Value,
    deleted: bool,
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
    let lookup = |id: &str| kinds.get(id);
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

async fn run(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut builder = SandboxBuilder::new().group("LVNT", &["IRQ", "JOR"]);
    for m in MEMBERS {
        builder = builder.node(m);
    }
    for (a, b) in LINKS {
        builder = builder.link(a, b);
    }
    let mut sb = builder.build().await.unwrap();
    sb.post("USA", markings_defs()).await.unwrap();
    let sets = marking_sets();
    let mut posted: Vec<Posted> = Vec::new();
    let mut down: Option<String> = None;
    for _ in 0..30 {
        let op = rng.gen_range(0..10);
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
                posted.push(Posted { origin, object: obj, deleted: false });
            }
            // A new version of one of the origin's live objects.
            5 => {
                if let Some(p) = posted.iter().rev().find(|p| p.origin == origin && !p.deleted) {
                    let mut obj = p.object.clone();
                    obj["modified"] = Value::String(now_ms());
                    obj["description"] = Value::String(format!("update {}", rng.r#gen::<u32>()));
                    sb.post(&origin, vec![obj.clone()]).await.unwrap();
                    posted.push(Posted { origin, object: obj, deleted: false });
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
    let want = expected(&sb, &posted);
    let sizes: Vec<String> = MEMBERS.iter().map(|m| format!("{m} {}", want[*m].len())).collect();
    let deleted = posted.iter().filter(|p| p.deleted).count();
    eprintln!(
        "seed {seed}: {} versions posted, {deleted} deleted; expected holdings: {}",
        posted.len(),
        sizes.join(", ")
    );
    let ok = sb.wait_for(Duration::from_secs(20), |s| MEMBERS.iter().all(|m| held(s, m) == want[*m])).await;
    for m in MEMBERS {
        let got = held(&sb, m);
        let lost: Vec<_> = want[m].difference(&got).collect();
        let extra: Vec<_> = got.difference(&want[m]).collect();
        assert!(
            ok && lost.is_empty() && extra.is_empty(),
            "seed {seed}, {m}: lost {lost:?}, extra (leak or resurrection) {extra:?}"
        );
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_operation_orders_converge_exactly() {
    for seed in [1, 2, 3, 4, 5] {
        run(seed).await;
    }
}
