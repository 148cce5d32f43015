//! The node's audit chain in the PostgreSQL database: one chain for every process serving from
//! it, whichever process a request reached (tables of migration 3).
//!
//! It exists because each process keeping its own `audit.sqlite` would give one node several
//! chains, none of them complete. Each append is one transaction that locks the `audit_head` row
//! `FOR UPDATE`, reads the head, inserts the batch in one statement (arrays unnested) with the
//! checkpoints due, and commits: appends from any number of processes take turns, and the chain
//! step is `tandem_audit::backend::extend`, the SQLite keeper's. The lock is a row of this
//! schema rather than an advisory lock, so two nodes' schemas on one server never wait on each
//! other.

use tandem_audit::backend::{ChainStore, Signer, continues, extend};
use tandem_audit::{AuditError, Checkpoint, Entry, Record};
use tandem_store::StoreError;
use tokio_postgres::GenericClient;

use crate::{PgStore, PoolConfig, pg};

/// The audit chain of the store at one url, on connections of its own (a busy store pool never
/// delays an audit commit).
pub struct PgAudit {
    store: PgStore,
    location: String,
}

impl PgAudit {
    /// Connects to `url` (applying pending migrations, as [`PgStore::open`] does). `location` is
    /// what reports name (the url without its password).
    pub fn open(url: &str, location: &str) -> tandem_store::Result<PgAudit> {
        let store = PgStore::open_with(url, PoolConfig { max_idle: 2, max_size: 4 })?;
        Ok(PgAudit { store, location: location.to_string() })
    }

    /// The chain at `url` to read only, for `tandem migrate`'s source: read-only sessions (the
    /// server refuses any write) and nothing migrated, as [`crate::transfer::open`] opens a
    /// source store (whose schema must be this binary's).
    pub fn open_source(url: &str, location: &str) -> tandem_store::Result<PgAudit> {
        let store = crate::transfer::open(url, tandem_store::transfer::Access::Read)?;
        Ok(PgAudit { store, location: location.to_string() })
    }
}

fn backend(e: StoreError) -> AuditError {
    AuditError::Backend(e.to_string())
}

/// Takes the chain's lock (the `audit_head` row, held until `tx` ends: one appender or signer at
/// a time across every process of the node), then reads the head.
async fn lock_head(tx: &tokio_postgres::Transaction<'_>) -> tandem_store::Result<(u64, String)> {
    tx.query_one(LOCK_HEAD, &[]).await.map_err(pg)?;
    head(tx).await
}

/// The last entry's `(seq, hash)`, or `(0, GENESIS)`.
async fn head(conn: &impl GenericClient) -> tandem_store::Result<(u64, String)> {
    let row = conn.query_opt("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1", &[]).await.map_err(pg)?;
    match row {
        Some(row) => {
            let seq: i64 = row.try_get(0).map_err(pg)?;
            Ok((seq.max(0) as u64, row.try_get(1).map_err(pg)?))
        }
        None => Ok((0, tandem_audit::chain::GENESIS.to_string())),
    }
}

async fn insert_checkpoint(conn: &impl GenericClient, c: &Checkpoint) -> tandem_store::Result<()> {
    conn.execute(
        "INSERT INTO audit_checkpoints (seq, hash, ts, signature) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (seq) DO UPDATE SET hash = EXCLUDED.hash, ts = EXCLUDED.ts, signature = EXCLUDED.signature",
        &[&(c.seq as i64), &c.hash, &c.ts, &c.signature],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

const LOCK_HEAD: &str = "SELECT id FROM audit_head WHERE id = 1 FOR UPDATE";

impl ChainStore for PgAudit {
    fn append(&self, entries: &[Entry], signer: &Signer, checkpoint_every: u64) -> Result<bool, AuditError> {
        let store = &self.store;
        store
            .run(async {
                let mut conn = store.pool.get().await?;
                let tx = conn.transaction().await.map_err(pg)?;
                let (seq, prev) = lock_head(&tx).await?;
                let records = extend(seq, &prev, entries, checkpoint_every);
                insert_records(&tx, records.iter().map(|(r, _)| r)).await?;
                let mut signed = false;
                for (r, checkpoint) in &records {
                    if *checkpoint {
                        insert_checkpoint(&tx, &signer.checkpoint(r.seq, &r.hash)).await?;
                    }
                    signed = *checkpoint;
                }
                tx.commit().await.map_err(pg)?;
                Ok(signed)
            })
            .map_err(backend)
    }

    fn sign_head(&self, signer: &Signer) -> Result<(), AuditError> {
        let store = &self.store;
        store
            .run(async {
                let mut conn = store.pool.get().await?;
                let tx = conn.transaction().await.map_err(pg)?;
                let (seq, hash) = lock_head(&tx).await?;
                let last: Option<i64> = tx
                    .query_one("SELECT MAX(seq) FROM audit_checkpoints", &[])
                    .await
                    .map_err(pg)?
                    .try_get(0)
                    .map_err(pg)?;
                if seq > 0 && last.is_none_or(|l| (l as u64) < seq) {
                    insert_checkpoint(&tx, &signer.checkpoint(seq, &hash)).await?;
                }
                tx.commit().await.map_err(pg)
            })
            .map_err(backend)
    }

    fn import(&self, records: &[Record], checkpoints: &[Checkpoint]) -> Result<(), AuditError> {
        let store = &self.store;
        store
            .run(async {
                let mut conn = store.pool.get().await?;
                let tx = conn.transaction().await.map_err(pg)?;
                let (seq, hash) = lock_head(&tx).await?;
                if let Err(e) = continues(seq, &hash, records, checkpoints) {
                    return Ok(Err(e));
                }
                insert_records(&tx, records.iter()).await?;
                for c in checkpoints {
                    tx.execute(
                        "INSERT INTO audit_checkpoints (seq, hash, ts, signature) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (seq) DO NOTHING",
                        &[&(c.seq as i64), &c.hash, &c.ts, &c.signature],
                    )
                    .await
                    .map_err(pg)?;
                }
                tx.commit().await.map_err(pg)?;
                Ok(Ok(()))
            })
            .map_err(backend)?
    }

    fn head(&self) -> Result<(u64, String), AuditError> {
        let store = &self.store;
        store
            .run(async {
                let conn = store.pool.get().await?;
                head(&*conn).await
            })
            .map_err(backend)
    }

    fn read(&self, after: u64, limit: usize) -> Result<Vec<Record>, AuditError> {
        let store = &self.store;
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        store
            .run(async {
                let conn = store.pool.get().await?;
                let rows = conn
                    .query(
                        "SELECT seq, ts, actor_user, actor_member, action, method, path, status, detail, prev_hash, \
                         hash FROM audit_entries WHERE seq > $1 ORDER BY seq LIMIT $2",
                        &[&after, &limit],
                    )
                    .await
                    .map_err(pg)?;
                rows.iter()
                    .map(|row| -> tandem_store::Result<Record> {
                        let seq: i64 = row.try_get(0).map_err(pg)?;
                        let status: i32 = row.try_get(7).map_err(pg)?;
                        Ok(Record {
                            seq: seq.max(0) as u64,
                            ts: row.try_get(1).map_err(pg)?,
                            actor_user: row.try_get(2).map_err(pg)?,
                            actor_member: row.try_get(3).map_err(pg)?,
                            action: row.try_get(4).map_err(pg)?,
                            method: row.try_get(5).map_err(pg)?,
                            path: row.try_get(6).map_err(pg)?,
                            status: status.clamp(0, i32::from(u16::MAX)) as u16,
                            detail: row.try_get(8).map_err(pg)?,
                            prev_hash: row.try_get(9).map_err(pg)?,
                            hash: row.try_get(10).map_err(pg)?,
                        })
                    })
                    .collect()
            })
            .map_err(backend)
    }

    fn checkpoints(&self) -> Result<Vec<Checkpoint>, AuditError> {
        let store = &self.store;
        store
            .run(async {
                let conn = store.pool.get().await?;
                let rows = conn
                    .query("SELECT seq, hash, ts, signature FROM audit_checkpoints ORDER BY seq", &[])
                    .await
                    .map_err(pg)?;
                rows.iter()
                    .map(|row| -> tandem_store::Result<Checkpoint> {
                        let seq: i64 = row.try_get(0).map_err(pg)?;
                        Ok(Checkpoint {
                            seq: seq.max(0) as u64,
                            hash: row.try_get(1).map_err(pg)?,
                            ts: row.try_get(2).map_err(pg)?,
                            signature: row.try_get(3).map_err(pg)?,
                        })
                    })
                    .collect()
            })
            .map_err(backend)
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}

/// Inserts `records` in one statement (one array per column, unnested).
async fn insert_records<'a>(
    tx: &tokio_postgres::Transaction<'_>,
    records: impl Iterator<Item = &'a Record>,
) -> tandem_store::Result<()> {
    let mut columns = Columns::default();
    for r in records {
        columns.push(r);
    }
    if columns.seq.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO audit_entries (seq, ts, actor_user, actor_member, action, method, path, status, \
         detail, prev_hash, hash) SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], \
         $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::INTEGER[], $9::TEXT[], $10::TEXT[], \
         $11::TEXT[])",
        &[
            &columns.seq,
            &columns.ts,
            &columns.actor_user,
            &columns.actor_member,
            &columns.action,
            &columns.method,
            &columns.path,
            &columns.status,
            &columns.detail,
            &columns.prev_hash,
            &columns.hash,
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// A batch of records as one array per column, for one `INSERT ... SELECT * FROM UNNEST`.
#[derive(Default)]
struct Columns {
    seq: Vec<i64>,
    ts: Vec<String>,
    actor_user: Vec<Option<String>>,
    actor_member: Vec<Option<String>>,
    action: Vec<String>,
    method: Vec<String>,
    path: Vec<String>,
    status: Vec<i32>,
    detail: Vec<String>,
    prev_hash: Vec<String>,
    hash: Vec<String>,
}

impl Columns {
    fn push(&mut self, r: &Record) {
        self.seq.push(r.seq as i64);
        self.ts.push(r.ts.clone());
        self.actor_user.push(r.actor_user.clone());
        self.actor_member.push(r.actor_member.clone());
        self.action.push(r.action.clone());
        self.method.push(r.method.clone());
        self.path.push(r.path.clone());
        self.status.push(i32::from(r.status));
        self.detail.push(r.detail.clone());
        self.prev_hash.push(r.prev_hash.clone());
        self.hash.push(r.hash.clone());
    }
}

#[cfg(all(test, feature = "testdb"))]
mod tests {
    use std::sync::Arc;

    use ed25519_dalek::SigningKey;
    use tandem_audit::{AuditLog, AuditOptions, Problem, verify_chain};

    use super::*;

    fn entry(n: u64) -> Entry {
        Entry {
            ts: format!("2026-01-01T00:00:{:02}.000000Z", n % 60),
            actor_user: if n.is_multiple_of(2) { Some(format!("user{n}")) } else { None },
            actor_member: Some("USA".into()),
            action: "objects.read".into(),
            method: "GET".into(),
            path: "/api/collections/intel/objects/".into(),
            status: 200,
            detail: serde_json::json!({"returned": n}),
        }
    }

    /// Two writers (as two processes would be: each its own keeper and connections) appending
    /// at once make one chain without gaps, which verifies; an edited row is then found.
    #[test]
    fn two_writers_one_chain_and_tampering_detected() {
        let url = crate::testdb::fresh_url();
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let options = AuditOptions { checkpoint_every: 7, ..AuditOptions::default() };
        let logs: Vec<AuditLog> = (0..2)
            .map(|_| {
                let chain = Arc::new(PgAudit::open(&url, "test").expect("audit keeper"));
                AuditLog::on(chain, key.clone(), options.clone()).expect("log")
            })
            .collect();
        std::thread::scope(|s| {
            for (w, log) in logs.iter().enumerate() {
                s.spawn(move || {
                    for n in 0..60u64 {
                        log.record(entry(w as u64 * 1000 + n));
                        if n.is_multiple_of(9) {
                            log.flush().expect("flush");
                        }
                    }
                });
            }
        });
        for log in &logs {
            log.close().expect("close");
        }
        let reader = PgAudit::open(&url, "test").expect("reader");
        let report = verify_chain(&reader, &key.verifying_key()).expect("verify");
        assert!(report.is_intact(), "{report}");
        assert_eq!((report.entries, report.last_seq, report.unsigned_tail), (120, Some(120), 0), "{report}");
        let records = reader.read(0, 1000).expect("read");
        let from = |w: u64| records.iter().filter(|r| r.detail.contains(&format!("\"returned\":{}", w * 1000))).count();
        assert_eq!((from(0), from(1)), (1, 1), "both writers' first entries are in the one chain");

        crate::testdb::run_sql(&url, "UPDATE audit_entries SET path = '/elsewhere' WHERE seq = 50").expect("tamper");
        let report = verify_chain(&reader, &key.verifying_key()).expect("verify");
        assert_eq!(report.first_broken(), Some(50), "{report}");
        assert!(report.problems.contains(&Problem::Edited { seq: 50 }), "{report}");
    }

    /// A presented user name holding NUL (a hostile Basic header) is recorded, as U+FFFD, and the
    /// entries after it too: PostgreSQL's text holds no NUL, and refusing the record once held
    /// the writer retrying it for ever, every later entry behind it.
    #[test]
    fn a_name_holding_nul_is_recorded_and_the_log_goes_on() {
        let url = crate::testdb::fresh_url();
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let chain = Arc::new(PgAudit::open(&url, "test").expect("audit keeper"));
        let log = AuditLog::on(chain, key.clone(), AuditOptions::default()).expect("log");
        let mut hostile = entry(1);
        hostile.actor_user = Some("us\0er".into());
        hostile.action = "auth.failure".into();
        log.record(hostile);
        log.record(entry(2));
        log.flush().expect("flush");
        log.close().expect("close");
        let reader = PgAudit::open(&url, "test").expect("reader");
        let records = reader.read(0, 10).expect("read");
        let users: Vec<Option<&str>> = records.iter().map(|r| r.actor_user.as_deref()).collect();
        assert_eq!(users, vec![Some("us\u{FFFD}er"), Some("user2")]);
        let report = verify_chain(&reader, &key.verifying_key()).expect("verify");
        assert!(report.is_intact() && report.entries == 2, "{report}");
    }

    /// `import` stores another keeper's records verbatim after its head, and refuses (storing
    /// nothing) records that do not continue its chain or a checkpoint past its head.
    #[test]
    fn import_continues_the_chain_or_refuses() {
        let url = crate::testdb::fresh_url();
        let key = SigningKey::from_bytes(&[6u8; 32]);
        let signer = Signer::new(key.clone());
        let records: Vec<Record> = extend(0, tandem_audit::chain::GENESIS, &(0..6).map(entry).collect::<Vec<_>>(), 1)
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        let checkpoint = |r: &Record| signer.checkpoint(r.seq, &r.hash);
        let target = PgAudit::open(&url, "test").expect("keeper");
        let refused = |records: &[Record], checkpoints: &[Checkpoint]| {
            matches!(target.import(records, checkpoints), Err(AuditError::NotContinuation { .. }))
        };
        assert!(refused(&records[1..], &[]), "a gap at the start");
        let mut edited = records[0].clone();
        edited.status = 500;
        assert!(refused(&[edited], &[]), "an edited record");
        assert!(refused(&records[..2], &[checkpoint(&records[3])]), "a checkpoint past the head");
        assert_eq!(target.head().expect("head").0, 0, "nothing stored");

        target.import(&records[..4], &[checkpoint(&records[1])]).expect("import");
        target.import(&records[4..], &[checkpoint(&records[5])]).expect("import the rest");
        assert_eq!(target.head().expect("head"), (6, records[5].hash.clone()));
        assert_eq!(target.read(0, 100).expect("read"), records);
        let report = verify_chain(&target, &key.verifying_key()).expect("verify");
        assert!(report.is_intact() && report.checkpoints == 2 && report.unsigned_tail == 0, "{report}");
    }
}
