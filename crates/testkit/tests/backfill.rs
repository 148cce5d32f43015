//! A multi-page backfill through the pipelined puller survives pages dropped mid-transfer and a
//! restart of the pulling node in the middle: every version arrives exactly once (the cursor
//! never runs ahead of what is stored, an interrupted page is fetched again).
//!
//! The restart lands mid-backfill by construction, not by timing: the link lets exactly
//! [`PAGES_BEFORE_RESTART`] pages through whole and cuts every later one, so the pulling node
//! cannot hold more than those pages when it is stopped, however fast or slow the machine.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tandem_store::{Incoming, ObjectStore};
use tandem_sync::signer::NodeSigner;
use tandem_testkit::fixtures::*;
use tandem_testkit::sandbox::{Sandbox, SandboxBuilder};

const N: usize = 1500;
/// Pages of 100 that cross the link before the restart: at most 800 of the 1500 versions.
const PAGES_BEFORE_RESTART: u32 = 8;
/// How long an eventually-true condition may take (generous: the machine may be loaded).
const WAIT: Duration = Duration::from_secs(60);

fn indicators(sb: &Sandbox, member: &str) -> Vec<(String, String)> {
    sb.versions(member).unwrap().into_iter().filter(|(id, _)| id.starts_with("indicator--")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backfill_survives_dropped_pages_and_a_restart() {
    let mut sb = SandboxBuilder::new()
        .node("USA")
        .node("UKR")
        .link("USA", "UKR")
        .page_size_max(100)
        .poll_interval(Duration::from_millis(200))
        .max_backoff(Duration::from_millis(500))
        .build()
        .await
        .unwrap();
    // Pages of 100 versions with their proofs are far above 20 kB: every one is cut halfway.
    let link = sb.link("UKR", "USA").unwrap();
    link.drop_after(20_000);
    let signer = NodeSigner::new("USA", sb.key("USA").unwrap());
    let batch: Vec<Incoming> = (0..N)
        .map(|_| {
            let object = tandem_model::check_object(&green(&fresh_id("indicator"))).unwrap();
            Incoming { provenance: Some(signer.sign_object(&object)), object }
        })
        .collect();
    let store = sb.store("USA").unwrap();
    let collection = Sandbox::collection("USA");
    tokio::task::spawn_blocking(move || store.put(&collection, "USA", batch)).await.unwrap().unwrap();
    sb.federation("UKR").unwrap().pull_now("USA");

    let dropped = |s: &Sandbox| s.link("UKR", "USA").unwrap().stats().dropped_mid_transfer.load(Ordering::Relaxed);
    assert!(sb.wait_for(WAIT, |s| dropped(s) >= 3).await, "pages were dropped");
    assert!(indicators(&sb, "UKR").is_empty(), "nothing from a page cut halfway is stored");

    // A few pages cross whole, every later one is cut again: the backfill stops part-way.
    let dropped_before = dropped(&sb);
    sb.link("UKR", "USA").unwrap().pass_whole(PAGES_BEFORE_RESTART);
    assert!(
        sb.wait_for(WAIT, |s| s.link("UKR", "USA").unwrap().faults().pass_whole == 0
            && dropped(s) > dropped_before
            && !indicators(s, "UKR").is_empty())
            .await,
        "the backfill resumed for the pages let through"
    );
    // Restart the pulling node in the middle of the backfill.
    let before_stop = indicators(&sb, "UKR").len();
    assert!(
        before_stop <= 100 * PAGES_BEFORE_RESTART as usize && before_stop < N,
        "{before_stop} of {N} before the restart"
    );
    sb.stop("UKR").await.unwrap();
    sb.link("UKR", "USA").unwrap().heal();
    sb.start("UKR").await.unwrap();
    assert!(sb.wait_for(WAIT, |s| indicators(s, "UKR").len() >= N).await, "the backfill completed after the restart");
    let got = indicators(&sb, "UKR");
    let mut unique = got.clone();
    unique.dedup();
    assert_eq!(got.len(), unique.len(), "duplicates");
    assert_eq!(got, indicators(&sb, "USA"), "exactly USA's versions");
    sb.shutdown().await;
}
