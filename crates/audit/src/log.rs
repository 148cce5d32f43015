//! The audit log's writer: a handle whose `record` never waits for the disk.
//!
//! It exists because auditing every request must not slow requests down. `record` sends the
//! entry over a channel to one background thread, which appends batches through the chain's
//! keeper ([`ChainStore::append`]: one transaction each, at most `flush_interval` after the first
//! pending entry), signs a checkpoint every `checkpoint_every` entries and, when entries arrived
//! since the last one, at least every `checkpoint_interval`. The keeper serialises appends from
//! every writer of the chain, so several writers (threads, processes) never fork it. A batch that
//! fails to commit is kept and retried; nothing is dropped silently.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;

use crate::backend::{ChainStore, Signer};
use crate::chain::{Entry, Record};
use crate::sqlite::SqliteChain;
use crate::{AuditError, keys};

/// The audit database's file name inside the data directory.
pub const AUDIT_FILE: &str = "audit.sqlite";

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
    chain: Arc<dyn ChainStore>,
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
        let writer = Arc::new(SqliteChain::create(path)?);
        // Readers open the file on their own: the writer's connection closes with its thread
        // (at `close`), which folds the WAL into the file.
        AuditLog::split(writer, Arc::new(SqliteChain::read_only(path)?), key, options)
    }

    /// A log appending to `chain` (which other writers, in other processes, may share).
    pub fn on(chain: Arc<dyn ChainStore>, key: SigningKey, options: AuditOptions) -> Result<AuditLog, AuditError> {
        AuditLog::split(Arc::clone(&chain), chain, key, options)
    }

    /// A log appending through `writer`, held by the writer thread only, and reading `chain`.
    fn split(
        writer: Arc<dyn ChainStore>,
        chain: Arc<dyn ChainStore>,
        key: SigningKey,
        options: AuditOptions,
    ) -> Result<AuditLog, AuditError> {
        let (tx, rx) = mpsc::channel();
        let writer = Writer::new(writer, Signer::new(key), options);
        let worker = std::thread::Builder::new()
            .name("tandem-audit".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| AuditError::Writer(format!("starting the audit writer: {e}")))?;
        Ok(AuditLog { chain, tx: Mutex::new(Some(tx)), worker: Mutex::new(Some(worker)) })
    }

    /// Where the chain is kept (a file, a database).
    pub fn location(&self) -> String {
        self.chain.location()
    }

    /// The chain's keeper, for readers and the verifier.
    pub fn chain(&self) -> &Arc<dyn ChainStore> {
        &self.chain
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
        self.chain.read(after, limit)
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

/// The background thread's state.
struct Writer {
    chain: Arc<dyn ChainStore>,
    signer: Signer,
    options: AuditOptions,
    pending: Vec<Entry>,
    /// When the oldest pending entry arrived.
    pending_since: Option<Instant>,
    /// Whether entries were committed since the last checkpoint, and when that was.
    unsigned: bool,
    last_checkpoint: Instant,
}

impl Writer {
    fn new(chain: Arc<dyn ChainStore>, signer: Signer, options: AuditOptions) -> Writer {
        Writer {
            chain,
            signer,
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
    fn append(&mut self) -> Result<bool, AuditError> {
        self.chain.append(&self.pending, &self.signer, self.options.checkpoint_every)
    }

    /// Signs the chain head if it is not signed yet.
    fn sign_head(&mut self) -> Result<(), String> {
        let result = self.chain.sign_head(&self.signer);
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
