//! Notifications: after a write (local or replicated) adds something, every peer is told to pull
//! now, so new data crosses a hop in milliseconds instead of a polling interval.
//!
//! Notifications coalesce: each peer has one pending flag ([`tokio::sync::Notify`]) and one
//! sender task, so a burst of writes costs at most one request in flight plus one queued. Only
//! writes that added something notify, which is what ends the echo between two peers (pulling
//! back what one just sent is all duplicates, and duplicates notify no one). A peer that
//! answers 429 (its per-account limit, [`crate::rate`]) is notified once more after its
//! `Retry-After`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use tandem_model::Timestamp;
use tandem_store::PutOutcome;
use tandem_taxii::WriteHooks;
use tokio::sync::Notify;

use crate::client::{PeerClient, PeerSpec, Timeouts};

/// `accounted` before the first look at the store's feed position.
const UNNOTED: i64 = i64::MIN;

/// The [`WriteHooks`] that notify peers, chained before the node's other hooks.
pub struct NotifyHooks {
    targets: RwLock<Vec<(String, Arc<Notify>)>>,
    inner: Arc<dyn WriteHooks>,
    /// The feed position (µs) this process has accounted for: its own writes, which rang at
    /// once, and external writes already rung for by [`NotifyHooks::ring_if_written_elsewhere`];
    /// [`UNNOTED`] until the first look (0 once an empty store was seen).
    accounted: AtomicI64,
    /// Marking-definitions added since the federation last looked, with their `date_added`
    /// (a definition that arrives after what it marks may make earlier versions servable).
    new_markings: std::sync::Mutex<Vec<(String, String, Timestamp)>>,
}

impl NotifyHooks {
    pub fn new(inner: Arc<dyn WriteHooks>) -> Self {
        NotifyHooks {
            targets: RwLock::new(Vec::new()),
            inner,
            accounted: AtomicI64::new(UNNOTED),
            new_markings: Default::default(),
        }
    }

    /// Rings when the store's feed position moved past everything this process wrote or
    /// already rang for: another process (`tandem import`, `tandem marking create`) wrote to
    /// the store. The first call only takes note of the position (`None`: the store is empty,
    /// so the first write elsewhere rings).
    pub fn ring_if_written_elsewhere(&self, position: Option<Timestamp>) {
        let position = position.map_or(0, |at| at.as_micros());
        let before = self.accounted.fetch_max(position, Ordering::SeqCst);
        if before != UNNOTED && position > before {
            tracing::debug!("writes by another process: notifying peers");
            self.ring();
            self.inner.after_external_write(Timestamp::from_micros(position));
        }
    }

    /// The marking-definitions added since the last call: (owner, id, `date_added`).
    pub fn take_new_markings(&self) -> Vec<(String, String, Timestamp)> {
        match self.new_markings.lock() {
            Ok(mut m) => std::mem::take(&mut *m),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }

    fn account(&self, position: i64) {
        self.accounted.fetch_max(position, Ordering::SeqCst);
    }

    /// Registers a peer's pending flag; the sender task waits on it.
    pub fn add_target(&self, member: &str) -> Arc<Notify> {
        let n = Arc::new(Notify::new());
        if let Ok(mut t) = self.targets.write() {
            t.push((member.to_string(), Arc::clone(&n)));
        }
        n
    }

    /// Forgets a peer removed from the peer list.
    pub fn remove_target(&self, member: &str) {
        if let Ok(mut t) = self.targets.write() {
            t.retain(|(m, _)| m != member);
        }
    }

    /// Tells every peer to pull now.
    pub fn ring(&self) {
        if let Ok(t) = self.targets.read() {
            for (_, n) in t.iter() {
                n.notify_one();
            }
        }
    }
}

impl WriteHooks for NotifyHooks {
    fn after_write(&self, collection: &str, member: &str, outcomes: &[PutOutcome]) {
        let latest = outcomes
            .iter()
            .filter_map(|o| match o {
                PutOutcome::Added { date_added, .. } => Some(date_added.as_micros()),
                _ => None,
            })
            .max();
        if let Some(latest) = latest {
            self.account(latest);
            self.ring();
        }
        let markings: Vec<(String, String, Timestamp)> = outcomes
            .iter()
            .filter_map(|o| match o {
                PutOutcome::Added { id, date_added, .. } if id.starts_with("marking-definition--") => {
                    Some((member.to_string(), id.clone(), *date_added))
                }
                _ => None,
            })
            .collect();
        if !markings.is_empty()
            && let Ok(mut m) = self.new_markings.lock()
        {
            m.extend(markings);
        }
        self.inner.after_write(collection, member, outcomes);
    }

    fn after_delete(&self, collection: &str, member: &str, id: &str, count: usize) {
        if count > 0 {
            // The tombstones were positioned before now.
            self.account(Timestamp::now().as_micros());
            self.ring();
        }
        self.inner.after_delete(collection, member, id, count);
    }

    fn after_external_write(&self, position: Timestamp) {
        self.inner.after_external_write(position);
    }
}

/// Sends notifications to one peer whenever `pending` is set, until `shutdown` flips.
pub async fn sender(
    spec: Arc<RwLock<PeerSpec>>,
    pending: Arc<Notify>,
    timeouts: Timeouts,
    tls: crate::client::PeerTls,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut cached: Option<(PeerSpec, PeerClient, Option<String>)> = None;
    loop {
        tokio::select! {
            _ = pending.notified() => {}
            _ = shutdown.changed() => return,
        }
        let current = match spec.read() {
            Ok(s) => s.clone(),
            Err(_) => return,
        };
        if cached.as_ref().is_none_or(|(s, _, _)| *s != current) {
            match PeerClient::with_tls(current.clone(), timeouts, &tls) {
                Ok(c) => cached = Some((current, c, None)),
                Err(e) => {
                    tracing::warn!(peer = %current.member, error = %e, "cannot build a client");
                    continue;
                }
            }
        }
        let Some((_, client, root)) = cached.as_mut() else {
            continue;
        };
        let result = async {
            if root.is_none() {
                *root = Some(client.api_root().await?);
            }
            let r = root.clone().unwrap_or_default();
            client.notify(&r).await
        }
        .await;
        match result {
            Ok(crate::client::Notified::Accepted) => {}
            Ok(crate::client::Notified::RetryAfter(wait)) => {
                // Over the peer's rate limit: this write's notification was not taken. Wait, then
                // notify once more (writes meanwhile coalesce into that one), so the peer still
                // pulls promptly after the last write instead of at its next poll.
                tracing::debug!(peer = %client.spec().member, ?wait, "notification rate limited");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => pending.notify_one(),
                    _ = shutdown.changed() => return,
                }
            }
            Err(e) => {
                // The peer polls as a fallback; a lost notification only costs latency.
                tracing::debug!(peer = %client.spec().member, error = %e, "notification not delivered");
                *root = None;
            }
        }
    }
}
