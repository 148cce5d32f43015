//! The node's audit log: who did what, when, on which path — as a tamper-evident hash chain
//! with periodic signed checkpoints.
//!
//! Why: releasability is only credible if a member can later show who read and wrote what on
//! its node, and show that the record itself was not doctored. This crate knows nothing of HTTP
//! or TAXII; the binary adapts [`AuditLog`] to the TAXII server's `AuditSink`.
//!
//! # Storage
//! Behind [`ChainStore`] (see [`backend`]): a node on the embedded store keeps a separate SQLite
//! file, `audit.sqlite` in the data directory ([`SqliteChain`]); processes sharing a PostgreSQL
//! store keep one chain in that database (`tandem-store-postgres`'s `PgAudit`, tables
//! `audit_entries` and `audit_checkpoints` of the same columns), whichever process writes. The
//! SQLite file (WAL, `synchronous = FULL`, created with mode 0600; schema in `schema.sql`,
//! format version in its `meta` table) holds:
//! - `entries(seq, ts, actor_user, actor_member, action, method, path, status, detail,
//!   prev_hash, hash)`: `seq` counts from 1 without gaps; `hash = SHA-256(prev_hash ||
//!   canonical bytes)` where the canonical bytes are every other column exactly as stored,
//!   length-prefixed, seq included (see [`chain`]); the first `prev_hash` is 64 zeros.
//!   `detail` is JSON with ids and counts, never object contents.
//! - `checkpoints(seq, hash, ts, signature)`: an Ed25519 signature by the node key over
//!   `(seq, hash, ts)`, written every 1000 entries, at least once a minute while entries
//!   arrive, and when the log is closed.
//!
//! The node key is `node.key` in the data directory ([`keys`]), shared with federation; its
//! public form `ed25519:<base64>` is what an auditor verifies against.
//!
//! # Writing
//! [`AuditLog::record`] queues and returns; a background thread commits batches (one
//! transaction each, at most 100 ms after the first queued entry). [`AuditLog::flush`] waits
//! for the commit; [`AuditLog::close`] also signs the head.
//!
//! # Verifying
//! [`verify`] detects an edited entry (its content no longer hashes to its hash), a dropped
//! entry (a gap in `seq`, or a break in the chain), reordered entries (the hash covers `seq`
//! and the previous hash), a rewritten chain (a checkpoint's signed hash differs), a truncated
//! tail that had been signed (a checkpoint's entry is missing) and a forged checkpoint (its
//! signature fails). It also reports how many entries after the last checkpoint no signature
//! covers yet: dropping those, or the whole tail with its checkpoints, is not detectable from
//! the file alone — copying checkpoints off the node (to peers, to the auditor) closes that.
//!
//! Limits: the key sits next to the log, so whoever can read the data directory could
//! re-sign a rewritten log; the chain protects against edits by anyone without the key
//! (a database administrator, a restored backup, a bug). Access over HTTP is restricted to
//! users with role `auditor` of the node's member, and each such read is itself audited.

pub mod backend;
pub mod chain;
pub mod copy;
pub mod keys;
mod log;
mod sqlite;
mod verify;

use std::path::PathBuf;

pub use backend::{ChainStore, Signer};
pub use chain::{Checkpoint, Entry, Record};
pub use log::{AUDIT_FILE, AuditLog, AuditOptions, audit_path};
pub use sqlite::{SqliteChain, read};
pub use verify::{Problem, Report, verify, verify_chain};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error("no audit log at {0}")]
    Missing(PathBuf),
    #[error("{0}")]
    Format(String),
    #[error("the audit log is closed")]
    Closed,
    #[error("audit log write failed: {0}")]
    Writer(String),
    /// Records offered to [`ChainStore::import`] that do not continue the keeper's chain (or a
    /// checkpoint past its head).
    #[error("audit records do not continue the chain: seq {seq} does not follow the head at seq {head}")]
    NotContinuation { seq: u64, head: u64 },
    /// The database of another keeper (PostgreSQL) failed.
    #[error("audit database: {0}")]
    Backend(String),
}

#[cfg(test)]
mod tests;
