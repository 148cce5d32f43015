//! `tandem migrate`: moving a node's store between SQLite and PostgreSQL.
//!
//! It exists so the command stays thin: this module names the two stores (`sqlite:DIR`,
//! `postgres://...`), opens the source read-only and the target with its schema, and runs the
//! backend-neutral copy and verification of [`tandem_store::transfer`]. What moves is the store
//! only: the audit log (`audit.sqlite`) and the node key (`node.key`) stay files in the data
//! directory, whichever backend holds the store.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context;
use tandem_store::transfer::{self, Access, CopyEnd, CopyOptions, Progress, RowStore, Verification};

/// What stays behind, for the command's output and the README.
pub const FILES_NOTE: &str = "the audit log (audit.sqlite), the node key (node.key) and the secrets key \
                              (secrets.key, which opens the sealed webhook secrets and feed credentials) are \
                              files in the data directory and are not part of the store: they stay where they \
                              are (copy the keys yourself if the node moves to another data directory; on \
                              PostgreSQL the node starts a new audit chain in the database)";

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
}

/// What a migration did.
#[derive(Debug)]
pub struct Outcome {
    pub copy: CopyEnd,
    /// Present once the copy is complete (this run or an earlier one).
    pub verification: Option<Verification>,
}

/// Copies `from` into `to` and, once the copy is complete, verifies it. `progress` follows the
/// copy and then the verification.
pub fn migrate(
    from: &Location,
    to: &Location,
    options: &CopyOptions,
    progress: &mut dyn Progress,
) -> anyhow::Result<Outcome> {
    let (source_id, target_id) = (from.identity(), to.identity());
    anyhow::ensure!(source_id != target_id, "the source and the target are the same store ({source_id})");
    let source = from.open(Access::Read)?;
    let target = to.open(Access::Write)?;
    let copy = transfer::copy(&*source, &source_id, &*target, options, progress)
        .with_context(|| format!("migrating {source_id} to {target_id}"))?;
    let verification = match copy {
        CopyEnd::Stopped { .. } => None,
        CopyEnd::Complete { .. } | CopyEnd::AlreadyComplete => {
            Some(transfer::verify(&*source, &*target, options.batch_rows, progress).context("verifying the copy")?)
        }
    };
    Ok(Outcome { copy, verification })
}
