//! A simulation of the full coalition: `--nodes` member nodes (default 90) in one process, each a
//! real Tandem node (TAXII server, federation routes, pullers, notify hooks; the sandbox of
//! `tandem_testkit::sandbox`) on loopback HTTP, peered in a realistic topology, and `--objects`
//! indicators (default 100,000) of mixed releasability published across many members. Reports
//! the time from the start of publishing to full propagation and the bytes transferred between
//! nodes.
//!
//! `cargo run --release -p tandem-testkit --example simulate [-- --nodes 90 --objects 100000 --seed 1]`
//!
//! Other options: `--clients 4` (concurrent publishing POSTs, envelopes of `--envelope 500`),
//! `--timeout-secs 580`, `--no-verify` (skip the final exact per-node comparison), `--cache-kib
//! 4096` (each node's SQLite page cache per connection: 90 nodes share this process's memory).
//!
//! - **Topology**: four hubs meshed together (USA, GBR, FRA, IRQ); the Levant cluster (IRQ, SYR,
//!   JOR: SYR-JOR linked, SYR behind IRQ, JOR also on USA); every other member attached to 1-3
//!   hubs (the first by region: Five Eyes to USA/GBR, Europe to FRA/GBR, the Gulf to USA/IRQ,
//!   Africa to FRA, ...) and, 30% of the time, to a neighbour of its region. `--nodes N` keeps
//!   the first N members of the roster, core members first.
//! - **Objects**: 45% TLP:GREEN, 10% TLP:AMBER, 8% TLP:RED, 15% `REL TO <group>` (FVEY, LVNT,
//!   EUR, GULF) originated by a group member, 12% TLP:AMBER + `REL TO <2-4 members>` and 10%
//!   `REL TO <2-4 members>` originated by one of those members; origins 30% the hubs, 70%
//!   uniform over all members. The REL TO marking-definitions are posted on every node (a marking counts
//!   only for its own member's objects) and propagated before the clock starts.
//! - **Full propagation**: every node holds exactly what the policy lets it hold given
//!   reachability: a version reaches a node iff a path of peers from its originator exists on
//!   which every node may see it (`tandem_policy::decide`, the oracle of
//!   `crates/testkit/tests/convergence.rs`). Completion is detected from the per-peer `received`
//!   counters reaching each node's expected count; afterwards every node's holdings are compared
//!   exactly (no loss, no extra) unless `--no-verify`.
//! - **Bytes**: every peer URL is pointed (`Sandbox::set_peer_url`) at a byte-counting TCP proxy in
//!   front of the served node, so all federation traffic (pulls, tombstone pages, discovery,
//!   notifications) is counted on the wire, HTTP headers included. The publishing POSTs go to
//!   the nodes directly and are not counted.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tandem_model::tlp::{TLP2_AMBER, TLP2_GREEN, TLP2_RED};
use tandem_policy::{AccessLabel, Classification, Decision, MarkingKind, Viewer, classify_marking, decide};
use tandem_testkit::sandbox::{PASSWORD, Sandbox, SandboxBuilder};

use tandem_testkit::fixtures::TAXII;

/// The roster, core members first, with a region each.
const ROSTER: [(&str, &str); 90] = [
    ("USA", "hub"),
    ("GBR", "hub"),
    ("FRA", "hub"),
    ("IRQ", "hub"),
    ("SYR", "lvnt"),
    ("JOR", "lvnt"),
    ("CAN", "fvey"),
    ("AUS", "fvey"),
    ("DEU", "eur"),
    ("ITA", "eur"),
    ("TUR", "med"),
    ("SAU", "gulf"),
    ("KWT", "gulf"),
    ("QAT", "gulf"),
    ("NLD", "eur"),
    ("DNK", "eur"),
    ("NOR", "eur"),
    ("POL", "eur"),
    ("ESP", "eur"),
    ("LBN", "med"),
    ("NZL", "fvey"),
    ("BEL", "eur"),
    ("ARE", "gulf"),
    ("BHR", "gulf"),
    ("EGY", "med"),
    ("SWE", "eur"),
    ("FIN", "eur"),
    ("CZE", "eur"),
    ("HUN", "eur"),
    ("ROU", "eur"),
    ("BGR", "eur"),
    ("GRC", "eur"),
    ("PRT", "eur"),
    ("EST", "eur"),
    ("LVA", "eur"),
    ("LTU", "eur"),
    ("SVK", "eur"),
    ("SVN", "eur"),
    ("HRV", "eur"),
    ("ALB", "eur"),
    ("MNE", "eur"),
    ("MKD", "eur"),
    ("ISL", "eur"),
    ("LUX", "eur"),
    ("IRL", "eur"),
    ("AUT", "eur"),
    ("CYP", "med"),
    ("MLT", "med"),
    ("JPN", "asia"),
    ("KOR", "asia"),
    ("SGP", "asia"),
    ("MYS", "asia"),
    ("IDN", "asia"),
    ("PHL", "asia"),
    ("TWN", "asia"),
    ("IND", "asia"),
    ("AFG", "casia"),
    ("PAK", "casia"),
    ("KAZ", "casia"),
    ("UZB", "casia"),
    ("GEO", "casia"),
    ("ARM", "casia"),
    ("AZE", "casia"),
    ("UKR", "eur"),
    ("MDA", "eur"),
    ("BIH", "eur"),
    ("SRB", "eur"),
    ("OMN", "gulf"),
    ("MAR", "afr"),
    ("TUN", "afr"),
    ("LBY", "afr"),
    ("NGA", "afr"),
    ("NER", "afr"),
    ("TCD", "afr"),
    ("MLI", "afr"),
    ("CMR", "afr"),
    ("SOM", "afr"),
    ("ETH", "afr"),
    ("KEN", "afr"),
    ("DJI", "afr"),
    ("MRT", "afr"),
    ("SEN", "afr"),
    ("BFA", "afr"),
    ("BRA", "amer"),
    ("ARG", "amer"),
    ("CHL", "amer"),
    ("COL", "amer"),
    ("MEX", "amer"),
    ("PER", "amer"),
    ("PAN", "amer"),
];
const HUBS: [&str; 4] = ["USA", "GBR", "FRA", "IRQ"];

/// The hubs a region's members attach to first.
fn region_hubs(region: &str) -> &'static [&'static str] {
    match region {
        "fvey" => &["USA", "GBR"],
        "eur" => &["FRA", "GBR", "USA"],
        "gulf" => &["USA", "IRQ", "GBR"],
        "med" => &["FRA", "IRQ", "USA"],
        "afr" => &["FRA", "USA"],
        "asia" => &["USA", "GBR"],
        "casia" => &["USA", "FRA"],
        _ => &["USA"],
    }
}

struct Coalition {
    members: Vec<String>,
    links: Vec<(usize, usize)>,
    groups: Vec<(String, Vec<String>)>,
}

fn coalition(n: usize, rng: &mut StdRng) -> Coalition {
    let members: Vec<String> = ROSTER[..n].iter().map(|(c, _)| c.to_string()).collect();
    let idx = |c: &str| members.iter().position(|m| m == c);
    let mut links: Vec<(usize, usize)> = Vec::new();
    let link = |a: usize, b: usize, links: &mut Vec<(usize, usize)>| {
        let (a, b) = (a.min(b), a.max(b));
        if a != b && !links.contains(&(a, b)) {
            links.push((a, b));
        }
    };
    let hubs: Vec<usize> = HUBS.iter().filter_map(|h| idx(h)).collect();
    for (i, a) in hubs.iter().enumerate() {
        for b in &hubs[i + 1..] {
            link(*a, *b, &mut links);
        }
    }
    for (i, (code, region)) in ROSTER[..n].iter().enumerate() {
        match *code {
            _ if *region == "hub" => {}
            "SYR" => {
                if let Some(h) = idx("IRQ") {
                    link(i, h, &mut links);
                }
                if let Some(j) = idx("JOR") {
                    link(i, j, &mut links);
                }
            }
            "JOR" => {
                for h in ["IRQ", "USA"].iter().filter_map(|h| idx(h)) {
                    link(i, h, &mut links);
                }
            }
            _ => {
                let prefs: Vec<usize> = region_hubs(region).iter().filter_map(|h| idx(h)).collect();
                let extra = rng.gen_range(0..=2);
                let mut chosen = vec![prefs.first().copied().unwrap_or(0)];
                let mut others: Vec<usize> = hubs.iter().copied().filter(|h| !chosen.contains(h)).collect();
                others.shuffle(rng);
                chosen.extend(others.into_iter().take(extra));
                for h in chosen {
                    link(i, h, &mut links);
                }
                let neighbours: Vec<usize> = ROSTER[..n]
                    .iter()
                    .enumerate()
                    .filter(|(j, (_, r))| *j != i && r == region)
                    .map(|(j, _)| j)
                    .collect();
                if !neighbours.is_empty() && rng.gen_bool(0.3) {
                    link(i, *neighbours.choose(rng).unwrap_or(&i), &mut links);
                }
            }
        }
    }
    let in_region = |rs: &[&str]| -> Vec<String> {
        ROSTER[..n].iter().filter(|(_, r)| rs.contains(r)).map(|(c, _)| c.to_string()).collect()
    };
    let present =
        |cs: &[&str]| -> Vec<String> { cs.iter().filter(|c| idx(c).is_some()).map(|c| c.to_string()).collect() };
    let mut eur = in_region(&["eur"]);
    eur.extend(present(&["FRA", "GBR"]));
    let groups = vec![
        ("FVEY".to_string(), present(&["USA", "GBR", "CAN", "AUS", "NZL"])),
        ("LVNT".to_string(), present(&["IRQ", "SYR", "JOR"])),
        ("EUR".to_string(), eur),
        ("GULF".to_string(), in_region(&["gulf"])),
    ]
    .into_iter()
    .filter(|(_, ms)| ms.len() >= 2)
    .collect();
    Coalition { members, links, groups }
}

/// One published indicator.
struct Obj {
    origin: usize,
    combo: usize,
    id: String,
    version: String,
}

#[derive(clap::Parser)]
#[command(about = "A coalition of federated nodes in one process, under a realistic load")]
struct Args {
    /// Nodes (members) in the coalition.
    #[arg(long, default_value_t = 90)]
    nodes: usize,
    /// Objects published in all.
    #[arg(long, default_value_t = 100_000)]
    objects: usize,
    /// Seed of the topology, markings and publishers.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrent publishing clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Objects per published envelope.
    #[arg(long, default_value_t = 500)]
    envelope: usize,
    /// Give up waiting for convergence after this many seconds.
    #[arg(long, default_value_t = 580)]
    timeout_secs: u64,
    /// Each store's SQLite page cache per connection, in KiB. Ninety stores in one process:
    /// a node's 64 MiB would not fit.
    #[arg(long, default_value_t = 4096)]
    cache_kib: u32,
    /// Skip comparing every node's holdings with what it should hold.
    #[arg(long)]
    no_verify: bool,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let Args { nodes: n, objects: count, seed, clients, envelope, timeout_secs: timeout, cache_kib, no_verify } =
        clap::Parser::parse();
    anyhow::ensure!((4..=ROSTER.len()).contains(&n), "--nodes must be 4..={}", ROSTER.len());
    let mut rng = StdRng::seed_from_u64(seed);
    let co = coalition(n, &mut rng);
    let mut degree = vec![0usize; n];
    for (a, b) in &co.links {
        degree[*a] += 1;
        degree[*b] += 1;
    }
    println!(
        "coalition: {n} nodes, {} links (hub degrees: {}), groups: {}; load average {}",
        co.links.len(),
        HUBS.iter()
            .filter_map(|h| co.members.iter().position(|m| m == h).map(|i| format!("{h} {}", degree[i])))
            .collect::<Vec<_>>()
            .join(", "),
        co.groups.iter().map(|(g, ms)| format!("{g} ({})", ms.len())).collect::<Vec<_>>().join(", "),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );

    // Marking combinations: plain TLP, group REL TO, and a pool of small REL TO sets.
    let mut combos: Vec<Vec<String>> = vec![vec![TLP2_GREEN.into()], vec![TLP2_AMBER.into()], vec![TLP2_RED.into()]];
    let mut defs: Vec<Value> = Vec::new();
    let first_group = combos.len();
    for (g, _) in &co.groups {
        let codes = vec![g.clone()];
        defs.push(tandem_testkit::fixtures::rel(&codes));
        combos.push(vec![tandem_testkit::fixtures::rel_id(&codes)]);
    }
    let first_small = combos.len();
    let mut small_sets: Vec<Vec<usize>> = Vec::new();
    for _ in 0..120 {
        let k = rng.gen_range(2..=4).min(n);
        let mut set: Vec<usize> = (0..n).collect::<Vec<_>>().choose_multiple(&mut rng, k).copied().collect();
        set.sort();
        let codes: Vec<String> = set.iter().map(|i| co.members[*i].clone()).collect();
        if small_sets.contains(&set) {
            continue;
        }
        defs.push(tandem_testkit::fixtures::rel(&codes));
        combos.push(vec![TLP2_AMBER.into(), tandem_testkit::fixtures::rel_id(&codes)]);
        combos.push(vec![tandem_testkit::fixtures::rel_id(&codes)]);
        small_sets.push(set);
    }

    // The objects.
    let base = tandem_model::Timestamp::now().as_micros() / 1000 * 1000 - 86_400_000_000;
    let hubs: Vec<usize> = HUBS.iter().filter_map(|h| co.members.iter().position(|m| m == h)).collect();
    let mut objects: Vec<Obj> = Vec::with_capacity(count);
    let mut bodies: Vec<Vec<Value>> = vec![Vec::new(); n];
    for i in 0..count {
        let weighted =
            |rng: &mut StdRng| if rng.gen_bool(0.3) { *hubs.choose(rng).unwrap_or(&0) } else { rng.gen_range(0..n) };
        let r = rng.gen_range(0..100);
        let (origin, combo) = match r {
            0..45 => (weighted(&mut rng), 0),
            45..55 => (weighted(&mut rng), 1),
            55..63 => (weighted(&mut rng), 2),
            63..78 if !co.groups.is_empty() => {
                let g = rng.gen_range(0..co.groups.len());
                let m = co.groups[g].1.choose(&mut rng).cloned().unwrap_or_default();
                (co.members.iter().position(|x| *x == m).unwrap_or(0), first_group + g)
            }
            _ => {
                let s = rng.gen_range(0..small_sets.len());
                let origin = *small_sets[s].choose(&mut rng).unwrap_or(&0);
                (origin, first_small + 2 * s + usize::from(r >= 90))
            }
        };
        let mut u = [0u8; 16];
        rng.fill(&mut u);
        let id = format!("indicator--{}", uuid::Builder::from_random_bytes(u).into_uuid());
        let t = tandem_model::Timestamp::from_micros(base + i as i64 * 1000).to_taxii();
        bodies[origin].push(json!({
            "type": "indicator", "spec_version": "2.1", "id": id, "created": t, "modified": t,
            "name": format!("{} report {i}", co.members[origin]),
            "description": "Observed near the checkpoint; vehicle matched the earlier description",
            "pattern": format!("[ipv4-addr:value = '10.{}.{}.{}']", i >> 16 & 255, i >> 8 & 255, i & 255),
            "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z", "object_marking_refs": combos[combo]
        }));
        objects.push(Obj { origin, combo, id, version: tandem_model::Timestamp::parse(&t)?.to_taxii() });
    }

    // The oracle: who may see each (combination, originator), and whom it reaches.
    // Plain HTTP: the benchmark counts and compares bytes on the links, its own client posts.
    let mut builder = SandboxBuilder::new().store_cache_kib(cache_kib).plain_http();
    for m in &co.members {
        builder = builder.node(m);
    }
    for (g, ms) in &co.groups {
        builder = builder.group(g, &ms.iter().map(String::as_str).collect::<Vec<_>>());
    }
    for (a, b) in &co.links {
        builder = builder.link(&co.members[*a], &co.members[*b]);
    }
    let build_start = Instant::now();
    let sb = builder.build().await?;
    println!("{n} nodes started in {:.1} s", build_start.elapsed().as_secs_f64());
    let mut kinds: BTreeMap<String, MarkingKind> = BTreeMap::new();
    for d in defs.iter().chain(tandem_model::tlp::published_definitions().iter()) {
        if let Some(k) = classify_marking(d) {
            kinds.insert(d["id"].as_str().unwrap_or_default().to_string(), k);
        }
    }
    let mut adj = vec![Vec::new(); n];
    for (a, b) in &co.links {
        adj[*a].push(*b);
        adj[*b].push(*a);
    }
    let mut reach_cache: HashMap<(usize, usize), (u128, u128)> = HashMap::new();
    let mut reach = |combo: usize, origin: usize| -> (u128, u128) {
        *reach_cache.entry((combo, origin)).or_insert_with(|| {
            let sample = json!({
                "type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-000000000000",
                "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
                "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix",
                "valid_from": "2025-01-01T00:00:00Z", "object_marking_refs": combos[combo]
            });
            let obj = tandem_model::check_object(&sample).expect("sample object");
            let label = AccessLabel::of(&co.members[origin], &obj);
            // Every member defined the same markings (see below), so the owner does not matter.
            let lookup = |_owner: &str, id: &str| kinds.get(id);
            let may: u128 = (0..n)
                .filter(|m| {
                    let viewer = Viewer { member: co.members[*m].clone(), clearance: Classification::Secret };
                    !matches!(decide(&viewer, &sb.roster, &label, &lookup), Decision::Deny)
                })
                .fold(0, |acc, m| acc | 1 << m);
            let mut reached: u128 = 1 << origin;
            let mut frontier = vec![origin];
            while let Some(x) = frontier.pop() {
                for y in &adj[x] {
                    if reached & (1 << y) == 0 && may & (1 << y) != 0 {
                        reached |= 1 << y;
                        frontier.push(*y);
                    }
                }
            }
            (reached, may)
        })
    };
    let mut expected = vec![0u64; n];
    let (mut deliveries, mut stranded) = (0u64, 0u64);
    let mut per_combo_kind = [0usize; 3];
    for o in &objects {
        let (reached, may) = reach(o.combo, o.origin);
        for (m, e) in expected.iter_mut().enumerate() {
            if reached & (1 << m) != 0 && m != o.origin {
                *e += 1;
                deliveries += 1;
            }
        }
        stranded += u64::from((may & !reached).count_ones());
        per_combo_kind[if o.combo < first_group {
            0
        } else if o.combo < first_small {
            1
        } else {
            2
        }] += 1;
    }
    println!(
        "{count} objects (TLP only {}, group REL TO {}, small REL TO sets {}) over {} originators; \
         {deliveries} node deliveries expected (min {} / max {} per node); {stranded} (member, object) \
         pairs releasable but unreachable through the topology",
        per_combo_kind[0],
        per_combo_kind[1],
        per_combo_kind[2],
        bodies.iter().filter(|b| !b.is_empty()).count(),
        expected.iter().min().unwrap_or(&0),
        expected.iter().max().unwrap_or(&0),
    );

    // Counting proxies in front of every node; every peer entry pointed at them.

    let mut proxies = Vec::with_capacity(n);
    for m in &co.members {
        proxies.push(tandem_testkit::LinkProxy::plain(sb.addr(m)?).await?);
    }
    for (a, b) in &co.links {
        for (from, to) in [(*a, *b), (*b, *a)] {
            sb.set_peer_url(&co.members[from], &co.members[to], &format!("http://{}/taxii2/", proxies[to].addr()))?;
        }
    }

    // The REL TO marking-definitions: a marking counts only for its own member's objects, so
    // every member defines them on its node, and they are everywhere before the clock starts.
    let http = reqwest::Client::new();
    for m in &co.members {
        post(&http, &sb, m, json!({ "objects": defs }).to_string()).await?;
    }
    let error_kinds: std::sync::Mutex<BTreeMap<String, u64>> = Default::default();
    let received = |sb: &Sandbox, m: &str| -> (u64, u64, u64) {
        let st = sb.federation(m).map(|f| f.statuses()).unwrap_or_default();
        for e in st.iter().filter_map(|s| s.last_error.as_deref()) {
            // Grouped without addresses and numbers.
            let kind: String = e.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).take(120).collect();
            *error_kinds.lock().unwrap_or_else(|p| p.into_inner()).entry(kind).or_default() += 1;
        }
        (
            st.iter().map(|s| s.received).sum(),
            st.iter().map(|s| s.rejected).sum(),
            st.iter().filter(|s| s.errors > 0).count() as u64,
        )
    };
    let ndefs = defs.len() as u64;
    let others = co.members.len() as u64 - 1;
    let defs_ok =
        sb.wait_for(Duration::from_secs(120), |s| co.members.iter().all(|m| received(s, m).0 >= ndefs * others)).await;
    anyhow::ensure!(defs_ok, "the members' {ndefs} marking-definitions did not reach every node in 120 s");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline: Vec<u64> = co.members.iter().map(|m| received(&sb, m).0).collect();
    let bytes0: Vec<(u64, u64, u64)> = proxies.iter().map(|p| p.stats().traffic()).collect();

    // Envelopes, interleaved across originators, serialized before the clock starts.
    let mut queues: Vec<Vec<(String, String)>> = bodies
        .iter()
        .enumerate()
        .map(|(i, objs)| {
            objs.chunks(envelope).map(|c| (co.members[i].clone(), json!({ "objects": c }).to_string())).rev().collect()
        })
        .collect();
    drop(bodies);
    let mut envelopes = Vec::new();
    while queues.iter().any(|q| !q.is_empty()) {
        for q in queues.iter_mut() {
            if let Some(e) = q.pop() {
                envelopes.push(e);
            }
        }
    }
    let payload: u64 = envelopes.iter().map(|(_, b)| b.len() as u64).sum();
    let mut lanes: Vec<Vec<(String, String)>> = vec![Vec::new(); clients.max(1)];
    for (i, e) in envelopes.into_iter().enumerate() {
        lanes[i % clients.max(1)].push(e);
    }

    println!("publishing {count} objects ({} of envelopes) with {clients} clients...", support::human_bytes(payload));
    let cpu0 = support::cpu_seconds();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for lane in lanes {
        let http = http.clone();
        let urls: HashMap<String, String> = co.members.iter().map(|m| (m.clone(), objects_url(&sb, m))).collect();
        tasks.push(tokio::spawn(async move {
            for (m, body) in lane {
                post_url(&http, &urls[&m], body).await?;
            }
            anyhow::Ok(())
        }));
    }
    let mut published_at: Option<Duration> = None;
    let mut done_at: Vec<Option<Duration>> = vec![None; n];
    let mut last_report = Instant::now();
    let mut error_samples = 0u64;
    let mut rejected_total;
    loop {
        if published_at.is_none() && tasks.iter().all(|t| t.is_finished()) {
            for t in tasks.drain(..) {
                t.await??;
            }
            published_at = Some(start.elapsed());
            println!("  published in {:.2} s", start.elapsed().as_secs_f64());
        }
        let mut got_total = 0;
        rejected_total = 0;
        for (i, m) in co.members.iter().enumerate() {
            let (got, rejected, erroring) = received(&sb, m);
            let got = got - baseline[i];
            got_total += got;
            rejected_total += rejected;
            error_samples += erroring;
            if done_at[i].is_none() && got >= expected[i] && published_at.is_some() {
                done_at[i] = Some(start.elapsed());
            }
        }
        if done_at.iter().all(Option::is_some) {
            break;
        }
        if start.elapsed() > Duration::from_secs(timeout) {
            let behind: Vec<String> = co
                .members
                .iter()
                .enumerate()
                .filter(|(i, _)| done_at[*i].is_none())
                .map(|(i, m)| format!("{m} {}/{}", received(&sb, m).0 - baseline[i], expected[i]))
                .collect();
            anyhow::bail!(
                "no full propagation after {timeout} s: {got_total}/{deliveries} deliveries; behind: {}",
                behind.join(", ")
            );
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            let done = done_at.iter().filter(|d| d.is_some()).count();
            eprintln!(
                "  {:.0} s: {got_total}/{deliveries} deliveries, {done}/{n} nodes complete, CPU {:.0} s",
                start.elapsed().as_secs_f64(),
                support::cpu_seconds() - cpu0
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = start.elapsed();
    let cpu = support::cpu_seconds() - cpu0;
    let bytes1: Vec<(u64, u64, u64)> = proxies.iter().map(|p| p.stats().traffic()).collect();
    let (mut up, mut down, mut conns) = (0u64, 0u64, 0u64);
    let mut served: Vec<(u64, usize)> = Vec::new();
    for (i, (a, b)) in bytes0.iter().zip(&bytes1).enumerate() {
        up += b.0 - a.0;
        down += b.1 - a.1;
        conns += b.2;
        served.push((b.1 - a.1, i));
    }
    served.sort();
    served.reverse();
    let mut times: Vec<f64> = done_at.iter().map(|d| d.unwrap_or_default().as_secs_f64()).collect();
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).saturating_sub(1).min(times.len() - 1)];
    println!(
        "full propagation: {n} nodes x {count} objects in {:.2} s from the start of publishing \
         (publishing took {:.2} s); node completion median {:.2} s, p90 {:.2} s, last {:.2} s",
        total.as_secs_f64(),
        published_at.unwrap_or_default().as_secs_f64(),
        pct(0.5),
        pct(0.9),
        times[times.len() - 1]
    );
    println!(
        "bytes between nodes: {} ({down} B) responses + {} ({up} B) requests over {conns} connections \
         (opened since the start) = {:.0} B per node delivery, {:.0} B per object per directed link; \
         published payload {}",
        support::human_bytes(down),
        support::human_bytes(up),
        (up + down) as f64 / deliveries.max(1) as f64,
        (up + down) as f64 / (count as f64 * 2.0 * co.links.len() as f64),
        support::human_bytes(payload)
    );
    println!(
        "most bytes served: {}",
        served
            .iter()
            .take(6)
            .map(|(b, i)| format!("{} {}", co.members[*i], support::human_bytes(*b)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "process CPU during propagation {cpu:.1} s ({:.2} cores of {}); rejected versions {rejected_total}; \
         peer entries seen in an error state {error_samples} times (50 ms samples); load average {}",
        cpu / total.as_secs_f64(),
        std::thread::available_parallelism().map(|p| p.get()).unwrap_or(0),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );

    let mut error_list: Vec<(u64, String)> =
        error_kinds.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (*v, k.clone())).collect();
    error_list.sort();
    for (n, k) in error_list.iter().rev().take(4) {
        println!("  peer error seen in {n} samples: {k}");
    }
    if !no_verify {
        let verify_start = Instant::now();
        let (mut lost, mut extra) = (0usize, 0usize);
        for (i, m) in co.members.iter().enumerate() {
            let held: Vec<(String, String)> =
                sb.versions(m)?.into_iter().filter(|(id, _)| id.starts_with("indicator--")).collect();
            let held_set: HashSet<(String, String)> = held.iter().cloned().collect();
            anyhow::ensure!(held_set.len() == held.len(), "duplicates on {m}");
            let (mut want, mut missing) = (0usize, 0usize);
            for o in &objects {
                if reach(o.combo, o.origin).0 & (1 << i) != 0 {
                    want += 1;
                    if !held_set.contains(&(o.id.clone(), o.version.clone())) {
                        missing += 1;
                    }
                }
            }
            lost += missing;
            // Held but not expected: everything held beyond the expected versions it holds.
            extra += held_set.len() - (want - missing);
            if held_set.len() != want {
                eprintln!("  {m}: holds {} indicator versions, expected {want}", held_set.len());
            }
        }
        println!(
            "exact check of every node's holdings ({:.1} s): lost {lost}, extra (leaks) {extra}: {}",
            verify_start.elapsed().as_secs_f64(),
            if lost == 0 && extra == 0 {
                "every node holds exactly what policy and reachability allow"
            } else {
                "MISMATCH"
            }
        );
        anyhow::ensure!(lost == 0 && extra == 0, "holdings differ from the oracle");
    }
    sb.shutdown().await;
    Ok(())
}

fn objects_url(sb: &Sandbox, member: &str) -> String {
    format!("http://{}/api/collections/intel/objects/", sb.addr(member).map(|a| a.to_string()).unwrap_or_default())
}

async fn post(http: &reqwest::Client, sb: &Sandbox, member: &str, body: String) -> anyhow::Result<()> {
    post_url(http, &objects_url(sb, member), body).await
}

/// POSTs one envelope as the node's analyst; every object must be stored.
async fn post_url(http: &reqwest::Client, url: &str, body: String) -> anyhow::Result<()> {
    let resp = http
        .post(url)
        .basic_auth("analyst", Some(PASSWORD))
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(body)
        .send()
        .await?;
    let status = resp.status();
    let v: Value = resp.json().await?;
    anyhow::ensure!(status.is_success() && v["failure_count"].as_u64().unwrap_or(0) == 0, "POST {url}: {status} {v}");
    Ok(())
}
