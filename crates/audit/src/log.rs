//! The writer: an [`AuditLog`] handle whose `record` never waits for the disk.
//!
//! It exists because auditing every request must not slow requests down. `record` sends the
//! entry over a channel to one background thread, which appends batches in one SQLite
//! transaction each (at most `flush_interval` after the first pending entry), signs a
//! checkpoint every `checkpoint_every` entries and, when entries arrived since the last one,
//! at least every `checkpoint_interval`. Each batch re-reads the chain head inside an
//! `IMMEDIATE` transaction, so two writers on one file serialise instead of forking the chain.
//! A batch that fails to commit is kept and retried; nothing is dropped silently.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tandem_model::Timestamp;

use crate::chain::{Checkpoint, Entry, GENESIS, Record};
use crate::{AuditError, keys};

/// The audit database's file name inside the data directory.
pub const AUDIT_FILE: &str = "audit.sqlite";

const SCHEMA: &str = include_str!("schema.sql");
const FORMAT: &str = "1";
/// The most entries one transaction appends.
const MAX_BATCH: usize = 1000;

/// The path of the audit log in `data_dir`.
pub fn audit_path(data_dir: &Path) -> PathBuf {
    data_dir.join(AUDIT_FILE)
}

/// When the writer commits and signs.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// A checkpoint after every this many entries (at sequence numbers divisible by it).
    pub checkpoint_every: u64,
    /// A checkpoint at least this often while entries arrive.
    pub checkpoint_interval: Duration,
    /// The longest an entry waits in memory before its batch is committed.
    pub flush_interval: Duration,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(60),
            flush_interval: Duration::from_millis(100),
        }
    }
}

type Ack = SyncSender<Result<(), String>>;

enum Msg {
    Record(Box<Entry>),
    Flush(Ack),
    /// Write everything, sign the head, stop.
    Close(Ack),
}

/// A handle on the node's audit log. Share it behind an `Arc`.
pub struct AuditLog {
    path: PathBuf,
    tx: Mutex<Option<Sender<Msg>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl AuditLog {
    /// Opens `audit.sqlite` in `data_dir`, signing with the node key (created on first use).
    pub fn open_in(data_dir: &Path) -> Result<AuditLog, AuditError> {
        let key = keys::load_or_create_node_key(data_dir)?;
        AuditLog::open(&audit_path(data_dir), key, AuditOptions::default())
    }

    /// Opens (creating if needed, mode 0600) the audit database at `path`.
    pub fn open(path: &Path, key: SigningKey, options: AuditOptions) -> Result<AuditLog, AuditError> {
        create_private(path)?;
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        check_format(&conn)?;
        let (tx, rx) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("tandem-audit".into())
            .spawn(move || Writer::new(conn, key, options).run(rx))
            .map_err(|source| AuditError::Io { path: path.to_path_buf(), source })?;
        Ok(AuditLog { path: path.to_path_buf(), tx: Mutex::new(Some(tx)), worker: Mutex::new(Some(worker)) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues an entry; returns at once.
    pub fn record(&self, entry: Entry) {
        let lost = match self.tx.lock() {
            Ok(tx) => match tx.as_ref().map(|tx| tx.send(Msg::Record(Box::new(entry)))) {
                Some(Ok(())) => return,
                Some(Err(mpsc::SendError(Msg::Record(e)))) => Some(e),
                _ => None,
            },
            Err(_) => None,
        };
        let (action, path) = lost.map(|e| (e.action, e.path)).unwrap_or_default();
        tracing::error!(%action, %path, "audit log closed: entry lost");
    }

    /// Waits until everything recorded so far is committed.
    pub fn flush(&self) -> Result<(), AuditError> {
        self.ask(Msg::Flush)
    }

    /// Commits everything, signs a final checkpoint and stops the writer. Later `record`s are
    /// logged as lost.
    pub fn close(&self) -> Result<(), AuditError> {
        let result = self.ask(Msg::Close);
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Some(worker) = self.worker.lock().ok().and_then(|mut w| w.take()) {
            let _ = worker.join();
        }
        result
    }

    /// Entries after `after`, oldest first, at most `limit`.
    pub fn read(&self, after: u64, limit: usize) -> Result<Vec<Record>, AuditError> {
        read(&self.path, after, limit)
    }

    fn ask(&self, msg: impl FnOnce(Ack) -> Msg) -> Result<(), AuditError> {
        let (ack, done) = mpsc::sync_channel(1);
        {
            let tx = self.tx.lock().map_err(|_| AuditError::Closed)?;
            tx.as_ref().ok_or(AuditError::Closed)?.send(msg(ack)).map_err(|_| AuditError::Closed)?;
        }
        done.recv().map_err(|_| AuditError::Closed)?.map_err(AuditError::Writer)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        let open = self.tx.lock().map(|tx| tx.is_some()).unwrap_or(false);
        if open && let Err(e) = self.close() {
            tracing::error!(error = %e, "closing the audit log");
        }
    }
}

/// Opens an existing audit database read-only.
pub fn open_read_only(path: &Path) -> Result<Connection, AuditError> {
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

pub(crate) const SELECT_ENTRIES: &str = "SELECT seq, ts, actor_user, actor_member, action, method, \
     path, status, detail, prev_hash, hash FROM entries ORDER BY seq";

pub(crate) fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
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

/// The background thread's state.
struct Writer {
    conn: Connection,
    key: SigningKey,
    options: AuditOptions,
    pending: Vec<Entry>,
    /// When the oldest pending entry arrived.
    pending_since: Option<Instant>,
    /// Whether entries were committed since the last checkpoint, and when that was.
    unsigned: bool,
    last_checkpoint: Instant,
}

impl Writer {
    fn new(conn: Connection, key: SigningKey, options: AuditOptions) -> Writer {
        Writer {
            conn,
            key,
            options,
            pending: Vec::new(),
            pending_since: None,
            // A log left with an unsigned tail (a crash) gets its checkpoint on the first tick.
            unsigned: true,
            last_checkpoint: Instant::now(),
        }
    }

    fn run(mut self, rx: Receiver<Msg>) {
        loop {
            let now = Instant::now();
            let deadline = match self.pending_since {
                Some(since) => since + self.options.flush_interval,
                None if self.unsigned => self.last_checkpoint + self.options.checkpoint_interval,
                None => now + Duration::from_secs(3600),
            };
            match rx.recv_timeout(deadline.saturating_duration_since(now)) {
                Ok(Msg::Record(entry)) => {
                    self.pending_since.get_or_insert(now);
                    self.pending.push(*entry);
                    if self.pending.len() >= MAX_BATCH {
                        let _ = self.commit();
                    }
                }
                Ok(Msg::Flush(ack)) => {
                    let _ = ack.send(self.commit());
                }
                Ok(Msg::Close(ack)) => {
                    let result = self.commit().and_then(|()| self.sign_head());
                    let _ = ack.send(result);
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.commit();
                    if self.unsigned && self.last_checkpoint.elapsed() >= self.options.checkpoint_interval {
                        let _ = self.sign_head();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.commit().and_then(|()| self.sign_head());
                    return;
                }
            }
        }
    }

    /// Appends the pending entries in one transaction; on failure keeps them for a retry.
    fn commit(&mut self) -> Result<(), String> {
        if self.pending.is_empty() {
            return Ok(());
        }
        match self.append() {
            Ok(signed) => {
                self.pending.clear();
                self.pending_since = None;
                self.unsigned = !signed;
                if signed {
                    self.last_checkpoint = Instant::now();
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, pending = self.pending.len(), "audit log write failed; will retry");
                // Retry after another flush interval rather than spinning.
                self.pending_since = Some(Instant::now());
                Err(e.to_string())
            }
        }
    }

    /// Returns whether the batch ended on a checkpoint.
    fn append(&mut self) -> rusqlite::Result<bool> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (mut seq, mut prev) = head(&tx)?;
        let mut signed = false;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO entries (seq, ts, actor_user, actor_member, action, method, path, \
                 status, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for entry in &self.pending {
                seq += 1;
                let r = Record::chain(seq, entry, &prev);
                insert.execute(params![
                    seq as i64,
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
                signed = seq % self.options.checkpoint_every.max(1) == 0;
                if signed {
                    insert_checkpoint(&tx, &self.key, seq, &r.hash)?;
                }
                prev = r.hash;
            }
        }
        tx.commit()?;
        Ok(signed)
    }

    /// Signs the chain head if it is not signed yet.
    fn sign_head(&mut self) -> Result<(), String> {
        let result = (|| -> rusqlite::Result<()> {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (seq, hash) = head(&tx)?;
            let last: Option<i64> = tx.query_row("SELECT max(seq) FROM checkpoints", [], |r| r.get(0))?;
            if seq > 0 && last.is_none_or(|l| (l as u64) < seq) {
                insert_checkpoint(&tx, &self.key, seq, &hash)?;
            }
            tx.commit()
        })();
        self.last_checkpoint = Instant::now();
        match result {
            Ok(()) => {
                self.unsigned = false;
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "audit checkpoint failed; will retry");
                Err(e.to_string())
            }
        }
    }
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

fn insert_checkpoint(conn: &Connection, key: &SigningKey, seq: u64, hash: &str) -> rusqlite::Result<()> {
    let ts = Timestamp::now().to_taxii();
    let signature = STANDARD.encode(key.sign(&Checkpoint::message(seq, hash, &ts)).to_bytes());
    conn.execute(
        "INSERT OR REPLACE INTO checkpoints (seq, hash, ts, signature) VALUES (?1, ?2, ?3, ?4)",
        params![seq as i64, hash, ts, signature],
    )?;
    Ok(())
}
