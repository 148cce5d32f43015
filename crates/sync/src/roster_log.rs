//! One node's log of applied roster changes, and the effective roster it yields: the config's
//! roster (the local bootstrap) with every applied, authority-signed change on top, in sequence
//! order. The effective roster is swapped into the shared `Arc<RwLock<Arc<Roster>>>` that TAXII,
//! policy and [`crate::signer::RosterKeys`] read, so a change takes effect on the next request
//! (and, through the roster digest, restarts the pullers' cursors: a member that joins backfills).
//!
//! Changes reach a node three ways, all through [`RosterLog::submit`]: `POST
//! {root}tandem/roster/changes/`, `tandem roster submit` (offline), and replication ([`pull`]:
//! every pull pass first asks the peer for changes after the local latest seq). The log lives in
//! the store's meta keys (`roster/change/<seq>`), so any [`Store`] backend keeps it; it is re-read
//! for every append and checked at every pull pass, so a change written by another process is
//! seen too. Appending seq N is a compare-and-set of an absent key (`MetaStore::cas_meta`), so of
//! two processes appending at once exactly one stores seq N.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context as _;
use ed25519_dalek::VerifyingKey;
use serde_json::{Value, json};
use tandem_policy::Roster;
use tandem_store::{Store, StoreError};

use crate::client::PeerClient;
use crate::roster_change::{self, ChangeError, SignedChange};

const PREFIX: &str = "roster/change/";
/// The most changes one `GET .../roster/changes/` returns.
pub const PAGE: usize = 1000;

fn meta_key(seq: u64) -> String {
    format!("{PREFIX}{seq:012}")
}

/// Why a submitted change was not applied.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The change itself is bad (HTTP 400).
    #[error("{0}")]
    Refused(#[from] ChangeError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

type OnApplied = Box<dyn Fn() + Send + Sync>;

pub struct RosterLog {
    authority: Option<VerifyingKey>,
    store: Arc<dyn Store>,
    bootstrap: RwLock<Arc<Roster>>,
    shared: Arc<RwLock<Arc<Roster>>>,
    /// Serializes appends within this process: the HTTP endpoint and every peer's puller may
    /// offer the same change. Across processes, the append itself is a compare-and-set.
    append: Mutex<()>,
    on_applied: RwLock<Option<OnApplied>>,
    /// The seq of the last change in the shared snapshot, to notice changes another process
    /// (`tandem roster submit`) stored.
    computed_at: AtomicU64,
    /// The log as last read and verified: every pull pass and every GET reads the log, and a
    /// stored change identical to one already verified needs no second signature check.
    verified: Mutex<Vec<SignedChange>>,
}

fn read<T: Clone>(l: &RwLock<T>) -> T {
    match l.read() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

impl RosterLog {
    /// A node's log. `bootstrap` is the config's roster, `shared` the live snapshot to keep
    /// up to date; call [`RosterLog::recompute`] to put the effective roster in it.
    pub fn new(
        store: Arc<dyn Store>,
        bootstrap: Roster,
        authority: Option<VerifyingKey>,
        shared: Arc<RwLock<Arc<Roster>>>,
    ) -> Self {
        RosterLog {
            authority,
            store,
            bootstrap: RwLock::new(Arc::new(bootstrap)),
            shared,
            append: Mutex::new(()),
            on_applied: RwLock::new(None),
            computed_at: AtomicU64::new(0),
            verified: Mutex::new(Vec::new()),
        }
    }

    /// The live (effective) roster snapshot.
    pub fn roster(&self) -> Arc<Roster> {
        read(&self.shared)
    }

    pub fn authority(&self) -> Option<&VerifyingKey> {
        self.authority.as_ref()
    }

    /// Called after a change is applied (outside the append lock): the federation rings its
    /// peers and restarts its own pulls.
    pub fn set_on_applied(&self, f: impl Fn() + Send + Sync + 'static) {
        if let Ok(mut g) = self.on_applied.write() {
            *g = Some(Box::new(f));
        }
    }

    /// The applied changes, 1..=latest. Only the gap-free prefix signed by this node's
    /// authority counts; a node without an authority has none.
    pub fn applied(&self) -> Result<Vec<SignedChange>, StoreError> {
        let Some(authority) = &self.authority else { return Ok(Vec::new()) };
        let known = match self.verified.lock() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let mut log: Vec<SignedChange> = Vec::new();
        for (key, value) in self.store.list_meta(PREFIX)? {
            let change = match SignedChange::from_value(&value) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(%key, error = %e, "unreadable stored roster change: ignoring it and every later one");
                    break;
                }
            };
            let latest = log.last().map_or(0, SignedChange::seq);
            let checked = known.get(log.len()) == Some(&change);
            if let Err(e) = (if checked { Ok(()) } else { roster_change::verify(&change, authority) })
                .and_then(|()| roster_change::check_sequence(change.seq(), latest))
            {
                tracing::error!(%key, error = %e, "stored roster change not applied: ignoring it and every later one");
                break;
            }
            log.push(change);
        }
        if let Ok(mut v) = self.verified.lock() {
            v.clone_from(&log);
        }
        Ok(log)
    }

    /// The seq of the last applied change (0 for none).
    pub fn latest(&self) -> Result<u64, StoreError> {
        Ok(self.applied()?.last().map_or(0, SignedChange::seq))
    }

    /// The effective roster now (without swapping it in), with the stored changes that no longer
    /// apply to the bootstrap.
    pub fn effective(&self) -> Result<(Roster, Vec<(u64, ChangeError)>), StoreError> {
        Ok(roster_change::effective(&read::<Arc<Roster>>(&self.bootstrap), &self.applied()?))
    }

    /// Recomputes the effective roster and swaps it into the shared snapshot.
    pub fn recompute(&self) -> Result<(), StoreError> {
        let log = self.applied()?;
        let (roster, skipped) = roster_change::effective(&read::<Arc<Roster>>(&self.bootstrap), &log);
        self.computed_at.store(log.last().map_or(0, SignedChange::seq), Ordering::SeqCst);
        for (seq, e) in skipped {
            tracing::warn!(seq, error = %e, "roster change does not apply to this node's configured roster: skipped");
        }
        self.swap(roster);
        Ok(())
    }

    /// A new bootstrap roster (SIGHUP reloaded the config): recompute on top of it.
    pub fn set_bootstrap(&self, roster: Roster) -> Result<(), StoreError> {
        let _g = self.append.lock();
        match self.bootstrap.write() {
            Ok(mut g) => *g = Arc::new(roster),
            Err(p) => *p.into_inner() = Arc::new(roster),
        }
        self.recompute()
    }

    fn swap(&self, roster: Roster) {
        let next = Arc::new(roster);
        match self.shared.write() {
            Ok(mut g) => *g = next,
            Err(p) => *p.into_inner() = next,
        }
    }

    /// Verifies, checks the order of, stores and applies one change; returns its seq.
    pub fn submit(&self, change: &SignedChange) -> Result<u64, SubmitError> {
        let authority = self.authority.as_ref().ok_or(ChangeError::NoAuthority)?;
        {
            let guard = match self.append.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            let log = self.applied()?;
            let latest = log.last().map_or(0, SignedChange::seq);
            let (current, _) = roster_change::effective(&read::<Arc<Roster>>(&self.bootstrap), &log);
            let next = match roster_change::accept(Some(authority), latest, &current, change) {
                Ok(next) => next,
                // Two authentic changes with one number would leave the nodes disagreeing.
                Err(ChangeError::Stale { seq, .. })
                    if log.get(seq as usize - 1).is_some_and(|applied| applied.change != change.change) =>
                {
                    tracing::error!(seq, "the roster authority signed two different changes with one number");
                    return Err(ChangeError::Conflict(seq).into());
                }
                Err(e) => return Err(e.into()),
            };
            // The lock above serializes this process; compare-and-set on the store serializes
            // processes (`tandem roster submit` beside the node): only one appends seq N.
            let key = meta_key(change.seq());
            let value = change.to_value();
            if !self.store.cas_meta(&key, None, Some(&value))? {
                let theirs = self.store.get_meta(&key)?;
                tracing::info!(seq = change.seq(), "another process stored roster change {} first", change.seq());
                self.recompute()?;
                drop(guard);
                self.applied_hook();
                return Err(match theirs {
                    Some(v) if v == value => ChangeError::Stale { seq: change.seq(), latest: change.seq() },
                    _ => {
                        tracing::error!(
                            seq = change.seq(),
                            "the roster authority signed two different changes with one number"
                        );
                        ChangeError::Conflict(change.seq())
                    }
                }
                .into());
            }
            self.swap(next);
            self.computed_at.store(change.seq(), Ordering::SeqCst);
        }
        tracing::info!(seq = change.seq(), action = ?change.change.action, "roster change applied");
        self.applied_hook();
        Ok(change.seq())
    }

    fn applied_hook(&self) {
        if let Ok(g) = self.on_applied.read()
            && let Some(f) = g.as_ref()
        {
            f();
        }
    }

    /// Takes in changes another process stored (`tandem roster submit` while the node runs, or
    /// another `serve` process of the node on a shared database); true if there were any. The
    /// log is gap-free, so when nothing is stored under the seq after the snapshot's, nothing
    /// changed: one look-up by key, cheap enough to call every second.
    pub fn catch_up(&self) -> Result<bool, StoreError> {
        let next = self.computed_at.load(Ordering::SeqCst) + 1;
        if self.store.get_meta(&meta_key(next))?.is_none() {
            return Ok(false);
        }
        {
            let _g = match self.append.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if self.latest()? == self.computed_at.load(Ordering::SeqCst) {
                return Ok(false);
            }
            self.recompute()?;
        }
        tracing::info!("roster changes stored by another process applied");
        self.applied_hook();
        Ok(true)
    }
}

/// What one [`pull`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pulled {
    pub applied: u64,
    /// The first change refused, if any (later ones wait behind it).
    pub refused: Option<String>,
    /// The roster the peer serves under, as it said before this pull's last page of changes
    /// (`None` from a peer that does not say).
    pub peer_roster: Option<PeerRoster>,
}

/// A position in a peer's roster log: its latest change's seq and the digest of its effective
/// roster there. A puller keeps the one it read before a pass with its cursor: the peer's seq
/// only grows, so the pages that follow were served under this roster or a later one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeerRoster {
    pub seq: u64,
    pub digest: String,
}

/// Asks a peer for the changes after this node's latest and applies them in order. A change the
/// peer serves that this node refuses (forged, another authority, does not apply) stops the pull
/// there: later changes cannot skip it.
pub async fn pull(log: &Arc<RosterLog>, client: &PeerClient, root: &str) -> anyhow::Result<Pulled> {
    let mut pulled = Pulled::default();
    if log.authority().is_none() {
        return Ok(pulled);
    }
    let l2 = Arc::clone(log);
    tokio::task::spawn_blocking(move || l2.catch_up()).await??;
    loop {
        let l2 = Arc::clone(log);
        let latest = tokio::task::spawn_blocking(move || l2.latest()).await??;
        let page = client.roster_changes(root, latest).await?;
        let (changes, more) = (page.changes, page.more);
        if let (Some(seq), Some(digest)) = (page.latest, page.roster) {
            pulled.peer_roster = Some(PeerRoster { seq, digest });
        }
        let count = changes.len();
        for value in changes {
            let change = match SignedChange::from_value(&value) {
                Ok(c) => c,
                Err(e) => {
                    pulled.refused = Some(e.to_string());
                    return Ok(pulled);
                }
            };
            let (l2, c2) = (Arc::clone(log), change.clone());
            match tokio::task::spawn_blocking(move || l2.submit(&c2)).await? {
                Ok(_) => pulled.applied += 1,
                // Another peer's puller delivered it first.
                Err(SubmitError::Refused(ChangeError::Stale { .. })) => {}
                Err(SubmitError::Refused(e)) => {
                    tracing::warn!(peer = %client.spec().member, seq = change.seq(), error = %e, "refusing a replicated roster change");
                    pulled.refused = Some(format!("roster change {}: {e}", change.seq()));
                    return Ok(pulled);
                }
                Err(SubmitError::Store(e)) => return Err(e).context("storing a roster change"),
            }
        }
        if !more || count == 0 {
            return Ok(pulled);
        }
    }
}

/// The body of `GET {root}tandem/roster/changes/?after=N`: the changes, the latest seq and the
/// digest of the effective roster at that seq (`roster`), which a puller keeps with its cursor
/// as the roster it was served under ([`RosterLog::roster_at`]).
pub fn changes_body(log: &RosterLog, after: u64) -> Result<Value, StoreError> {
    let all = log.applied()?;
    let latest = all.last().map_or(0, SignedChange::seq);
    let (roster, _) = roster_change::effective(&read::<Arc<Roster>>(&log.bootstrap), &all);
    let page: Vec<Value> = all.iter().filter(|c| c.seq() > after).take(PAGE).map(SignedChange::to_value).collect();
    let more = page.len() == PAGE && latest > after + PAGE as u64;
    Ok(json!({ "changes": page, "latest": latest, "more": more, "roster": crate::signer::roster_digest(&roster) }))
}

impl RosterLog {
    /// The effective roster this node had after change `seq` (0: the configured roster alone),
    /// if its digest is `digest`; `None` when it is not (the log is shorter, or the configured
    /// roster changed since, so that roster cannot be rebuilt exactly).
    pub fn roster_at(&self, seq: u64, digest: &str) -> Result<Option<Roster>, StoreError> {
        let all = self.applied()?;
        let Ok(upto) = usize::try_from(seq) else { return Ok(None) };
        if upto > all.len() {
            return Ok(None);
        }
        let (roster, _) = roster_change::effective(&read::<Arc<Roster>>(&self.bootstrap), &all[..upto]);
        Ok((crate::signer::roster_digest(&roster) == digest).then_some(roster))
    }
}

/// The roster step of a pull pass: errors reaching the peer's change feed do not stop the pass
/// (the object pull reports its own), a refused change is counted as a rejection.
/// Returns the roster the peer serves under, when it said.
pub(crate) async fn pull_for_pass(
    ctx: &crate::puller::Context,
    client: &PeerClient,
    root: &str,
    status: &Arc<Mutex<crate::status::PeerStatus>>,
) -> Option<PeerRoster> {
    match pull(&ctx.roster_log, client, root).await {
        Ok(Pulled { refused: Some(why), peer_roster, .. }) => {
            let mut s = match status.lock() {
                Ok(s) => s,
                Err(p) => p.into_inner(),
            };
            s.rejected += 1;
            s.last_rejection = Some(why);
            peer_roster
        }
        Ok(pulled) => pulled.peer_roster,
        Err(e) => {
            tracing::debug!(peer = %client.spec().member, error = %format!("{e:#}"), "roster changes not pulled");
            None
        }
    }
}
