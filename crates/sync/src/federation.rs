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

use crate::client::{PeerSpec, Timeouts};
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
    /// Peers from the configuration; peers stored with `tandem peer add` are merged in (and
    /// re-read every few seconds while the node runs).
    pub peers: Vec<PeerSpec>,
    /// Fallback polling when no notification arrives.
    pub poll_interval: Duration,
    /// Connect and whole-request timeouts towards peers (pulls and notifications).
    pub timeouts: Timeouts,
    /// The longest wait between failed pulls ([`puller::MAX_BACKOFF`] in production; tests of
    /// healed faults shorten it).
    pub max_backoff: Duration,
    /// How often the stored peer list (`tandem peer add|remove`) is re-read.
    pub peer_refresh: Duration,
    /// The node's other write hooks, called after the notifications are queued.
    pub inner_hooks: Arc<dyn WriteHooks>,
}

/// One running peer: its loop state, its notification flag and its two tasks.
struct Entry {
    handle: PeerHandle,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

pub struct Federation {
    ctx: Arc<Context>,
    signer: Arc<NodeSigner>,
    hooks: Arc<NotifyHooks>,
    config_peers: Vec<PeerSpec>,
    peer_refresh: Duration,
    entries: Mutex<Vec<Entry>>,
    /// The peer list last applied, to act only on changes.
    applied: Mutex<Vec<PeerSpec>>,
    refresher: Mutex<Option<JoinHandle<()>>>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Federation {
    pub fn new(s: Settings) -> Arc<Self> {
        let hooks = Arc::new(NotifyHooks::new(s.inner_hooks));
        let ctx = Arc::new(Context {
            member: s.member.clone(),
            collection: s.collection,
            store: s.store,
            keys: RosterKeys::new(s.roster),
            hooks: hooks.clone(),
            poll_interval: s.poll_interval,
            timeouts: s.timeouts,
            max_backoff: s.max_backoff,
            verify_parallelism: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        });
        Arc::new(Federation {
            ctx,
            signer: Arc::new(NodeSigner::new(&s.member, s.key)),
            hooks,
            config_peers: s.peers,
            peer_refresh: s.peer_refresh,
            entries: Mutex::new(Vec::new()),
            applied: Mutex::new(Vec::new()),
            refresher: Mutex::new(None),
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

    /// Config peers merged with the stored ones.
    fn wanted(&self) -> Vec<PeerSpec> {
        match crate::peers::stored(self.ctx.store.as_ref()) {
            Ok(stored) => crate::peers::merged(&self.config_peers, stored),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the stored peers");
                self.config_peers.clone()
            }
        }
    }

    /// Starts one puller and one notification sender per peer, and a task that follows
    /// `tandem peer add|remove` while the node runs (call inside a tokio runtime).
    pub fn start(self: &Arc<Self>) {
        self.apply(self.wanted());
        // "I am back": peers that backed off while this node was down pull again at once.
        self.hooks.ring();
        let me = Arc::clone(self);
        let mut shutdown = self.shutdown.subscribe();
        *lock(&self.refresher) = Some(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(me.peer_refresh) => {}
                    _ = shutdown.changed() => return,
                }
                let m2 = Arc::clone(&me);
                if let Ok(wanted) = tokio::task::spawn_blocking(move || m2.wanted()).await {
                    me.apply(wanted);
                }
            }
        }));
    }

    /// Starts, updates and stops peer loops so that they match `wanted`.
    fn apply(&self, wanted: Vec<PeerSpec>) {
        let mut applied = lock(&self.applied);
        if *applied == wanted {
            return;
        }
        let mut entries = lock(&self.entries);
        entries.retain_mut(|e| {
            let member = e.handle.member();
            if wanted.iter().any(|w| w.member == member) {
                return true;
            }
            tracing::info!(peer = %member, "peer removed");
            let _ = e.stop.send(true);
            for t in &e.tasks {
                t.abort();
            }
            self.hooks.remove_target(&member);
            false
        });
        for spec in &wanted {
            if let Some(e) = entries.iter().find(|e| e.handle.member() == spec.member) {
                if applied.iter().any(|a| a == spec) {
                    continue;
                }
                if let Ok(mut s) = e.handle.spec.write() {
                    *s = spec.clone();
                }
                e.handle.trigger.notify_one();
                continue;
            }
            let handle = PeerHandle::new(spec.clone());
            let pending = self.hooks.add_target(&spec.member);
            let (stop, _) = tokio::sync::watch::channel(false);
            let tasks = vec![
                tokio::spawn(puller::run(
                    Arc::clone(&self.ctx),
                    Arc::clone(&handle.spec),
                    Arc::clone(&handle.trigger),
                    Arc::clone(&handle.status),
                    stop.subscribe(),
                )),
                tokio::spawn(notify::sender(Arc::clone(&handle.spec), pending, self.ctx.timeouts, stop.subscribe())),
            ];
            entries.push(Entry { handle, stop, tasks });
        }
        *applied = wanted;
    }

    /// Stops every task and waits for them.
    pub async fn stop(&self) {
        let _ = self.shutdown.send(true);
        let mut tasks: Vec<JoinHandle<()>> = lock(&self.refresher).take().into_iter().collect();
        for e in lock(&self.entries).iter_mut() {
            let _ = e.stop.send(true);
            tasks.append(&mut e.tasks);
        }
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
    }

    /// Triggers an immediate pull from `member`'s peer entry; false if there is none.
    pub fn pull_now(&self, member: &str) -> bool {
        let entries = lock(&self.entries);
        let mut found = false;
        for e in entries.iter().filter(|e| e.handle.member() == member) {
            e.handle.trigger.notify_one();
            found = true;
        }
        found
    }

    /// Points a peer entry at another URL (for tests of partitions and moves).
    pub fn set_peer_url(&self, member: &str, url: &str) {
        for e in lock(&self.entries).iter().filter(|e| e.handle.member() == member) {
            if let Ok(mut s) = e.handle.spec.write() {
                s.url = url.to_string();
            }
            e.handle.trigger.notify_one();
        }
    }

    pub fn statuses(&self) -> Vec<PeerStatus> {
        lock(&self.entries)
            .iter()
            .map(|e| {
                let mut s = lock(&e.handle.status).clone();
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
