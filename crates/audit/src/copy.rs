//! Moving a node's audit chain from one keeper to another, as `tandem migrate` moves its store
//! (`audit.sqlite` to the PostgreSQL tables, or back).
//!
//! It exists because a node moved to another backend must keep the one chain it has: starting a
//! new chain there would leave the old entries in a file nobody reads and the new chain's first
//! entry linked to nothing. The copy is verbatim (every entry and signed checkpoint as stored, so
//! every hash and signature still holds), resumable (the target's own head is the marker: an
//! interrupted copy goes on after it), and checked at both ends with the node key: a source that
//! does not verify is refused before anything is written, a target holding a chain that is not a
//! prefix of the source's is refused, and the target is verified after the copy.

use ed25519_dalek::VerifyingKey;

use crate::AuditError;
use crate::backend::ChainStore;
use crate::chain::{Checkpoint, GENESIS, Record};
use crate::verify::{Report, verify_chain};

/// Why a chain was not moved.
#[derive(Debug, thiserror::Error)]
pub enum ChainCopyError {
    /// The source does not verify with the node key: copying it would carry the damage over.
    #[error(
        "the source's audit chain does not verify with the node key, so it was not copied (run tandem audit verify on the source node):\n{0}"
    )]
    SourceBroken(Box<Report>),
    /// The target keeps a chain that is not the beginning of the source's.
    #[error(
        "the target already holds a different audit chain ({target_entries} entries, its entry at seq {seq} differs from the source's); it is left as it is: migrate into a target without an audit chain, or into the one this source was copied to"
    )]
    Diverged { seq: u64, target_entries: u64 },
    /// The target does not verify after the copy.
    #[error("the audit chain in the target does not verify after the copy:\n{0}")]
    TargetBroken(Box<Report>),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// What [`plan`] found: the source's verification and where the target stands.
#[derive(Debug)]
pub struct ChainPlan {
    pub source: Report,
    /// The source's last entry, `(seq, hash)`; `(0, GENESIS)` for an empty chain.
    source_head: (u64, String),
    /// Entries the target already holds, all of them the source's (an earlier run's copy).
    pub already: u64,
    /// Entries the target holds past the source's end (the node served on the target since).
    pub target_extra: u64,
}

/// What [`copy`] did.
#[derive(Debug)]
pub struct ChainCopy {
    pub source: Report,
    /// Entries copied by this run.
    pub copied: u64,
    /// Entries that were already in the target (an earlier run's copy).
    pub already: u64,
    /// Checkpoints the target lacked and got from the source.
    pub checkpoints_copied: u64,
    /// Entries the target holds past the source's end (the node served on the target since).
    pub target_extra: u64,
    /// The target's verification after the copy.
    pub target: Report,
}

/// Verifies the source with `key` and compares the target (`None`: there is none yet, as an
/// SQLite target directory without `audit.sqlite`) with it. Nothing is written.
pub fn plan(
    source: &dyn ChainStore,
    target: Option<&dyn ChainStore>,
    key: &VerifyingKey,
) -> Result<ChainPlan, ChainCopyError> {
    let report = verify_chain(source, key)?;
    if !report.is_intact() {
        return Err(ChainCopyError::SourceBroken(Box::new(report)));
    }
    let source_head = match report.last_seq {
        Some(seq) => (seq, record_at(source, seq)?.map(|r| r.hash).unwrap_or_default()),
        None => (0, GENESIS.to_string()),
    };
    let (target_seq, target_hash) = match target {
        Some(t) => t.head()?,
        None => (0, GENESIS.to_string()),
    };
    let diverged = |seq| ChainCopyError::Diverged { seq, target_entries: target_seq };
    let (already, target_extra) = match target {
        _ if target_seq == 0 => (0, 0),
        // The target is longer: it must go on from the source's last entry (the node served on
        // it since the copy; an empty chain is the beginning of every chain).
        Some(t) if target_seq > source_head.0 => {
            if source_head.0 > 0 && record_at(t, source_head.0)?.is_none_or(|r| r.hash != source_head.1) {
                return Err(diverged(source_head.0));
            }
            (source_head.0, target_seq - source_head.0)
        }
        _ => {
            let ours = record_at(source, target_seq)?.ok_or_else(|| diverged(target_seq))?;
            if ours.hash != target_hash {
                return Err(diverged(target_seq));
            }
            (target_seq, 0)
        }
    };
    Ok(ChainPlan { source: report, source_head, already, target_extra })
}

/// Copies what `plan` found missing from `source` into `target`, `batch` entries per
/// transaction (with the checkpoints that sign them), calling `progress` with each batch's
/// entry count; then stores the source checkpoints the target lacks and verifies the target
/// with `key`. The source must not be written meanwhile (entries past the planned head are not
/// copied).
pub fn copy(
    plan: ChainPlan,
    source: &dyn ChainStore,
    target: &dyn ChainStore,
    key: &VerifyingKey,
    batch: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<ChainCopy, ChainCopyError> {
    let end = plan.source_head.0;
    let checkpoints: Vec<Checkpoint> = source.checkpoints()?.into_iter().filter(|c| c.seq <= end).collect();
    let held: std::collections::BTreeSet<u64> = target.checkpoints()?.iter().map(|c| c.seq).collect();
    let mut checkpoints_copied = 0u64;

    // Checkpoints over entries the target already holds (the source may have signed its head
    // after an earlier run copied it).
    let missing: Vec<Checkpoint> =
        checkpoints.iter().filter(|c| c.seq <= plan.already && !held.contains(&c.seq)).cloned().collect();
    if !missing.is_empty() {
        target.import(&[], &missing)?;
        checkpoints_copied += missing.len() as u64;
    }

    let mut after = plan.already;
    let mut copied = 0u64;
    while after < end {
        let mut records: Vec<Record> = source.read(after, batch.max(1))?;
        records.retain(|r| r.seq <= end);
        let Some(last) = records.last().map(|r| r.seq) else { break };
        let signing: Vec<Checkpoint> =
            checkpoints.iter().filter(|c| c.seq > after && c.seq <= last && !held.contains(&c.seq)).cloned().collect();
        target.import(&records, &signing)?;
        checkpoints_copied += signing.len() as u64;
        copied += records.len() as u64;
        progress(records.len() as u64);
        after = last;
    }

    let report = verify_chain(target, key)?;
    let reaches_end = end == 0 || record_at(target, end)?.is_some_and(|r| r.hash == plan.source_head.1);
    if !report.is_intact() || !reaches_end || report.last_checkpoint < plan.source.last_checkpoint {
        return Err(ChainCopyError::TargetBroken(Box::new(report)));
    }
    Ok(ChainCopy {
        source: plan.source,
        copied,
        already: plan.already,
        checkpoints_copied,
        target_extra: plan.target_extra,
        target: report,
    })
}

/// The entry at `seq`, if the chain holds it.
fn record_at(chain: &dyn ChainStore, seq: u64) -> Result<Option<Record>, AuditError> {
    Ok(chain.read(seq.saturating_sub(1), 1)?.into_iter().find(|r| r.seq == seq))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use ed25519_dalek::SigningKey;
    use serde_json::json;

    use super::*;
    use crate::{AuditLog, AuditOptions, Entry, SqliteChain};

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3u8; 32])
    }

    fn entry(n: u64) -> Entry {
        Entry {
            ts: format!("2026-01-01T00:00:{:02}.000000Z", n % 60),
            actor_user: if n.is_multiple_of(2) { Some(format!("user{n}")) } else { None },
            actor_member: Some("USA".into()),
            action: "objects.read".into(),
            method: "GET".into(),
            path: "/taxii2/".into(),
            status: 200,
            detail: json!({"returned": n}),
        }
    }

    /// Appends entries `from..to` to the log at `path` and closes it (a checkpoint every 10, and
    /// one at the end).
    fn write(path: &Path, from: u64, to: u64, signer: &SigningKey) {
        let options = AuditOptions { checkpoint_every: 10, ..AuditOptions::default() };
        let log = AuditLog::open(path, signer.clone(), options).unwrap();
        for n in from..to {
            log.record(entry(n));
        }
        log.close().unwrap();
    }

    fn chain(dir: &tempfile::TempDir, name: &str) -> PathBuf {
        dir.path().join(name)
    }

    fn run(source: &Path, target: &Path, batch: usize) -> Result<ChainCopy, ChainCopyError> {
        let key = key().verifying_key();
        let source = SqliteChain::read_only(source).unwrap();
        let target = SqliteChain::create(target).unwrap();
        let plan = plan(&source, Some(&target), &key)?;
        copy(plan, &source, &target, &key, batch, &mut |_| {})
    }

    /// Everything read from a chain: entries and checkpoints.
    fn contents(path: &Path) -> (Vec<Record>, Vec<Checkpoint>) {
        let c = SqliteChain::read_only(path).unwrap();
        (c.read(0, 10_000).unwrap(), c.checkpoints().unwrap())
    }

    #[test]
    fn a_chain_is_copied_verbatim_and_verifies_in_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (chain(&dir, "from.sqlite"), chain(&dir, "to.sqlite"));
        write(&from, 0, 47, &key());
        let done = run(&from, &to, 10).unwrap();
        assert_eq!((done.copied, done.already, done.checkpoints_copied), (47, 0, 5));
        assert!(done.target.is_intact() && done.target.unsigned_tail == 0, "{}", done.target);
        assert_eq!(contents(&from), contents(&to));

        // Run again: nothing to copy.
        let again = run(&from, &to, 10).unwrap();
        assert_eq!((again.copied, again.already, again.checkpoints_copied), (0, 47, 0));
    }

    /// An interrupted copy (the target holds a prefix) goes on after the target's head; a
    /// checkpoint the source made after the first copy reaches the target too.
    #[test]
    fn a_copy_resumes_after_the_targets_head() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (chain(&dir, "from.sqlite"), chain(&dir, "to.sqlite"));
        write(&from, 0, 25, &key());
        // A copy that stopped after 13 entries: the first 13 and their one checkpoint.
        let source = SqliteChain::read_only(&from).unwrap();
        let first = source.read(0, 13).unwrap();
        let signing: Vec<Checkpoint> = source.checkpoints().unwrap().into_iter().filter(|c| c.seq <= 13).collect();
        SqliteChain::create(&to).unwrap().import(&first, &signing).unwrap();

        let done = run(&from, &to, 4).unwrap();
        assert_eq!((done.copied, done.already), (12, 13));
        assert_eq!(contents(&from), contents(&to));

        // The source node served on (more entries, its head signed): the copy continues.
        write(&from, 25, 31, &key());
        let done = run(&from, &to, 4).unwrap();
        assert_eq!((done.copied, done.already), (6, 25));
        assert_eq!(contents(&from), contents(&to));
    }

    /// A target that holds another chain is refused and left as it was; a target that went on
    /// from the copy (the node served on it) is accepted with nothing to copy.
    #[test]
    fn a_different_chain_in_the_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (from, other, to) = (chain(&dir, "from.sqlite"), chain(&dir, "other.sqlite"), chain(&dir, "to.sqlite"));
        write(&from, 0, 20, &key());
        write(&other, 100, 105, &key());
        let before = contents(&other);
        match run(&from, &other, 10) {
            Err(ChainCopyError::Diverged { seq: 5, target_entries: 5 }) => {}
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(contents(&other), before, "the refused target is untouched");
        let longer = chain(&dir, "longer.sqlite");
        write(&longer, 200, 230, &key());
        assert!(matches!(run(&from, &longer, 10), Err(ChainCopyError::Diverged { seq: 20, .. })));

        run(&from, &to, 10).unwrap();
        write(&to, 300, 304, &key());
        let done = run(&from, &to, 10).unwrap();
        assert_eq!((done.copied, done.already, done.target_extra), (0, 20, 4));
    }

    /// A source that does not verify (an edited entry, or another key's checkpoints) is refused
    /// before the target is written.
    #[test]
    fn a_tampered_source_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (chain(&dir, "from.sqlite"), chain(&dir, "to.sqlite"));
        write(&from, 0, 12, &key());
        rusqlite::Connection::open(&from)
            .unwrap()
            .execute_batch("UPDATE entries SET path = '/elsewhere' WHERE seq = 4")
            .unwrap();
        match run(&from, &to, 10) {
            Err(ChainCopyError::SourceBroken(report)) => assert_eq!(report.first_broken(), Some(4)),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(SqliteChain::read_only(&to).unwrap().head().unwrap().0, 0, "nothing written");

        let foreign = chain(&dir, "foreign.sqlite");
        write(&foreign, 0, 12, &SigningKey::from_bytes(&[9u8; 32]));
        assert!(matches!(run(&foreign, &to, 10), Err(ChainCopyError::SourceBroken(_))));
    }

    /// `import` takes only a continuation of the keeper's own chain.
    #[test]
    fn import_refuses_records_that_do_not_continue_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (chain(&dir, "from.sqlite"), chain(&dir, "to.sqlite"));
        write(&from, 0, 6, &key());
        let records = SqliteChain::read_only(&from).unwrap().read(0, 10).unwrap();
        let target = SqliteChain::create(&to).unwrap();
        let refused = |records: &[Record], checkpoints: &[Checkpoint]| {
            matches!(target.import(records, checkpoints), Err(AuditError::NotContinuation { .. }))
        };
        assert!(refused(&records[1..], &[]), "a gap at the start");
        assert!(refused(&[records[0].clone(), records[2].clone()], &[]), "a gap inside");
        let mut edited = records[0].clone();
        edited.path = "/elsewhere".into();
        assert!(refused(&[edited], &[]), "an edited record");
        let past = Checkpoint { seq: 2, hash: records[1].hash.clone(), ts: "t".into(), signature: "s".into() };
        assert!(refused(&records[..1], &[past]), "a checkpoint past the head");
        assert_eq!(target.head().unwrap().0, 0);
        target.import(&records, &[]).unwrap();
        assert_eq!(target.head().unwrap(), (6, records[5].hash.clone()));
    }
}
