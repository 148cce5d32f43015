//! Judging and storing one page of replicated versions, split in two so the puller can overlap
//! them: [`verify`] validates and verifies every version (pure CPU, run on several blocking
//! threads at once, each on a chunk of the page), [`store`] writes what passed in one store call
//! per run of the same originator (one durable transaction each) on the store's single writer.
//!
//! Every version is judged on its own: an invalid or unverifiable one is refused and counted, the
//! rest of its page is stored.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tandem_model::Timestamp;
use tandem_store::{Incoming, PutOutcome};

use crate::puller::Context;
use crate::signer::KeySet;

/// Versions whose `modified` is further ahead of this node's clock are refused.
pub const MAX_FUTURE: Duration = Duration::from_secs(300);

/// What ingesting one page did.
#[derive(Debug, Default)]
pub struct Report {
    pub added: u64,
    pub duplicate: u64,
    pub rejected: u64,
    pub last_rejection: Option<String>,
}

impl Report {
    fn refuse(&mut self, id: &str, why: String) {
        tracing::warn!(%id, reason = %why, "refusing a replicated version");
        self.rejected += 1;
        self.last_rejection = Some(format!("{id}: {why}"));
    }

    /// Adds another report's counts (the chunks of one page).
    pub fn merge(&mut self, other: Report) {
        self.added += other.added;
        self.duplicate += other.duplicate;
        self.rejected += other.rejected;
        if other.last_rejection.is_some() {
            self.last_rejection = other.last_rejection;
        }
    }
}

/// A version that passed validation and verification, with the member whose key signed it.
pub struct Verified {
    pub originator: String,
    pub incoming: Incoming,
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

/// Pairs each object of a page with its proof (moved out of the envelope's map, not cloned).
/// The n-th object of a page with one id and version (several members' claims) takes the n-th
/// key ([`tandem_taxii::nth_proof_key`]).
pub fn pair(objects: Vec<Value>, mut proofs: Map<String, Value>) -> Vec<(Value, Option<Value>)> {
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    objects
        .into_iter()
        .map(|v| {
            let key = tandem_taxii::proof_key(&v);
            let n = seen.entry(key.clone()).and_modify(|n| *n += 1).or_insert(1);
            let proof = proofs.remove(&tandem_taxii::nth_proof_key(key, *n));
            (v, proof)
        })
        .collect()
}

/// Validates and verifies a chunk of a page against `keys`.
pub fn verify(keys: &KeySet, items: Vec<(Value, Option<Value>)>) -> (Vec<Verified>, Report) {
    let mut report = Report::default();
    let horizon = Timestamp::from_micros(Timestamp::now().as_micros() + MAX_FUTURE.as_micros() as i64);
    let mut out = Vec::with_capacity(items.len());
    for (value, proof) in items {
        let id = value.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let object = match tandem_model::check_object(&value) {
            Ok(o) => o,
            Err(v) => {
                let why = v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                report.refuse(&id, format!("invalid: {why}"));
                continue;
            }
        };
        if object.version().is_some_and(|v| v > horizon) {
            report.refuse(&id, "modified is more than 5 minutes in the future".into());
            continue;
        }
        if proof.is_none() && is_published(&value) {
            // Every node seeds the published TLP and extension definitions itself, unsigned.
            continue;
        }
        match keys.verify(&value, proof.as_ref()) {
            // The proof is stored as received (what verified), not re-serialized.
            Ok(p) => out.push(Verified { originator: p.signer, incoming: Incoming { object, provenance: proof } }),
            Err(e) => report.refuse(&id, format!("provenance: {e}")),
        }
    }
    (out, report)
}

/// Validates and verifies a whole page on up to `parallelism` blocking threads; the verified
/// versions come back in the page's order.
pub async fn verify_page(
    keys: Arc<KeySet>,
    items: Vec<(Value, Option<Value>)>,
    parallelism: usize,
) -> anyhow::Result<(Vec<Verified>, Report)> {
    // Small pages are not worth a thread hand-off each.
    let chunk = items.len().div_ceil(parallelism.max(1)).max(250);
    let mut tasks = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        let head = std::mem::replace(&mut rest, tail);
        let keys = Arc::clone(&keys);
        tasks.push(tokio::task::spawn_blocking(move || verify(&keys, head)));
    }
    let mut verified = Vec::new();
    let mut report = Report::default();
    for t in tasks {
        let (v, r) = t.await?;
        verified.extend(v);
        report.merge(r);
    }
    Ok((verified, report))
}

/// Stores verified versions: marking-definitions first (so that no version is ever stored
/// before a definition it references that came on the same page: a peer reading this node in
/// between would be refused it, and the release epoch would have to move); then each object's
/// versions in version order, so its first version is stored (with its originator) before any
/// later one; one store call (one transaction, durable when it returns) per originator for the
/// objects whose versions on the page all name the same originator, and in page order per run of
/// one originator for the rare object whose versions name several (the store's originator rule
/// then refuses all but the first originator's). Runs the node's write hooks.
pub fn store(ctx: &Context, verified: Vec<Verified>) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let (definitions, rest): (Vec<Verified>, Vec<Verified>) =
        verified.into_iter().partition(|v| v.incoming.object.object_type() == "marking-definition");
    let runs = runs(definitions).into_iter().chain(runs(rest));
    for (originator, batch) in runs {
        let outcomes = ctx.store.put(&ctx.collection, &originator, batch)?;
        for o in &outcomes {
            match o {
                PutOutcome::Added { .. } => report.added += 1,
                PutOutcome::Duplicate { .. } => report.duplicate += 1,
                // A deleted version offered again by a peer that has not seen the deletion yet.
                PutOutcome::Rejected { reason, .. } if reason.contains("was deleted") => {}
                PutOutcome::Rejected { id, reason, .. } => report.refuse(id, reason.clone()),
            }
        }
        ctx.hooks.after_write(&ctx.collection, &originator, &outcomes);
    }
    Ok(report)
}

/// Groups versions into store calls (see [`store`]).
fn runs(mut verified: Vec<Verified>) -> Vec<(String, Vec<Incoming>)> {
    verified.sort_by(|a, b| {
        (a.incoming.object.id(), a.incoming.object.version())
            .cmp(&(b.incoming.object.id(), b.incoming.object.version()))
    });
    let mut by_originator: BTreeMap<String, Vec<Incoming>> = BTreeMap::new();
    let mut mixed: Vec<(String, Vec<Incoming>)> = Vec::new();
    let mut items = verified.into_iter().peekable();
    while let Some(first) = items.next() {
        let mut group = vec![first];
        while let Some(next) = items.next_if(|n| n.incoming.object.id() == group[0].incoming.object.id()) {
            group.push(next);
        }
        if group.iter().all(|v| v.originator == group[0].originator) {
            let originator = group[0].originator.clone();
            by_originator.entry(originator).or_default().extend(group.into_iter().map(|v| v.incoming));
            continue;
        }
        for Verified { originator, incoming } in group {
            match mixed.last_mut() {
                Some((o, batch)) if *o == originator => batch.push(incoming),
                _ => mixed.push((originator, vec![incoming])),
            }
        }
    }
    by_originator.into_iter().chain(mixed).collect()
}
