//! Onboarding over real loopback HTTP: a chain USA - IRQ - SYR where SYR is on no node's
//! configured roster. A `join` signed by the coalition's roster authority, submitted on one
//! node, reaches every node; SYR's node then backfills what is released to it; `suspend` makes
//! the others stop serving SYR, `reinstate` restores it, `leave` removes it; forged and
//! out-of-order changes are refused with a 400 that says why, on every node.

use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use serde_json::Value;
use tandem_policy::MemberStatus;
use tandem_store::{MetaStore, Store};
use tandem_sync::roster_change::{self, Action, SignedChange};
use tandem_testkit::fixtures::*;
use tandem_testkit::sandbox::{PASSWORD, Sandbox, SandboxBuilder};

/// How long an eventually-true condition may take (generous: the machine may be loaded).
const WAIT: Duration = Duration::from_secs(60);

fn authority() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn change(key: &SigningKey, seq: u64, action: Action) -> SignedChange {
    roster_change::sign(roster_change::new_change(key, seq, "2025-11-13T09:00:00Z", action), key)
}

fn member(m: &str) -> String {
    m.to_string()
}

/// `POST /api/tandem/roster/changes/` on `node` as its analyst: (status, body).
async fn submit(sb: &Sandbox, node: &str, c: &SignedChange) -> (u16, Value) {
    submit_as(sb, node, "analyst", c).await
}

async fn submit_as(sb: &Sandbox, node: &str, user: &str, c: &SignedChange) -> (u16, Value) {
    let resp = sb
        .client_for(user)
        .unwrap()
        .post(sb.url(node, "/api/tandem/roster/changes/").unwrap())
        .basic_auth(user, Some(PASSWORD))
        .header("Content-Type", "application/json")
        .body(c.to_value().to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The ids `node` serves to `user` over TAXII.
async fn served_to(sb: &Sandbox, node: &str, user: &str) -> Vec<String> {
    let resp = sb
        .client_for(user)
        .unwrap()
        .get(sb.url(node, "/api/collections/intel/objects/?limit=1000").unwrap())
        .basic_auth(user, Some(PASSWORD))
        .header("Accept", TAXII)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{node} as {user}");
    let body: Value = resp.json().await.unwrap();
    let objects = body.get("objects").and_then(Value::as_array).cloned().unwrap_or_default();
    objects.iter().filter_map(|o| o["id"].as_str().map(str::to_string)).collect()
}

fn status_of(sb: &Sandbox, node: &str, code: &str) -> Option<MemberStatus> {
    sb.federation(node).ok()?.roster_log().roster().member(code).map(|m| m.status)
}

async fn everywhere(sb: &Sandbox, code: &str, status: Option<MemberStatus>) -> bool {
    sb.wait_for(WAIT, |s| s.members().iter().all(|n| status_of(s, n, code) == status)).await
}

fn holds_id(sb: &Sandbox, node: &str, id: &str) -> bool {
    sb.versions(node).map(|v| v.iter().any(|(i, _)| i == id)).unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signed_join_onboards_a_member_and_later_changes_follow() {
    let syr_key = SigningKey::from_bytes(&[9; 32]);
    let mut sb = SandboxBuilder::new()
        .authority(authority().verifying_key())
        .node("USA")
        .node("IRQ")
        .joining("SYR")
        .group("LVNT", &["IRQ"])
        .link("USA", "IRQ")
        .link("IRQ", "SYR")
        .build()
        .await
        .expect("sandbox");
    // The sandbox gave SYR's node its own key; the join names that key.
    let syr_public = tandem_sync::provenance::public_key_string(&sb.key("SYR").unwrap().verifying_key());
    assert_ne!(syr_public, tandem_sync::provenance::public_key_string(&syr_key.verifying_key()));

    // Before: intelligence released to the Levant partners, to everyone, and to USA and IRQ only.
    let lvnt = indicator(&fresh_id("indicator"), &now_ms(), "2025-01-01T00:00:00.000Z", &[&rel_id(&["LVNT"])]);
    let open = green(&fresh_id("indicator"));
    let t = now_ms();
    let usa_irq = indicator(&fresh_id("indicator"), &t, &t, &[&rel_id(&["USA", "IRQ"])]);
    let st = sb
        .post("USA", vec![rel(&["LVNT"]), rel(&["USA", "IRQ"]), lvnt.clone(), open.clone(), usa_irq.clone()])
        .await
        .unwrap();
    assert_eq!(st["success_count"], 5, "{st}");
    let (lvnt_id, open_id, usa_irq_id) =
        (lvnt["id"].as_str().unwrap(), open["id"].as_str().unwrap(), usa_irq["id"].as_str().unwrap());
    assert!(sb.wait_for(WAIT, |s| holds_id(s, "IRQ", lvnt_id) && holds_id(s, "IRQ", open_id)).await);
    assert_eq!(status_of(&sb, "SYR", "SYR"), None, "SYR is on no roster yet");
    assert!(sb.store("SYR").unwrap().list_meta("roster/").unwrap().is_empty());

    // Forged (another key claiming to be the authority), another authority, out of order:
    // refused by every node, with the reason (SYR's own analysts are not authenticated on its
    // node until SYR is on its roster: IRQ's account submits there).
    let join = Action::Join {
        member: member("SYR"),
        name: "Syria".into(),
        public_key: syr_public.clone(),
        joined: Some("2025-11-13".into()),
        groups: vec!["LVNT".into()],
    };
    let forger = SigningKey::from_bytes(&[66; 32]);
    let mut forged = change(&forger, 1, join.clone());
    forged.change.authority = tandem_sync::provenance::public_key_string(&authority().verifying_key());
    let rogue = change(&forger, 1, join.clone());
    let early = change(&authority(), 2, join.clone());
    for (node, user) in [("USA", "analyst"), ("IRQ", "analyst"), ("SYR", "sync-IRQ")] {
        assert_eq!(submit(&sb, "SYR", &forged).await.0, 401, "SYR's analyst is not on SYR's roster yet");
        let (status, body) = submit_as(&sb, node, user, &forged).await;
        assert_eq!(status, 400, "{node}: {body}");
        assert!(body["description"].as_str().unwrap().contains("signature does not verify"), "{body}");
        let (status, body) = submit_as(&sb, node, user, &rogue).await;
        assert_eq!(status, 400, "{node}: {body}");
        assert!(body["description"].as_str().unwrap().contains("not this coalition's roster authority"), "{body}");
        let (status, body) = submit_as(&sb, node, user, &early).await;
        assert_eq!(status, 400, "{node}: {body}");
        assert!(body["description"].as_str().unwrap().contains("the next change must be 1"), "{body}");
    }
    for node in ["USA", "IRQ", "SYR"] {
        assert_eq!(status_of(&sb, node, "SYR"), None, "{node}");
        assert_eq!(sb.federation(node).unwrap().roster_log().latest().unwrap(), 0);
    }

    // The join, submitted on USA, crosses the chain.
    let started = Instant::now();
    let (status, body) = submit(&sb, "USA", &change(&authority(), 1, join.clone())).await;
    assert_eq!((status, body["applied"].as_u64()), (200, Some(1)), "{body}");
    assert!(everywhere(&sb, "SYR", Some(MemberStatus::Active)).await, "the join reached every node");
    let crossed = started.elapsed();
    println!("join reached USA - IRQ - SYR in {crossed:?}");
    for node in sb.members() {
        let roster = sb.federation(&node).unwrap().roster_log().roster();
        assert!(roster.names("LVNT", "SYR"), "{node}: SYR joined LVNT");
        assert_eq!(roster.member("SYR").unwrap().public_key.as_deref(), Some(syr_public.as_str()));
    }
    // Replaying it is refused.
    let (status, body) = submit(&sb, "IRQ", &change(&authority(), 1, join.clone())).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["description"].as_str().unwrap().contains("already applied"), "{body}");

    // SYR's node backfills what was released to SYR before it joined, and nothing else.
    assert!(
        sb.wait_for(WAIT, |s| holds_id(s, "SYR", lvnt_id) && holds_id(s, "SYR", open_id)).await,
        "SYR backfilled: {:?}",
        sb.versions("SYR")
    );
    let later = green(&fresh_id("indicator"));
    sb.post("USA", vec![later.clone()]).await.unwrap();
    assert!(sb.wait_for(WAIT, |s| holds_id(s, "SYR", later["id"].as_str().unwrap())).await);
    assert!(!holds_id(&sb, "SYR", usa_irq_id), "REL TO USA, IRQ never reaches SYR");

    // SYR's own posts now verify on IRQ against the key the join named.
    let from_syr = green(&fresh_id("indicator"));
    sb.post("SYR", vec![from_syr.clone()]).await.unwrap();
    assert!(sb.wait_for(WAIT, |s| holds_id(s, "USA", from_syr["id"].as_str().unwrap())).await, "SYR -> IRQ -> USA");

    // Suspended (submitted on IRQ this time): the others stop serving SYR.
    let (status, body) = submit(&sb, "IRQ", &change(&authority(), 2, Action::Suspend { member: member("SYR") })).await;
    assert_eq!((status, body["applied"].as_u64()), (200, Some(2)), "{body}");
    assert!(everywhere(&sb, "SYR", Some(MemberStatus::Suspended)).await);
    assert!(!served_to(&sb, "USA", "analyst").await.is_empty());
    assert_eq!(served_to(&sb, "IRQ", "sync-SYR").await, Vec::<String>::new());
    assert_eq!(served_to(&sb, "USA", "sync-SYR").await, Vec::<String>::new());
    let during = green(&fresh_id("indicator"));
    sb.post("USA", vec![during.clone()]).await.unwrap();
    let during_id = during["id"].as_str().unwrap();
    assert!(sb.wait_for(WAIT, |s| holds_id(s, "IRQ", during_id)).await);

    // Reinstated: served again, including what was posted meanwhile.
    let (status, body) =
        submit(&sb, "SYR", &change(&authority(), 3, Action::Reinstate { member: member("SYR") })).await;
    assert_eq!((status, body["applied"].as_u64()), (200, Some(3)), "{body}");
    assert!(everywhere(&sb, "SYR", Some(MemberStatus::Active)).await);
    assert!(served_to(&sb, "IRQ", "sync-SYR").await.iter().any(|i| i == during_id));
    assert!(sb.wait_for(WAIT, |s| holds_id(s, "SYR", during_id)).await, "SYR caught up after reinstatement");

    // Leaves: removed everywhere, out of LVNT, served nothing.
    let (status, body) = submit(&sb, "USA", &change(&authority(), 4, Action::Leave { member: member("SYR") })).await;
    assert_eq!((status, body["applied"].as_u64()), (200, Some(4)), "{body}");
    assert!(everywhere(&sb, "SYR", Some(MemberStatus::Removed)).await);
    for node in sb.members() {
        assert!(!sb.federation(&node).unwrap().roster_log().roster().names("LVNT", "SYR"), "{node}");
    }
    assert_eq!(served_to(&sb, "IRQ", "sync-SYR").await, Vec::<String>::new());

    // Every node holds the same log, in order, and serves it.
    for node in sb.members() {
        let seqs: Vec<u64> =
            sb.federation(&node).unwrap().roster_log().applied().unwrap().iter().map(|c| c.seq()).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4], "{node}");
    }
    let listed: Value =
        sb.get("SYR", "sync-IRQ", "/api/tandem/roster/changes/?after=2").await.unwrap().json().await.unwrap();
    assert_eq!(listed["latest"], 4);
    let seqs: Vec<u64> =
        listed["changes"].as_array().unwrap().iter().map(|c| c["change"]["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![3, 4]);

    // The log is the node's: a restarted node starts from its config plus the stored changes.
    sb.stop("IRQ").await.unwrap();
    sb.start("IRQ").await.unwrap();
    assert_eq!(status_of(&sb, "IRQ", "SYR"), Some(MemberStatus::Removed));
    assert_eq!(sb.federation("IRQ").unwrap().roster_log().latest().unwrap(), 4);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_an_authority_refuses_every_change() {
    let sb = SandboxBuilder::new().node("USA").node("IRQ").link("USA", "IRQ").build().await.expect("sandbox");
    let join = Action::Join {
        member: member("SYR"),
        name: "Syria".into(),
        public_key: tandem_sync::provenance::public_key_string(&SigningKey::from_bytes(&[9; 32]).verifying_key()),
        joined: None,
        groups: vec![],
    };
    let (status, body) = submit(&sb, "USA", &change(&authority(), 1, join)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["description"].as_str().unwrap().contains("no roster authority configured"), "{body}");
    assert_eq!(status_of(&sb, "USA", "SYR"), None);
    let (status, body) = {
        let resp = sb
            .http()
            .post(sb.url("USA", "/api/tandem/roster/changes/").unwrap())
            .basic_auth("analyst", Some(PASSWORD))
            .body("{not json")
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 400, "{body}");
    sb.shutdown().await;
}

/// A peer that serves whatever changes it is given (a rogue or misconfigured node).
async fn serving(changes: Vec<Value>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}/api/", listener.local_addr().unwrap());
    let body = serde_json::json!({ "changes": changes, "latest": changes.len(), "more": false }).to_string();
    let app = axum::Router::new().route(
        "/api/tandem/roster/changes/",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (root, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_applies_in_order_and_stops_at_the_first_refused_change() {
    let dir = tempfile::tempdir().unwrap();
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(tandem_store::SqliteStore::open(dir.path()).unwrap());
    let bootstrap = tandem_policy::Roster::new(
        [tandem_policy::Member {
            code: "IRQ".into(),
            name: "Iraq".into(),
            joined: None,
            status: MemberStatus::Active,
            public_key: None,
        }],
        [],
    );
    let shared = std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(bootstrap.clone())));
    let log = std::sync::Arc::new(tandem_sync::roster_log::RosterLog::new(
        store.clone(),
        bootstrap.clone(),
        Some(authority().verifying_key()),
        shared.clone(),
    ));
    let forger = SigningKey::from_bytes(&[66; 32]);
    let suspend = |seq| change(&authority(), seq, Action::Suspend { member: member("IRQ") });
    let reinstate = |seq| change(&authority(), seq, Action::Reinstate { member: member("IRQ") });
    let mut forged = change(&forger, 2, Action::Leave { member: member("IRQ") });
    forged.change.authority = tandem_sync::provenance::public_key_string(&authority().verifying_key());
    let (root, task) = serving(vec![suspend(1).to_value(), forged.to_value(), reinstate(2).to_value()]).await;
    let client = tandem_sync::client::PeerClient::new(
        tandem_sync::client::PeerSpec {
            member: "IRQ".into(),
            url: root.clone(),
            username: None,
            password: None,
            token: None,
        },
        tandem_sync::client::Timeouts::default(),
    )
    .unwrap();
    let pulled = tandem_sync::roster_log::pull(&log, &client, &root).await.unwrap();
    assert_eq!(pulled.applied, 1);
    assert_eq!(
        pulled.refused.as_deref(),
        Some("roster change 2: the signature does not verify against the roster authority's key")
    );
    assert_eq!(log.latest().unwrap(), 1);
    assert_eq!(shared.read().unwrap().member("IRQ").unwrap().status, MemberStatus::Suspended);
    task.abort();

    // A different change with a number already applied: refused, the applied one stays.
    let (root, task) = serving(vec![reinstate(1).to_value()]).await;
    let pulled = tandem_sync::roster_log::pull(&log, &client, &root).await.unwrap();
    assert_eq!(pulled.applied, 0);
    assert_eq!(
        pulled.refused.as_deref(),
        Some(
            "roster change 1: a different change 1 is already applied: the authority signed two changes with one number"
        )
    );
    assert_eq!(shared.read().unwrap().member("IRQ").unwrap().status, MemberStatus::Suspended);
    task.abort();

    // From a peer of another coalition: refused, nothing applied.
    let (root, task) = serving(vec![change(&forger, 2, Action::Leave { member: member("IRQ") }).to_value()]).await;
    let pulled = tandem_sync::roster_log::pull(&log, &client, &root).await.unwrap();
    assert_eq!(pulled.applied, 0);
    assert!(pulled.refused.unwrap().contains("not this coalition's roster authority"));
    task.abort();

    // A peer a change ahead serves 1 and 2: 1 is already here, 2 applies.
    let (root, task) = serving(vec![suspend(1).to_value(), reinstate(2).to_value()]).await;
    let pulled = tandem_sync::roster_log::pull(&log, &client, &root).await.unwrap();
    assert_eq!(pulled, tandem_sync::roster_log::Pulled { applied: 1, refused: None, peer_roster: None });
    assert_eq!(log.latest().unwrap(), 2);
    assert!(shared.read().unwrap().is_active("IRQ"));

    // Another process (`tandem roster submit`) stores change 3: the next pull pass takes it in.
    let other_process = tandem_sync::roster_log::RosterLog::new(
        store,
        bootstrap,
        Some(authority().verifying_key()),
        std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(tandem_policy::Roster::default()))),
    );
    other_process.submit(&suspend(3)).unwrap();
    assert!(shared.read().unwrap().is_active("IRQ"), "not seen before the next pass");
    let pulled = tandem_sync::roster_log::pull(&log, &client, &root).await.unwrap();
    assert_eq!(pulled, tandem_sync::roster_log::Pulled { applied: 0, refused: None, peer_roster: None });
    assert_eq!(shared.read().unwrap().member("IRQ").unwrap().status, MemberStatus::Suspended);
    task.abort();
}
