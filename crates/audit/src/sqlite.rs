//! The audit chain in its own SQLite file, `audit.sqlite` in the data directory: the keeper of a
//! node on the embedded store.
//!
//! Each append re-reads the chain head inside an `IMMEDIATE` transaction, so two writers on one
//! file serialise instead of forking the chain. Reads open the file read-only each time, so a
//! reader (`tandem audit show`, the verifier) never takes the writer's lock.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::AuditError;
use crate::backend::{ChainStore, Signer, continues, extend};
use crate::chain::{Checkpoint, Entry, GENESIS, Record};

const SCHEMA: &str = include_str!("schema.sql");
const FORMAT: &str = "1";

/// An `audit.sqlite` file.
pub struct SqliteChain {
    path: PathBuf,
    /// The writer's connection; `None` for a chain opened to read.
    writer: Option<Mutex<Connection>>,
}

impl SqliteChain {
    /// Opens (creating if needed, mode 0600) the audit database at `path` for writing.
    pub fn create(path: &Path) -> Result<SqliteChain, AuditError> {
        create_private(path)?;
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        check_format(&conn)?;
        Ok(SqliteChain { path: path.to_path_buf(), writer: Some(Mutex::new(conn)) })
    }

    /// An existing audit database, to read and verify (appends fail).
    pub fn read_only(path: &Path) -> Result<SqliteChain, AuditError> {
        open_read_only(path)?;
        Ok(SqliteChain { path: path.to_path_buf(), writer: None })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, AuditError> {
        let writer =
            self.writer.as_ref().ok_or_else(|| AuditError::Writer("the audit log is open read-only".into()))?;
        let mut conn = writer.lock().map_err(|_| AuditError::Writer("the audit writer panicked".into()))?;
        Ok(f(&mut conn)?)
    }
}

impl ChainStore for SqliteChain {
    fn append(&self, entries: &[Entry], signer: &Signer, checkpoint_every: u64) -> Result<bool, AuditError> {
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (seq, prev) = head(&tx)?;
            let mut signed = false;
            {
                let mut insert = tx.prepare_cached(INSERT_ENTRY)?;
                for (r, checkpoint) in extend(seq, &prev, entries, checkpoint_every) {
                    insert_record(&mut insert, &r)?;
                    if checkpoint {
                        insert_checkpoint(&tx, &signer.checkpoint(r.seq, &r.hash))?;
                    }
                    signed = checkpoint;
                }
            }
            tx.commit()?;
            Ok(signed)
        })
    }

    fn sign_head(&self, signer: &Signer) -> Result<(), AuditError> {
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (seq, hash) = head(&tx)?;
            let last: Option<i64> = tx.query_row("SELECT max(seq) FROM checkpoints", [], |r| r.get(0))?;
            if seq > 0 && last.is_none_or(|l| (l as u64) < seq) {
                insert_checkpoint(&tx, &signer.checkpoint(seq, &hash))?;
            }
            tx.commit()
        })
    }

    fn import(&self, records: &[Record], checkpoints: &[Checkpoint]) -> Result<(), AuditError> {
        let writer =
            self.writer.as_ref().ok_or_else(|| AuditError::Writer("the audit log is open read-only".into()))?;
        let mut conn = writer.lock().map_err(|_| AuditError::Writer("the audit writer panicked".into()))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (seq, hash) = head(&tx)?;
        continues(seq, &hash, records, checkpoints)?;
        {
            let mut insert = tx.prepare_cached(INSERT_ENTRY)?;
            for r in records {
                insert_record(&mut insert, r)?;
            }
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO checkpoints (seq, hash, ts, signature) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for c in checkpoints {
                insert.execute(params![c.seq as i64, c.hash, c.ts, c.signature])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn head(&self) -> Result<(u64, String), AuditError> {
        Ok(head(&open_read_only(&self.path)?)?)
    }

    fn read(&self, after: u64, limit: usize) -> Result<Vec<Record>, AuditError> {
        read(&self.path, after, limit)
    }

    fn checkpoints(&self) -> Result<Vec<Checkpoint>, AuditError> {
        let conn = open_read_only(&self.path)?;
        let mut stmt = conn.prepare("SELECT seq, hash, ts, signature FROM checkpoints ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok(Checkpoint {
                seq: r.get::<_, i64>(0)?.max(0) as u64,
                hash: r.get(1)?,
                ts: r.get(2)?,
                signature: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

const INSERT_ENTRY: &str = "INSERT INTO entries (seq, ts, actor_user, actor_member, action, method, path, status, \
                            detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

fn insert_record(insert: &mut rusqlite::CachedStatement<'_>, r: &Record) -> rusqlite::Result<()> {
    insert.execute(params![
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
    ])?;
    Ok(())
}

/// Opens an existing audit database read-only.
fn open_read_only(path: &Path) -> Result<Connection, AuditError> {
    if !path.exists() {
        return Err(AuditError::Missing(path.to_path_buf()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    check_format(&conn)?;
    Ok(conn)
}

/// Entries of the log at `path` after `after`, oldest first, at most `limit`.
pub fn read(path: &Path, after: u64, limit: usize) -> Result<Vec<Record>, AuditError> {
    let conn = open_read_only(path)?;
    let mut stmt = conn.prepare(
        "SELECT seq, ts, actor_user, actor_member, action, method, path, status, detail, \
         prev_hash, hash FROM entries WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![after, limit], record_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    Ok(Record {
        seq: row.get::<_, i64>(0)?.max(0) as u64,
        ts: row.get(1)?,
        actor_user: row.get(2)?,
        actor_member: row.get(3)?,
        action: row.get(4)?,
        method: row.get(5)?,
        path: row.get(6)?,
        status: row.get::<_, i64>(7)?.clamp(0, i64::from(u16::MAX)) as u16,
        detail: row.get(8)?,
        prev_hash: row.get(9)?,
        hash: row.get(10)?,
    })
}

fn check_format(conn: &Connection) -> Result<(), AuditError> {
    let format: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| r.get(0)).optional()?;
    match format.as_deref() {
        Some(FORMAT) => Ok(()),
        other => Err(AuditError::Format(format!("unsupported audit log format {other:?} (this build reads {FORMAT})"))),
    }
}

/// Creates the file with mode 0600 so that the log is private from its first byte (SQLite
/// gives its -wal and -shm files the same mode).
fn create_private(path: &Path) -> Result<(), AuditError> {
    if path.exists() {
        return Ok(());
    }
    let io = |source| AuditError::Io { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(io)
}

/// The last entry's `(seq, hash)`, or `(0, GENESIS)`.
fn head(conn: &Connection) -> rusqlite::Result<(u64, String)> {
    Ok(conn
        .query_row("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1", [], |r| {
            Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get(1)?))
        })
        .optional()?
        .unwrap_or((0, GENESIS.to_string())))
}

fn insert_checkpoint(conn: &Connection, c: &Checkpoint) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO checkpoints (seq, hash, ts, signature) VALUES (?1, ?2, ?3, ?4)",
        params![c.seq as i64, c.hash, c.ts, c.signature],
    )?;
    Ok(())
}
