//! Issue 9, item 5, over real HTTP between sandbox nodes: sync mode is for peer accounts only,
//! notifications come from peer accounts only and are rate limited (a flood costs a bounded
//! number of pulls, a legitimate peer writing fast still converges), and peer error details
//! are for auditors and operators.

use std::time::{Duration, Instant};

use serde_json::Value;
use tandem_store::MetaStore;
use tandem_sync::rate::{NOTIFY_BURST, NOTIFY_PER_SEC};
use tandem_testkit::fixtures::*;
use tandem_testkit::sandbox::{PASSWORD, SandboxBuilder};

const WAIT: Duration = Duration::from_secs(60);

fn passes(sb: &tandem_testkit::sandbox::Sandbox, node: &str, peer: &str) -> u64 {
    sb.federation(node).unwrap().statuses().iter().find(|s| s.member == peer).map(|s| s.passes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_mode_only_for_peer_accounts() {
    let mut sb =
        SandboxBuilder::new().node("USA").node("IRQ").page_size_max(5).sync_page_size_max(100).build().await.unwrap();
    let objects: Vec<Value> = (0..12).map(|_| green(&fresh_id("indicator"))).collect();
    sb.post("USA", objects).await.unwrap();
    // A release epoch, as a node has once it signed late: restarted, USA's node serves it.
    sb.store("USA").unwrap().put_meta(tandem_sync::signer::EPOCH_KEY, Some(&Value::String("epoch-1".into()))).unwrap();
    sb.stop("USA").await.unwrap();
    sb.start("USA").await.unwrap();
    let addr = sb.addr("USA").unwrap();
    let scheme = sb.scheme();
    let get = |user: &'static str, endpoint: &'static str| {
        let http = sb.client_for(user).unwrap();
        let url = format!("{scheme}://{addr}/api/collections/intel/{endpoint}/?limit=100");
        async move {
            let r = http
                .get(url)
                .basic_auth(user, Some(PASSWORD))
                .header("Accept", TAXII)
                .header(tandem_taxii::SYNC_HEADER, "1")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    for endpoint in ["objects", "manifest"] {
        // A normal user asking for sync mode gets a normal page: no sync size, no provenance,
        // no epoch.
        let normal = get("analyst", endpoint).await;
        assert_eq!(normal["objects"].as_array().unwrap().len(), 5, "{endpoint}: {normal}");
        assert!(normal.get("tandem_provenance").is_none() && normal.get("tandem_epoch").is_none(), "{normal}");
        // IRQ's node's account (role peer) gets the sync page and the epoch.
        let peer = get("sync-IRQ", endpoint).await;
        assert!(peer["objects"].as_array().unwrap().len() > 5, "{endpoint}: {peer}");
        assert_eq!(peer["tandem_epoch"], "epoch-1", "{endpoint}: {peer}");
    }
    let peer = get("sync-IRQ", "objects").await;
    assert!(peer["tandem_provenance"].as_object().is_some_and(|m| !m.is_empty()), "{peer}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_notification_flood_costs_a_bounded_number_of_pulls() {
    // Polls far apart, so that every pass counted here comes from a notification.
    let poll = Duration::from_secs(600);
    let sb =
        SandboxBuilder::new().node("USA").node("IRQ").link("USA", "IRQ").poll_interval(poll).build().await.unwrap();
    let a = green(&fresh_id("indicator"));
    sb.post("USA", vec![a.clone()]).await.unwrap();
    let (id, version) = (a["id"].as_str().unwrap(), a["modified"].as_str().unwrap());
    assert!(sb.wait_for(WAIT, |sb| sb.holds("IRQ", id, version)).await, "the first write never reached IRQ");

    let http = sb.http().clone();
    let url = sb.url("IRQ", "/api/tandem/notify/").unwrap();
    let peer = sb.client_for("sync-USA").unwrap();
    // A user who is not a peer account may not notify at all.
    let r = http.post(&url).basic_auth("analyst", Some(PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 403);

    let before = passes(&sb, "IRQ", "USA");
    let start = Instant::now();
    let (mut accepted, mut limited) = (0u64, 0u64);
    for _ in 0..2000 {
        let r = peer.post(&url).basic_auth("sync-USA", Some(PASSWORD)).send().await.unwrap();
        match r.status().as_u16() {
            202 => accepted += 1,
            429 => {
                limited += 1;
                assert!(r.headers().get("retry-after").is_some());
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["http_status"], "429", "{body}");
            }
            other => panic!("notify answered {other}"),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    // Let the passes the flood queued finish (one running and one queued at most).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pulls = passes(&sb, "IRQ", "USA") - before;
    // The bucket lets through its burst and then its rate (plus one free notification: the
    // first write was delivered since the account last notified); the puller coalesces further.
    let allowed = (1.0 + NOTIFY_BURST + NOTIFY_PER_SEC * (elapsed + 1.0)).ceil() as u64;
    assert!(accepted <= allowed, "accepted {accepted} of 2000 in {elapsed:.1} s, limit {allowed}");
    assert!(limited >= 2000 - allowed, "limited {limited}");
    assert!(pulls <= accepted + 2, "2000 notifications caused {pulls} pulls ({accepted} accepted)");
    println!("2000 notifications in {elapsed:.1} s: {accepted} accepted, {limited} refused, {pulls} pulls");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_writing_fast_still_converges_under_the_limit() {
    // Polls far apart: convergence must come from notifications, including the ones a 429
    // deferred.
    let sb = SandboxBuilder::new()
        .node("USA")
        .node("IRQ")
        .link("USA", "IRQ")
        .poll_interval(Duration::from_secs(600))
        .build()
        .await
        .unwrap();
    let mut written = Vec::new();
    for _ in 0..60 {
        let o = green(&fresh_id("indicator"));
        sb.post("USA", vec![o.clone()]).await.unwrap();
        written.push((o["id"].as_str().unwrap().to_string(), o["modified"].as_str().unwrap().to_string()));
    }
    let all = |sb: &tandem_testkit::sandbox::Sandbox| written.iter().all(|(id, v)| sb.holds("IRQ", id, v));
    assert!(sb.wait_for(WAIT, all).await, "IRQ did not converge");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn peer_error_details_only_for_auditors() {
    let sb = SandboxBuilder::new().node("USA").node("IRQ").link("USA", "IRQ").build().await.unwrap();
    // USA's link to IRQ fails: its status carries an error.
    sb.set_peer_url("USA", "IRQ", "http://127.0.0.1:9/taxii2/").unwrap();
    let failing = |sb: &tandem_testkit::sandbox::Sandbox| {
        sb.federation("USA").unwrap().statuses().iter().any(|s| s.member == "IRQ" && s.last_error.is_some())
    };
    assert!(sb.wait_for(WAIT, failing).await);
    let peers = |user: &'static str| {
        let url = sb.url("USA", "/api/tandem/peers/").unwrap();
        let http = sb.http().clone();
        async move {
            let r = http.get(url).basic_auth(user, Some(PASSWORD)).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let body: Value = r.json().await.unwrap();
            body["peers"].as_array().unwrap().iter().find(|p| p["member"] == "IRQ").unwrap().clone()
        }
    };
    let analyst = peers("analyst").await;
    assert!(analyst["errors"].as_u64().unwrap() > 0, "{analyst}");
    assert!(analyst["last_error"].as_str().unwrap().starts_with("withheld"), "{analyst}");
    let auditor = peers("auditor").await;
    assert!(auditor["last_error"].as_str().unwrap().contains("127.0.0.1:9"), "{auditor}");
    sb.shutdown().await;
}
