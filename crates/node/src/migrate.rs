//! `tandem migrate`: moving a node's store and its audit chain between SQLite and PostgreSQL.
//!
//! It exists so the command stays thin: this module names the two stores (`sqlite:DIR`,
//! `postgres://...`), opens the source read-only and the target with its schema, and runs the
//! backend-neutral copy and verification of [`tandem_store::transfer`]. The audit chain moves
//! with the store (`audit.sqlite` in a data directory, the `audit_*` tables in a database), by
//! [`tandem_audit::copy`]: verified in the source with the node's public key before anything is
//! written, copied verbatim and resumably, verified again in the target. The node key
//! (`node.key`) and the secrets key (`secrets.key`) stay files in the data directory.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context;
use ed25519_dalek::VerifyingKey;
use tandem_audit::ChainStore;
use tandem_audit::copy::ChainCopy;
use tandem_store::transfer::{self, Access, CopyEnd, CopyOptions, Progress, RowStore, Verification};

/// What stays behind, for the command's output and the README.
pub const FILES_NOTE: &str = "the node key (node.key) and the secrets key (secrets.key, which opens the sealed \
                              webhook secrets and feed credentials) are files in the data directory and are not \
                              part of the store: they stay where they are (copy them yourself if the node moves \
                              to another data directory). The audit chain moved with the store: a node now on \
                              PostgreSQL appends to the copy in the database, and audit.sqlite stays in the \
                              data directory as the chain was at the move";

/// Where a store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A data directory holding `tandem.sqlite`.
    Sqlite(PathBuf),
    /// A PostgreSQL url (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl FromStr for Location {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        if let Some(dir) = s.strip_prefix("sqlite:") {
            anyhow::ensure!(!dir.is_empty(), "sqlite: needs a data directory (sqlite:/var/lib/tandem)");
            return Ok(Location::Sqlite(PathBuf::from(dir)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Location::Postgres(s.to_string()));
        }
        anyhow::bail!("{s:?}: expected sqlite:DIR or postgres://URL")
    }
}

impl Location {
    /// The store's name as kept in a target's migration marker: the data directory's absolute
    /// path, or the url without its password (never a credential in the data).
    pub fn identity(&self) -> String {
        match self {
            Location::Sqlite(dir) => {
                let abs = std::fs::canonicalize(dir)
                    .unwrap_or_else(|_| std::env::current_dir().map(|d| d.join(dir)).unwrap_or_else(|_| dir.clone()));
                format!("sqlite:{}", abs.display())
            }
            Location::Postgres(url) => crate::wiring::redact_url(url),
        }
    }

    /// Opens the store for a migration.
    pub fn open(&self, access: Access) -> anyhow::Result<Box<dyn RowStore>> {
        match self {
            Location::Sqlite(dir) => Ok(Box::new(
                tandem_store::sqlite::transfer::open(dir, access)
                    .with_context(|| format!("opening the store in {}", dir.display()))?,
            )),
            Location::Postgres(url) => Ok(Box::new(
                tandem_store_postgres::transfer::open(url, access)
                    .with_context(|| format!("opening the PostgreSQL store at {}", crate::wiring::redact_url(url)))?,
            )),
        }
    }

    /// The audit chain kept with this store, to copy from: `audit.sqlite` in the data directory
    /// (`None` when there is none: a store never served), or the database's tables, read-only.
    fn audit_source(&self) -> anyhow::Result<Option<Box<dyn ChainStore>>> {
        match self {
            Location::Sqlite(dir) => {
                let path = tandem_audit::audit_path(dir);
                if !path.exists() {
                    return Ok(None);
                }
                let chain = tandem_audit::SqliteChain::read_only(&path)
                    .with_context(|| format!("opening the audit log {}", path.display()))?;
                Ok(Some(Box::new(chain)))
            }
            Location::Postgres(url) => {
                let location = crate::wiring::redact_url(url);
                let chain = tandem_store_postgres::PgAudit::open_source(url, &location)
                    .with_context(|| format!("opening the audit chain in {location}"))?;
                Ok(Some(Box::new(chain)))
            }
        }
    }

    /// The audit chain kept with this store as a target. Without `create`, a data directory
    /// without `audit.sqlite` yet is `None` (nothing is made before the copy is known to go
    /// ahead); a database gets its schema either way (as the store target does).
    fn audit_target(&self, create: bool) -> anyhow::Result<Option<Box<dyn ChainStore>>> {
        match self {
            Location::Sqlite(dir) => {
                let path = tandem_audit::audit_path(dir);
                let chain = match (path.exists(), create) {
                    (false, false) => return Ok(None),
                    (true, false) => tandem_audit::SqliteChain::read_only(&path),
                    (_, true) => tandem_audit::SqliteChain::create(&path),
                };
                Ok(Some(Box::new(chain.with_context(|| format!("opening the audit log {}", path.display()))?)))
            }
            Location::Postgres(url) => {
                let location = crate::wiring::redact_url(url);
                let chain = tandem_store_postgres::PgAudit::open(url, &location)
                    .with_context(|| format!("opening the audit chain in {location}"))?;
                Ok(Some(Box::new(chain)))
            }
        }
    }

    /// The node key beside this store, if it is a data directory holding one.
    fn node_public_key(&self) -> anyhow::Result<Option<VerifyingKey>> {
        let Location::Sqlite(dir) = self else { return Ok(None) };
        let path = tandem_audit::keys::node_key_path(dir);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(tandem_audit::keys::load_key_file(&path)?.verifying_key()))
    }
}

/// What a migration did.
#[derive(Debug)]
pub struct Outcome {
    pub copy: CopyEnd,
    /// Present once the copy is complete (this run or an earlier one).
    pub verification: Option<Verification>,
    pub audit: AuditOutcome,
}

/// What became of the audit chain.
#[derive(Debug)]
pub enum AuditOutcome {
    /// The source keeps no audit entries (a store never served): nothing to move.
    NoSourceChain,
    /// The store copy stopped early; the chain moves once it completes.
    Pending,
    /// Copied (or found already copied) and verified in the target with `key`.
    Copied { copy: Box<ChainCopy>, key: String },
}

/// Copies `from` into `to` and, once the copy is complete, moves the audit chain and verifies
/// both. The source's chain is verified first, with `audit_key` (else the `node.key` of a data
/// directory at either end): a chain that does not verify, or a target keeping another chain,
/// is refused before anything is written. `progress` follows the copies and the verification.
pub fn migrate(
    from: &Location,
    to: &Location,
    options: &CopyOptions,
    audit_key: Option<VerifyingKey>,
    progress: &mut dyn Progress,
) -> anyhow::Result<Outcome> {
    let (source_id, target_id) = (from.identity(), to.identity());
    anyhow::ensure!(source_id != target_id, "the source and the target are the same store ({source_id})");
    let source = from.open(Access::Read)?;

    // The audit chain is checked before the store's target is opened, so a refusal writes nothing.
    let audit_source = match from.audit_source()? {
        Some(chain) if chain.head().context("reading the source's audit chain")?.0 > 0 => Some(chain),
        _ => None,
    };
    let audit = match audit_source {
        None => None,
        Some(chain) => {
            let key = match audit_key {
                Some(k) => k,
                None => match from.node_public_key()? {
                    Some(k) => k,
                    None => to.node_public_key()?.context(
                        "the source's audit chain is verified with the node's public key, and no node.key is in a \
                         data directory at either end: pass --public-key ed25519:... (tandem key show prints it)",
                    )?,
                },
            };
            let target = to.audit_target(false)?;
            let plan = tandem_audit::copy::plan(&*chain, target.as_deref(), &key)
                .with_context(|| format!("moving the audit chain from {source_id} to {target_id}"))?;
            Some((chain, key, plan))
        }
    };

    let target = to.open(Access::Write)?;
    let copy = transfer::copy(&*source, &source_id, &*target, options, progress)
        .with_context(|| format!("migrating {source_id} to {target_id}"))?;
    if let CopyEnd::Stopped { .. } = copy {
        let audit = if audit.is_some() { AuditOutcome::Pending } else { AuditOutcome::NoSourceChain };
        return Ok(Outcome { copy, verification: None, audit });
    }
    let audit = match audit {
        None => AuditOutcome::NoSourceChain,
        Some((chain, key, plan)) => {
            let target = to.audit_target(true)?.context("the target's audit chain")?;
            let total = plan.source.entries;
            progress.table("audit", total, plan.already);
            let copy =
                tandem_audit::copy::copy(plan, &*chain, &*target, &key, options.batch_rows, &mut |n| progress.rows(n))
                    .with_context(|| format!("moving the audit chain from {source_id} to {target_id}"))?;
            AuditOutcome::Copied { copy: Box::new(copy), key: tandem_audit::keys::public_key_string(&key) }
        }
    };
    let verification =
        Some(transfer::verify(&*source, &*target, options.batch_rows, progress).context("verifying the copy")?);
    Ok(Outcome { copy, verification, audit })
}
