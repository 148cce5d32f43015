//! One pull loop per peer: pages of versions and of tombstones after a persisted cursor, each
//! version validated and verified before it is stored under its verified originator.
//!
//! Cursors are the serving peer's `date_added` positions (`X-TAXII-Date-Added-Last`, or the
//! `next` token's position), never `modified`; they are stored after every page, so a restart of
//! either side resumes where it stopped and a page interrupted mid-transfer is simply fetched
//! again (storing is idempotent on `(id, modified)` plus the content hash). A pass runs when the
//! peer notifies, else every poll interval; failures back off exponentially up to 30 s. A peer
//! that is down or sends garbage only ever affects its own loop.
//!
//! The object feed is a three-stage pipeline, so a node far behind keeps the peer, its CPUs and
//! its disk busy at once: while page N is stored (one writer, in page order, then its cursor is
//! saved), page N+1 is being verified on several blocking threads and page N+2 is being fetched
//! (its `next` position is known as soon as page N+1 arrived). A page that says `more` is followed
//! with the largest page the peer will serve ([`PAGE_FAR_BEHIND`]; the peer caps it at its
//! `page_size_max`). The cursor saved after a page never runs ahead of what is durably stored:
//! a failure anywhere drops the pages in flight, and the next pass refetches them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tandem_model::Timestamp;
use tandem_store::Store;
use tandem_taxii::WriteHooks;
use tokio::sync::Notify;

use crate::client::{ObjectPage, PeerClient, PeerSpec, Timeouts};
use crate::fetch::{Fetcher, Held, Mode};
use crate::ingest;
use crate::roster_log::PeerRoster;
use crate::signer::RosterKeys;
use crate::status::{self, PeerStatus};

pub use crate::ingest::{MAX_FUTURE, Report};

/// The page size asked for first (a notification usually means a few new versions).
const PAGE: usize = 1000;
/// The page size asked for once a page said `more`: the peer serves at most its own maximum.
pub const PAGE_FAR_BEHIND: usize = 10_000;
/// How often a peer's status is persisted at most while passes succeed.
const STATUS_SAVE_INTERVAL: Duration = Duration::from_secs(1);
/// The longest wait between failed passes (a notification from the peer still wakes the loop).
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where this node is in a peer's feeds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub objects: Option<Timestamp>,
    pub tombstones: Option<Timestamp>,
    /// This node's roster digest when the cursors were reached. Used only with a peer that does
    /// not say which roster it serves under ([`Cursor::peer_roster`] unset): a different roster
    /// then restarts both feeds from the beginning (storing is idempotent, so this re-reads but
    /// never duplicates).
    #[serde(default)]
    pub roster: Option<String>,
    /// The peer's release epoch when the objects cursor was reached; a different epoch (the
    /// peer signed versions it had stored unsigned) restarts the objects feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    /// The peer's roster position the cursors were reached under (read before each pass's
    /// pages, so the pages were served under it or a later one). When the peer's moves, the
    /// puller keeps its cursors and fetches only what the change newly released ([`Widening`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_roster: Option<PeerRoster>,
    /// A catch-up on what a roster change newly released, until it is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widening: Option<Widening>,
}

/// What is still to fetch after the peer's roster moved: the versions whose release to this
/// node widened since the peer's roster `since` (`GET {root}tandem/sync/widened/`), up to the
/// objects cursor as it was (`until`: later versions come with the ordinary feed, under the new
/// roster), resumed at `next`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Widening {
    pub since: PeerRoster,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

fn cursor_key(member: &str) -> String {
    format!("sync/cursor/{member}")
}

pub fn load_cursor(store: &dyn Store, member: &str) -> anyhow::Result<Cursor> {
    Ok(store.get_meta(&cursor_key(member))?.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default())
}

fn save_cursor(store: &dyn Store, member: &str, c: &Cursor) -> anyhow::Result<()> {
    store.put_meta(&cursor_key(member), Some(&serde_json::to_value(c)?))?;
    Ok(())
}

/// What the pullers share: this node's store, collection, keys and hooks.
pub struct Context {
    pub member: String,
    pub collection: String,
    pub store: Arc<dyn Store>,
    pub keys: RosterKeys,
    /// Called after replicated writes (notifies this node's other peers).
    pub hooks: Arc<dyn WriteHooks>,
    pub poll_interval: Duration,
    pub timeouts: Timeouts,
    /// The node's certificate and the roster pinning peers' certificates (https peers).
    pub tls: crate::client::PeerTls,
    /// The longest wait after failed passes.
    pub max_backoff: Duration,
    /// Blocking threads verifying one page at once.
    pub verify_parallelism: usize,
    /// Signed roster changes, pulled from each peer before its objects.
    pub roster_log: Arc<crate::roster_log::RosterLog>,
    /// Pages fetched and not yet stored, across all of this node's pullers: a page holds a
    /// permit from before its request until its versions are stored, so a hub with many peers
    /// far behind holds at most this many pages in memory ([`DEFAULT_PAGES_IN_FLIGHT`]).
    pub pages_in_flight: Arc<tokio::sync::Semaphore>,
}

/// The default node-wide cap on object pages in flight (`[node] sync_pages_in_flight`): a sync
/// page is up to 10,000 versions (tens of megabytes parsed), and each puller's pipeline keeps
/// up to three (being fetched, verified, stored), so a hub with 90 peers behind would otherwise
/// hold 270.
pub const DEFAULT_PAGES_IN_FLIGHT: usize = 16;

/// One peer's loop state, shared with the HTTP endpoints and tests.
pub struct PeerHandle {
    pub spec: Arc<RwLock<PeerSpec>>,
    pub trigger: Arc<Notify>,
    pub status: Arc<Mutex<PeerStatus>>,
}

impl PeerHandle {
    pub fn new(spec: PeerSpec) -> Self {
        let status = PeerStatus::new(&spec.member, &spec.url);
        PeerHandle {
            spec: Arc::new(RwLock::new(spec)),
            trigger: Arc::new(Notify::new()),
            status: Arc::new(Mutex::new(status)),
        }
    }

    pub fn member(&self) -> String {
        // A panic elsewhere must not turn the peer into member "" (peers are matched by member).
        match self.spec.read() {
            Ok(s) => s.member.clone(),
            Err(p) => p.into_inner().member.clone(),
        }
    }
}

/// Runs one peer's pull loop until `shutdown` flips.
pub async fn run(
    ctx: Arc<Context>,
    spec: Arc<RwLock<PeerSpec>>,
    trigger: Arc<Notify>,
    status: Arc<Mutex<PeerStatus>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut conn: Option<(PeerSpec, PeerClient, Option<String>)> = None;
    let mut backoff = Duration::ZERO;
    let mut mode = Mode::default();
    let mut last_saved: Option<std::time::Instant> = None;
    // A status not persisted yet (throttled): saved at the end of its interval even when no
    // pass follows, so what the node's other processes serve catches up within a second.
    let mut unsaved: Option<PeerStatus> = None;
    loop {
        let current = match spec.read() {
            Ok(s) => s.clone(),
            Err(_) => return,
        };
        if conn.as_ref().is_none_or(|(s, _, _)| *s != current) {
            match PeerClient::with_tls(current.clone(), ctx.timeouts, &ctx.tls) {
                Ok(c) => conn = Some((current.clone(), c, None)),
                Err(e) => tracing::warn!(peer = %current.member, error = %e, "cannot build a client"),
            }
        }
        if let Some((_, client, root)) = conn.as_mut() {
            let result = pass(&ctx, client, root, &status, &mut mode).await;
            let snapshot = {
                let mut st = match status.lock() {
                    Ok(s) => s,
                    Err(p) => p.into_inner(),
                };
                st.url = current.url.clone();
                st.passes += 1;
                match &result {
                    Ok(()) => {
                        st.errors = 0;
                        st.last_error = None;
                        st.last_success = Some(Timestamp::now());
                        st.caught_up_at = Some(Timestamp::now());
                        st.lag_objects = 0;
                        backoff = Duration::ZERO;
                    }
                    Err(e) => {
                        st.errors += 1;
                        st.last_error = Some(format!("{e:#}"));
                        *root = None;
                        backoff = (backoff * 2)
                            .clamp(Duration::from_millis(200), ctx.max_backoff.max(Duration::from_millis(200)));
                        tracing::debug!(peer = %current.member, error = %format!("{e:#}"), "pull failed");
                    }
                }
                st.refresh_lag();
                st.clone()
            };
            // Persisted for `tandem peer list` at most once a second (a durable write per pass
            // would cost a sync to disk for every notification); failures always.
            if result.is_err() || last_saved.is_none_or(|t| t.elapsed() >= STATUS_SAVE_INTERVAL) {
                last_saved = Some(std::time::Instant::now());
                unsaved = None;
                save_status(&ctx, snapshot).await;
            } else {
                unsaved = Some(snapshot);
            }
        }
        let wait = if backoff.is_zero() { ctx.poll_interval } else { backoff };
        let woken = tokio::time::Instant::now() + wait;
        loop {
            let save_at = last_saved.map_or_else(std::time::Instant::now, |t| t + STATUS_SAVE_INTERVAL);
            tokio::select! {
                _ = trigger.notified() => break,
                _ = tokio::time::sleep_until(woken) => break,
                _ = tokio::time::sleep_until(save_at.into()), if unsaved.is_some() => {
                    last_saved = Some(std::time::Instant::now());
                    if let Some(snapshot) = unsaved.take() {
                        save_status(&ctx, snapshot).await;
                    }
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}

async fn save_status(ctx: &Arc<Context>, snapshot: PeerStatus) {
    let store = Arc::clone(&ctx.store);
    let _ = tokio::task::spawn_blocking(move || status::save(store.as_ref(), &snapshot)).await;
}

/// One pass: every new version, then every new deletion.
async fn pass(
    ctx: &Arc<Context>,
    client: &PeerClient,
    root: &mut Option<String>,
    status: &Arc<Mutex<PeerStatus>>,
    mode: &mut Mode,
) -> anyhow::Result<()> {
    let r = match root {
        Some(r) => r.clone(),
        None => {
            let r = client.api_root().await?;
            *root = Some(r.clone());
            r
        }
    };
    // Roster changes first: a member that just joined is served from this very pass.
    let peer_roster = crate::roster_log::pull_for_pass(ctx, client, &r, status).await;
    let member = client.spec().member.clone();
    let store = Arc::clone(&ctx.store);
    let m2 = member.clone();
    let loaded = tokio::task::spawn_blocking(move || load_cursor(store.as_ref(), &m2)).await??;
    let mut cursor = after_roster(loaded.clone(), peer_roster, ctx.keys.roster_digest(), &member);
    if cursor.objects.is_none()
        && cursor.tombstones.is_none()
        && (loaded.objects.is_some() || loaded.tombstones.is_some())
    {
        touch(status, |s| s.rereads += 1);
    }
    if cursor != loaded {
        let (store, m2, c) = (Arc::clone(&ctx.store), member.clone(), cursor.clone());
        tokio::task::spawn_blocking(move || save_cursor(store.as_ref(), &m2, &c)).await??;
    }
    if cursor.widening.is_some() {
        catch_up_widened(ctx, client, &r, &member, &mut cursor, status).await?;
    }
    pull_objects(ctx, client, &r, &member, &mut cursor, status, mode).await?;
    let mut next: Option<String> = None;
    loop {
        let page = client.tombstones(&r, cursor.tombstones, next.as_deref(), PAGE).await?;
        // Only deletions signed by the originator of the deleted version are applied.
        let keys = ctx.keys.snapshot();
        let mut signed = Vec::with_capacity(page.tombstones.len());
        for t in page.tombstones {
            match keys.verify_tombstone(&t) {
                Ok(()) => signed.push(t),
                Err(e) => {
                    tracing::warn!(id = %t.id, originator = %t.originator, reason = %e, "refusing a replicated deletion");
                    touch(status, |s| {
                        s.rejected += 1;
                        s.last_rejection = Some(format!("deletion of {}: {e}", t.id));
                    });
                }
            }
        }
        let (store, coll) = (Arc::clone(&ctx.store), ctx.collection.clone());
        let applied = tokio::task::spawn_blocking(move || store.apply_tombstones(&coll, signed)).await??;
        for t in &applied {
            ctx.hooks.after_delete(&ctx.collection, &t.originator, &t.id, 1);
        }
        touch(status, |s| s.deletions += applied.len() as u64);
        if let Some(after) = page.resume_after
            && cursor.tombstones.is_none_or(|c| after > c)
        {
            cursor.tombstones = Some(after);
            let (store, m2, c) = (Arc::clone(&ctx.store), member.clone(), cursor.clone());
            tokio::task::spawn_blocking(move || save_cursor(store.as_ref(), &m2, &c)).await??;
        }
        if !page.more {
            break;
        }
        next = page.next;
    }
    Ok(())
}

/// The cursor to pull with, given the roster position the peer reported for this pass
/// (`None`: it said none, or the roster feed failed) and this node's own roster digest.
///
/// - Nothing pulled yet: the whole feed is read anyway; remember the peer's position.
/// - The peer's position moved: keep the cursors and catch up on what the change newly
///   released (a pending catch-up keeps its older `since`, which covers both changes, and
///   starts over).
/// - A cursor from a peer that never said (or from before peers said): the old rule, a
///   different own roster restarts both feeds.
/// - The peer said nothing this pass but did before: nothing changes (the next pass that hears
///   its position catches up on whatever moved meanwhile).
pub fn after_roster(mut cursor: Cursor, peer: Option<PeerRoster>, own_digest: String, member: &str) -> Cursor {
    let started = cursor.objects.is_some() || cursor.tombstones.is_some() || cursor.widening.is_some();
    match (peer, cursor.peer_roster.clone()) {
        (Some(now), _) if !started => cursor.peer_roster = Some(now),
        (Some(now), Some(was)) => {
            if now != was {
                tracing::info!(peer = %member, from = was.seq, to = now.seq, "the peer's roster moved: fetching what it newly released");
                let until = cursor.widening.as_ref().map_or(cursor.objects, |w| w.until.max(cursor.objects));
                let since = cursor.widening.take().map_or(was, |w| w.since);
                cursor.widening = Some(Widening { since, until, next: None });
                cursor.peer_roster = Some(now);
            }
        }
        (peer, None) => {
            if cursor.roster.as_deref() != Some(own_digest.as_str()) && started {
                if cursor.roster.is_some() {
                    tracing::info!(peer = %member, "the roster changed: pulling everything again");
                }
                cursor = Cursor { roster: cursor.roster, ..Cursor::default() };
            }
            cursor.peer_roster = peer;
        }
        (None, Some(_)) => {}
    }
    cursor.roster = Some(own_digest);
    cursor
}

/// Fetches what the peer's roster change newly released to this node (the widened feed, up to
/// `until`), page by page: each page verified and stored before the catch-up's position is
/// saved, so an interrupted catch-up resumes. A peer that cannot rebuild the old roster (409)
/// makes this a full re-read: both feeds start over.
async fn catch_up_widened(
    ctx: &Arc<Context>,
    client: &PeerClient,
    root: &str,
    member: &str,
    cursor: &mut Cursor,
    status: &Arc<Mutex<PeerStatus>>,
) -> anyhow::Result<()> {
    while let Some(w) = cursor.widening.clone() {
        let permit = Arc::clone(&ctx.pages_in_flight).acquire_owned().await?;
        let Some(page) = client.widened(root, &w.since, w.next.as_deref(), PAGE_FAR_BEHIND).await? else {
            tracing::info!(peer = %member, "the peer cannot rebuild the roster this node was served under: pulling everything again");
            *cursor =
                Cursor { roster: cursor.roster.take(), peer_roster: cursor.peer_roster.take(), ..Cursor::default() };
            touch(status, |s| s.rereads += 1);
            let (store, m2, c) = (Arc::clone(&ctx.store), member.to_string(), cursor.clone());
            tokio::task::spawn_blocking(move || save_cursor(store.as_ref(), &m2, &c)).await??;
            return Ok(());
        };
        touch(status, |s| s.last_contact = Some(Timestamp::now()));
        let past_until = match (page.resume_after, w.until) {
            (Some(at), Some(until)) => at > until,
            (_, None) => true,
            (None, Some(_)) => false,
        };
        let done = !page.more || past_until;
        let next = page.next.clone();
        let fetched = page.objects.len() as u64;
        let keys = Arc::new(ctx.keys.snapshot());
        let items = ingest::pair(page.objects, page.proofs);
        let (items, verified) = ingest::verify_page(keys, items, ctx.verify_parallelism).await?;
        let c2 = Arc::clone(ctx);
        let report = tokio::task::spawn_blocking(move || ingest::store(&c2, items)).await??;
        drop(permit);
        touch(status, |s| {
            s.received += report.added;
            s.fetched += fetched;
            s.widened += fetched;
            s.rejected += verified.rejected + report.rejected;
            if let Some(why) = report.last_rejection.clone().or(verified.last_rejection.clone()) {
                s.last_rejection = Some(why);
            }
        });
        cursor.widening = if done { None } else { Some(Widening { next, ..w }) };
        let (store, m2, c) = (Arc::clone(&ctx.store), member.to_string(), cursor.clone());
        tokio::task::spawn_blocking(move || save_cursor(store.as_ref(), &m2, &c)).await??;
    }
    Ok(())
}

fn touch(status: &Arc<Mutex<PeerStatus>>, f: impl FnOnce(&mut PeerStatus)) {
    match status.lock() {
        Ok(mut s) => f(&mut s),
        Err(p) => f(&mut p.into_inner()),
    }
}

/// A page that passed verification, on its way to the store stage (with its permit in
/// [`Context::pages_in_flight`], released once it is stored).
struct Verified {
    items: Vec<ingest::Verified>,
    resume_after: Option<Timestamp>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// Pulls the object feed after `cursor`. When the peer's release epoch differs from the one the
/// cursor was reached under, starts the feed over (see [`crate::signer::EPOCH_KEY`]).
async fn pull_objects(
    ctx: &Arc<Context>,
    client: &PeerClient,
    root: &str,
    member: &str,
    cursor: &mut Cursor,
    status: &Arc<Mutex<PeerStatus>>,
    mode: &mut Mode,
) -> anyhow::Result<()> {
    // Each epoch change restarts once; a peer whose epoch moved again meanwhile is followed on
    // the next pass.
    for _ in 0..3 {
        match pull_objects_once(ctx, client, root, member, cursor, status, mode).await? {
            None => return Ok(()),
            Some(epoch) => {
                if cursor.objects.is_some() {
                    tracing::info!(peer = %member, "the peer's release epoch moved: pulling everything again");
                    touch(status, |s| s.rereads += 1);
                }
                cursor.objects = None;
                cursor.epoch = Some(epoch);
                let (store, m2, c) = (Arc::clone(&ctx.store), member.to_string(), cursor.clone());
                tokio::task::spawn_blocking(move || save_cursor(store.as_ref(), &m2, &c)).await??;
            }
        }
    }
    Ok(())
}

/// One run of the pipeline; returns the peer's new epoch instead when it differs from the
/// cursor's (nothing of that page is stored).
async fn pull_objects_once(
    ctx: &Arc<Context>,
    client: &PeerClient,
    root: &str,
    member: &str,
    cursor: &mut Cursor,
    status: &Arc<Mutex<PeerStatus>>,
    mode: &mut Mode,
) -> anyhow::Result<Option<String>> {
    let fetcher = Fetcher {
        client: client.clone(),
        root: root.to_string(),
        store: Arc::clone(&ctx.store),
        collection: ctx.collection.clone(),
    };
    let pass_mode = *mode;
    let fetch = |next: Option<String>, limit: usize| {
        let (fetcher, after, slots) = (fetcher.clone(), cursor.objects, Arc::clone(&ctx.pages_in_flight));
        Prefetch(tokio::spawn(async move {
            let permit = slots.acquire_owned().await?;
            let (page, held) = fetcher.page(pass_mode, after, next.as_deref(), limit).await?;
            Ok((page, held, permit))
        }))
    };
    let known_epoch = cursor.epoch.clone();
    // What this pass was offered and already held, to choose the next pass's mode.
    let counts = (AtomicU64::new(0), AtomicU64::new(0));
    let (offered, held) = (&counts.0, &counts.1);
    // The store stage: pages in order, each stored durably before its cursor is saved. It runs
    // in this task (not spawned), so stopping the puller stops it too.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Verified>(1);
    let mut saved = cursor.clone();
    let store_stage = async {
        while let Some(page) = rx.recv().await {
            let c2 = Arc::clone(ctx);
            let report = tokio::task::spawn_blocking(move || ingest::store(&c2, page.items)).await??;
            if pass_mode == Mode::Whole {
                offered.fetch_add(report.added + report.duplicate, Ordering::Relaxed);
                held.fetch_add(report.duplicate, Ordering::Relaxed);
            }
            touch(status, |s| {
                s.received += report.added;
                s.rejected += report.rejected;
                if report.last_rejection.is_some() {
                    s.last_rejection = report.last_rejection.clone();
                }
            });
            if let Some(after) = page.resume_after
                && saved.objects.is_none_or(|c| after > c)
            {
                saved.objects = Some(after);
                let (store, m2, c) = (Arc::clone(&ctx.store), member.to_string(), saved.clone());
                tokio::task::spawn_blocking(move || save_cursor(store.as_ref(), &m2, &c)).await??;
            }
        }
        anyhow::Ok(())
    };
    // Fetch and verify: the next page is requested before this one is verified.
    let verify_stage = async move {
        let mut in_flight = Some(fetch(None, PAGE));
        while let Some(mut task) = in_flight.take() {
            let (page, page_held, permit) = (&mut task.0).await??;
            if page.epoch.is_some() && page.epoch != known_epoch {
                // Dropping `tx` (this stage ends) lets the store stage finish what it has.
                return anyhow::Ok(page.epoch);
            }
            offered.fetch_add(page_held.offered, Ordering::Relaxed);
            held.fetch_add(page_held.held, Ordering::Relaxed);
            if page.more {
                in_flight = Some(fetch(page.next.clone(), PAGE_FAR_BEHIND));
            }
            touch(status, |s| {
                s.last_contact = Some(Timestamp::now());
                s.lag_objects = page.objects.len() as u64;
                s.fetched += page.objects.len() as u64;
            });
            let keys = Arc::new(ctx.keys.snapshot());
            let items = ingest::pair(page.objects, page.proofs);
            let (items, report) = ingest::verify_page(keys, items, ctx.verify_parallelism).await?;
            touch(status, |s| {
                s.rejected += report.rejected;
                if report.last_rejection.is_some() {
                    s.last_rejection = report.last_rejection.clone();
                }
            });
            if tx.send(Verified { items, resume_after: page.resume_after, _permit: permit }).await.is_err() {
                // The store stage stopped: its error is the one to report.
                break;
            }
        }
        // Dropping `tx` here ends the store stage once it has stored every page sent.
        anyhow::Ok(None)
    };
    let (stored, verified) = tokio::join!(store_stage, verify_stage);
    cursor.objects = saved.objects;
    stored?;
    *mode = mode.after(Held { offered: offered.load(Ordering::Relaxed), held: held.load(Ordering::Relaxed) });
    verified
}

/// A page being fetched; dropped (a failure, the puller stopped) means aborted.
struct Prefetch(tokio::task::JoinHandle<anyhow::Result<(ObjectPage, Held, tokio::sync::OwnedSemaphorePermit)>>);

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}
