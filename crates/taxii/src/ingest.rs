//! The one ingest pipeline: validate, sign, store, notify, and a summary per object. Every writer
//! of local versions takes it (the TAXII POST handler, `tandem import`, `tandem marking create`,
//! the demo loader, the node's seeding, MISP and CSV import and external TAXII feeds
//! (`tandem_node::interop`, `tandem_node::feeds`), and next text-extraction drafts and the web
//! UI's report form), so a rule about what enters the store is written once.
//!
//! It lives here, not in `tandem-sync` or the binary, because the layering allows nowhere else
//! without a cycle: the [`Signer`] and [`WriteHooks`] traits it drives are this crate's (sync
//! implements them and depends on this crate; the binary depends on both), and the TAXII handler
//! that is its main user is here. It holds those traits and [`Store`] as trait objects, so any
//! backend, signer or hooks (a live stream next) plug in, and it does no I/O of its own beyond
//! the one `Store::put` per batch.
//!
//! Replicated versions do not come through here: they arrive signed by their originator and are
//! verified, not signed, by `tandem_sync::ingest`.

use std::sync::Arc;

use serde_json::Value;
use tandem_model::{Timestamp, check_owned, parallel};
use tandem_store::{Incoming, NewStatus, PutOutcome, Store};

use crate::{NoHooks, Signer, WriteHooks};

/// Where a rejected object was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Not valid STIX 2.1 (`tandem_model::check_object`): the store never saw it.
    Invalid,
    /// Valid, but refused by the store (a conflicting version, a revoked object, ...).
    Store,
}

/// What happened to one submitted object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Accepted { version: Timestamp, date_added: Timestamp },
    /// The exact same version was already stored: a no-op, counted as a success.
    Duplicate { version: Timestamp, date_added: Timestamp },
    /// Not stored, and why.
    Rejected { version: Option<Timestamp>, reason: String, stage: Stage },
}

/// One submitted object's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its position in the submitted batch.
    pub index: usize,
    /// Its `id` (empty when it had none, or was not even a JSON object).
    pub id: String,
    /// Its `modified`, else `created`, exactly as submitted (TAXII status resources report the
    /// client's own spelling).
    pub raw_version: Option<String>,
    pub outcome: Outcome,
}

/// The outcome of one batch: one entry per submitted object, in submission order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub entries: Vec<Entry>,
}

impl Summary {
    pub fn accepted(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Accepted { .. }))
    }

    pub fn duplicate(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Duplicate { .. }))
    }

    pub fn rejected(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Rejected { .. }))
    }

    /// The rejected entries stopped at `stage`, in submission order.
    pub fn rejected_at(&self, stage: Stage) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| matches!(&e.outcome, Outcome::Rejected { stage: s, .. } if *s == stage))
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.entries.iter().filter(|e| f(&e.outcome)).count()
    }
}

/// The pipeline over one store, with the node's signer and write hooks. Cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    store: Arc<dyn Store>,
    signer: Option<Arc<dyn Signer>>,
    hooks: Arc<dyn WriteHooks>,
}

impl Ingest {
    /// A pipeline that stores unsigned and notifies no one (what another process than the node
    /// needs for objects that carry no provenance; the node's refresher notices the write).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Ingest { store, signer: None, hooks: Arc::new(NoHooks) }
    }

    /// Signs what the signer's member submits (once per batch).
    pub fn with_signer(mut self, signer: Option<Arc<dyn Signer>>) -> Self {
        self.signer = signer;
        self
    }

    /// Rings `hooks` after a batch that added something.
    pub fn with_hooks(mut self, hooks: Arc<dyn WriteHooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// Validates `objects` (one bad object never blocks the others), signs the valid ones
    /// together when `member` is the node's own, stores them in one `Store::put` as originated
    /// by `member`, rings the hooks with what was added, and says what happened to each.
    ///
    /// Blocking (validation, signing and a durable transaction): call it off the async threads.
    /// Only a storage failure is an error; then nothing of the batch was acknowledged.
    pub fn submit(&self, collection: &str, member: &str, objects: Vec<Value>) -> tandem_store::Result<Summary> {
        self.submit_reporting(collection, member, objects, |_| None)
    }

    /// [`submit`](Self::submit), and the status resource `status` makes of the summary, stored
    /// in the objects' own transaction (`Store::put_with_status`): the TAXII POST handler's one
    /// commit. `status` is called exactly once when this returns `Ok`.
    pub fn submit_reporting(
        &self,
        collection: &str,
        member: &str,
        objects: Vec<Value>,
        status: impl FnOnce(&Summary) -> Option<NewStatus> + Send,
    ) -> tandem_store::Result<Summary> {
        // Validation over the machine's cores: with the signing below, it is most of the CPU a
        // write costs, and only the commit needs to be serialised.
        let checked = parallel::map(objects.into_iter().enumerate().collect(), |(index, value)| {
            let raw_version = raw_version(&value);
            match check_owned(value) {
                Ok(object) => Ok((Pending { index, id: object.id().to_string(), raw_version }, object)),
                Err((value, violations)) => {
                    let reason = violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                    let id = value.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                    let outcome = Outcome::Rejected { version: None, reason, stage: Stage::Invalid };
                    Err(Entry { index, id, raw_version, outcome })
                }
            }
        });
        let mut invalid: Vec<Entry> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut incoming: Vec<Incoming> = Vec::new();
        for result in checked {
            match result {
                Ok((p, object)) => {
                    pending.push(p);
                    incoming.push(Incoming::new(object));
                }
                Err(entry) => invalid.push(entry),
            }
        }
        if incoming.is_empty() {
            let summary = summarize(&invalid, &pending, &[]);
            if let Some(new) = status(&summary) {
                self.put_status(new)?;
            }
            return Ok(summary);
        }

        // One signature for the batch (see tandem-sync's provenance), and only over what the
        // node's own member originates: a user of another member writing here is not this node's
        // to vouch for.
        if let Some(signer) = self.signer.as_ref().filter(|s| s.member() == member) {
            signer.sign(&mut incoming);
        }
        let mut status = Some(status);
        let mut summary = None;
        let outcomes = self.store.put_with_status(collection, member, incoming, &mut |outcomes| {
            let made = summarize(&invalid, &pending, outcomes);
            let new = status.take().and_then(|f| f(&made));
            summary = Some(made);
            new
        })?;
        let summary = match (summary, status) {
            (Some(summary), _) => summary,
            // A backend that never asked for the status: written after, so it still exists.
            (None, status) => {
                let summary = summarize(&invalid, &pending, &outcomes);
                if let Some(new) = status.and_then(|f| f(&summary)) {
                    self.put_status(new)?;
                }
                summary
            }
        };
        // Duplicates ring no one: that is what ends the echo between two peers.
        let added: Vec<PutOutcome> = outcomes.into_iter().filter(|o| matches!(o, PutOutcome::Added { .. })).collect();
        if !added.is_empty() {
            self.hooks.after_write(collection, member, &added);
        }
        Ok(summary)
    }

    fn put_status(&self, new: NewStatus) -> tandem_store::Result<()> {
        let body: Value = serde_json::from_str(&new.body).map_err(tandem_store::StoreError::backend)?;
        self.store.put_status(&new.id, &new.owner, &body)
    }
}

/// A valid object on its way to the store: where it was in the batch, and how it was spelled.
struct Pending {
    index: usize,
    id: String,
    raw_version: Option<String>,
}

/// One entry per submitted object, in submission order: the invalid ones as validation found
/// them, the others from the store's `outcomes` (given in the order of `pending`).
fn summarize(invalid: &[Entry], pending: &[Pending], outcomes: &[PutOutcome]) -> Summary {
    let mut entries: Vec<Entry> = Vec::with_capacity(invalid.len() + pending.len());
    entries.extend(invalid.iter().cloned());
    let mut outcomes = outcomes.iter();
    for Pending { index, id, raw_version } in pending {
        let Some(stored) = outcomes.next() else {
            // Should the store ever answer for fewer objects than it was given, the rest
            // count as rejected rather than leave counts that do not add up.
            let outcome = Outcome::Rejected { version: None, reason: "not processed".into(), stage: Stage::Store };
            entries.push(Entry { index: *index, id: id.clone(), raw_version: raw_version.clone(), outcome });
            continue;
        };
        let (stored_id, outcome) = match stored {
            PutOutcome::Added { id, version, date_added, .. } => {
                (id, Outcome::Accepted { version: *version, date_added: *date_added })
            }
            PutOutcome::Duplicate { id, version, date_added, .. } => {
                (id, Outcome::Duplicate { version: *version, date_added: *date_added })
            }
            PutOutcome::Rejected { id, version, reason, .. } => {
                (id, Outcome::Rejected { version: *version, reason: reason.clone(), stage: Stage::Store })
            }
        };
        debug_assert_eq!(stored_id, id, "the store answers in submission order");
        // The raw version is the submitted object's: keep it only when the outcome is for it.
        let raw_version = raw_version.clone().filter(|_| stored_id == id);
        entries.push(Entry { index: *index, id: stored_id.clone(), raw_version, outcome });
    }
    entries.sort_by_key(|e| e.index);
    Summary { entries }
}

/// An object's own `modified`, else `created`, string.
pub(crate) fn raw_version(v: &Value) -> Option<String> {
    ["modified", "created"].iter().find_map(|k| v.get(*k).and_then(Value::as_str)).map(str::to_string)
}

#[cfg(test)]
mod tests;
