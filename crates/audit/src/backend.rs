//! Where a chain is kept: the one trait the writer, the readers and the verifier use, and the
//! chain step every keeper runs under its lock.
//!
//! It exists because a node on the embedded store keeps its log in `audit.sqlite`, while several
//! processes on one PostgreSQL database must append to one chain in that database (the
//! `tandem-store-postgres` crate implements [`ChainStore`] there), and the chain's definition
//! ([`crate::chain`]), the batching writer and the verifier must be the same for both. This crate
//! therefore knows SQLite (its own file) and nothing of PostgreSQL.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey};
use tandem_model::Timestamp;

use crate::AuditError;
use crate::chain::{Checkpoint, Entry, Record};

/// A keeper of one audit chain, shared by every writer of that chain (in this process or others).
pub trait ChainStore: Send + Sync {
    /// Appends `entries` after the chain head in one transaction, excluding every other appender
    /// of this chain (any process) from the head until it commits: the head is read under that
    /// exclusion and the records come from [`extend`]. A checkpoint is signed (with `signer`) for
    /// each record `extend` marks. Returns whether the last record got one.
    fn append(&self, entries: &[Entry], signer: &Signer, checkpoint_every: u64) -> Result<bool, AuditError>;

    /// Signs the chain head unless a checkpoint already covers it (same exclusion as `append`).
    fn sign_head(&self, signer: &Signer) -> Result<(), AuditError>;

    /// Appends `records` exactly as another keeper of the same chain stored them, and stores
    /// `checkpoints` that this keeper lacks (one it holds at a sequence number is kept), in one
    /// transaction under `append`'s exclusion: `tandem migrate` moving a chain between keepers.
    /// Fails with [`AuditError::NotContinuation`] unless [`continues`] holds and every checkpoint
    /// signs an entry at or before the new head; nothing is stored then.
    fn import(&self, records: &[Record], checkpoints: &[Checkpoint]) -> Result<(), AuditError>;

    /// The last entry's `(seq, hash)`, or `(0, GENESIS)` for an empty chain.
    fn head(&self) -> Result<(u64, String), AuditError>;

    /// Entries with `seq > after`, oldest first, at most `limit`.
    fn read(&self, after: u64, limit: usize) -> Result<Vec<Record>, AuditError>;

    /// Every checkpoint, by sequence number.
    fn checkpoints(&self) -> Result<Vec<Checkpoint>, AuditError>;

    /// Where the chain is, for reports (a file path, a database without its password).
    fn location(&self) -> String;
}

/// The records that put `entries` after the head `(head_seq, head_hash)`, each with whether a
/// checkpoint signs it (its `seq` is a multiple of `checkpoint_every`).
pub fn extend(head_seq: u64, head_hash: &str, entries: &[Entry], checkpoint_every: u64) -> Vec<(Record, bool)> {
    let every = checkpoint_every.max(1);
    let mut prev = head_hash.to_string();
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let seq = head_seq + 1 + i as u64;
        let record = Record::chain(seq, entry, &prev);
        prev.clone_from(&record.hash);
        out.push((record, seq.is_multiple_of(every)));
    }
    out
}

/// Checks that `records` continue the chain whose head is `(head_seq, head_hash)`: consecutive
/// sequence numbers from `head_seq + 1`, each linked to its predecessor and hashing to its stored
/// hash; and that each checkpoint signs an entry at or before the head they make. Returns that
/// head.
pub fn continues(
    head_seq: u64,
    head_hash: &str,
    records: &[Record],
    checkpoints: &[Checkpoint],
) -> Result<u64, AuditError> {
    let (mut seq, mut prev) = (head_seq, head_hash);
    for r in records {
        if r.seq != seq + 1 || r.prev_hash != prev || r.compute_hash() != r.hash {
            return Err(AuditError::NotContinuation { seq: r.seq, head: head_seq });
        }
        seq = r.seq;
        prev = &r.hash;
    }
    if let Some(c) = checkpoints.iter().find(|c| c.seq == 0 || c.seq > seq) {
        return Err(AuditError::NotContinuation { seq: c.seq, head: seq });
    }
    Ok(seq)
}

/// The node key, as the audit writer uses it: to sign checkpoints.
pub struct Signer(SigningKey);

impl Signer {
    pub fn new(key: SigningKey) -> Signer {
        Signer(key)
    }

    /// A checkpoint over `(seq, hash)`, made now.
    pub fn checkpoint(&self, seq: u64, hash: &str) -> Checkpoint {
        let ts = Timestamp::now().to_taxii();
        let signature = STANDARD.encode(self.0.sign(&Checkpoint::message(seq, hash, &ts)).to_bytes());
        Checkpoint { seq, hash: hash.to_string(), ts, signature }
    }
}
