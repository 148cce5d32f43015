//! The verifier behind `tandem audit verify`: recomputes the chain and checks the signatures.
//!
//! It exists because a hash chain proves nothing until someone recomputes it. It reads the log
//! through its keeper ([`ChainStore`]: the SQLite file or the PostgreSQL tables, page by page)
//! and reports, by sequence number, every entry whose content no longer matches its
//! hash (edited), every gap (dropped), every entry not chained to its predecessor (dropped or
//! reordered), every checkpoint whose signature fails or whose entry is gone or different
//! (re-chained or truncated), and how many entries after the last checkpoint no signature
//! covers yet.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

use crate::AuditError;
use crate::backend::ChainStore;
use crate::chain::{Checkpoint, GENESIS};
use crate::sqlite::SqliteChain;

/// Entries read per page while verifying.
const PAGE: usize = 10_000;

/// More problems than this are counted, not listed.
const MAX_LISTED: usize = 1000;

/// What is wrong at one sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The entry's content does not hash to its stored hash.
    Edited { seq: u64 },
    /// Entries `from..=to` are missing.
    Gap { from: u64, to: u64 },
    /// The entry's `prev_hash` is not the previous entry's hash.
    ChainBroken { seq: u64 },
    /// The checkpoint's signature does not verify with the node's public key.
    BadSignature { seq: u64 },
    /// A checkpoint signs an entry that is not in the log (the log was truncated).
    CheckpointEntryMissing { seq: u64 },
    /// A checkpoint signs a different hash than the entry now has (the log was re-chained).
    CheckpointMismatch { seq: u64 },
}

impl Problem {
    pub fn seq(&self) -> u64 {
        match *self {
            Problem::Edited { seq }
            | Problem::ChainBroken { seq }
            | Problem::BadSignature { seq }
            | Problem::CheckpointEntryMissing { seq }
            | Problem::CheckpointMismatch { seq } => seq,
            Problem::Gap { from, .. } => from,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Edited { seq } => {
                write!(f, "seq {seq}: entry edited (its content does not match its hash)")
            }
            Problem::Gap { from, to } if from == to => write!(f, "seq {from}: entry dropped"),
            Problem::Gap { from, to } => write!(f, "seq {from}..={to}: entries dropped"),
            Problem::ChainBroken { seq } => {
                write!(f, "seq {seq}: chain broken (not linked to the previous entry: dropped or reordered entries)")
            }
            Problem::BadSignature { seq } => {
                write!(f, "checkpoint at seq {seq}: signature does not verify")
            }
            Problem::CheckpointEntryMissing { seq } => {
                write!(f, "checkpoint at seq {seq}: the signed entry is missing (log truncated)")
            }
            Problem::CheckpointMismatch { seq } => {
                write!(f, "checkpoint at seq {seq}: the entry's hash differs from the signed one (log rewritten)")
            }
        }
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Where the chain is (its keeper's [`ChainStore::location`]).
    pub location: String,
    pub entries: u64,
    pub last_seq: Option<u64>,
    pub checkpoints: u64,
    /// The highest checkpoint whose signature verifies and whose entry matches.
    pub last_checkpoint: Option<u64>,
    /// Entries after `last_checkpoint` (all entries if none): intact as far as the chain shows,
    /// but their removal from the tail would not be detectable.
    pub unsigned_tail: u64,
    /// In sequence order; at most [`MAX_LISTED`].
    pub problems: Vec<Problem>,
    /// Problems beyond those listed.
    pub more_problems: u64,
}

impl Report {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// The first sequence number where the log is broken.
    pub fn first_broken(&self) -> Option<u64> {
        self.problems.iter().map(Problem::seq).min()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit log {}: {} entries", self.location, self.entries)?;
        if let Some(last) = self.last_seq {
            write!(f, " (last seq {last})")?;
        }
        write!(f, ", {} checkpoints", self.checkpoints)?;
        match self.last_checkpoint {
            Some(c) => writeln!(f, ", last valid checkpoint at seq {c}")?,
            None => writeln!(f, ", no valid checkpoint")?,
        }
        match self.first_broken() {
            None => writeln!(f, "INTACT: every entry chains and every checkpoint verifies")?,
            Some(seq) => {
                writeln!(f, "BROKEN: first broken at seq {seq}")?;
                for p in &self.problems {
                    writeln!(f, "  {p}")?;
                }
                if self.more_problems > 0 {
                    writeln!(f, "  ... and {} more problems", self.more_problems)?;
                }
            }
        }
        if self.unsigned_tail > 0 {
            writeln!(
                f,
                "note: {} entries after the last checkpoint are not signed yet; a truncation of them would not be detected",
                self.unsigned_tail
            )?;
        }
        Ok(())
    }
}

struct Problems {
    listed: Vec<Problem>,
    more: u64,
}

impl Problems {
    fn push(&mut self, p: Problem) {
        if self.listed.len() < MAX_LISTED {
            self.listed.push(p);
        } else {
            self.more += 1;
        }
    }
}

/// Recomputes the chain of the SQLite log at `path` and checks its checkpoints against `key`.
pub fn verify(path: &Path, key: &VerifyingKey) -> Result<Report, AuditError> {
    verify_chain(&SqliteChain::read_only(path)?, key)
}

/// Recomputes the chain `chain` keeps and checks its checkpoints against `key`.
pub fn verify_chain(chain: &dyn ChainStore, key: &VerifyingKey) -> Result<Report, AuditError> {
    let mut problems = Problems { listed: Vec::new(), more: 0 };

    // seq -> signed hash, for the checkpoints whose signature verifies.
    let mut signed: BTreeMap<u64, String> = BTreeMap::new();
    let mut checkpoints = 0u64;
    for c in chain.checkpoints()? {
        checkpoints += 1;
        let ok = STANDARD
            .decode(&c.signature)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .is_some_and(|sig| key.verify(&Checkpoint::message(c.seq, &c.hash, &c.ts), &sig).is_ok());
        if ok {
            signed.insert(c.seq, c.hash);
        } else {
            problems.push(Problem::BadSignature { seq: c.seq });
        }
    }

    let mut entries = 0u64;
    let mut expected = 1u64;
    let mut prev = GENESIS.to_string();
    let mut last_seq = None;
    let mut last_checkpoint = None;
    let mut visited = BTreeSet::new();
    let mut after = 0u64;
    loop {
        let page = chain.read(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in page {
            entries += 1;
            if r.seq != expected {
                problems.push(Problem::Gap { from: expected, to: r.seq.saturating_sub(1).max(expected) });
            } else if r.prev_hash != prev {
                problems.push(Problem::ChainBroken { seq: r.seq });
            }
            if r.compute_hash() != r.hash {
                problems.push(Problem::Edited { seq: r.seq });
            }
            if let Some(h) = signed.get(&r.seq) {
                visited.insert(r.seq);
                if *h == r.hash {
                    last_checkpoint = Some(r.seq);
                } else {
                    problems.push(Problem::CheckpointMismatch { seq: r.seq });
                }
            }
            prev = r.hash;
            expected = r.seq + 1;
            last_seq = Some(r.seq);
        }
    }
    // Checkpoints whose entry never came up: inside a gap or past the end.
    for seq in signed.keys().copied().filter(|s| !visited.contains(s)) {
        problems.push(Problem::CheckpointEntryMissing { seq });
    }
    problems.listed.sort_by_key(Problem::seq);

    let unsigned_tail = match (last_seq, last_checkpoint) {
        (Some(l), Some(c)) => l.saturating_sub(c),
        (Some(_), None) => entries,
        (None, _) => 0,
    };
    Ok(Report {
        location: chain.location(),
        entries,
        last_seq,
        checkpoints,
        last_checkpoint,
        unsigned_tail,
        problems: problems.listed,
        more_problems: problems.more,
    })
}
