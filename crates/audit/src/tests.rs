//! The chain and the verifier against direct edits of the SQLite file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use rusqlite::{Connection, params};
use serde_json::json;

use crate::chain::GENESIS;
use crate::{AuditLog, AuditOptions, Entry, Problem, Record, read, verify};

fn key() -> SigningKey {
    SigningKey::from_bytes(&[1u8; 32])
}

fn entry(n: u64) -> Entry {
    Entry {
        ts: format!("2026-01-01T00:00:{:02}.000000Z", n % 60),
        actor_user: Some(format!("user{}", n % 3)),
        actor_member: Some("USA".into()),
        action: "objects.read".into(),
        method: "GET".into(),
        path: "/api/collections/intel/objects/".into(),
        status: 200,
        detail: json!({"returned": n}),
    }
}

fn options(every: u64) -> AuditOptions {
    AuditOptions { checkpoint_every: every, ..AuditOptions::default() }
}

/// A closed log of `n` entries with a checkpoint every 10 (and one at the end).
fn closed_log(n: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let log = AuditLog::open(&path, key(), options(10)).unwrap();
    for i in 1..=n {
        log.record(entry(i));
    }
    log.close().unwrap();
    (dir, path)
}

fn tamper(path: &Path, sql: &str) {
    Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

fn problems(path: &Path) -> Vec<Problem> {
    let report = verify(path, &key().verifying_key()).unwrap();
    assert_eq!(report.is_intact(), report.problems.is_empty());
    report.problems
}

#[test]
fn intact_log_verifies() {
    let (_dir, path) = closed_log(25);
    let report = verify(&path, &key().verifying_key()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.entries, 25);
    assert_eq!(report.checkpoints, 3, "at 10, 20 and on close at 25");
    assert_eq!(report.last_checkpoint, Some(25));
    assert_eq!(report.unsigned_tail, 0);
    assert!(report.to_string().contains("INTACT"), "{report}");
    // Every entry chains to the previous one.
    let all = read(&path, 0, 100).unwrap();
    assert_eq!(all.len(), 25);
    assert_eq!(all[0].prev_hash, GENESIS);
    for w in all.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
        assert_eq!(w[1].seq, w[0].seq + 1);
    }
    assert_eq!(all[6].to_json()["detail"], json!({"returned": 7}));
}

#[test]
fn edited_entry_is_detected() {
    let (_dir, path) = closed_log(25);
    tamper(&path, r#"UPDATE entries SET detail = '{"returned":999}' WHERE seq = 7"#);
    assert_eq!(problems(&path), vec![Problem::Edited { seq: 7 }]);
    let report = verify(&path, &key().verifying_key()).unwrap();
    assert_eq!(report.first_broken(), Some(7));
    assert!(report.to_string().contains("first broken at seq 7"), "{report}");
}

#[test]
fn edited_actor_is_detected() {
    let (_dir, path) = closed_log(5);
    tamper(&path, "UPDATE entries SET actor_user = NULL WHERE seq = 3");
    assert_eq!(problems(&path), vec![Problem::Edited { seq: 3 }]);
}

#[test]
fn dropped_entry_is_detected() {
    let (_dir, path) = closed_log(25);
    tamper(&path, "DELETE FROM entries WHERE seq = 7");
    assert_eq!(problems(&path), vec![Problem::Gap { from: 7, to: 7 }]);
}

#[test]
fn dropped_and_renumbered_entries_are_detected() {
    let (_dir, path) = closed_log(25);
    // Drop seq 7 and shift the rest down so that no gap shows.
    tamper(&path, "DELETE FROM entries WHERE seq = 7; UPDATE entries SET seq = seq - 1 WHERE seq > 7");
    let found = problems(&path);
    assert_eq!(found.first().map(Problem::seq), Some(7), "{found:?}");
    assert!(found.contains(&Problem::CheckpointEntryMissing { seq: 25 }), "{found:?}");
}

#[test]
fn dropped_checkpointed_entry_is_detected() {
    let (_dir, path) = closed_log(25);
    tamper(&path, "DELETE FROM entries WHERE seq = 10");
    assert_eq!(problems(&path), vec![Problem::Gap { from: 10, to: 10 }, Problem::CheckpointEntryMissing { seq: 10 }]);
}

#[test]
fn swapped_entries_are_detected() {
    let (_dir, path) = closed_log(25);
    // Swap every column but seq between rows 4 and 5.
    tamper(
        &path,
        "UPDATE entries SET seq = -4 WHERE seq = 4;
         UPDATE entries SET seq = 4 WHERE seq = 5;
         UPDATE entries SET seq = 5 WHERE seq = -4;",
    );
    let found = problems(&path);
    assert_eq!(found.first().map(Problem::seq), Some(4), "{found:?}");
    assert!(found.contains(&Problem::Edited { seq: 4 }));
    assert!(found.contains(&Problem::Edited { seq: 5 }));
}

#[test]
fn swapped_contents_with_rehashed_rows_are_detected() {
    let (_dir, path) = closed_log(25);
    // A careful forger swaps the contents of 4 and 5 and recomputes every hash from 4 on, but
    // cannot re-sign the checkpoints.
    let conn = Connection::open(&path).unwrap();
    let mut rows = read(&path, 0, 100).unwrap();
    rows.swap(3, 4);
    let mut prev = GENESIS.to_string();
    for (i, r) in rows.iter_mut().enumerate() {
        r.seq = i as u64 + 1;
        r.prev_hash = prev.clone();
        r.hash = r.compute_hash();
        prev = r.hash.clone();
    }
    conn.execute("DELETE FROM entries", []).unwrap();
    for r in &rows {
        conn.execute(
            "INSERT INTO entries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                r.seq as i64,
                r.ts,
                r.actor_user,
                r.actor_member,
                r.action,
                r.method,
                r.path,
                r.status,
                r.detail,
                r.prev_hash,
                r.hash
            ],
        )
        .unwrap();
    }
    drop(conn);
    assert_eq!(
        problems(&path),
        vec![
            Problem::CheckpointMismatch { seq: 10 },
            Problem::CheckpointMismatch { seq: 20 },
            Problem::CheckpointMismatch { seq: 25 },
        ]
    );
}

#[test]
fn forged_checkpoint_is_detected() {
    let (_dir, path) = closed_log(25);
    // Re-sign checkpoint 10 with another key, and garble checkpoint 20.
    let other = SigningKey::from_bytes(&[2u8; 32]);
    let conn = Connection::open(&path).unwrap();
    let (hash, ts): (String, String) =
        conn.query_row("SELECT hash, ts FROM checkpoints WHERE seq = 10", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    use base64::Engine;
    use ed25519_dalek::Signer;
    let forged = base64::engine::general_purpose::STANDARD
        .encode(other.sign(&crate::Checkpoint::message(10, &hash, &ts)).to_bytes());
    conn.execute("UPDATE checkpoints SET signature = ?1 WHERE seq = 10", [forged]).unwrap();
    conn.execute("UPDATE checkpoints SET signature = 'AAAA' WHERE seq = 20", []).unwrap();
    drop(conn);
    assert_eq!(problems(&path), vec![Problem::BadSignature { seq: 10 }, Problem::BadSignature { seq: 20 }]);
    // The same log verifies with the right key only.
    let report = verify(&path, &other.verifying_key()).unwrap();
    assert!(report.problems.contains(&Problem::BadSignature { seq: 25 }));
}

#[test]
fn truncated_tail_is_reported() {
    let (_dir, path) = closed_log(25);
    tamper(&path, "DELETE FROM entries WHERE seq > 22");
    assert_eq!(problems(&path), vec![Problem::CheckpointEntryMissing { seq: 25 }]);
}

#[test]
fn unsigned_tail_is_reported_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let log = AuditLog::open(&path, key(), options(10)).unwrap();
    for i in 1..=13 {
        log.record(entry(i));
    }
    log.flush().unwrap();
    let report = verify(&path, &key().verifying_key()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.last_checkpoint, Some(10));
    assert_eq!(report.unsigned_tail, 3);
    assert!(report.to_string().contains("3 entries after the last checkpoint"), "{report}");
    log.close().unwrap();
    assert_eq!(verify(&path, &key().verifying_key()).unwrap().unsigned_tail, 0);
}

#[test]
fn checkpoints_follow_time_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let opts = AuditOptions {
        checkpoint_every: 1000,
        checkpoint_interval: Duration::from_millis(200),
        flush_interval: Duration::from_millis(20),
    };
    let log = AuditLog::open(&path, key(), opts).unwrap();
    for i in 1..=3 {
        log.record(entry(i));
    }
    // Eventually (a generous bound: the machine may be loaded), not within a few intervals.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut signed = None;
    while signed.is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        signed = verify(&path, &key().verifying_key()).unwrap().last_checkpoint;
    }
    assert_eq!(signed, Some(3));
    // Without new entries, no new checkpoint.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(verify(&path, &key().verifying_key()).unwrap().checkpoints, 1);
    drop(log);
}

#[test]
fn concurrent_writers_and_reopen_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let log = std::sync::Arc::new(AuditLog::open(&path, key(), options(50)).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    log.record(entry(t * 1000 + i));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    log.close().unwrap();
    // A second session continues the same chain.
    let again = AuditLog::open(&path, key(), options(50)).unwrap();
    again.record(entry(1));
    again.close().unwrap();
    let report = verify(&path, &key().verifying_key()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.entries, 401);
    assert_eq!(report.unsigned_tail, 0);
    assert_eq!(read(&path, 399, 10).unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), vec![400, 401]);
}

#[test]
fn record_after_close_is_lost_not_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let log = AuditLog::open(&path, key(), options(10)).unwrap();
    log.close().unwrap();
    log.record(entry(1));
    assert!(log.flush().is_err());
    assert_eq!(verify(&path, &key().verifying_key()).unwrap().entries, 0);
}

/// A named change to one field of a record.
type Edit = (&'static str, fn(&mut Record));

/// The hash of a known entry, fixed: a change to the hashed layout (field order, prefixes, the
/// tag) breaks every stored log's chain and must bump `ENTRY_TAG` instead.
const ENTRY_1_HASH: &str = "e0456571626989a92f871d6b9b1db2b4dcc0a0cf7aa88be987592a61b8a98d5f";

#[test]
fn chained_record_matches_hash() {
    let r = Record::chain(1, &entry(1), GENESIS);
    assert_eq!(r.hash, ENTRY_1_HASH);
    // Every field is covered: changing any one of them changes the hash.
    let edits: [Edit; 10] = [
        ("seq", |r| r.seq = 2),
        ("ts", |r| r.ts.push('0')),
        ("actor_user", |r| r.actor_user = None),
        ("actor_member", |r| r.actor_member = Some("IRQ".into())),
        ("action", |r| r.action = "objects.write".into()),
        ("method", |r| r.method = "POST".into()),
        ("path", |r| r.path.push('x')),
        ("status", |r| r.status = 201),
        ("detail", |r| r.detail = "{}".into()),
        ("prev_hash", |r| r.prev_hash = "1".repeat(64)),
    ];
    for (field, edit) in edits {
        let mut changed = r.clone();
        edit(&mut changed);
        assert_ne!(changed.compute_hash(), ENTRY_1_HASH, "{field} is not covered by the hash");
    }
    // Bytes moved from one field to the next change the hash too (length prefixes).
    let mut moved = r.clone();
    moved.method = format!("{}/", moved.method);
    moved.path = moved.path[1..].to_string();
    assert_ne!(moved.compute_hash(), ENTRY_1_HASH);
}
