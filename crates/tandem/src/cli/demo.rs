//! `tandem demo`: the demo coalition on the embedded store.
//!
//! Writes a configuration for a node with users of several members (USA, IRQ, SYR, JOR, GBR),
//! loads the demo data set (the real public seed facts modelled as STIX plus a seeded, clearly
//! labelled synthetic history 2014-2025), replays Syria joining the coalition on 13 November
//! 2025 — what SYR could see before, and what it sees once it is on the roster — and serves the
//! node, printing where to look.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tandem_policy::{Classification, MemberStatus, Roster, Viewer};
use tandem_store::{Incoming, ObjectQuery, PutOutcome, Store, ViewContext};

use crate::config::Config;
use crate::node;

const PASSWORD: &str = "demo-password";
/// The demo's users: (name, member, clearance).
const USERS: &[(&str, &str, &str)] = &[
    ("usa-analyst", "USA", "SECRET"),
    ("irq-analyst", "IRQ", "SECRET"),
    ("syr-analyst", "SYR", "SECRET"),
    ("jor-analyst", "JOR", "CONFIDENTIAL"),
    ("gbr-analyst", "GBR", "SECRET"),
];

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo keeps its configuration and data.
    #[arg(long, default_value = "./demo-data")]
    pub dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8480")]
    pub listen: String,
    /// Seed of the synthetic history.
    #[arg(long, default_value_t = 2014)]
    pub seed: u64,
    /// Synthetic incidents to generate.
    #[arg(long, default_value_t = tandem_demo::DEFAULT_COUNT)]
    pub synthetic: usize,
    /// Load the data and print the replay, then exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let config_path = args.dir.join("usa.toml");
    std::fs::write(&config_path, config_text(&args.listen))
        .with_context(|| format!("writing {}", config_path.display()))?;
    let config = Config::load(&config_path)?;
    let store = node::open_store(&config)?;

    let started = std::time::Instant::now();
    let summary = load(store.as_ref(), &config, args.seed, args.synthetic)?;
    println!(
        "demo data: {} objects stored, {} already present, {} rejected ({:.1} s)",
        summary.0,
        summary.1,
        summary.2,
        started.elapsed().as_secs_f64()
    );

    replay_syria_joining(store.as_ref(), &config)?;
    print_where_to_look(&config, &config_path);
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(super::serve::serve(config))?;
    Ok(ExitCode::SUCCESS)
}

fn config_text(listen: &str) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "# Written by `tandem demo`: a node of USA with users of several members.\n");
    let _ = writeln!(
        t,
        "[node]\nmember = \"USA\"\nlisten = \"{listen}\"\ndata_dir = \"./usa\"\ntitle = \"Tandem demo (USA node)\"\n"
    );
    for m in tandem_demo::coalition_members() {
        let _ = writeln!(t, "[[members]]\ncode = \"{}\"\nname = \"{}\"\njoined = \"{}\"\n", m.code, m.name, m.joined);
    }
    for g in tandem_demo::coalition_groups() {
        let members: Vec<String> = g.members.iter().map(|m| format!("\"{m}\"")).collect();
        let _ = writeln!(
            t,
            "[[groups]]\ncode = \"{}\"\nname = \"{}\"\nmembers = [{}]\n",
            g.code,
            g.name,
            members.join(", ")
        );
    }
    for (name, member, clearance) in USERS {
        let _ = writeln!(
            t,
            "[[users]]\nname = \"{name}\"\nmember = \"{member}\"\npassword = \"{PASSWORD}\"\nclearance = \"{clearance}\"\n"
        );
    }
    let _ = writeln!(
        t,
        "[[users]]\nname = \"usa-auditor\"\nmember = \"USA\"\npassword = \"{PASSWORD}\"\nclearance = \"SECRET\"\nroles = [\"auditor\"]\nread_only = true"
    );
    t
}

/// Stores the data set under each object's originator, in large per-originator transactions
/// (markings are resolved at read time, so order across originators does not matter). Returns
/// (stored, duplicate, rejected).
fn load(store: &dyn Store, config: &Config, seed: u64, synthetic: usize) -> anyhow::Result<(u64, u64, u64)> {
    let data = tandem_demo::demo_dataset(seed, synthetic);
    let bar = indicatif::ProgressBar::new(data.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("loading demo data [{bar:40}] {pos}/{len} objects ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let collection = config.intel_collection_id();
    let (mut stored, mut duplicate, mut rejected) = (0u64, 0u64, 0u64);
    let mut by_originator: BTreeMap<String, Vec<Incoming>> = BTreeMap::new();
    for item in data {
        match tandem_model::check_object(&item.object) {
            Ok(object) => by_originator.entry(item.originator).or_default().push(Incoming { object, provenance: None }),
            Err(v) => {
                rejected += 1;
                bar.inc(1);
                tracing::warn!(id = ?item.object.get("id"), problems = ?v, "demo object invalid");
            }
        }
    }
    for (originator, objects) in by_originator {
        let mut objects = objects.into_iter().peekable();
        while objects.peek().is_some() {
            let batch: Vec<Incoming> = objects.by_ref().take(5000).collect();
            let n = batch.len() as u64;
            for outcome in store.put(&collection, &originator, batch)? {
                match outcome {
                    PutOutcome::Added { .. } => stored += 1,
                    PutOutcome::Duplicate { .. } => duplicate += 1,
                    PutOutcome::Rejected { id, reason, .. } => {
                        rejected += 1;
                        tracing::warn!(%id, %reason, "demo object rejected");
                    }
                }
            }
            bar.inc(n);
        }
    }
    bar.finish_and_clear();
    Ok((stored, duplicate, rejected))
}

/// Counts what a member sees, by STIX type.
fn visible(store: &dyn Store, config: &Config, roster: &Roster, member: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    let ctx = ViewContext {
        viewer: Viewer { member: member.into(), clearance: Classification::Secret },
        roster: Arc::new(roster.clone()),
    };
    let mut query = ObjectQuery { limit: 1000, ..Default::default() };
    let mut counts = BTreeMap::new();
    loop {
        let page = store.list(&ctx, &config.intel_collection_id(), &query)?;
        for r in page.items {
            *counts.entry(r.object_type).or_insert(0) += 1;
        }
        match page.next {
            Some(c) => query.cursor = Some(c),
            None => return Ok(counts),
        }
    }
}

fn describe(counts: &BTreeMap<String, u64>) -> String {
    let total: u64 = counts.values().sum();
    let incidents = counts.get("incident").copied().unwrap_or(0);
    let cells = counts.get("intrusion-set").copied().unwrap_or(0);
    format!("{total} objects ({incidents} incidents, {cells} cells)")
}

fn replay_syria_joining(store: &dyn Store, config: &Config) -> anyhow::Result<()> {
    let joined = config.roster();
    let mut before = joined.clone();
    before.set_status("SYR", MemberStatus::Removed);
    println!("\nreplay: Syria joins the coalition on 13 November 2025");
    println!("  before: SYR is not on the roster and sees {}", describe(&visible(store, config, &before, "SYR")?));
    println!("  after:  SYR joins (group LVNT) and sees  {}", describe(&visible(store, config, &joined, "SYR")?));
    println!("          everything released to all members or to the Levant partners since 2014, nothing else");
    for member in ["USA", "IRQ", "JOR"] {
        println!("  {member} sees {}", describe(&visible(store, config, &joined, member)?));
    }
    Ok(())
}

fn print_where_to_look(config: &Config, config_path: &Path) {
    let base = format!("http://{}", config.node.listen);
    println!("\nwhere to look:");
    println!("  TAXII discovery   {base}/taxii2/");
    println!("  intel collection  {base}/api/collections/{}/objects/  (alias: intel)", config.intel_collection_id());
    println!("  places            {base}/api/tandem/places/?q=Deir%20ez-Zor");
    println!("  config            {}", config_path.display());
    println!(
        "  users (password {PASSWORD:?}): {}",
        USERS.iter().map(|u| format!("{} ({})", u.0, u.1)).collect::<Vec<_>>().join(", ")
    );
    println!(
        "  try: curl -u syr-analyst:{PASSWORD} -H 'Accept: application/taxii+json;version=2.1' '{base}/api/collections/intel/objects/?match[type]=incident&limit=5'"
    );
    println!("  Python: taxii2client.v21.Server('{base}/taxii2/', user='syr-analyst', password='{PASSWORD}')");
}
