//! Roster changes cost what they release: over real TLS links through byte-counting proxies, a
//! hub IRQ with spokes USA, JOR and SYR (SYR on no configured roster), each signed roster change
//! (SYR joins, SYR joins the group LVNT, SYR suspended then reinstated) makes the peers fetch
//! only the versions whose release to them widened (`GET {root}tandem/sync/widened/`), never the
//! whole feed again: the test counts the versions every puller fetched and the bytes on every
//! link, checks that no puller started a feed over, and checks what each node holds against an
//! oracle written from the rules (who each marking releases to), with JOR, a hostile member,
//! writing data that SYR must never receive.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use serde_json::Value;
use tandem_store::MetaStore;
use tandem_sync::roster_change::{self, Action, SignedChange};
use tandem_sync::status::PeerStatus;
use tandem_testkit::fixtures::*;
use tandem_testkit::sandbox::{Sandbox, SandboxBuilder};

const WAIT: Duration = Duration::from_secs(90);

fn authority() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn change(seq: u64, action: Action) -> SignedChange {
    let key = authority();
    roster_change::sign(roster_change::new_change(&key, seq, "2025-11-13T09:00:00Z", action), &key)
}

async fn submit(sb: &Sandbox, node: &str, c: &SignedChange) {
    let resp = sb
        .http()
        .post(sb.url(node, "/api/tandem/roster/changes/").unwrap())
        .basic_auth("analyst", Some(tandem_testkit::sandbox::PASSWORD))
        .header("Content-Type", "application/json")
        .body(c.to_value().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{}", resp.text().await.unwrap_or_default());
}

/// Every puller's status, by `(node, peer)`.
fn pullers(sb: &Sandbox) -> BTreeMap<(String, String), PeerStatus> {
    let mut out = BTreeMap::new();
    for node in sb.members() {
        for s in sb.federation(&node).unwrap().statuses() {
            out.insert((node.clone(), s.member.clone()), s);
        }
    }
    out
}

/// Bytes each puller received (`(node, peer)`: responses from `peer` to `node`).
fn bytes_down(sb: &Sandbox) -> BTreeMap<(String, String), u64> {
    sb.link_names()
        .into_iter()
        .map(|(f, t)| ((f.clone(), t.clone()), sb.link(&f, &t).unwrap().stats().traffic().1))
        .collect()
}

/// The ids (not marking-definitions) a node holds.
fn ids(sb: &Sandbox, node: &str) -> BTreeSet<String> {
    sb.versions(node).unwrap().into_iter().map(|(i, _)| i).filter(|i| !i.starts_with("marking-definition--")).collect()
}

/// What each category of data was released to, by the rules: the test's oracle.
struct Oracle {
    categories: Vec<(BTreeSet<String>, Vec<&'static str>)>,
}

impl Oracle {
    fn expected(&self, node: &str) -> BTreeSet<String> {
        self.categories.iter().filter(|(_, to)| to.contains(&node)).flat_map(|(ids, _)| ids.iter().cloned()).collect()
    }

    async fn holds(&self, sb: &Sandbox) -> bool {
        self.holds_except(sb, "").await
    }

    /// [`Oracle::holds`] but for `skip` (a suspended member: what its node holds is read as its
    /// own member sees it, which is nothing while suspended).
    async fn holds_except(&self, sb: &Sandbox, skip: &str) -> bool {
        sb.wait_for(WAIT, |s| s.members().iter().filter(|n| *n != skip).all(|n| ids(s, n) == self.expected(n))).await
    }

    fn report(&self, sb: &Sandbox) -> String {
        sb.members()
            .iter()
            .map(|n| {
                let (held, want) = (ids(sb, n), self.expected(n));
                format!(
                    "{n}: missing {:?} unexpected {:?}",
                    want.difference(&held).collect::<Vec<_>>(),
                    held.difference(&want).collect::<Vec<_>>()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn batch(n: usize, markings: &[&str]) -> Vec<Value> {
    (0..n)
        .map(|_| {
            let t = now_ms();
            indicator(&fresh_id("indicator"), &t, &t, markings)
        })
        .collect()
}

fn id_set(objects: &[Value]) -> BTreeSet<String> {
    objects.iter().map(|o| o["id"].as_str().unwrap().to_string()).collect()
}

/// Versions fetched and restarts since `before`, per puller; the bytes received since too.
fn since(
    sb: &Sandbox,
    before: &BTreeMap<(String, String), PeerStatus>,
    bytes_before: &BTreeMap<(String, String), u64>,
) -> BTreeMap<(String, String), (u64, u64, u64, u64)> {
    let (now, bytes) = (pullers(sb), bytes_down(sb));
    now.into_iter()
        .map(|(k, s)| {
            let b = before.get(&k).cloned().unwrap_or_default();
            let db = bytes.get(&k).copied().unwrap_or(0) - bytes_before.get(&k).copied().unwrap_or(0);
            (k, (s.fetched - b.fetched, s.widened - b.widened, s.rereads - b.rereads, db))
        })
        .collect()
}

fn key(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn roster_changes_send_only_what_they_newly_release() {
    let sb = SandboxBuilder::new()
        .authority(authority().verifying_key())
        .node("USA")
        .node("IRQ")
        .node("JOR")
        .joining("SYR")
        .group("LVNT", &["IRQ", "JOR"])
        .link("USA", "IRQ")
        .link("JOR", "IRQ")
        .link("SYR", "IRQ")
        .poll_interval(Duration::from_millis(300))
        .build()
        .await
        .expect("sandbox");
    let syr_public = tandem_sync::provenance::public_key_string(&sb.key("SYR").unwrap().verifying_key());

    // USA: open, for the Levant group, for USA and IRQ only. JOR (hostile to SYR): for JOR and
    // IRQ only, and for JOR and USA (which IRQ, the only path, may not see: it never travels).
    let open = batch(30, &[GREEN]);
    let lvnt = batch(20, &[&rel_id(&["LVNT"])]);
    let usa_irq = batch(10, &[&rel_id(&["USA", "IRQ"])]);
    let jor_irq = batch(8, &[&rel_id(&["JOR", "IRQ"])]);
    let jor_usa = batch(4, &[&rel_id(&["JOR", "USA"])]);
    let mut usa_posts = vec![rel(&["LVNT"]), rel(&["USA", "IRQ"])];
    usa_posts.extend(open.iter().chain(&lvnt).chain(&usa_irq).cloned());
    sb.post("USA", usa_posts).await.unwrap();
    let mut jor_posts = vec![rel(&["JOR", "IRQ"]), rel(&["JOR", "USA"])];
    jor_posts.extend(jor_irq.iter().chain(&jor_usa).cloned());
    sb.post("JOR", jor_posts).await.unwrap();

    let mut oracle = Oracle {
        categories: vec![
            (id_set(&open), vec!["USA", "IRQ", "JOR"]),
            (id_set(&lvnt), vec!["USA", "IRQ", "JOR"]),
            (id_set(&usa_irq), vec!["USA", "IRQ"]),
            (id_set(&jor_irq), vec!["JOR", "IRQ"]),
            (id_set(&jor_usa), vec!["JOR"]),
        ],
    };
    assert!(oracle.holds(&sb).await, "before: {}", oracle.report(&sb));
    settle(&sb).await;

    // 1. SYR joins (in no group): it backfills the open data; nobody else is sent anything.
    let (before, bytes) = (pullers(&sb), bytes_down(&sb));
    let join = Action::Join {
        member: "SYR".into(),
        name: "Syria".into(),
        public_key: syr_public,
        joined: Some("2025-11-13".into()),
        groups: vec![],
    };
    submit(&sb, "USA", &change(1, join)).await;
    oracle.categories[0].1.push("SYR");
    assert!(oracle.holds(&sb).await, "after the join: {}", oracle.report(&sb));
    settle(&sb).await;
    let cost = since(&sb, &before, &bytes);
    println!("join: (fetched, widened, rereads, bytes) per puller {cost:?}");
    for ((node, peer), (fetched, _, rereads, _)) in &cost {
        assert_eq!(*rereads, 0, "{node} <- {peer} started over");
        if node != "SYR" && peer != "SYR" {
            assert_eq!(*fetched, 0, "{node} <- {peer} was sent versions it held");
        }
    }
    // SYR's backfill: the open data (and the public marking-definitions), nothing else.
    let syr_join = cost[&key("SYR", "IRQ")].0;
    assert!((30..=30 + 4).contains(&syr_join), "SYR fetched {syr_join}");

    // 2. SYR joins the Levant group: it receives exactly the Levant data, through IRQ's
    // widened feed; nothing is re-sent to anyone else, nothing is re-read.
    let (before, bytes) = (pullers(&sb), bytes_down(&sb));
    let group =
        Action::Group { group: "LVNT".into(), name: None, members: vec!["IRQ".into(), "JOR".into(), "SYR".into()] };
    submit(&sb, "IRQ", &change(2, group)).await;
    oracle.categories[1].1.push("SYR");
    assert!(oracle.holds(&sb).await, "after the group change: {}", oracle.report(&sb));
    settle(&sb).await;
    let cost = since(&sb, &before, &bytes);
    println!("group change: (fetched, widened, rereads, bytes) per puller {cost:?}");
    let (fetched, widened, _, syr_bytes) = cost[&key("SYR", "IRQ")];
    assert_eq!((fetched, widened), (20, 20), "SYR fetched exactly the Levant versions");
    for ((node, peer), (fetched, _, rereads, bytes)) in &cost {
        assert_eq!(*rereads, 0, "{node} <- {peer} started over");
        if (node.as_str(), peer.as_str()) != ("SYR", "IRQ") && peer != "SYR" {
            assert_eq!(*fetched, 0, "{node} <- {peer} was sent versions it held");
            assert!(*bytes < syr_bytes, "{node} <- {peer}: {bytes} bytes, SYR's catch-up {syr_bytes}");
        }
    }

    // 3. Suspended: served nothing; data posted meanwhile waits. Reinstated: SYR receives it,
    // plus what the reinstatement released again (everything released to it: the one case a
    // change re-sends, and only to the reinstated member); nobody else is sent anything.
    submit(&sb, "IRQ", &change(3, Action::Suspend { member: "SYR".into() })).await;
    assert!(
        sb.wait_for(WAIT, |s| s.members().iter().all(|n| {
            s.federation(n).unwrap().roster_log().roster().member("SYR").map(|m| m.status)
                == Some(tandem_policy::MemberStatus::Suspended)
        }))
        .await
    );
    let during = batch(5, &[GREEN]);
    sb.post("USA", during.clone()).await.unwrap();
    oracle.categories.push((id_set(&during), vec!["USA", "IRQ", "JOR"]));
    assert!(oracle.holds_except(&sb, "SYR").await, "during the suspension: {}", oracle.report(&sb));
    settle(&sb).await;
    let (before, bytes) = (pullers(&sb), bytes_down(&sb));
    submit(&sb, "USA", &change(4, Action::Reinstate { member: "SYR".into() })).await;
    oracle.categories.last_mut().unwrap().1.push("SYR");
    assert!(oracle.holds(&sb).await, "after the reinstatement: {}", oracle.report(&sb));
    settle(&sb).await;
    let cost = since(&sb, &before, &bytes);
    println!("reinstatement: (fetched, widened, rereads, bytes) per puller {cost:?}");
    for ((node, peer), (fetched, _, rereads, _)) in &cost {
        assert_eq!(*rereads, 0, "{node} <- {peer} started over");
        if node != "SYR" && peer != "SYR" {
            assert_eq!(*fetched, 0, "{node} <- {peer} was sent versions it held");
        }
    }
    // The widened feed is everything released to SYR now (open, Levant, meanwhile, the four
    // public marking-definitions): denied to it while suspended, all of it widened. What was
    // posted meanwhile also comes with the ordinary feed (one page of overlap at most).
    let (fetched, widened, _, _) = cost[&key("SYR", "IRQ")];
    assert_eq!(widened, 30 + 20 + 5 + 4, "SYR's widened catch-up");
    assert!(fetched <= widened + 5, "SYR fetched {fetched}");

    // No leak at the end either: JOR's data never reached SYR, USA-and-IRQ data stayed there.
    assert!(oracle.holds(&sb).await, "{}", oracle.report(&sb));

    // The widened feed is for peer accounts only, and a roster the peer cannot rebuild is a
    // 409 ...
    let path = "/api/tandem/sync/widened/?since=4&digest=00";
    assert_eq!(sb.get("IRQ", "analyst", path).await.unwrap().status().as_u16(), 403);
    assert_eq!(sb.get("IRQ", "sync-SYR", path).await.unwrap().status().as_u16(), 409);
    // ... on which the puller reads the whole feed again (a cursor naming such a roster).
    settle(&sb).await;
    let (before, bytes) = (pullers(&sb), bytes_down(&sb));
    let store = sb.store("SYR").unwrap();
    let mut cursor = tandem_sync::puller::load_cursor(store.as_ref(), "IRQ").unwrap();
    let real = cursor.peer_roster.clone().expect("the puller keeps the peer's roster position");
    assert_eq!(real.seq, 4);
    cursor.peer_roster = Some(tandem_sync::roster_log::PeerRoster { seq: 4, digest: "00".into() });
    store.put_meta("sync/cursor/IRQ", Some(&serde_json::to_value(&cursor).unwrap())).unwrap();
    assert!(
        sb.wait_for(WAIT, |s| pullers(s)[&key("SYR", "IRQ")].rereads > before[&key("SYR", "IRQ")].rereads).await,
        "SYR started IRQ's feed over"
    );
    settle(&sb).await;
    let cost = since(&sb, &before, &bytes);
    // Read again from the start: manifest first (SYR holds nearly all it is offered), so what
    // crosses is the manifest, not the versions.
    println!("unknown roster, the feed read again: {cost:?}");
    assert_eq!(cost[&key("SYR", "IRQ")].2, 1, "one re-read: {cost:?}");
    assert_eq!(tandem_sync::puller::load_cursor(store.as_ref(), "IRQ").unwrap().peer_roster, Some(real));
    assert!(oracle.holds(&sb).await, "{}", oracle.report(&sb));
    sb.shutdown().await;
}

/// Waits until every puller has run a pass after the last write (a poll interval and more).
async fn settle(sb: &Sandbox) {
    let passes = |sb: &Sandbox| -> BTreeMap<(String, String), u64> {
        pullers(sb).into_iter().map(|(k, s)| (k, s.passes)).collect()
    };
    let start = passes(sb);
    assert!(
        sb.wait_for(WAIT, |s| passes(s).iter().all(|(k, n)| *n >= start.get(k).copied().unwrap_or(0) + 2)).await,
        "every puller ran two more passes"
    );
}

/// The node-wide cap on pages in flight: with a single permit shared by a hub's three pullers
/// and pages of five versions, every spoke's backlog still crosses the hub (no puller waits on
/// a permit another holds forever), and every page gives its permit back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_page_in_flight_for_a_whole_node_still_converges() {
    let sb = SandboxBuilder::new()
        .node("USA")
        .node("IRQ")
        .node("JOR")
        .node("EGY")
        .link("USA", "IRQ")
        .link("JOR", "IRQ")
        .link("EGY", "IRQ")
        .page_size_max(5)
        .sync_page_size_max(5)
        .poll_interval(Duration::from_millis(300))
        .tune(|n| n.sync_pages_in_flight = 1)
        .build()
        .await
        .expect("sandbox");
    let mut all = BTreeSet::new();
    for node in ["USA", "JOR", "EGY"] {
        let posted = batch(40, &[GREEN]);
        all.extend(id_set(&posted));
        sb.post(node, posted).await.unwrap();
    }
    assert!(sb.wait_for(WAIT, |s| s.members().iter().all(|n| ids(s, n) == all)).await, "every node holds all 120");
    settle(&sb).await;
    for node in sb.members() {
        assert_eq!(sb.federation(&node).unwrap().pages_in_flight_free(), 1, "{node}: the permit is back");
    }
    sb.shutdown().await;
}
