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
}

pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let store = node::open_store(&config)?;
    let ctx = node::operator_context(&config, store.clone())?;
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
