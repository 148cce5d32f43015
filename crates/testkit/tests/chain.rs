//! A three-node chain USA - IRQ - SYR over real loopback HTTP: releasability at every hop,
//! redaction that still verifies, deletions, revocations, forgeries, restarts and partitions.

use std::time::Duration;

use serde_json::json;
use tandem_store::{Incoming, MetaStore, ObjectStore};
use tandem_sync::provenance::{self, Provenance};
use tandem_testkit::fixtures::*;
use tandem_testkit::sandbox::{Sandbox, SandboxBuilder};

/// How long an eventually-true condition may take (generous: the machine may be loaded).
const WAIT: Duration = Duration::from_secs(60);

async fn chain() -> Sandbox {
    let sb = SandboxBuilder::new()
        .node("USA")
        .node("IRQ")
        .node("SYR")
        .link("USA", "IRQ")
        .link("IRQ", "SYR")
        .build()
        .await
        .expect("sandbox");
    sb.post("USA", vec![rel(&["IRQ"]), rel(&["USA", "IRQ"])]).await.unwrap();
    sb
}

fn version_of(v: &serde_json::Value) -> String {
    tandem_model::Timestamp::parse(v["modified"].as_str().unwrap()).unwrap().to_taxii()
}

/// The id and version (as the store reports it) of a posted object.
fn id_version(v: &serde_json::Value) -> (String, String) {
    (v["id"].as_str().unwrap().to_string(), version_of(v))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn releasability_and_redaction_across_two_hops() {
    let sb = chain().await;
    let open = green(&fresh_id("indicator"));
    let t = now_ms();
    let rel_irq = indicator(&fresh_id("indicator"), &t, &t, &[&rel_id(&["IRQ"])]);
    let mut granular = green(&fresh_id("indicator"));
    granular["granular_markings"] = json!([{"selectors": ["description"], "marking_ref": rel_id(&["USA", "IRQ"])}]);
    let status = sb.post("USA", vec![open.clone(), rel_irq.clone(), granular.clone()]).await.unwrap();
    assert_eq!(status["success_count"], 3, "{status}");

    let (oid, ov) = (open["id"].as_str().unwrap(), version_of(&open));
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", oid, &ov)).await, "GREEN reached SYR");
    let (rid, rv) = (rel_irq["id"].as_str().unwrap(), version_of(&rel_irq));
    assert!(sb.wait_for(WAIT, |s| s.holds("IRQ", rid, &rv)).await, "REL IRQ reached IRQ");
    let (gid, gv) = (granular["id"].as_str().unwrap(), version_of(&granular));
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", gid, &gv)).await, "granular reached SYR");
    // A later object reached SYR, so SYR has pulled past the REL TO IRQ one: it never arrives.
    assert!(!sb.holds("SYR", rid, &rv));
    let syr_store = sb.store("SYR").unwrap();
    let raw = syr_store
        .list(
            &tandem_store::ViewContext {
                viewer: tandem_policy::Viewer {
                    member: "USA".into(),
                    clearance: tandem_policy::Classification::Secret,
                },
                roster: std::sync::Arc::new(sb.roster.clone()),
            },
            &Sandbox::collection("SYR"),
            &tandem_store::ObjectQuery { ids: vec![rid.to_string()], limit: 10, ..Default::default() },
        )
        .unwrap();
    assert!(raw.items.is_empty(), "SYR's store holds nothing of the REL TO IRQ object");

    // SYR holds the redacted copy, which verifies against USA's key.
    let rec = sb.holdings("SYR").unwrap().into_iter().find(|r| r.id == gid).unwrap();
    assert!(rec.object.get("description").is_none(), "{}", rec.object);
    assert_eq!(rec.originator, "USA");
    let proof = Provenance::from_value(rec.provenance.as_ref().unwrap()).unwrap();
    assert!(!proof.removed.is_empty());
    proof.verify(rec.object.as_object().unwrap(), &sb.key("USA").unwrap().verifying_key()).unwrap();
    // IRQ holds it whole.
    let whole = sb.holdings("IRQ").unwrap().into_iter().find(|r| r.id == gid).unwrap();
    assert_eq!(whole.object["description"], granular["description"]);
    // Peer status over HTTP, for the node's own member.
    let st: serde_json::Value = sb.get("IRQ", "analyst", "/api/tandem/peers/").await.unwrap().json().await.unwrap();
    assert_eq!(st["peers"].as_array().unwrap().len(), 2, "{st}");
    let other = sb.get("IRQ", "sync-USA", "/api/tandem/peers/").await.unwrap();
    assert_eq!(other.status(), 403);
    drop(syr_store);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletions_and_revocations_propagate_and_stay() {
    let sb = chain().await;
    let id = fresh_id("indicator");
    let created = now_ms();
    let v1 = indicator(&id, &created, &created, &[GREEN]);
    let gone = green(&fresh_id("indicator"));
    sb.post("USA", vec![v1.clone(), gone.clone()]).await.unwrap();
    let gid = gone["id"].as_str().unwrap().to_string();
    let gv = version_of(&gone);
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", &gid, &gv)).await);
    let mut v2 = indicator(&id, &now_ms(), &created, &[GREEN]);
    v2["revoked"] = json!(true);
    sb.post("USA", vec![v2.clone()]).await.unwrap();
    assert_eq!(sb.delete("USA", &gid).await.unwrap(), 200);
    let v2v = version_of(&v2);
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", &id, &v2v)).await, "revocation reached SYR");
    assert!(
        sb.wait_for(WAIT, |s| !s.holds("SYR", &gid, &gv) && !s.holds("IRQ", &gid, &gv)).await,
        "deletion reached SYR"
    );
    // Re-sync from scratch: SYR forgets its cursor, IRQ offers everything again.
    let syr = sb.store("SYR").unwrap();
    syr.put_meta("sync/cursor/IRQ", None).unwrap();
    sb.federation("SYR").unwrap().pull_now("IRQ");
    let marker = green(&fresh_id("indicator"));
    sb.post("USA", vec![marker.clone()]).await.unwrap();
    let (mid, mv) = id_version(&marker);
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", &mid, &mv)).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!sb.holds("SYR", &gid, &gv), "a deleted version came back");
    let latest = sb.holdings("SYR").unwrap().into_iter().filter(|r| r.id == id).max_by_key(|r| r.version).unwrap();
    assert_eq!(latest.object["revoked"], true);
    // Even offered directly, the deleted version is refused.
    let obj = tandem_model::check_object(&gone).unwrap();
    let out = syr.put(&Sandbox::collection("SYR"), "USA", vec![Incoming::new(obj)]).unwrap();
    assert!(matches!(out[0], tandem_store::PutOutcome::Rejected { .. }));
    drop(syr);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forgeries_and_foreign_versions_are_refused() {
    let sb = chain().await;
    let id = fresh_id("indicator");
    let created = now_ms();
    let v1 = indicator(&id, &created, &created, &[GREEN]);
    sb.post("USA", vec![v1.clone()]).await.unwrap();
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", &id, &version_of(&v1))).await);

    // What a compromised IRQ node could serve, injected straight into its store.
    let irq = sb.store("IRQ").unwrap();
    let coll = Sandbox::collection("IRQ");
    let usa_key = sb.key("USA").unwrap();
    let irq_key = sb.key("IRQ").unwrap();
    // 1. Content changed after USA signed it.
    let honest = green(&fresh_id("indicator"));
    let proof = provenance::sign(honest.as_object().unwrap(), "USA", &usa_key);
    let mut tampered = honest.clone();
    tampered["name"] = json!("Tampered");
    // 2. Claims USA but signed with IRQ's key.
    let claimed = green(&fresh_id("indicator"));
    let bad_sig = provenance::sign(claimed.as_object().unwrap(), "USA", &irq_key);
    // 3. Validly signed by USA but dated an hour ahead.
    let t = tandem_model::Timestamp::from_micros(tandem_model::Timestamp::now().as_micros() + 3_600_000_000).to_taxii();
    let future = indicator(&fresh_id("indicator"), &t, &t, &[GREEN]);
    let future_proof = provenance::sign(future.as_object().unwrap(), "USA", &usa_key);
    // 4. A new version of USA's object, signed (validly) by IRQ: it is IRQ's own claim on the id,
    // kept apart from USA's, never a version of USA's object.
    let v2 = indicator(&id, &now_ms(), &created, &[GREEN]);
    let foreign = provenance::sign(v2.as_object().unwrap(), "IRQ", &irq_key);
    for (obj, p) in [(&tampered, &proof), (&claimed, &bad_sig), (&future, &future_proof), (&v2, &foreign)] {
        let o = tandem_model::check_object(obj).unwrap();
        let out = irq.put(&coll, "USA", vec![Incoming { object: o, provenance: Some(p.to_value()) }]).unwrap();
        assert!(matches!(out[0], tandem_store::PutOutcome::Added { .. }), "{out:?}");
    }
    // An honest object from IRQ after them, so SYR's next pass covers all of them.
    let marker = green(&fresh_id("indicator"));
    sb.post("IRQ", vec![marker.clone()]).await.unwrap();
    let (mid, mv) = id_version(&marker);
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", &mid, &mv)).await);
    for obj in [&tampered, &claimed, &future] {
        assert!(!sb.holds("SYR", obj["id"].as_str().unwrap(), &version_of(obj)), "SYR accepted {obj}");
    }
    let originators_of_v2 = |s: &Sandbox| -> Vec<String> {
        let records = s.holdings("SYR").expect("SYR's holdings");
        records
            .into_iter()
            .filter(|r| r.id == id && r.version.to_taxii() == version_of(&v2))
            .map(|r| r.originator)
            .collect()
    };
    assert!(sb.wait_for(WAIT, |s| originators_of_v2(s) == ["IRQ"]).await, "{:?}", originators_of_v2(&sb));
    let rejected = |s: &Sandbox| {
        s.federation("SYR").unwrap().statuses().into_iter().find(|st| st.member == "IRQ").map_or(0, |st| st.rejected)
    };
    assert!(sb.wait_for(WAIT, |s| rejected(s) >= 3).await, "rejections counted: {}", rejected(&sb));
    // 5. A deletion of USA's object that USA never signed.
    let forged = tandem_store::Tombstone {
        id: id.clone(),
        version: Some(tandem_model::Timestamp::parse(&created).unwrap()),
        originator: "USA".into(),
        object_markings: vec![GREEN.into()],
        added: tandem_model::Timestamp::from_micros(0),
        proof: None,
    };
    assert_eq!(irq.apply_tombstones(&coll, vec![forged]).unwrap().len(), 1);
    let marker = green(&fresh_id("indicator"));
    sb.post("IRQ", vec![marker.clone()]).await.unwrap();
    let (mid, mv) = id_version(&marker);
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", &mid, &mv) && rejected(s) >= 4).await, "{}", rejected(&sb));
    assert!(sb.holds("SYR", &id, &version_of(&v1)), "an unsigned deletion was applied");
    drop(irq);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn converges_after_restart_and_partition() {
    let mut sb = chain().await;
    // Restart: SYR down while USA posts, IRQ down while USA posts more.
    sb.stop("SYR").await.unwrap();
    let a = green(&fresh_id("indicator"));
    sb.post("USA", vec![a.clone()]).await.unwrap();
    let (aid, av) = id_version(&a);
    assert!(sb.wait_for(WAIT, |s| s.holds("IRQ", &aid, &av)).await);
    sb.stop("IRQ").await.unwrap();
    let b = green(&fresh_id("indicator"));
    sb.post("USA", vec![b.clone()]).await.unwrap();
    sb.start("SYR").await.unwrap();
    sb.start("IRQ").await.unwrap();
    let (bid, bv) = id_version(&b);
    assert!(
        sb.wait_for(WAIT, |s| s.holds("SYR", &aid, &av) && s.holds("SYR", &bid, &bv)).await,
        "SYR converged after restarts"
    );

    // Partition: the link between SYR and IRQ is cut at its proxy (connections reset).
    for p in sb.links_between("SYR", "IRQ").unwrap() {
        p.cut();
    }
    let c = green(&fresh_id("indicator"));
    sb.post("USA", vec![c.clone()]).await.unwrap();
    let (cid, cv) = id_version(&c);
    assert!(sb.wait_for(WAIT, |s| s.holds("IRQ", &cid, &cv)).await);
    // IRQ's notification cannot cross the cut link either: make SYR try (as its poll would).
    assert!(sb.federation("SYR").unwrap().pull_now("IRQ"));
    assert!(
        sb.wait_for(WAIT, |s| {
            s.federation("SYR").map(|f| f.statuses().iter().any(|st| st.errors > 0)).unwrap_or(false)
        })
        .await
    );
    assert!(!sb.holds("SYR", &cid, &cv));
    for p in sb.links_between("SYR", "IRQ").unwrap() {
        p.heal();
    }
    assert!(sb.federation("SYR").unwrap().pull_now("IRQ"));
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", &cid, &cv)).await, "healed");
    // Nothing is held twice anywhere.
    for m in sb.members() {
        let v = sb.versions(&m).unwrap();
        let mut d = v.clone();
        d.dedup();
        assert_eq!(v, d, "duplicates on {m}");
    }
    sb.shutdown().await;
}

/// A peer that answers garbage and hangs never blocks another peer, and its garbage is refused.
/// "Never blocks" is shown by order, not by a clock: the object reaches SYR while SYR's request
/// to the hanging peer is still open (it hangs forever, so no request to it ever ends).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_garbage_or_hanging_peer_blocks_nothing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use axum::routing::get;

    /// Counts, when dropped, a request to the hanging feed that ended (answered or cancelled).
    struct Ended(Arc<AtomicU64>);
    impl Drop for Ended {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (hanging, ended) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (h, e) = (Arc::clone(&hanging), Arc::clone(&ended));
    let sb = SandboxBuilder::new()
        .node("USA")
        .node("IRQ")
        .node("SYR")
        .link("USA", "IRQ")
        .link("IRQ", "SYR")
        .link("USA", "SYR")
        .build()
        .await
        .unwrap();
    // The fake IRQ: a valid discovery, objects that are not STIX, a tombstone feed that hangs.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let root = format!("http://{addr}/api/");
    let app = axum::Router::new()
        .route("/taxii2/", get(move || async move { axum::Json(json!({"title": "fake", "default": root})) }))
        .route(
            "/api/collections/intel/objects/",
            get(|| async {
                axum::Json(json!({"more": false, "objects": [{"type": "indicator", "id": "indicator--x"}, 42, "junk"]}))
            }),
        )
        .route(
            "/api/collections/intel/tombstones/",
            get(move || {
                let (h, e) = (Arc::clone(&h), Arc::clone(&e));
                async move {
                    let _ended = Ended(e);
                    h.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>().await;
                    "never"
                }
            }),
        );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    sb.set_peer_url("SYR", "IRQ", &format!("http://{addr}/taxii2/")).unwrap();
    assert!(sb.wait_for(WAIT, |_| hanging.load(Ordering::SeqCst) >= 1).await, "SYR never asked the hanging peer");
    let a = green(&fresh_id("indicator"));
    sb.post("USA", vec![a.clone()]).await.unwrap();
    let (aid, av) = id_version(&a);
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", &aid, &av)).await);
    assert_eq!(ended.load(Ordering::SeqCst), 0, "the object waited for a request to the hanging peer to end");
    let irq_status =
        |s: &Sandbox| s.federation("SYR").unwrap().statuses().into_iter().find(|st| st.member == "IRQ").unwrap();
    assert!(sb.wait_for(WAIT, |s| irq_status(s).rejected >= 3).await, "{:?}", irq_status(&sb));
    let held = sb.versions("SYR").unwrap();
    assert!(!held.iter().any(|(id, _)| id == "indicator--x"));
    server.abort();
    sb.shutdown().await;
}

/// A member that joins a group later receives what was already released to the group (the
/// roster change restarts the pullers' cursors; re-reading stores nothing twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_roster_change_releases_old_objects() {
    let mut sb = SandboxBuilder::new()
        .node("USA")
        .node("IRQ")
        .node("SYR")
        .group("LVNT", &["IRQ"])
        .link("USA", "IRQ")
        .link("IRQ", "SYR")
        .build()
        .await
        .unwrap();
    sb.post("USA", vec![rel(&["LVNT"])]).await.unwrap();
    let t = now_ms();
    let lvnt = indicator(&fresh_id("indicator"), &t, &t, &[&rel_id(&["LVNT"])]);
    let marker = green(&fresh_id("indicator"));
    sb.post("USA", vec![lvnt.clone(), marker.clone()]).await.unwrap();
    let (lid, lv) = id_version(&lvnt);
    let (mid, mv) = id_version(&marker);
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", &mid, &mv) && s.holds("IRQ", &lid, &lv)).await);
    assert!(!sb.holds("SYR", &lid, &lv));
    // SYR joins the Levant group; every node restarts with the new roster.
    let mut group = sb.roster.group("LVNT").unwrap().clone();
    group.members.insert("SYR".into());
    sb.roster.upsert_group(group);
    for m in ["USA", "IRQ", "SYR"] {
        sb.stop(m).await.unwrap();
        sb.start(m).await.unwrap();
    }
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", &lid, &lv)).await, "the old LVNT object reached SYR");
    let v = sb.versions("SYR").unwrap();
    let mut d = v.clone();
    d.dedup();
    assert_eq!(v, d);
    sb.shutdown().await;
}

/// `tandem peer add|remove` act on a running node: the stored peer list is re-read.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn peers_added_and_removed_at_run_time() {
    let sb = SandboxBuilder::new().node("USA").node("IRQ").build().await.unwrap();
    for (me, peer) in [("USA", "IRQ"), ("IRQ", "USA")] {
        let spec = tandem_sync::client::PeerSpec {
            member: peer.into(),
            url: sb.peer_url(peer).unwrap(),
            username: Some(format!("sync-{me}")),
            password: Some(tandem_testkit::sandbox::PASSWORD.into()),
            token: None,
        };
        tandem_sync::peers::add(sb.store(me).unwrap().as_ref(), &spec).unwrap();
    }
    let a = green(&fresh_id("indicator"));
    sb.post("USA", vec![a.clone()]).await.unwrap();
    let (aid, av) = id_version(&a);
    assert!(sb.wait_for(WAIT, |s| s.holds("IRQ", &aid, &av)).await, "the added peer replicates");
    assert!(tandem_sync::peers::remove(sb.store("IRQ").unwrap().as_ref(), "USA").unwrap());
    assert!(sb.wait_for(WAIT, |s| s.federation("IRQ").unwrap().statuses().is_empty()).await, "the removed peer stops");
    sb.shutdown().await;
}

/// USA - IRQ - SYR - JOR: SYR gets a copy without one property, JOR a copy without two; each
/// copy verifies against USA's key with the proof reduced at each hop.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redacted_twice_over_three_hops() {
    let sb = SandboxBuilder::new()
        .node("USA")
        .node("IRQ")
        .node("SYR")
        .node("JOR")
        .link("USA", "IRQ")
        .link("IRQ", "SYR")
        .link("SYR", "JOR")
        .build()
        .await
        .unwrap();
    sb.post("USA", vec![rel(&["USA", "IRQ"]), rel(&["USA", "IRQ", "SYR"])]).await.unwrap();
    let mut obj = green(&fresh_id("indicator"));
    obj["labels"] = json!(["vbied", "checkpoint"]);
    obj["granular_markings"] = json!([
        {"selectors": ["description"], "marking_ref": rel_id(&["USA", "IRQ"])},
        {"selectors": ["labels"], "marking_ref": rel_id(&["USA", "IRQ", "SYR"])}
    ]);
    sb.post("USA", vec![obj.clone()]).await.unwrap();
    let (id, v) = id_version(&obj);
    assert!(sb.wait_for(WAIT, |s| s.holds("JOR", &id, &v)).await, "reached JOR");
    let usa = sb.key("USA").unwrap().verifying_key();
    for (member, has_labels) in [("SYR", true), ("JOR", false)] {
        let rec = sb.holdings(member).unwrap().into_iter().find(|r| r.id == id).unwrap();
        assert!(rec.object.get("description").is_none(), "{member}: {}", rec.object);
        assert_eq!(rec.object.get("labels").is_some(), has_labels, "{member}: {}", rec.object);
        let proof = Provenance::from_value(rec.provenance.as_ref().unwrap()).unwrap();
        proof.verify(rec.object.as_object().unwrap(), &usa).unwrap();
    }
    sb.shutdown().await;
}

/// A version USA's member stored without a current proof (before the node signed, or in an
/// older format) is refused by IRQ at first; when USA's node starts again it signs the version,
/// moves its release epoch on, and IRQ reads the feed again and stores it — exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn versions_stored_unsigned_replicate_once_signed() {
    let mut sb = chain().await;
    let unsigned = green(&fresh_id("indicator"));
    let object = tandem_model::check_object(&unsigned).unwrap();
    let usa = sb.store("USA").unwrap();
    let out = usa.put(&Sandbox::collection("USA"), "USA", vec![Incoming::new(object)]).unwrap();
    assert!(matches!(out[0], tandem_store::PutOutcome::Added { .. }), "{out:?}");
    // A later, signed version proves IRQ has pulled past the unsigned one.
    let marker = green(&fresh_id("indicator"));
    sb.post("USA", vec![marker.clone()]).await.unwrap();
    let (mid, mv) = id_version(&marker);
    assert!(sb.wait_for(WAIT, |s| s.holds("IRQ", &mid, &mv)).await);
    let (uid, uv) = id_version(&unsigned);
    assert!(!sb.holds("IRQ", &uid, &uv), "an unsigned version must not replicate");

    sb.stop("USA").await.unwrap();
    sb.start("USA").await.unwrap();
    assert!(
        sb.wait_for(WAIT, |s| s.holds("IRQ", &uid, &uv) && s.holds("SYR", &uid, &uv)).await,
        "signed late, then replicated"
    );
    let irq = sb.versions("IRQ").unwrap();
    let mut dedup = irq.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(irq.len(), dedup.len(), "re-reading the feed stored nothing twice");
    sb.shutdown().await;
}

/// A version posted before the marking-definition it uses is withheld from peers (an unknown
/// marking denies); when the definition arrives later, the originator's node moves its release
/// epoch and IRQ reads the feed again, so the version reaches the member it is released to —
/// and still not SYR.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_marking_that_arrives_late_releases_what_it_marks() {
    let sb = chain().await;
    let late = rel(&["IRQ", "JOR"]);
    let late_id = late["id"].as_str().unwrap().to_string();
    let t = now_ms();
    let early = indicator(&fresh_id("indicator"), &t, &t, &[&late_id]);
    sb.post("USA", vec![early.clone()]).await.unwrap();
    let marker = green(&fresh_id("indicator"));
    sb.post("USA", vec![marker.clone()]).await.unwrap();
    let (mid, mv) = id_version(&marker);
    assert!(sb.wait_for(WAIT, |s| s.holds("IRQ", &mid, &mv)).await);
    let (eid, ev) = id_version(&early);
    assert!(!sb.holds("IRQ", &eid, &ev), "withheld while its marking is unknown");

    sb.post("USA", vec![late]).await.unwrap();
    assert!(sb.wait_for(WAIT, |s| s.holds("IRQ", &eid, &ev)).await, "released once its marking arrived");
    let marker2 = green(&fresh_id("indicator"));
    sb.post("USA", vec![marker2.clone()]).await.unwrap();
    let (m2, m2v) = id_version(&marker2);
    assert!(sb.wait_for(WAIT, |s| s.holds("SYR", &m2, &m2v)).await);
    assert!(!sb.holds("SYR", &eid, &ev), "never to a member outside REL TO");
    sb.shutdown().await;
}

/// Manifest first: a page lists every version the peer would serve, but only the versions this
/// node does not hold (or has not deleted) are fetched; the cursor fields are the manifest's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn manifest_first_fetches_only_what_is_missing() {
    use tandem_sync::client::{PeerClient, PeerSpec, Timeouts};
    use tandem_sync::fetch::{Fetcher, Held, Mode};
    let sb = chain().await;
    let objects: Vec<serde_json::Value> = (0..3).map(|_| green(&fresh_id("indicator"))).collect();
    sb.post("USA", objects.clone()).await.unwrap();
    let ids: Vec<String> = objects.iter().map(|o| o["id"].as_str().unwrap().to_string()).collect();

    // A local store of its own, reading USA as SYR's node does.
    let dir = tempfile::tempdir().unwrap();
    let local = std::sync::Arc::new(tandem_store::SqliteStore::open(dir.path()).unwrap());
    let spec = PeerSpec {
        member: "USA".into(),
        url: sb.peer_url("USA").unwrap(),
        username: Some("sync-SYR".into()),
        password: Some(tandem_testkit::sandbox::PASSWORD.into()),
        token: None,
    };
    let client = PeerClient::with_tls(spec, Timeouts::default(), &sb.peer_tls("SYR").unwrap()).unwrap();
    let root = client.api_root().await.unwrap();
    let fetcher = Fetcher { client, root, store: local.clone(), collection: "intel".into() };
    let (whole, none) = fetcher.page(Mode::Whole, None, None, 1000).await.unwrap();
    assert_eq!(none, Held::default(), "a whole page says nothing about what is held");
    for id in &ids {
        assert!(whole.objects.iter().any(|o| o["id"] == id.as_str()), "{id} served whole");
    }
    // The local store holds one of the three.
    let held_one = objects[1].clone();
    local.put("intel", "USA", vec![Incoming::new(tandem_model::check_object(&held_one).unwrap())]).unwrap();

    let (lean, held) = fetcher.page(Mode::ManifestFirst, None, None, 1000).await.unwrap();
    assert_eq!(lean.resume_after, whole.resume_after, "the manifest moves the cursor as far");
    assert_eq!(lean.more, whole.more);
    assert_eq!(held, Held { offered: whole.objects.len() as u64, held: 1 });
    assert_eq!(lean.objects.len(), whole.objects.len() - 1);
    assert!(lean.objects.iter().all(|o| o["id"] != held_one["id"]), "fetched what was held");
    for o in &lean.objects {
        assert!(lean.proofs.contains_key(&tandem_taxii::proof_key(o)), "a fetched version comes with its proof");
    }
    sb.shutdown().await;
}
