//! `tandem import`: load STIX bundles or TAXII envelopes straight into the node's store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::Value;
use tandem_taxii::Ingest;
use tandem_taxii::ingest::{self, Outcome};

use crate::config::Config;
use crate::node;

#[derive(Args)]
pub struct ImportArgs {
    #[arg(long, short)]
    pub config: PathBuf,
    /// Files, or directories whose `.json` files are imported in name order.
    #[arg(required_unless_present = "deletions")]
    pub paths: Vec<PathBuf>,
    /// Objects stored per transaction.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// What the files hold: STIX bundles or envelopes, ACLED-style CSV, or MISP event JSON.
    #[arg(long, value_enum, default_value_t = Format::Stix)]
    pub format: Format,
    /// Convert and validate only: list what would be stored and every rejected record, store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Marking-definition ids set on every converted object (CSV: rows carry no releasability;
    /// without any, imported objects are originator-only).
    #[arg(long = "marking")]
    pub markings: Vec<String>,
    /// An ACLED-style deletions file (`event_id_cnty`, `deleted_timestamp`): revokes those incidents.
    #[arg(long)]
    pub deletions: Option<PathBuf>,
    /// MISP distribution levels and sharing groups to releasability (TOML); without it only
    /// distribution 0 maps and every other level is refused.
    #[arg(long)]
    pub misp_mapping: Option<PathBuf>,
    /// Write the conversion report as JSON here.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// The formats `tandem import` and `tandem export` read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Stix,
    Csv,
    Misp,
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

    fn record(&mut self, batch: ingest::Summary) {
        for e in batch.entries {
            match e.outcome {
                Outcome::Accepted { .. } => self.accepted += 1,
                Outcome::Duplicate { .. } => self.duplicate += 1,
                Outcome::Rejected { reason, .. } => self.reject(&e.id, reason),
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
    if args.format != Format::Stix || args.dry_run || args.deletions.is_some() {
        return super::convert::import(args);
    }
    let config = Config::load(&args.config)?;
    let store = node::open_store(&config)?;
    // Imported versions are originated by the node's member: signed like a POST.
    let ingest = node::signed_ingest(&config, store)?;
    let files = expand(&args.paths)?;
    let mut summary = Summary::default();
    for file in &files {
        import_file(&ingest, &config, file, args, &mut summary)?;
    }
    summary.print();
    Ok(if summary.rejected == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

pub(crate) fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
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
    ingest: &Ingest,
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
    let mut batch: Vec<Value> = Vec::with_capacity(args.batch);
    let flush = |batch: &mut Vec<Value>, summary: &mut Summary| -> anyhow::Result<()> {
        if !batch.is_empty() {
            summary.record(ingest.submit(&collection, &config.node.member, std::mem::take(batch))?);
        }
        Ok(())
    };
    let result = tandem_interop::stream::for_each_stix_object(reader, |_, value| -> anyhow::Result<()> {
        batch.push(value);
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
