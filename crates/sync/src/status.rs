//! Per-peer replication status, kept in memory by the puller and persisted in the store so the
//! CLI (`tandem peer list`) can read what the running node last saw.

use serde::{Deserialize, Serialize};
use tandem_model::Timestamp;
use tandem_store::Store;

const PREFIX: &str = "sync/status/";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PeerStatus {
    pub member: String,
    pub url: String,
    /// The last time the peer answered (successfully or not).
    pub last_contact: Option<Timestamp>,
    /// The last time a pull pass completed.
    pub last_success: Option<Timestamp>,
    /// The last time this node had everything the peer offered.
    pub caught_up_at: Option<Timestamp>,
    /// Versions fetched in the current pass that are not stored yet (0 when caught up).
    pub lag_objects: u64,
    /// Seconds since this node was last caught up with the peer (0 when caught up).
    pub lag_seconds: f64,
    /// Consecutive failed passes.
    pub errors: u64,
    pub last_error: Option<String>,
    /// Versions stored from this peer since start.
    pub received: u64,
    /// Versions refused (bad signature, invalid, not the originator...) since start.
    pub rejected: u64,
    pub last_rejection: Option<String>,
    /// Deletions applied from this peer since start.
    pub deletions: u64,
    /// Pull passes run against this peer since start (notifications and polls coalesce into
    /// passes: this is what a burst of notifications costs the peer).
    #[serde(default)]
    pub passes: u64,
    /// Versions fetched from this peer since start (stored or not: what the pulls cost).
    #[serde(default)]
    pub fetched: u64,
    /// Of those, versions fetched because a roster change newly released them (the widened
    /// feed).
    #[serde(default)]
    pub widened: u64,
    /// Times this node started the peer's feed over since start (an unknown old roster, a
    /// moved release epoch, a peer that does not say its roster).
    #[serde(default)]
    pub rereads: u64,
}

impl PeerStatus {
    pub fn new(member: &str, url: &str) -> Self {
        PeerStatus { member: member.into(), url: url.into(), ..Default::default() }
    }

    /// Recomputes `lag_seconds` against now.
    pub fn refresh_lag(&mut self) {
        if self.lag_objects == 0 && self.errors == 0 {
            self.lag_seconds = 0.0;
        } else if let Some(at) = self.caught_up_at {
            self.lag_seconds = (Timestamp::now().as_micros() - at.as_micros()).max(0) as f64 / 1e6;
        }
    }
}

pub fn save(store: &dyn Store, status: &PeerStatus) -> anyhow::Result<()> {
    store.put_meta(&format!("{PREFIX}{}", status.member), Some(&serde_json::to_value(status)?))?;
    Ok(())
}

/// Every persisted status, by member.
pub fn load_all(store: &dyn Store) -> anyhow::Result<Vec<PeerStatus>> {
    Ok(store.list_meta(PREFIX)?.into_iter().filter_map(|(_, v)| serde_json::from_value(v).ok()).collect())
}
