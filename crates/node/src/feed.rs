//! The feed-change signal: a `tokio::sync::watch` channel of the store's feed position (the
//! latest `date_added` or tombstone position handed out), sent after every local or replicated
//! write and delete and when another process wrote to the store.
//!
//! It exists so that everything that reacts to "the feed moved" (federation's peer
//! notifications today, the live stream and watch-zone alerts next) follows one signal instead
//! of each polling the store. It is a [`WriteHooks`] at the end of the node's hook chain, so
//! federation's notify hooks (which ring peers first, at no added latency) drive it for every
//! write they see, and their refresher's look at the store drives it for writes by another
//! process ([`WriteHooks::after_external_write`]).

use std::sync::Arc;

use tandem_model::Timestamp;
use tandem_store::{PutOutcome, Store};
use tandem_taxii::WriteHooks;
use tokio::sync::watch;

/// The store's feed position as last seen; `None` while the store is empty.
pub type FeedPosition = Option<Timestamp>;

/// Sends the feed position after writes, then calls the inner hooks.
pub struct FeedSignal {
    store: Arc<dyn Store>,
    tx: watch::Sender<FeedPosition>,
    inner: Arc<dyn WriteHooks>,
}

impl FeedSignal {
    /// A signal starting at the store's current position (`None` if it cannot be read: the
    /// next write sets it).
    pub fn new(store: Arc<dyn Store>, inner: Arc<dyn WriteHooks>) -> Self {
        let start = match store.feed_position() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the feed position");
                None
            }
        };
        FeedSignal { store, tx: watch::channel(start).0, inner }
    }

    /// A receiver of the feed position: `changed()` completes after each write.
    pub fn subscribe(&self) -> watch::Receiver<FeedPosition> {
        self.tx.subscribe()
    }

    /// Moves the position forward to `at` (never back: writes may report out of order), and
    /// wakes every receiver even when it did not move (a write of an older position still
    /// changed the feed).
    fn advance(&self, at: FeedPosition) {
        self.tx.send_modify(|p| {
            if at > *p {
                *p = at;
            }
        });
    }
}

impl WriteHooks for FeedSignal {
    fn after_write(&self, collection: &str, member: &str, outcomes: &[PutOutcome]) {
        let latest = outcomes
            .iter()
            .filter_map(|o| match o {
                PutOutcome::Added { date_added, .. } => Some(*date_added),
                _ => None,
            })
            .max();
        if latest.is_some() {
            self.advance(latest);
        }
        self.inner.after_write(collection, member, outcomes);
    }

    fn after_delete(&self, collection: &str, member: &str, id: &str, count: usize) {
        if count > 0 {
            // A tombstone's position is the store's to tell; the hook may run on an async
            // thread, so the read goes to the blocking pool when there is one.
            let store = Arc::clone(&self.store);
            let tx = self.tx.clone();
            let read = move || match store.feed_position() {
                Ok(at) => tx.send_modify(|p| {
                    if at > *p {
                        *p = at;
                    }
                }),
                Err(e) => tracing::warn!(error = %e, "cannot read the feed position after a delete"),
            };
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(read)),
                Err(_) => read(),
            }
        }
        self.inner.after_delete(collection, member, id, count);
    }

    fn after_external_write(&self, position: Timestamp) {
        self.advance(Some(position));
        self.inner.after_external_write(position);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(at: Timestamp) -> PutOutcome {
        PutOutcome::Added { id: "indicator--x".into(), version: at, date_added: at, contested: false }
    }

    #[tokio::test]
    async fn writes_and_external_writes_move_the_position_forward_only() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(tandem_store::SqliteStore::open(dir.path()).unwrap());
        let signal = FeedSignal::new(store, Arc::new(tandem_taxii::NoHooks));
        let mut rx = signal.subscribe();
        assert_eq!(*rx.borrow_and_update(), None);
        let t1 = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let t2 = Timestamp::parse("2025-01-02T00:00:00Z").unwrap();
        signal.after_write("c", "USA", &[added(t2), added(t1)]);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), Some(t2));
        // An older position wakes receivers but does not move the position back.
        signal.after_external_write(t1);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), Some(t2));
        // Nothing added: no signal.
        signal.after_write("c", "USA", &[]);
        assert!(!rx.has_changed().unwrap());
    }
}
