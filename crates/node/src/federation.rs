//! Federation wiring of a node: the node key, the peer list (config merged with
//! `tandem peer add`), the signer and notify hooks in the TAXII state, and the sync routes.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tandem_store::Store;
use tandem_sync::client::{PeerSpec, Timeouts};
use tandem_sync::federation::{Federation, Settings};
use tandem_taxii::AppState;

use crate::config::Config;

/// How often a peer is polled when it sends no notification.
pub const POLL_INTERVAL: Duration = Duration::from_secs(15);

pub fn config_peers(config: &Config) -> Vec<PeerSpec> {
    config
        .peers
        .iter()
        .map(|p| PeerSpec {
            member: p.member.clone(),
            url: p.url.clone(),
            username: p.username.clone(),
            password: p.password.clone(),
            token: p.token.clone(),
        })
        .collect()
}

/// Every peer this node pulls from: config peers, then stored ones.
pub fn peers(config: &Config, store: &dyn Store) -> anyhow::Result<Vec<PeerSpec>> {
    Ok(tandem_sync::peers::merged(&config_peers(config), tandem_sync::peers::stored(store)?))
}

pub fn node_key(config: &Config) -> anyhow::Result<ed25519_dalek::SigningKey> {
    tandem_audit::keys::load_or_create_node_key(&config.node.data_dir)
        .with_context(|| format!("the node key in {}", config.node.data_dir.display()))
}

/// The node's secrets key (`secrets.key` beside `node.key`, made 0600 on first use): webhook
/// secrets and feed credentials are stored sealed with it, so the store alone reveals none.
pub fn secrets_key(config: &Config) -> anyhow::Result<tandem_store::sealed::SealKey> {
    Ok(tandem_store::sealed::SealKey::load_or_create(&config.node.data_dir)?)
}

/// What a node's federation may be tuned on (the test sandbox shortens the intervals).
pub struct Tuning {
    pub key: ed25519_dalek::SigningKey,
    pub poll_interval: Duration,
    pub peer_refresh: Duration,
    pub max_backoff: Duration,
    /// The node's TLS certificate, presented to https peers.
    pub tls: Option<Arc<tandem_tls::Identity>>,
}

/// Builds the node's federation with production's tuning and the node key of the data
/// directory, puts its signer and hooks into `state`, and returns it (not started yet: call
/// `start` inside the runtime).
pub fn attach(config: &Config, store: Arc<dyn Store>, state: &mut AppState) -> anyhow::Result<Arc<Federation>> {
    let tuning = Tuning {
        key: node_key(config)?,
        poll_interval: POLL_INTERVAL,
        peer_refresh: Duration::from_secs(1),
        max_backoff: tandem_sync::puller::MAX_BACKOFF,
        tls: config.tls_identity()?.map(Arc::new),
    };
    build(config, store, state, tuning)
}

/// [`attach`] with the given tuning.
pub fn build(
    config: &Config,
    store: Arc<dyn Store>,
    state: &mut AppState,
    tuning: Tuning,
) -> anyhow::Result<Arc<Federation>> {
    let fed = Federation::new(Settings {
        member: config.node.member.clone(),
        collection: config.intel_collection_id(),
        store,
        roster: Arc::clone(&state.roster),
        key: tuning.key,
        // Stored peers (`tandem peer add`) are merged in by the federation, and followed live.
        peers: config_peers(config),
        poll_interval: tuning.poll_interval,
        timeouts: Timeouts {
            connect: Duration::from_secs(config.node.peer_connect_timeout_secs),
            request: Duration::from_secs(config.node.peer_request_timeout_secs),
        },
        max_backoff: tuning.max_backoff,
        pages_in_flight: config.node.sync_pages_in_flight,
        peer_refresh: tuning.peer_refresh,
        inner_hooks: Arc::clone(&state.hooks),
        authority: config.authority()?,
        tls_identity: tuning.tls,
    });
    state.hooks = fed.hooks();
    state.signer = Some(fed.signer());
    Ok(fed)
}
