//! `tandem demo`: the demo coalition on the embedded store, one node per member, replicating live.
//!
//! Every member that originates part of the demo data set (USA, IRQ, SYR, GBR, FRA, JOR, TUR, AUS)
//! gets its own node in this process, on consecutive loopback ports, with its own SQLite store,
//! key, users and peers: USA peers with everyone, and IRQ also with SYR, so intelligence crosses
//! one or two hops. Each node loads, signed, the part of the data set its member originates (the
//! real public seed facts modelled as STIX plus a seeded, clearly labelled synthetic history
//! 2014-2025) and replication spreads it as releasability allows.
//!
//! The demo then replays Syria joining the coalition on 13 November 2025: every node's config
//! lists SYR as removed, so Syria's node receives nothing; the demo's roster authority signs
//! SYR's `join`, it is submitted on USA's node and replicates to every node like any roster
//! change, and Syria's node backfills everything released to it since 2014. It prints where to
//! look.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::node;
use anyhow::Context;
use clap::Args;
use tandem_node::Node as Launched;
use tandem_store::ObjectQuery;
use tandem_sync::roster_change::{self, Action};
use tandem_taxii::ingest::{Outcome, Stage};

const PASSWORD: &str = "demo-password";
/// The demo's log, in its directory: the nodes' tracing output, kept off the terminal.
const LOG_FILE: &str = "demo.log";

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo keeps its configurations and data (one sub-directory per node).
    #[arg(long, default_value = "./demo-data")]
    pub dir: PathBuf,
    /// The first node's address (USA); the other nodes take the next ports.
    #[arg(long, default_value = "127.0.0.1:8480")]
    pub listen: SocketAddr,
    /// Seed of the synthetic history.
    #[arg(long, default_value_t = 2014)]
    pub seed: u64,
    /// Synthetic incidents to generate.
    #[arg(long, default_value_t = tandem_demo::DEFAULT_COUNT)]
    pub synthetic: usize,
    /// Run the replay, print the summary, then stop instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

fn log_path(args: &DemoArgs) -> PathBuf {
    args.dir.join(LOG_FILE)
}

/// Creates the demo directory and opens (appending) the log file every demo node writes to.
pub fn open_log(args: &DemoArgs) -> anyhow::Result<std::sync::Mutex<std::fs::File>> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let path = log_path(args);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    Ok(std::sync::Mutex::new(file))
}

/// One demo node: its member, address and peers.
struct Plan {
    member: String,
    listen: SocketAddr,
    peers: Vec<String>,
}

fn plan(originators: &BTreeSet<String>, first: SocketAddr) -> Vec<Plan> {
    let mut members: Vec<String> = ["USA", "IRQ", "SYR"].iter().map(|s| s.to_string()).collect();
    members.extend(originators.iter().filter(|m| !members.contains(m)).cloned().collect::<Vec<_>>());
    members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let peers = match m.as_str() {
                "USA" => members.iter().filter(|p| *p != "USA").cloned().collect(),
                "IRQ" => vec!["USA".into(), "SYR".into()],
                "SYR" => vec!["USA".into(), "IRQ".into()],
                _ => vec!["USA".into()],
            };
            Plan { member: m.clone(), listen: SocketAddr::new(first.ip(), first.port() + i as u16), peers }
        })
        .collect()
}

pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let data = tandem_demo::demo_dataset(args.seed, args.synthetic);
    let originators: BTreeSet<String> = data.iter().map(|o| o.originator.clone()).collect();
    let plans = plan(&originators, args.listen);

    // Keys first: every node's roster carries every node's public key.
    let mut keys = BTreeMap::new();
    for p in &plans {
        let dir = args.dir.join(p.member.to_lowercase());
        let key = tandem_audit::keys::load_or_create_node_key(&dir)?;
        keys.insert(p.member.clone(), tandem_audit::keys::public_key_string(&key.verifying_key()));
    }
    // The coalition's roster authority signs Syria's join; the key stays in the demo directory.
    let authority_path = args.dir.join("authority.key");
    let authority = if authority_path.exists() {
        tandem_audit::keys::load_key_file(&authority_path)?
    } else {
        tandem_audit::keys::create_key_file(&authority_path)?
    };
    let authority_public = tandem_audit::keys::public_key_string(&authority.verifying_key());
    let mut configs = Vec::new();
    for p in &plans {
        let path = args.dir.join(format!("{}.toml", p.member.to_lowercase()));
        std::fs::write(&path, config_text(p, &plans, &keys, &authority_public))
            .with_context(|| format!("writing {}", path.display()))?;
        let config = Config::load(&path)?;
        // Every demo node serves TLS, its certificate made as `tandem cert` makes it (once).
        if config.node.tls_cert.as_ref().is_some_and(|c| !c.exists()) {
            tandem_node::cert::write(&config, &tandem_node::cert::default_hosts(&config))?;
        }
        configs.push(config);
    }

    let mut by_originator: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for item in data {
        by_originator.entry(item.originator).or_default().push(item.object);
    }
    print_ui_addresses(&plans);
    println!("logs of every demo node: {}", log_path(args).display());
    let started = Instant::now();
    for config in &configs {
        let objects = by_originator.remove(&config.node.member).unwrap_or_default();
        let (stored, duplicate, rejected) = load(config, objects)?;
        println!("{}: {stored} objects stored, {duplicate} already present, {rejected} rejected", config.node.member);
    }
    println!("demo data loaded in {:.1} s", started.elapsed().as_secs_f64());

    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(run_nodes(args, configs, authority))
}

async fn run_nodes(
    args: &DemoArgs,
    configs: Vec<Config>,
    authority: ed25519_dalek::SigningKey,
) -> anyhow::Result<ExitCode> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut nodes: Vec<Launched> = Vec::new();
    for config in configs {
        let mut rx = stopped.clone();
        let node = super::serve::launch(config, async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await?;
        nodes.push(node);
    }
    let usa = nodes.iter().find(|n| n.config.node.member == "USA").context("no USA node")?;
    // Replay: Syria is not yet a member when the nodes start. A demo directory kept from an
    // earlier run already holds Syria's join: the authority signs a `leave` first.
    if usa.federation.roster_log().roster().is_active("SYR") {
        submit(usa, &authority, Action::Leave { member: "SYR".into() }).await?;
    }
    settle(&nodes).await;
    let syr = nodes.iter().find(|n| n.config.node.member == "SYR").context("no SYR node")?;
    println!("\nreplay: Syria joins the coalition on 13 November 2025");
    println!("  before: SYR is off every roster; its node holds {}", describe(&holdings(syr).await?));

    let joined = Instant::now();
    let syr_member = syr.config.members.iter().find(|m| m.code == "SYR").context("SYR not in the demo config")?;
    let groups =
        syr.config.groups.iter().filter(|g| g.members.iter().any(|m| m == "SYR")).map(|g| g.code.clone()).collect();
    let seq = submit(
        usa,
        &authority,
        Action::Join {
            member: "SYR".into(),
            name: syr_member.name.clone(),
            public_key: syr_member.public_key.clone().context("SYR has no key in the demo config")?,
            joined: syr_member.joined.clone(),
            groups,
        },
    )
    .await?;
    println!(
        "  the roster authority signs change {seq}: SYR joins; submitted on USA's node, it replicates to every node"
    );
    settle(&nodes).await;
    let everywhere = nodes.iter().all(|n| n.federation.roster_log().roster().is_active("SYR"));
    println!(
        "  after:  SYR joins (and the Levant partners group){}; in {:.1} s its node backfilled to {}",
        if everywhere { " on every node" } else { " (not yet on every node!)" },
        joined.elapsed().as_secs_f64(),
        describe(&holdings(syr).await?)
    );
    println!("          everything released to all members or to SYR or the Levant partners since 2014, nothing else");
    for n in nodes.iter().filter(|n| n.config.node.member != "SYR") {
        println!("  {} node holds {}", n.config.node.member, describe(&holdings(n).await?));
    }
    print_where_to_look(&nodes, &log_path(args));

    if !args.no_serve {
        super::serve::shutdown_signal().await;
    }
    let _ = stop.send(true);
    for n in nodes {
        if let Err(e) = n.server.await.map_err(anyhow::Error::from).and_then(|r| r) {
            tracing::error!(error = %e, "a demo node stopped with an error");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Signs `action` as the next roster change and applies it on `node`, which replicates it.
async fn submit(node: &Launched, authority: &ed25519_dalek::SigningKey, action: Action) -> anyhow::Result<u64> {
    let log = node.federation.roster_log();
    let authority = authority.clone();
    tokio::task::spawn_blocking(move || {
        let seq = log.latest()? + 1;
        let issued = tandem_model::Timestamp::now().to_taxii();
        let change = roster_change::sign(roster_change::new_change(&authority, seq, &issued, action), &authority);
        Ok(log.submit(&change)?)
    })
    .await?
}

/// Waits until replication is quiet: no peer of any node has versions in flight and no node
/// stored anything from a peer for two seconds (or two minutes passed). Progress is read from
/// the pullers' own counters, so waiting costs nothing per object.
async fn settle(nodes: &[Launched]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = None;
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let statuses: Vec<_> = nodes.iter().flat_map(|n| n.federation.statuses()).collect();
        let received: u64 = statuses.iter().map(|s| s.received + s.deletions).sum();
        let in_flight = statuses.iter().any(|s| s.lag_objects > 0);
        if in_flight || last != Some(received) {
            last = Some(received);
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= Duration::from_secs(2) {
            return;
        }
    }
}

/// What a node holds, by STIX type, as its own member sees it.
async fn holdings(node: &Launched) -> anyhow::Result<BTreeMap<String, u64>> {
    let store = Arc::clone(&node.store);
    let config = node.config.clone();
    let roster = match node.roster.read() {
        Ok(g) => Arc::clone(&g),
        Err(p) => Arc::clone(&p.into_inner()),
    };
    tokio::task::spawn_blocking(move || {
        let mut ctx = node::operator_context(&config, Arc::clone(&store))?;
        ctx.roster = roster;
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
    })
    .await?
}

fn describe(counts: &BTreeMap<String, u64>) -> String {
    let total: u64 = counts.values().sum();
    let incidents = counts.get("incident").copied().unwrap_or(0);
    let cells = counts.get("intrusion-set").copied().unwrap_or(0);
    format!("{total} objects ({incidents} incidents, {cells} cells)")
}

fn config_text(p: &Plan, plans: &[Plan], keys: &BTreeMap<String, String>, authority: &str) -> String {
    let base = |m: &str| plans.iter().find(|q| q.member == m).map(|q| q.listen);
    let mut t = String::new();
    let _ = writeln!(t, "# Written by `tandem demo`: the {} node of the demo coalition.\n", p.member);
    let _ = writeln!(
        t,
        "[node]\nmember = \"{m}\"\nlisten = \"{l}\"\ndata_dir = \"./{d}\"\ntitle = \"Tandem demo ({m} node)\"\ntls_cert = \"./{d}/tls.crt\"\ntls_key = \"./{d}/tls.key\"\n",
        m = p.member,
        l = p.listen,
        d = p.member.to_lowercase()
    );
    if p.listen.ip().is_unspecified() {
        // Listening on every interface: discovery still needs a URL clients can use.
        let _ = writeln!(t, "public_url = \"https://127.0.0.1:{}/\"\n", p.listen.port());
    }
    let _ = writeln!(t, "[coalition]\nauthority = \"{authority}\"\n");
    for m in tandem_demo::coalition_members() {
        let _ = writeln!(t, "[[members]]\ncode = \"{}\"\nname = \"{}\"\njoined = \"{}\"", m.code, m.name, m.joined);
        if m.code == "SYR" {
            // Not a member yet: Syria joins through a signed roster change during the replay.
            let _ = writeln!(t, "status = \"removed\"");
        }
        if let Some(k) = keys.get(m.code) {
            let _ = writeln!(t, "public_key = \"{k}\"");
        }
        t.push('\n');
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
    let me = p.member.to_lowercase();
    let _ = writeln!(
        t,
        "[[users]]\nname = \"{me}-analyst\"\nmember = \"{}\"\npassword = \"{PASSWORD}\"\nclearance = \"SECRET\"\n",
        p.member
    );
    let _ = writeln!(
        t,
        "[[users]]\nname = \"{me}-auditor\"\nmember = \"{}\"\npassword = \"{PASSWORD}\"\nclearance = \"SECRET\"\nroles = [\"auditor\"]\nread_only = true\n",
        p.member
    );
    // Each peer's account on this node, and this node's account on each peer.
    for peer in &p.peers {
        let _ = writeln!(
            t,
            "[[users]]\nname = \"{}-sync\"\nmember = \"{peer}\"\npassword = \"{PASSWORD}\"\nclearance = \"SECRET\"\nroles = [\"peer\"]\n",
            peer.to_lowercase()
        );
    }
    for peer in &p.peers {
        if let Some(addr) = base(peer) {
            let _ = writeln!(
                t,
                "[[peers]]\nmember = \"{peer}\"\nurl = \"https://{addr}/taxii2/\"\nusername = \"{me}-sync\"\npassword = \"{PASSWORD}\"\n"
            );
        }
    }
    t
}

/// Stores, signed, the objects a node's member originates. Returns (stored, duplicate, rejected).
fn load(config: &Config, objects: Vec<serde_json::Value>) -> anyhow::Result<(u64, u64, u64)> {
    let store = node::open_store(config)?;
    node::seed_published(config, store.clone())?;
    let ingest = node::signed_ingest(config, store)?;
    let collection = config.intel_collection_id();
    let (mut stored, mut duplicate, mut rejected) = (0u64, 0u64, 0u64);
    let mut objects = objects.into_iter().peekable();
    while objects.peek().is_some() {
        let batch: Vec<serde_json::Value> = objects.by_ref().take(5000).collect();
        let summary = ingest.submit(&collection, &config.node.member, batch)?;
        for e in summary.entries {
            match e.outcome {
                Outcome::Accepted { .. } => stored += 1,
                Outcome::Duplicate { .. } => duplicate += 1,
                Outcome::Rejected { reason, stage, .. } => {
                    rejected += 1;
                    match stage {
                        Stage::Invalid => tracing::warn!(id = %e.id, problems = %reason, "demo object invalid"),
                        Stage::Store => tracing::warn!(id = %e.id, %reason, "demo object rejected"),
                    }
                }
            }
        }
    }
    Ok((stored, duplicate, rejected))
}

/// The first thing a newcomer opens: each node's web UI, Syria's first (its analyst's map of the
/// demo history after the join), beside another member's view of the same history.
fn print_ui_addresses(plans: &[Plan]) {
    println!("web UI (log in as <member>-analyst, password {PASSWORD:?}; the nodes start below):");
    let mut order: Vec<&Plan> = plans.iter().collect();
    order.sort_by_key(|p| (p.member != "SYR", p.member.clone()));
    for p in order {
        let m = p.member.to_lowercase();
        let note = if p.member == "SYR" { "  <- Syria's analyst after the join" } else { "" };
        println!("  {:<4} https://{}/ui/   user {m}-analyst{note}", p.member, p.listen);
    }
}

/// What to try next. Every command is printed so that it works pasted verbatim into a shell:
/// `-g` stops curl from reading the brackets of `match[...]` as a URL range.
fn print_where_to_look(nodes: &[Launched], log: &std::path::Path) {
    println!("\nwhere to look (password {PASSWORD:?} for every user):");
    for n in nodes {
        let m = n.config.node.member.to_lowercase();
        println!(
            "  {:<4} node  https://{}/taxii2/   web UI /ui/   users {m}-analyst, {m}-auditor",
            n.config.node.member, n.config.node.listen
        );
    }
    if let Some(syr) = nodes.iter().find(|n| n.config.node.member == "SYR") {
        let base = format!("https://{}", syr.config.node.listen);
        // Each node's web certificate (what curl and browsers are served) is self-signed: curl
        // trusts it by file.
        let ca = match syr.config.node.tls_cert {
            Some(_) => format!("--cacert '{}' ", syr.config.web_tls_paths().0.display()),
            None => String::new(),
        };
        println!(
            "  try: curl {ca}-g -u syr-analyst:{PASSWORD} -H 'Accept: application/taxii+json;version=2.1' '{base}/api/collections/intel/objects/?match[type]=incident&limit=5'"
        );
        println!("  places: curl {ca}-u syr-analyst:{PASSWORD} '{base}/api/tandem/places/?q=Deir%20ez-Zor'");
        println!("  peers:  curl {ca}-u syr-analyst:{PASSWORD} '{base}/api/tandem/peers/'");
    }
    println!("  configs and data: one <member>.toml and <member>/ directory per node in the demo directory");
    println!("  logs: {}", log.display());
}
