//! `tandem import --format csv|misp`, `--dry-run` and `--deletions`: files converted by
//! `tandem_interop` and stored through `tandem_node::interop::Sink` (the one ingest pipeline),
//! with a progress bar and a conversion report.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use tandem_interop::{Report, acled};
use tandem_node::interop::{self, Sink};

use super::import::{Format, ImportArgs};
use crate::config::Config;
use crate::node;

pub fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let store = node::open_store(&config)?;
    let ingest = node::signed_ingest(&config, store.clone())?;
    let collection = config.intel_collection_id();
    let mut sink = Sink::new(ingest, &collection, &config.node.member, args.dry_run, args.batch);
    let opts = acled::import::Options { markings: args.markings.clone() };
    let files = match args.format {
        Format::Misp => misp_files(&args.paths, &mut sink.report)?,
        _ => super::import::expand(&args.paths)?,
    };
    for file in files {
        let reader = progress(&file, args.quiet)?;
        match args.format {
            Format::Csv => interop::import_csv(reader, &opts, &mut sink)?,
            Format::Misp => {
                interop::import_misp(reader, &misp_options(&config, args.misp_mapping.as_deref())?, &mut sink)
                    .with_context(|| format!("reading {}", file.display()))?
            }
            Format::Stix => {
                interop::import_stix(reader, &mut sink).with_context(|| format!("reading {}", file.display()))?
            }
        }
    }
    if let Some(deletions) = &args.deletions {
        let ctx = node::operator_context(&config, store.clone())?;
        interop::import_deletions(progress(deletions, args.quiet)?, &store, &ctx, &mut sink)?;
    }
    sink.flush()?;
    let report = sink.report;
    if args.dry_run {
        for p in &report.planned {
            println!("would store {} ({}) from {} {}", p.id, p.object_type, p.at, p.key);
        }
    }
    print_report(&report);
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if report.rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// The MISP files to read: files as given; a directory's `.json` files in name order, except
/// that a MISP feed directory (one with a `manifest.json`) is read through its manifest: the
/// `<uuid>.json` of every event it lists, in uuid order. An event the manifest lists without its
/// file, and a `.json` file the manifest does not list, are reported as rejected; the manifest
/// itself is the index, never an event.
fn misp_files(paths: &[std::path::PathBuf], report: &mut Report) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let manifest = path.join(MISP_MANIFEST);
        if !(path.is_dir() && manifest.is_file()) {
            files.extend(super::import::expand(std::slice::from_ref(path))?);
            continue;
        }
        let text = std::fs::File::open(&manifest).with_context(|| format!("opening {}", manifest.display()))?;
        // Only the keys are needed: each is an event uuid (the values are summaries).
        let listed: std::collections::BTreeMap<String, serde::de::IgnoredAny> =
            serde_json::from_reader(std::io::BufReader::new(text)).with_context(|| {
                format!("{}: not a MISP feed manifest (an object of event uuids)", manifest.display())
            })?;
        let mut unlisted: std::collections::BTreeSet<std::path::PathBuf> =
            super::import::expand(std::slice::from_ref(path))?
                .into_iter()
                .filter(|f| f.file_name().is_some_and(|n| n != MISP_MANIFEST))
                .collect();
        for (index, uuid) in listed.keys().enumerate() {
            let event = path.join(format!("{uuid}.json"));
            // A key that is not a plain file name would read outside the feed directory.
            let plain = !uuid.is_empty() && uuid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !plain {
                report.reject(index as u64, uuid, format!("{MISP_MANIFEST}: not an event uuid"));
            } else if unlisted.remove(&event) {
                files.push(event);
            } else {
                report.reject(
                    index as u64,
                    uuid,
                    format!("listed in {MISP_MANIFEST} but {} is missing", event.display()),
                );
            }
        }
        for stray in unlisted {
            report.reject(0, &stray.display().to_string(), format!("not an event of {MISP_MANIFEST}: not imported"));
        }
    }
    Ok(files)
}

/// The index file of a MISP feed directory.
const MISP_MANIFEST: &str = "manifest.json";

/// Every rejected record is listed (the point of a dry run); the counts come first.
pub fn print_report(report: &Report) {
    for line in report.lines(usize::MAX) {
        println!("{line}");
    }
}

fn progress(file: &Path, quiet: bool) -> anyhow::Result<impl Read> {
    let handle = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(size) };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(file.display().to_string());
    Ok(bar.wrap_read(handle))
}

/// The MISP distribution mapping (`--misp-mapping FILE`, TOML: `community`, `connected`, `all`
/// as code lists, `[sharing_groups]` of key = codes); without one only distribution 0 maps.
pub fn misp_options(config: &Config, mapping: Option<&Path>) -> anyhow::Result<tandem_interop::misp::import::Options> {
    let mapping = match mapping {
        None => Default::default(),
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("{}: not a MISP mapping", p.display()))?
        }
    };
    Ok(tandem_interop::misp::import::Options { member: config.node.member.clone(), mapping })
}
