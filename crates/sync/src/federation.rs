//! One node's federation: its signer, its notify hooks, one puller and one notification sender
//! per peer, and the two Tandem endpoints (`POST {root}tandem/notify/`,
//! `GET {root}tandem/peers/`). `tandem serve` and the test sandbox build nodes the same way.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ed25519_dalek::SigningKey;
use serde_json::json;
use tandem_policy::Roster;
use tandem_store::Store;
use tandem_taxii::auth::Caller;
use tandem_taxii::{AppState, TaxiiError, WriteHooks};
use tokio::task::JoinHandle;

use crate::client::PeerSpec;
use crate::notify::{self, NotifyHooks};
use crate::puller::{self, Context, PeerHandle};
use crate::signer::{NodeSigner, RosterKeys};
use crate::status::PeerStatus;

/// How to federate one node.
pub struct Settings {
    pub member: String,
    /// The local collection replicated versions go into (the node's intel collection).
    pub collection: String,
    pub store: Arc<dyn Store>,
    pub roster: Arc<RwLock<Arc<Roster>>>,
    pub key: SigningKey,
    pub peers: Vec<PeerSpec>,
    /// Fallback polling when no notification arrives.
    pub poll_interval: Duration,
    /// Per-request timeout towards peers.
    pub timeout: Duration,
    /// The node's other write hooks, called after the notifications are queued.
    pub inner_hooks: Arc<dyn WriteHooks>,
}

pub struct Federation {
    ctx: Arc<Context>,
    signer: Arc<NodeSigner>,
    hooks: Arc<NotifyHooks>,
    peers: Vec<(PeerHandle, Arc<tokio::sync::Notify>)>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Federation {
    pub fn new(s: Settings) -> Arc<Self> {
        let hooks = Arc::new(NotifyHooks::new(s.inner_hooks));
        let peers = s.peers.into_iter().map(|p| (PeerHandle::new(p), hooks.add_target())).collect();
        let ctx = Arc::new(Context {
            member: s.member.clone(),
            collection: s.collection,
            store: s.store,
            keys: RosterKeys::new(s.roster),
            hooks: hooks.clone(),
            poll_interval: s.poll_interval,
            timeout: s.timeout,
        });
        Arc::new(Federation {
            ctx,
            signer: Arc::new(NodeSigner::new(&s.member, s.key)),
            hooks,
            peers,
            tasks: Mutex::new(Vec::new()),
            shutdown: tokio::sync::watch::channel(false).0,
        })
    }

    pub fn signer(&self) -> Arc<NodeSigner> {
        Arc::clone(&self.signer)
    }

    /// The hooks to put in the TAXII [`AppState`]: they notify peers after local writes.
    pub fn hooks(&self) -> Arc<dyn WriteHooks> {
        self.hooks.clone()
    }

    /// Starts one puller and one notification sender per peer (call inside a tokio runtime).
    pub fn start(&self) {
        let mut tasks = match self.tasks.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        for (h, pending) in &self.peers {
            tasks.push(tokio::spawn(puller::run(
                Arc::clone(&self.ctx),
                Arc::clone(&h.spec),
                Arc::clone(&h.trigger),
                Arc::clone(&h.status),
                self.shutdown.subscribe(),
            )));
            tasks.push(tokio::spawn(notify::sender(
                Arc::clone(&h.spec),
                Arc::clone(pending),
                self.ctx.timeout,
                self.shutdown.subscribe(),
            )));
        }
        // "I am back": peers that backed off while this node was down pull again at once.
        self.hooks.ring();
    }

    /// Stops every task and waits for them.
    pub async fn stop(&self) {
        let _ = self.shutdown.send(true);
        let tasks: Vec<_> = match self.tasks.lock() {
            Ok(mut t) => t.drain(..).collect(),
            Err(p) => p.into_inner().drain(..).collect(),
        };
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
    }

    /// Triggers an immediate pull from `member`'s peer entry; false if there is none.
    pub fn pull_now(&self, member: &str) -> bool {
        let mut found = false;
        for (h, _) in self.peers.iter().filter(|(h, _)| h.member() == member) {
            h.trigger.notify_one();
            found = true;
        }
        found
    }

    /// Points a peer entry at another URL (for tests of partitions and moves).
    pub fn set_peer_url(&self, member: &str, url: &str) {
        for (h, _) in self.peers.iter().filter(|(h, _)| h.member() == member) {
            if let Ok(mut s) = h.spec.write() {
                s.url = url.to_string();
            }
            h.trigger.notify_one();
        }
    }

    pub fn statuses(&self) -> Vec<PeerStatus> {
        self.peers
            .iter()
            .map(|(h, _)| {
                let mut s = match h.status.lock() {
                    Ok(s) => s.clone(),
                    Err(p) => p.into_inner().clone(),
                };
                s.refresh_lag();
                s
            })
            .collect()
    }

    /// `POST /{root}/tandem/notify/` and `GET /{root}/tandem/peers/`, authenticated like TAXII.
    pub fn routes(self: &Arc<Self>, state: AppState) -> Router {
        let root = format!("/{}", state.config.api_root.trim_matches('/'));
        let mut r = Router::new();
        for suffix in ["", "/"] {
            r = r
                .route(&format!("{root}/tandem/notify{suffix}"), post(notify_handler))
                .route(&format!("{root}/tandem/peers{suffix}"), get(peers_handler));
        }
        r.layer(Extension(Arc::clone(self))).with_state(state)
    }
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

/// A peer says it has new data: pull from its entry now.
async fn notify_handler(
    State(_state): State<AppState>,
    Caller(p): Caller,
    Extension(fed): Extension<Arc<Federation>>,
) -> Result<Response, TaxiiError> {
    if fed.pull_now(&p.member) {
        Ok(json_response(StatusCode::ACCEPTED, json!({"pulling": true})))
    } else {
        Err(TaxiiError::NotFound)
    }
}

/// Peer status, for users of this node's member only.
async fn peers_handler(
    State(_state): State<AppState>,
    Caller(p): Caller,
    Extension(fed): Extension<Arc<Federation>>,
) -> Result<Response, TaxiiError> {
    if p.member != fed.ctx.member {
        return Err(TaxiiError::Forbidden("peer status is for the node's own member".into()));
    }
    let list = serde_json::to_value(fed.statuses()).unwrap_or_default();
    Ok(json_response(StatusCode::OK, json!({ "peers": list })))
}
