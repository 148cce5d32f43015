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
use tandem_model::Timestamp;
use tandem_policy::Roster;
use tandem_store::Store;
use tandem_taxii::auth::{ActiveCaller, Caller};
use tandem_taxii::{AppState, TaxiiError, WriteHooks};
use tokio::task::JoinHandle;

use crate::client::{PeerSpec, Timeouts};
use crate::notify::{self, NotifyHooks};
use crate::puller::{self, Context, PeerHandle};
use crate::roster_log::{self, RosterLog, SubmitError};
use crate::signer::{EPOCH_KEY, NodeSigner, RosterKeys};

/// The position up to which this node's own versions were checked for a current proof.
const BACKSIGNED_KEY: &str = "sync/backsigned";
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
    /// The node-wide cap on object pages fetched and not yet stored ([`Context::pages_in_flight`]).
    pub pages_in_flight: usize,
    /// How often the stored peer list (`tandem peer add|remove`) is re-read.
    pub peer_refresh: Duration,
    /// The node's other write hooks, called after the notifications are queued.
    pub inner_hooks: Arc<dyn WriteHooks>,
    /// The coalition's roster authority (`[coalition] authority`); without one the node accepts
    /// and replicates no roster change.
    pub authority: Option<ed25519_dalek::VerifyingKey>,
    /// The node's TLS certificate, presented to https peers (`None`: the node has none).
    pub tls_identity: Option<Arc<tandem_tls::Identity>>,
}

/// One running peer: its loop state, its notification flag and its two tasks.
struct Entry {
    handle: PeerHandle,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

pub struct Federation {
    ctx: Arc<Context>,
    roster: Arc<RwLock<Arc<Roster>>>,
    signer: Arc<NodeSigner>,
    hooks: Arc<NotifyHooks>,
    config_peers: Vec<PeerSpec>,
    peer_refresh: Duration,
    entries: Mutex<Vec<Entry>>,
    /// The peer list last applied, to act only on changes.
    applied: Mutex<Vec<PeerSpec>>,
    refresher: Mutex<Option<JoinHandle<()>>>,
    shutdown: tokio::sync::watch::Sender<bool>,
    /// Notifications per peer account ([`crate::rate`]).
    notify_limit: crate::rate::RateLimiter,
    /// When set, peers are pulled from only while it reads true (see [`Federation::gate_pulls`]).
    pull_gate: Mutex<Option<tokio::sync::watch::Receiver<bool>>>,
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
        // The roster as configured is the bootstrap; applied signed changes go on top of it.
        let bootstrap = match s.roster.read() {
            Ok(r) => (**r).clone(),
            Err(p) => (**p.into_inner()).clone(),
        };
        let roster_log = Arc::new(RosterLog::new(Arc::clone(&s.store), bootstrap, s.authority, Arc::clone(&s.roster)));
        if let Err(e) = roster_log.recompute() {
            tracing::error!(error = %e, "cannot read the applied roster changes: serving the configured roster");
        }
        let ctx = Arc::new(Context {
            member: s.member.clone(),
            collection: s.collection,
            store: s.store,
            keys: RosterKeys::new(Arc::clone(&s.roster)),
            hooks: hooks.clone(),
            poll_interval: s.poll_interval,
            timeouts: s.timeouts,
            tls: crate::client::PeerTls { identity: s.tls_identity, roster: Arc::clone(&s.roster) },
            max_backoff: s.max_backoff,
            verify_parallelism: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            roster_log: Arc::clone(&roster_log),
            pages_in_flight: Arc::new(tokio::sync::Semaphore::new(s.pages_in_flight.max(1))),
        });
        let signer = Arc::new(NodeSigner::new(&s.member, s.key));
        match ctx.store.get_meta(EPOCH_KEY) {
            Ok(epoch) => signer.set_epoch(epoch.and_then(|e| e.as_str().map(str::to_string))),
            Err(e) => tracing::warn!(error = %e, "cannot read the release epoch"),
        }
        let fed = Arc::new(Federation {
            ctx,
            roster: s.roster,
            signer,
            hooks,
            config_peers: s.peers,
            peer_refresh: s.peer_refresh,
            entries: Mutex::new(Vec::new()),
            applied: Mutex::new(Vec::new()),
            refresher: Mutex::new(None),
            shutdown: tokio::sync::watch::channel(false).0,
            notify_limit: crate::rate::RateLimiter::default(),
            pull_gate: Mutex::new(None),
        });
        // A change applied here (submitted or pulled) reaches the peers at once, and this node's
        // own pulls restart under the new roster.
        let weak = Arc::downgrade(&fed);
        roster_log.set_on_applied(move || {
            if let Some(fed) = weak.upgrade() {
                fed.hooks.ring();
                for e in lock(&fed.entries).iter() {
                    e.handle.trigger.notify_one();
                }
            }
        });
        fed
    }

    /// The node's log of signed roster changes.
    pub fn roster_log(&self) -> Arc<RosterLog> {
        Arc::clone(&self.ctx.roster_log)
    }

    pub fn signer(&self) -> Arc<NodeSigner> {
        Arc::clone(&self.signer)
    }

    /// The hooks to put in the TAXII [`AppState`]: they notify peers after local writes.
    pub fn hooks(&self) -> Arc<dyn WriteHooks> {
        self.hooks.clone()
    }

    /// A write to the store at `position` that may have come through another process (heard
    /// over the database's notifications): peers are notified and the node's feed signal moves,
    /// unless this process wrote it or already rang for it.
    pub fn written_elsewhere(&self, position: tandem_model::Timestamp) {
        self.hooks.ring_if_written_elsewhere(Some(position));
    }

    /// Pulls from peers (and notifies them) only while `held` reads true: several processes
    /// serving one node from a shared database pull once, in the process holding the node's
    /// lease; another takes over within a peer refresh of gaining it. Call before
    /// [`Federation::start`]. Writes taken by the other processes still reach peers: this
    /// process's refresher notices them through the feed position and notifies.
    pub fn gate_pulls(&self, held: tokio::sync::watch::Receiver<bool>) {
        *lock(&self.pull_gate) = Some(held);
    }

    /// Config peers merged with the stored ones (none while the pull gate is closed).
    fn wanted(&self) -> Vec<PeerSpec> {
        if lock(&self.pull_gate).as_ref().is_some_and(|held| !*held.borrow()) {
            return Vec::new();
        }
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
        self.sign_unsigned_in_background();
        self.apply(self.wanted());
        if let Ok(p) = self.ctx.store.feed_position() {
            self.hooks.ring_if_written_elsewhere(p);
        }
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
                if let Ok((wanted, position, late)) = tokio::task::spawn_blocking(move || {
                    (m2.wanted(), m2.ctx.store.feed_position(), m2.release_late_markings())
                })
                .await
                {
                    me.apply(wanted);
                    match position {
                        Ok(p) => me.hooks.ring_if_written_elsewhere(p),
                        Err(e) => tracing::warn!(error = %e, "cannot read the feed position"),
                    }
                    match late {
                        Ok(true) => me.hooks.ring(),
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot check late markings"),
                    }
                }
            }
        }));
    }

    /// Signs the versions this node's member stored without a current proof
    /// ([`crate::backsign`]); when there were any, moves the release epoch on so that peers
    /// read the feed again and receive them.
    fn sign_unsigned_in_background(self: &Arc<Self>) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let m2 = Arc::clone(&me);
            let result = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let roster = match m2.roster.read() {
                    Ok(r) => Arc::clone(&r),
                    Err(p) => Arc::clone(&p.into_inner()),
                };
                let store = m2.ctx.store.as_ref();
                // Where the last complete scan stopped: later versions were signed when written.
                let after =
                    store.get_meta(BACKSIGNED_KEY)?.and_then(|v| v.as_str().and_then(|t| Timestamp::parse(t).ok()));
                let (signed, last) =
                    crate::backsign::sign_unsigned(store, &m2.ctx.collection, roster, &m2.signer, after)?;
                if signed > 0 {
                    m2.move_epoch()?;
                }
                if let Some(last) = last.filter(|l| Some(*l) != after) {
                    store.put_meta(BACKSIGNED_KEY, Some(&serde_json::Value::String(last.to_taxii())))?;
                }
                Ok(signed)
            })
            .await;
            match result {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => {
                    tracing::info!(versions = n, "signed versions stored without a current proof; peers will re-read");
                    me.hooks.ring();
                }
                Ok(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "cannot sign stored versions"),
                Err(e) => tracing::warn!(error = %e, "signing stored versions failed"),
            }
        });
    }

    /// Moves the release epoch on (blocking): peers read this node's feed again from the start.
    fn move_epoch(&self) -> anyhow::Result<()> {
        // Random, not a time: peers learn that the epoch moved, not when something hidden happened.
        let epoch = uuid::Uuid::new_v4().to_string();
        self.ctx.store.put_meta(EPOCH_KEY, Some(&serde_json::Value::String(epoch.clone())))?;
        self.signer.set_epoch(Some(epoch));
        Ok(())
    }

    /// After marking-definitions were added: when one marks versions stored before it (they
    /// were withheld from peers while it was unknown), moves the epoch so peers re-read
    /// (blocking). Returns whether it did.
    fn release_late_markings(&self) -> anyhow::Result<bool> {
        let late = self.hooks.take_new_markings();
        for (owner, id, at) in &late {
            if self.ctx.store.referenced_before(owner, id, *at)? {
                tracing::info!(marking = %id, "a marking arrived after versions it marks: peers will re-read");
                self.move_epoch()?;
                return Ok(true);
            }
        }
        Ok(false)
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
                tokio::spawn(notify::sender(
                    Arc::clone(&handle.spec),
                    pending,
                    self.ctx.timeouts,
                    self.ctx.tls.clone(),
                    stop.subscribe(),
                )),
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

    /// Permits of the node-wide cap on sync pages in flight that no page holds now (the cap at
    /// rest: tests check that every page gives its permit back).
    pub fn pages_in_flight_free(&self) -> usize {
        self.ctx.pages_in_flight.available_permits()
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

    /// What this node has so far received from `member`'s peer entry: versions stored plus
    /// deletions applied (it only grows while the entry lives). `None` without an entry.
    fn progress(&self, member: &str) -> Option<u64> {
        let entries = lock(&self.entries);
        let e = entries.iter().find(|e| e.handle.member() == member)?;
        let s = lock(&e.handle.status);
        Some(s.received + s.deletions)
    }

    /// The node's peer status, whichever of its processes is asked: this process's pullers'
    /// when it pulls; when another process of the node holds the pulls (the gate is closed),
    /// the status that process persists in the store ([`crate::status::save`]), for the same
    /// peer list (a peer not reported yet shows as new).
    pub fn node_statuses(&self) -> anyhow::Result<Vec<PeerStatus>> {
        if lock(&self.pull_gate).as_ref().is_none_or(|held| *held.borrow()) {
            return Ok(self.statuses());
        }
        let store = self.ctx.store.as_ref();
        let peers = crate::peers::merged(&self.config_peers, crate::peers::stored(store)?);
        let mut saved = crate::status::load_all(store)?;
        Ok(peers
            .iter()
            .map(|p| {
                let mut s = match saved.iter().position(|s| s.member == p.member) {
                    Some(i) => saved.swap_remove(i),
                    None => PeerStatus::new(&p.member, &p.url),
                };
                s.refresh_lag();
                s
            })
            .collect())
    }

    /// This process's pullers' status (none while another process holds the pulls).
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

    /// `POST /{root}/tandem/notify/`, `GET /{root}/tandem/peers/`,
    /// `GET|POST /{root}/tandem/roster/changes/` and `GET /{root}/tandem/sync/widened/`,
    /// authenticated like TAXII. Not audited by
    /// themselves: merge them into the app before its audit layer ([`tandem_taxii::assemble`]).
    pub fn routes(self: &Arc<Self>, state: AppState) -> Router {
        let root = format!("/{}", state.config.api_root.trim_matches('/'));
        let mut r = Router::new();
        for suffix in ["", "/"] {
            r = r
                .route(&format!("{root}/tandem/notify{suffix}"), post(notify_handler))
                .route(&format!("{root}/tandem/peers{suffix}"), get(peers_handler))
                .route(
                    &format!("{root}/tandem/roster/changes{suffix}"),
                    get(roster_changes_handler).post(roster_submit_handler),
                )
                .route(&format!("{root}/tandem/sync/widened{suffix}"), get(widened_handler));
        }
        r.layer(Extension(Arc::clone(self))).with_state(state)
    }
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

/// A peer says it has new data: pull from its entry now. Only a peer node's account (role
/// `peer`) may notify; one that follows a pull which brought nothing takes a token (a burst,
/// then [`crate::rate::NOTIFY_PER_SEC`] a second; 429 with `Retry-After` above that). A suspended member's node may too: its notification is how this
/// node hears at once of a reinstatement submitted there (pulling from it serves it nothing).
async fn notify_handler(
    State(_state): State<AppState>,
    Caller(p): Caller,
    Extension(fed): Extension<Arc<Federation>>,
) -> Result<Response, TaxiiError> {
    if !p.is_peer() {
        return Err(TaxiiError::Forbidden("notifications are for peer node accounts (role peer)".into()));
    }
    let progress = fed.progress(&p.member).unwrap_or(0);
    if let Err(wait) = fed.notify_limit.take(&p.user, progress) {
        tandem_taxii::audit::detail("rate_limited", true);
        return Err(TaxiiError::TooManyRequests { retry_after_secs: wait.as_secs().max(1) });
    }
    tandem_taxii::audit::detail("peer", p.member.as_str());
    if fed.pull_now(&p.member) {
        Ok(json_response(StatusCode::ACCEPTED, json!({"pulling": true})))
    } else {
        Err(TaxiiError::NotFound)
    }
}

/// The roles that see why a peer failed or what it refused: error texts and rejection reasons
/// name object ids and versions, which not every user of the member is cleared for.
const PEER_DETAIL_ROLES: [&str; 2] = ["auditor", "operator"];

/// Peer status, for users of this node's member only; error and rejection details only for
/// the roles in [`PEER_DETAIL_ROLES`] (others see that there was one, not what it said).
async fn peers_handler(
    State(_state): State<AppState>,
    ActiveCaller(p): ActiveCaller,
    Extension(fed): Extension<Arc<Federation>>,
) -> Result<Response, TaxiiError> {
    let list = fed.peer_statuses_for(&p)?;
    Ok(json_response(StatusCode::OK, json!({ "peers": list })))
}

impl Federation {
    /// The peers' sync status as `caller` may read it (`GET /api/tandem/peers/`, the web UI's
    /// coalition page): only users of the node's own member (403 otherwise); errors and
    /// rejections withheld unless the user holds a detail role.
    pub fn peer_statuses_for(&self, caller: &tandem_taxii::Principal) -> Result<Vec<serde_json::Value>, TaxiiError> {
        if caller.member != self.ctx.member {
            return Err(TaxiiError::Forbidden("peer status is for the node's own member".into()));
        }
        let details = PEER_DETAIL_ROLES.iter().any(|r| caller.has_role(r));
        let statuses = self
            .node_statuses()
            .map_err(|e| TaxiiError::Internal(format!("reading the persisted peer status: {e:#}")))?;
        Ok(statuses
            .into_iter()
            .map(|s| {
                let mut v = serde_json::to_value(&s).unwrap_or_default();
                if !details && let Some(o) = v.as_object_mut() {
                    for key in ["last_error", "last_rejection"] {
                        if o.get(key).is_some_and(|e| !e.is_null()) {
                            o.insert(key.into(), json!("withheld: ask an auditor or operator"));
                        }
                    }
                }
                v
            })
            .collect())
    }
}

#[derive(serde::Deserialize)]
struct AfterQuery {
    #[serde(default)]
    after: u64,
}

/// The applied roster changes after `?after=N`, for any authenticated caller (users and peers:
/// the roster is no secret inside the coalition).
async fn roster_changes_handler(
    State(_state): State<AppState>,
    Caller(_p): Caller,
    Extension(fed): Extension<Arc<Federation>>,
    query: Result<axum::extract::Query<AfterQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, TaxiiError> {
    let after = query.map_err(|_| TaxiiError::BadRequest("after must be a change sequence number".into()))?.after;
    let log = fed.roster_log();
    let body = tokio::task::spawn_blocking(move || roster_log::changes_body(&log, after)).await??;
    Ok(json_response(StatusCode::OK, body))
}

/// One signed roster change. The authority's signature is what authorizes it, not the caller
/// (a suspended member's node may submit its own reinstatement): anything bad, forged or out of
/// order is a 400 that says why.
async fn roster_submit_handler(
    State(_state): State<AppState>,
    Caller(p): Caller,
    Extension(fed): Extension<Arc<Federation>>,
    body: axum::body::Bytes,
) -> Result<Response, TaxiiError> {
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| TaxiiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let change =
        crate::roster_change::SignedChange::from_value(&value).map_err(|e| TaxiiError::BadRequest(e.to_string()))?;
    let log = fed.roster_log();
    match tokio::task::spawn_blocking(move || log.submit(&change)).await? {
        Ok(seq) => {
            tracing::info!(user = %p.user, seq, "roster change submitted");
            tandem_taxii::audit::detail("applied", seq);
            Ok(json_response(StatusCode::OK, json!({ "applied": seq })))
        }
        Err(SubmitError::Refused(e)) => Err(TaxiiError::BadRequest(format!("roster change refused: {e}"))),
        Err(SubmitError::Store(e)) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
struct WidenedQuery {
    since: u64,
    digest: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET {root}tandem/sync/widened/?since=<seq>&digest=<hex>[&next=..][&limit=..]`: for a peer
/// node's account only, the versions whose release to its member widened between this node's
/// roster after change `since` (whose digest must be `digest`) and the current one
/// ([`tandem_store::ObjectQuery::widened_since`]), in feed order, as sync object pages (with
/// provenance and the release epoch; `next` resumes). What is served is decided by
/// `Store::list` with the caller's current view, like every read; the old roster only leaves out
/// what was already released. 409 when this node cannot rebuild that roster exactly (the caller
/// then reads the whole feed again).
async fn widened_handler(
    State(state): State<AppState>,
    Caller(p): Caller,
    Extension(fed): Extension<Arc<Federation>>,
    uri: axum::http::Uri,
    query: Result<axum::extract::Query<WidenedQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, TaxiiError> {
    if !p.is_peer() {
        return Err(TaxiiError::Forbidden("the widened feed is for peer node accounts (role peer)".into()));
    }
    let Some(signer) = state.signer.clone() else { return Err(TaxiiError::NotFound) };
    let q = query.map_err(|_| TaxiiError::BadRequest("since (a change seq) and digest are required".into()))?.0;
    let cursor = match q.next.as_deref() {
        Some(n) => {
            Some(tandem_store::cursor::Cursor::decode(n).map_err(|_| TaxiiError::BadRequest("invalid next".into()))?)
        }
        None => None,
    };
    let cap = state.config.page_size_max.max(state.config.sync_page_size_max);
    let limit = q.limit.unwrap_or(state.config.page_size_max).clamp(1, cap);
    let log = fed.roster_log();
    let (since, digest) = (q.since, q.digest.clone());
    let Some(old) = tokio::task::spawn_blocking(move || log.roster_at(since, &digest)).await?? else {
        tandem_taxii::audit::detail("widened_since", "unknown");
        return Err(TaxiiError::Other(StatusCode::CONFLICT));
    };
    let query = tandem_store::ObjectQuery {
        versions: tandem_store::VersionFilter::All,
        limit,
        cursor,
        with_provenance: true,
        every_claim: true,
        signed_only: true,
        widened_since: Some(Arc::new(old)),
        whole_as_stored: true,
        ..Default::default()
    };
    let ctx = state.view(&p);
    let (store, coll) = (Arc::clone(&state.store), fed.ctx.collection.clone());
    let floor = query.cursor.map(|c| c.after);
    let page = tokio::task::spawn_blocking(move || store.list(&ctx, &coll, &query)).await??;
    tandem_taxii::audit::detail("widened_since", q.since);
    tandem_taxii::audit::detail("returned", page.items.len());
    let floor = floor.unwrap_or(Timestamp::from_parts(0, 0));
    let first = page.items.first().map_or(floor, |r| r.date_added);
    let last = page.items.last().map_or(floor, |r| r.date_added);
    let next = page.next.map(|n| n.encode());
    let mut resp = tandem_taxii::sync_objects_page(signer.as_ref(), &page.items, next.as_deref(), first, last);
    if let Ok(v) = axum::http::HeaderValue::from_str(uri.query().unwrap_or_default()) {
        resp.headers_mut().insert(tandem_taxii::ANSWERS_HEADER, v);
    }
    Ok(resp)
}
