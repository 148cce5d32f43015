//! The feed signal: write hooks that publish the store's feed position after every write and
//! delete this process makes (local and replicated alike), so live streams wake at once.

use std::sync::Arc;

use tandem_model::Timestamp;
use tandem_store::{PutOutcome, Store};
use tandem_taxii::WriteHooks;
use tokio::sync::watch;

/// Publishes the feed position, then rings `inner`.
pub struct FeedHooks {
    pub store: Arc<dyn Store>,
    pub tx: watch::Sender<Option<Timestamp>>,
    pub inner: Arc<dyn WriteHooks>,
}

impl FeedHooks {
    /// Hooks over `store` chained before `inner`, with the receiving end of their signal
    /// (seeded with the store's position now).
    pub fn new(store: Arc<dyn Store>, inner: Arc<dyn WriteHooks>) -> (FeedHooks, crate::FeedSignal) {
        let start = store.feed_position().unwrap_or(None);
        let (tx, rx) = watch::channel(start);
        (FeedHooks { store, tx, inner }, rx)
    }

    /// Moves the signal forward to `at` (never back: two writers may ring out of order).
    fn publish(&self, at: Option<Timestamp>) {
        self.tx.send_if_modified(|cur| {
            if at.is_some() && at > *cur {
                *cur = at;
                true
            } else {
                false
            }
        });
    }
}

impl WriteHooks for FeedHooks {
    fn after_write(&self, collection: &str, member: &str, outcomes: &[PutOutcome]) {
        let latest = outcomes
            .iter()
            .filter_map(|o| match o {
                PutOutcome::Added { date_added, .. } => Some(*date_added),
                _ => None,
            })
            .max();
        self.publish(latest);
        self.inner.after_write(collection, member, outcomes);
    }

    fn after_delete(&self, collection: &str, member: &str, id: &str, count: usize) {
        // A delete reports no position: ask the store (one cheap read per delete).
        match self.store.feed_position() {
            Ok(at) => self.publish(at),
            Err(e) => {
                tracing::warn!(error = %e, "feed position unknown after a delete: streams catch up at their next poll")
            }
        }
        self.inner.after_delete(collection, member, id, count);
    }
}
