//! `tandem import`: load STIX bundles or TAXII envelopes straight into the node's store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tandem_store::{Incoming, PutOutcome, Store};

use crate::config::Config;
use crate::node;

#[derive(Args)]
pub struct ImportArgs {
    #[arg(long, short)]
    pub config: PathBuf,
    /// Files, or directories whose `.json` files are imported in name order.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Objects stored per transaction.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Default)]
pub struct Summary {
    pub accepted: u64,
    pub duplicate: u64,
    pub rejected: u64,
    /// Reason -> (count, first few ids).
    pub reasons: BTreeMap<String, (u64, Vec<String>)>,
}

impl Summary {
    fn reject(&mut self, id: &str, reason: String) {
        self.rejected += 1;
        let entry = self.reasons.entry(reason).or_default();
        entry.0 += 1;
        if entry.1.len() < 3 {
            entry.1.push(if id.is_empty() { "(no id)".into() } else { id.to_string() });
        }
    }

    fn record(&mut self, outcomes: Vec<PutOutcome>) {
        for o in outcomes {
            match o {
                PutOutcome::Added { .. } => self.accepted += 1,
                PutOutcome::Duplicate { .. } => self.duplicate += 1,
                PutOutcome::Rejected { id, reason, .. } => self.reject(&id, reason),
            }
        }
    }

    pub fn print(&self) {
        println!("accepted: {}  duplicate: {}  rejected: {}", self.accepted, self.duplicate, self.rejected);
        for (reason, (count, ids)) in &self.reasons {
            println!("  rejected {count}x: {reason} (e.g. {})", ids.join(", "));
        }
    }
}

pub fn run(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let store = node::open_store(&config)?;
    let files = expand(&args.paths)?;
    let mut summary = Summary::default();
    for file in &files {
        import_file(store.as_ref(), &config, file, args, &mut summary)?;
    }
    summary.print();
    Ok(if summary.rejected == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

fn import_file(
    store: &dyn Store,
    config: &Config,
    file: &Path,
    args: &ImportArgs,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let handle = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if args.quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(size) };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(file.display().to_string());
    let reader = bar.wrap_read(handle);
    let collection = config.intel_collection_id();
    let signer = tandem_sync::signer::NodeSigner::new(&config.node.member, crate::federation::node_key(config)?);
    let mut batch: Vec<Incoming> = Vec::with_capacity(args.batch);
    let flush = |batch: &mut Vec<Incoming>, summary: &mut Summary| -> anyhow::Result<()> {
        if !batch.is_empty() {
            // Imported versions are originated by the node's member: signed like a POST.
            signer.sign_all(batch);
            let outcomes = store.put(&collection, &config.node.member, std::mem::take(batch))?;
            summary.record(outcomes);
        }
        Ok(())
    };
    let result = super::stream::for_each_object(reader, &mut |value| {
        match tandem_model::check_object(&value) {
            Ok(object) => batch.push(Incoming::new(object)),
            Err(violations) => {
                let id = value.get("id").and_then(|v| v.as_str()).unwrap_or_default();
                let reason = violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                summary.reject(id, reason);
            }
        }
        if batch.len() >= args.batch.max(1) {
            flush(&mut batch, summary)?;
        }
        Ok(())
    });
    // Whatever parsed before an error is stored: a truncated file still imports its good part.
    flush(&mut batch, summary)?;
    bar.finish_and_clear();
    result.with_context(|| format!("reading {}", file.display()))?;
    Ok(())
}
