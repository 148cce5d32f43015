//! The feed-change signal of an assembled node (`tandem_node::Node::feed`): it moves after a
//! local write, after a replicated one, after a delete, and after a write by another process
//! (seen by federation's refresher), and never moves back.

use std::time::Duration;

use tandem_model::Timestamp;
use tandem_store::{Incoming, ObjectStore};
use tandem_testkit::fixtures::*;
use tandem_testkit::sandbox::{Sandbox, SandboxBuilder};
use tokio::sync::watch::Receiver;

const WAIT: Duration = Duration::from_secs(60);

/// Waits until the signal changes to a position after `since`; returns it.
async fn moved(rx: &mut Receiver<Option<Timestamp>>, since: Option<Timestamp>) -> Option<Timestamp> {
    let got = tokio::time::timeout(WAIT, rx.wait_for(|p| *p > since)).await.expect("the feed signal moved in time");
    *got.expect("the node is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_feed_signal_follows_every_kind_of_write() {
    let sb = SandboxBuilder::new().node("USA").node("IRQ").link("USA", "IRQ").build().await.unwrap();
    let mut usa = sb.feed("USA").unwrap();
    let mut irq = sb.feed("IRQ").unwrap();
    let start = *usa.borrow_and_update();
    // Taken before the POST: the replication may reach IRQ before the POST's answer reaches us.
    let irq_start = *irq.borrow_and_update();

    // A local write (TAXII POST) on USA, then its replication to IRQ.
    let a = green(&fresh_id("indicator"));
    sb.post("USA", vec![a.clone()]).await.unwrap();
    let after_post = moved(&mut usa, start).await;
    assert_eq!(after_post, sb.store("USA").unwrap().feed_position().unwrap());
    let replicated = moved(&mut irq, irq_start).await;
    assert!(replicated.is_some());

    // A delete: the tombstone's position.
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(sb.delete("USA", &id).await.unwrap(), 200);
    let after_delete = moved(&mut usa, after_post).await;
    assert_eq!(after_delete, sb.store("USA").unwrap().feed_position().unwrap());

    // Another process writes to USA's store (as `tandem import` does): no hook runs here, the
    // refresher's look at the store moves the signal.
    let object = tandem_model::check_object(&green(&fresh_id("indicator"))).unwrap();
    let store = sb.store("USA").unwrap();
    let collection = Sandbox::collection("USA");
    tokio::task::spawn_blocking(move || store.put(&collection, "USA", vec![Incoming { object, provenance: None }]))
        .await
        .unwrap()
        .unwrap();
    let external = moved(&mut usa, after_delete).await;
    assert_eq!(external, sb.store("USA").unwrap().feed_position().unwrap());
    sb.shutdown().await;
}
