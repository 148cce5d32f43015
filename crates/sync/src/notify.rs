//! Notifications: after a write (local or replicated) adds something, every peer is told to pull
//! now, so new data crosses a hop in milliseconds instead of a polling interval.
//!
//! Notifications coalesce: each peer has one pending flag ([`tokio::sync::Notify`]) and one
//! sender task, so a burst of writes costs at most one request in flight plus one queued. Only
//! writes that added something notify, which is what ends the echo between two peers (pulling
//! back what one just sent is all duplicates, and duplicates notify no one).

use std::sync::{Arc, RwLock};

use tandem_store::PutOutcome;
use tandem_taxii::WriteHooks;
use tokio::sync::Notify;

use crate::client::{PeerClient, PeerSpec, Timeouts};

/// The [`WriteHooks`] that notify peers, chained before the node's other hooks.
pub struct NotifyHooks {
    targets: RwLock<Vec<(String, Arc<Notify>)>>,
    inner: Arc<dyn WriteHooks>,
}

impl NotifyHooks {
    pub fn new(inner: Arc<dyn WriteHooks>) -> Self {
        NotifyHooks { targets: RwLock::new(Vec::new()), inner }
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
        if outcomes.iter().any(|o| matches!(o, PutOutcome::Added { .. })) {
            self.ring();
        }
        self.inner.after_write(collection, member, outcomes);
    }

    fn after_delete(&self, collection: &str, member: &str, id: &str, count: usize) {
        if count > 0 {
            self.ring();
        }
        self.inner.after_delete(collection, member, id, count);
    }
}

/// Sends notifications to one peer whenever `pending` is set, until `shutdown` flips.
pub async fn sender(
    spec: Arc<RwLock<PeerSpec>>,
    pending: Arc<Notify>,
    timeouts: Timeouts,
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
            match PeerClient::new(current.clone(), timeouts) {
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
        if let Err(e) = result {
            // The peer polls as a fallback; a lost notification only costs latency.
            tracing::debug!(peer = %client.spec().member, error = %e, "notification not delivered");
            *root = None;
        }
    }
}
