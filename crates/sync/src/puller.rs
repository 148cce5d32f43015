//! One pull loop per peer: pages of versions and of tombstones after a persisted cursor, each
//! version validated and verified before it is stored under its verified originator.
//!
//! Cursors are the serving peer's `date_added` positions (`X-TAXII-Date-Added-Last`, or the
//! `next` token's position), never `modified`; they are stored after every page, so a restart of
//! either side resumes where it stopped and a page interrupted mid-transfer is simply fetched
//! again (storing is idempotent on `(id, modified)` plus the content hash). A pass runs when the
//! peer notifies, else every poll interval; failures back off exponentially up to 30 s. A peer
//! that is down or sends garbage only ever affects its own loop.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_model::Timestamp;
use tandem_store::{Incoming, PutOutcome, Store};
use tandem_taxii::WriteHooks;
use tokio::sync::Notify;

use crate::client::{PeerClient, PeerSpec};
use crate::signer::RosterKeys;
use crate::status::{self, PeerStatus};

/// Versions whose `modified` is further ahead of this node's clock are refused.
pub const MAX_FUTURE: Duration = Duration::from_secs(300);
const PAGE: usize = 1000;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where this node is in a peer's feeds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub objects: Option<Timestamp>,
    pub tombstones: Option<Timestamp>,
    /// The roster the cursors were reached under; a different roster restarts both feeds from
    /// the beginning (storing is idempotent, so this re-reads but never duplicates).
    #[serde(default)]
    pub roster: Option<String>,
    /// The peer's release epoch when the objects cursor was reached; a different epoch (the
    /// peer signed versions it had stored unsigned) restarts the objects feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
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
    pub timeout: Duration,
    /// Signed roster changes, pulled from each peer before its objects.
    pub roster_log: Arc<crate::roster_log::RosterLog>,
}

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
        self.spec.read().map(|s| s.member.clone()).unwrap_or_default()
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
    loop {
        let current = match spec.read() {
            Ok(s) => s.clone(),
            Err(_) => return,
        };
        if conn.as_ref().is_none_or(|(s, _, _)| *s != current) {
            match PeerClient::new(current.clone(), ctx.timeout) {
                Ok(c) => conn = Some((current.clone(), c, None)),
                Err(e) => tracing::warn!(peer = %current.member, error = %e, "cannot build a client"),
            }
        }
        if let Some((_, client, root)) = conn.as_mut() {
            let result = pass(&ctx, client, root, &status).await;
            let snapshot = {
                let mut st = match status.lock() {
                    Ok(s) => s,
                    Err(p) => p.into_inner(),
                };
                st.url = current.url.clone();
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
                        backoff = (backoff * 2).clamp(Duration::from_millis(200), MAX_BACKOFF);
                        tracing::debug!(peer = %current.member, error = %format!("{e:#}"), "pull failed");
                    }
                }
                st.refresh_lag();
                st.clone()
            };
            let store = Arc::clone(&ctx.store);
            let _ = tokio::task::spawn_blocking(move || status::save(store.as_ref(), &snapshot)).await;
        }
        let wait = if backoff.is_zero() { ctx.poll_interval } else { backoff };
        tokio::select! {
            _ = trigger.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One pass: every new version, then every new deletion.
async fn pass(
    ctx: &Arc<Context>,
    client: &PeerClient,
    root: &mut Option<String>,
    status: &Arc<Mutex<PeerStatus>>,
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
    crate::roster_log::pull_for_pass(ctx, client, &r, status).await;
    let member = client.spec().member.clone();
    let store = Arc::clone(&ctx.store);
    let m2 = member.clone();
    let mut cursor = tokio::task::spawn_blocking(move || load_cursor(store.as_ref(), &m2)).await??;
    let digest = ctx.keys.roster_digest();
    if cursor.roster.as_deref() != Some(digest.as_str()) {
        if cursor.roster.is_some() {
            tracing::info!(peer = %member, "the roster changed: pulling everything again");
        }
        cursor = Cursor { objects: None, tombstones: None, roster: Some(digest), epoch: None };
    }
    let mut next: Option<String> = None;
    loop {
        let page = client.objects(&r, cursor.objects, next.as_deref(), PAGE).await?;
        if page.epoch.is_some() && page.epoch != cursor.epoch {
            if cursor.objects.is_some() {
                tracing::info!(peer = %member, "the peer signed earlier versions: pulling everything again");
            }
            cursor.objects = None;
            cursor.epoch = page.epoch;
            let (store, m2, c) = (Arc::clone(&ctx.store), member.clone(), cursor.clone());
            tokio::task::spawn_blocking(move || save_cursor(store.as_ref(), &m2, &c)).await??;
            next = None;
            continue;
        }
        touch(status, |s| {
            s.last_contact = Some(Timestamp::now());
            s.lag_objects = page.objects.len() as u64;
        });
        let c2 = Arc::clone(ctx);
        let (objects, proofs) = (page.objects, page.proofs);
        let report = tokio::task::spawn_blocking(move || ingest(&c2, objects, &proofs)).await??;
        touch(status, |s| {
            s.received += report.added;
            s.rejected += report.rejected;
            if report.last_rejection.is_some() {
                s.last_rejection = report.last_rejection.clone();
            }
        });
        if let Some(after) = page.resume_after
            && cursor.objects.is_none_or(|c| after > c)
        {
            cursor.objects = Some(after);
            let (store, m2, c) = (Arc::clone(&ctx.store), member.clone(), cursor.clone());
            tokio::task::spawn_blocking(move || save_cursor(store.as_ref(), &m2, &c)).await??;
        }
        if !page.more {
            break;
        }
        next = page.next;
    }
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

fn touch(status: &Arc<Mutex<PeerStatus>>, f: impl FnOnce(&mut PeerStatus)) {
    match status.lock() {
        Ok(mut s) => f(&mut s),
        Err(p) => f(&mut p.into_inner()),
    }
}

/// What storing one page did.
#[derive(Debug, Default)]
pub struct Report {
    pub added: u64,
    pub duplicate: u64,
    pub rejected: u64,
    pub last_rejection: Option<String>,
}

/// Whether `value` is exactly one of the objects every node publishes (TLP 2.0 definitions,
/// Tandem's identity and extension-definitions).
fn is_published(value: &Value) -> bool {
    static HASHES: std::sync::OnceLock<Vec<[u8; 32]>> = std::sync::OnceLock::new();
    let hashes = HASHES.get_or_init(|| {
        tandem_model::tlp::published_definitions()
            .into_iter()
            .chain(tandem_model::incident::published_extension_definitions())
            .map(|v| tandem_model::canonical::content_hash(&v))
            .collect()
    });
    hashes.contains(&tandem_model::canonical::content_hash(value))
}

/// Validates, verifies and stores one page; every object is judged on its own.
pub fn ingest(ctx: &Context, objects: Vec<Value>, proofs: &serde_json::Map<String, Value>) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let keys = ctx.keys.snapshot();
    let horizon = Timestamp::from_micros(Timestamp::now().as_micros() + MAX_FUTURE.as_micros() as i64);
    let mut verified_items: Vec<(String, Incoming)> = Vec::new();
    let refuse = |report: &mut Report, id: &str, why: String| {
        tracing::warn!(%id, reason = %why, "refusing a replicated version");
        report.rejected += 1;
        report.last_rejection = Some(format!("{id}: {why}"));
    };
    for value in objects {
        let id = value.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let object = match tandem_model::check_object(&value) {
            Ok(o) => o,
            Err(v) => {
                let why = v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                refuse(&mut report, &id, format!("invalid: {why}"));
                continue;
            }
        };
        if object.version().is_some_and(|v| v > horizon) {
            refuse(&mut report, &id, "modified is more than 5 minutes in the future".into());
            continue;
        }
        let proof = proofs.get(&tandem_taxii::proof_key(&value));
        if proof.is_none() && is_published(&value) {
            // Every node seeds the published TLP and extension definitions itself, unsigned.
            continue;
        }
        let verified = match keys.verify(&value, proof) {
            Ok(p) => p,
            Err(e) => {
                refuse(&mut report, &id, format!("provenance: {e}"));
                continue;
            }
        };
        verified_items.push((verified.signer.clone(), Incoming { object, provenance: Some(verified.to_value()) }));
    }
    // Earlier versions first, so an object's first version is stored (with its originator) before
    // any later one on the page; then one store call per run of the same originator.
    verified_items
        .sort_by(|(_, a), (_, b)| (a.object.id(), a.object.version()).cmp(&(b.object.id(), b.object.version())));
    let mut runs: Vec<(String, Vec<Incoming>)> = Vec::new();
    for (originator, incoming) in verified_items {
        match runs.last_mut() {
            Some((o, batch)) if *o == originator => batch.push(incoming),
            _ => runs.push((originator, vec![incoming])),
        }
    }
    for (originator, batch) in runs {
        let outcomes = ctx.store.put(&ctx.collection, &originator, batch)?;
        for o in &outcomes {
            match o {
                PutOutcome::Added { .. } => report.added += 1,
                PutOutcome::Duplicate { .. } => report.duplicate += 1,
                // A deleted version offered again by a peer that has not seen the deletion yet.
                PutOutcome::Rejected { reason, .. } if reason.contains("was deleted") => {}
                PutOutcome::Rejected { id, reason, .. } => refuse(&mut report, id, reason.clone()),
            }
        }
        ctx.hooks.after_write(&ctx.collection, &originator, &outcomes);
    }
    Ok(report)
}
