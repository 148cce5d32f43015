//! `tandem marking`: releasability markings.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;
use tandem_model::Timestamp;
use tandem_taxii::ingest::{Entry, Outcome, Stage};

use crate::config::Config;
use crate::node;

#[derive(Subcommand)]
pub enum MarkingCommand {
    /// Create a releasability marking (`REL TO ...`) in the node's intel collection and print
    /// its id.
    Create {
        #[arg(long, short)]
        config: PathBuf,
        /// Member and group codes, comma-separated (e.g. IRQ,SYR,LVNT).
        #[arg(long, value_delimiter = ',', required = true)]
        rel_to: Vec<String>,
        /// UNCLASSIFIED, RESTRICTED, CONFIDENTIAL or SECRET.
        #[arg(long)]
        classification: Option<String>,
    },
}

pub fn run(command: &MarkingCommand) -> anyhow::Result<ExitCode> {
    let MarkingCommand::Create { config, rel_to, classification } = command;
    let config = Config::load(config)?;
    let store = node::open_store(&config)?;
    let roster = node::effective_roster(&config, store.clone())?;
    for code in rel_to {
        if roster.member(code).is_none() && roster.group(code).is_none() {
            bail!("--rel-to: {code:?} is neither a member nor a group of the roster");
        }
    }
    let uuid = uuid::Uuid::new_v4().to_string();
    let codes: Vec<&str> = rel_to.iter().map(String::as_str).collect();
    let value = tandem_model::incident::releasability_marking(
        &uuid,
        &codes,
        classification.as_deref(),
        &Timestamp::now().to_stix_millis(),
    );
    // Signed like any version the node's member originates, so it replicates.
    let ingest = node::signed_ingest(&config, store)?;
    let summary = ingest.submit(&config.intel_collection_id(), &config.node.member, vec![value])?;
    match summary.entries.into_iter().next() {
        Some(Entry { id, outcome: Outcome::Accepted { .. }, .. }) => {
            println!("{id}");
            Ok(ExitCode::SUCCESS)
        }
        Some(Entry { outcome: Outcome::Rejected { reason, stage: Stage::Invalid, .. }, .. }) => {
            bail!("invalid marking: {reason}")
        }
        other => bail!("marking not stored: {other:?}"),
    }
}
