//! `tandem backup` and `tandem restore`.
//!
//! It exists so that an operator can take a consistent snapshot of a serving node without
//! stopping it (the store and the audit log, each copied by `VACUUM INTO` in one read
//! transaction) and can never serve a damaged one: a restore checks the files against the
//! snapshot's manifest, runs SQLite's integrity check, recomputes every version's content hash
//! and verifies the audit chain before anything is put in place. The node key is deliberately
//! not in a snapshot (it is the node's signing identity: whoever holds a copy can sign as the
//! node), and both commands say so.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail, ensure};
use clap::Args;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tandem_audit::keys;
use tandem_store::sqlite::snapshot;

use crate::config::Config;

/// The files of a snapshot, in the order they are copied (the store first: everything
/// acknowledged before the backup began is in it).
const STORE: &str = "tandem.sqlite";
const AUDIT: &str = tandem_audit::AUDIT_FILE;
const MANIFEST: &str = "MANIFEST.json";
/// The snapshot layout's version, in its manifest.
const FORMAT: u64 = 1;

const KEY_NOTE: &str = "the node key (node.key in the data directory) is NOT in the snapshot, nor is the \
                        secrets key (secrets.key beside it, without which the snapshot's webhook secrets and \
                        feed credentials cannot be opened): back both up separately and keep them as secret \
                        as the node itself";

#[derive(Args)]
pub struct BackupArgs {
    #[arg(long, short)]
    config: PathBuf,
    /// A new directory for the snapshot.
    out: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A directory written by `tandem backup`.
    snapshot: PathBuf,
    #[arg(long, short)]
    config: PathBuf,
    /// Verify the audit chain against this key (`ed25519:<base64>`) instead of the node key in
    /// the data directory (a restore onto a new machine before its key is put back).
    #[arg(long)]
    public_key: Option<String>,
    /// Move an existing store and audit log aside (to `before-restore-<time>/` in the data
    /// directory) instead of refusing. Stop the node first.
    #[arg(long)]
    replace: bool,
}

pub fn backup(args: &BackupArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let data = &config.node.data_dir;
    ensure!(data.join(STORE).is_file(), "no store in {}", data.display());
    ensure!(!args.out.exists(), "{} already exists: a snapshot goes to a new directory", args.out.display());
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut files = serde_json::Map::new();
    for name in [STORE, AUDIT] {
        let from = data.join(name);
        if !from.is_file() {
            continue;
        }
        let to = args.out.join(name);
        snapshot::vacuum_into(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        files.insert(name.into(), json!(sha256_file(&to)?));
    }
    let check = snapshot::verify_store(&args.out.join(STORE)).context("checking the copy")?;
    ensure!(check.damaged.is_empty(), "the copy has damaged versions: {:?}", check.damaged);
    let manifest = json!({
        "format": FORMAT, "member": config.node.member, "created": tandem_model::Timestamp::now(),
        "versions": check.versions, "files": files, "keys_included": false,
    });
    std::fs::write(args.out.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    println!("snapshot of {} in {}: {} object versions, audit log", data.display(), args.out.display(), check.versions);
    println!("{KEY_NOTE}");
    Ok(ExitCode::SUCCESS)
}

pub fn restore(args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let data = &config.node.data_dir;
    let report = match verify(&args.snapshot, &config, args.public_key.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("refusing to restore {}: {e:#}", args.snapshot.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let existing: Vec<PathBuf> = [STORE, AUDIT]
        .iter()
        .flat_map(|n| ["", "-wal", "-shm"].map(|s| data.join(format!("{n}{s}"))))
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() {
        if !args.replace {
            eprintln!(
                "refusing to restore: {} already holds a store (stop the node and pass --replace)",
                data.display()
            );
            return Ok(ExitCode::FAILURE);
        }
        let aside = data.join(format!("before-restore-{}", tandem_model::Timestamp::now().as_micros()));
        std::fs::create_dir_all(&aside)?;
        for p in existing {
            let name = p.file_name().context("a file name")?;
            std::fs::rename(&p, aside.join(name)).with_context(|| format!("moving {} aside", p.display()))?;
        }
        println!("the previous store and audit log are in {}", aside.display());
    }
    for name in [STORE, AUDIT] {
        let from = args.snapshot.join(name);
        if !from.is_file() {
            continue;
        }
        // Copied beside its place, synced, then renamed: a crash leaves the old state or the new.
        let tmp = data.join(format!("{name}.restoring"));
        std::fs::copy(&from, &tmp).with_context(|| format!("copying {}", from.display()))?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, data.join(name))?;
    }
    println!("{report}");
    println!("restored into {}; {KEY_NOTE}", data.display());
    Ok(ExitCode::SUCCESS)
}

/// Every check a snapshot must pass before it is put in place; a summary when it does.
fn verify(dir: &Path, config: &Config, public_key: Option<&str>) -> anyhow::Result<String> {
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(dir.join(MANIFEST)).with_context(|| format!("reading {}", dir.join(MANIFEST).display()))?,
    )
    .context("the manifest is not JSON")?;
    ensure!(manifest["format"] == FORMAT, "snapshot format {} is not {FORMAT}", manifest["format"]);
    ensure!(
        manifest["member"] == config.node.member.as_str(),
        "the snapshot is of member {}, this node is {}",
        manifest["member"],
        config.node.member
    );
    let files = manifest["files"].as_object().context("the manifest lists no files")?;
    ensure!(files.contains_key(STORE), "the snapshot has no store");
    for (name, want) in files {
        ensure!(name == STORE || name == AUDIT, "unexpected file {name} in the manifest");
        let got = sha256_file(&dir.join(name))?;
        ensure!(want.as_str() == Some(got.as_str()), "{name} does not match the manifest (damaged or edited)");
    }
    for name in files.keys() {
        if let Err(problems) = snapshot::integrity_check(&dir.join(name))? {
            bail!("integrity check of {name}: {problems}");
        }
    }
    let check = snapshot::verify_store(&dir.join(STORE))?;
    if !check.damaged.is_empty() {
        bail!("{} versions do not match their content hash, first {}", check.damaged.len(), check.damaged[0]);
    }
    let audit = if files.contains_key(AUDIT) {
        let key = match public_key {
            Some(k) => keys::parse_public_key(k)?,
            None => keys::load_node_key(&config.node.data_dir)
                .context("reading the node key to verify the audit chain (or pass --public-key)")?
                .verifying_key(),
        };
        let report = tandem_audit::verify(&dir.join(AUDIT), &key)?;
        if !report.is_intact() {
            bail!("the audit chain does not verify:\n{report}");
        }
        "audit chain verified".to_string()
    } else {
        "no audit log in the snapshot".to_string()
    };
    Ok(format!("snapshot verified: integrity ok, {} content hashes ok, {audit}", check.versions))
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(tandem_model::canonical::hex(&Sha256::digest(&bytes)))
}
