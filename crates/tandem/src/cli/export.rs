//! `tandem export`: a STIX 2.1 bundle of what the node's member may see.
//!
//! Export reads through the store's policy-enforcing listing like every other path; it is
//! written as a stream, so the bundle may be larger than memory.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tandem_model::Timestamp;
use tandem_store::{ObjectQuery, VersionFilter};

use super::import::Format;
use crate::config::Config;
use crate::node;

#[derive(Args)]
pub struct ExportArgs {
    #[arg(long, short)]
    pub config: PathBuf,
    /// Only these STIX types (repeatable).
    #[arg(long = "type")]
    pub types: Vec<String>,
    /// Only versions added to this node after this instant (RFC 3339, e.g. 2025-11-13T00:00:00Z).
    #[arg(long)]
    pub added_after: Option<String>,
    /// Only objects whose version (`modified`, else `created`) is at or after this instant.
    #[arg(long)]
    pub since: Option<String>,
    /// Only objects whose version is at or before this instant.
    #[arg(long)]
    pub until: Option<String>,
    /// Export every stored version instead of the latest of each object.
    #[arg(long)]
    pub all_versions: bool,
    /// Write the bundle here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// STIX bundle, ACLED-style CSV of the incidents, or MISP events of the incidents.
    #[arg(long, value_enum, default_value_t = Format::Stix)]
    pub format: Format,
    /// MISP distribution mapping (TOML, as for `tandem import`): releasability maps back to the
    /// level whose codes equal it, else to 0.
    #[arg(long)]
    pub misp_mapping: Option<PathBuf>,
    /// Write the conversion report (CSV, MISP) as JSON here.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let store = node::open_store(&config)?;
    let ctx = node::operator_context(&config, store.clone())?;
    if args.format != Format::Stix {
        return converted(args, &config, &store, &ctx);
    }
    let parse = |s: &Option<String>, what: &str| -> anyhow::Result<Option<Timestamp>> {
        s.as_deref().map(|v| Timestamp::parse(v).with_context(|| format!("--{what}"))).transpose()
    };
    let (since, until) = (parse(&args.since, "since")?, parse(&args.until, "until")?);
    let mut query = ObjectQuery {
        added_after: parse(&args.added_after, "added-after")?,
        types: args.types.clone(),
        versions: if args.all_versions { VersionFilter::All } else { VersionFilter::Last },
        limit: 1000,
        ..Default::default()
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    write!(out, "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[", uuid::Uuid::new_v4())?;
    let mut count = 0u64;
    loop {
        let page = store.list(&ctx, &config.intel_collection_id(), &query)?;
        for record in page.items {
            let in_window = since.is_none_or(|s| record.version >= s) && until.is_none_or(|u| record.version <= u);
            if !in_window {
                continue;
            }
            if count > 0 {
                out.write_all(b",")?;
            }
            out.write_all(b"\n")?;
            serde_json::to_writer(&mut out, &record.object)?;
            count += 1;
        }
        match page.next {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    out.write_all(b"\n]}\n")?;
    out.flush()?;
    eprintln!("exported {count} objects");
    Ok(ExitCode::SUCCESS)
}

/// `--format csv|misp`: the incidents the operator may see, converted, with a report of what the
/// format cannot carry (on standard error, and as JSON with `--report`).
fn converted(
    args: &ExportArgs,
    config: &Config,
    store: &std::sync::Arc<dyn tandem_store::Store>,
    ctx: &tandem_store::ViewContext,
) -> anyhow::Result<ExitCode> {
    if !args.types.is_empty()
        || args.added_after.is_some()
        || args.since.is_some()
        || args.until.is_some()
        || args.all_versions
    {
        anyhow::bail!("--type, --added-after, --since, --until and --all-versions apply to --format stix only");
    }
    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let collection = config.intel_collection_id();
    let report = match args.format {
        Format::Csv => tandem_node::interop::export_csv(store, ctx, &collection, out)?,
        Format::Misp => {
            let opts = super::convert::misp_options(config, args.misp_mapping.as_deref())?;
            tandem_node::interop::export_misp(store, ctx, &collection, &opts, out)?
        }
        Format::Stix => unreachable!("handled by run"),
    };
    for line in report.lines(usize::MAX) {
        eprintln!("{line}");
    }
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
