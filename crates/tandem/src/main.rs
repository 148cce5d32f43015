//! `tandem`: one binary for the node and its operations.

mod cli;

// The node's configuration and wiring live in `tandem-node`; the commands reach them by the
// paths they always used.
use tandem_node::{config, federation, wiring as node};

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tandem", version, about = "Tandem: a federated STIX 2.1 / TAXII 2.1 intelligence-sharing node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the demo coalition on the embedded store: load the demo data set, replay Syria
    /// joining on 13 November 2025, serve, and print where to look.
    Demo(cli::demo::DemoArgs),
    /// Run a node: serve TAXII 2.1 from the configured data directory.
    Serve {
        /// The node's TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Import STIX bundles or TAXII envelopes (files, or every .json file in a directory), or
    /// ACLED-style CSV or MISP events (`--format`), into the node's intel collection, as objects
    /// originated by the node's member.
    Import(cli::import::ImportArgs),
    /// Export a STIX 2.1 bundle of what the node's member may see, optionally filtered, or its
    /// incidents as ACLED-style CSV or MISP events (`--format`).
    Export(cli::export::ExportArgs),
    /// Subscribe the node to external TAXII 2.1 collections, polled by the running node.
    Feed(cli::feed::FeedArgs),
    /// Validate STIX 2.1 content (a bundle, an envelope, an object or a list of objects) with
    /// the same checks the server applies, and print a report.
    Validate(cli::validate::ValidateArgs),
    /// Draft incidents from a news text or statement (offline, rule-based), or `--score DIR`
    /// to compare the extractor with gold files.
    Extract(cli::extract::ExtractArgs),
    /// Manage user accounts stored in the node's database.
    User {
        #[command(subcommand)]
        command: cli::accounts::UserCommand,
    },
    /// Manage API tokens (bearer authentication).
    Token {
        #[command(subcommand)]
        command: cli::accounts::TokenCommand,
    },
    /// Manage releasability markings.
    Marking {
        #[command(subcommand)]
        command: cli::marking::MarkingCommand,
    },
    /// Look up places in the bundled gazetteer of Syria and Iraq.
    Place {
        #[command(subcommand)]
        command: cli::place::PlaceCommand,
    },
    /// Verify or show the node's audit log.
    Audit {
        #[command(subcommand)]
        command: cli::audit::AuditCommand,
    },
    /// Manage the peers this node replicates with, and see their status.
    Peer {
        #[command(subcommand)]
        command: cli::peer::PeerCommand,
    },
    /// The coalition's roster authority: create its key, sign roster changes, apply them to a
    /// node, show the effective roster.
    Roster {
        #[command(subcommand)]
        command: cli::roster::RosterCommand,
    },
    /// Watch zones: areas whose incidents raise alerts for their owner.
    Watch {
        #[command(subcommand)]
        command: cli::watch::WatchCommand,
    },
    /// Follow a node's live stream, one line per event.
    Tail(cli::tail::TailArgs),
    /// The node's signing key.
    Key {
        #[command(subcommand)]
        command: cli::peer::KeyCommand,
    },
    /// Make the node's TLS certificate with its node key (bound to the member's roster
    /// `public_key`), written to node.tls_cert / node.tls_key or tls.crt / tls.key in the data
    /// directory.
    Cert {
        #[arg(long, short)]
        config: PathBuf,
        /// Names and addresses the certificate is for (default: localhost, 127.0.0.1, the
        /// listen address and the host of public_url).
        #[arg(long, num_args = 1..)]
        hosts: Vec<String>,
    },
    /// Counts of incidents, fatalities, arrests and seizures per group and interval, over what
    /// the node's member may see.
    Trends(cli::analytics::TrendsArgs),
    /// Weekly spikes per governorate: ACLED surge, Trendfinder and a seasonal Poisson detector.
    Spikes(cli::analytics::SpikesArgs),
    /// Getis-Ord Gi* hot spots on an H3 grid, FDR-corrected.
    Hotspots(cli::analytics::HotspotsArgs),
    /// A cell's incidents in time order, its area of operation and links to other cells.
    Track(cli::analytics::TrackArgs),
    /// Take a consistent snapshot of a node's store and audit log into a new directory, while
    /// it serves (the node key is not included).
    Backup(cli::backup::BackupArgs),
    /// Put a snapshot in place after verifying it (manifest, integrity check, content hashes,
    /// audit chain); a damaged snapshot is refused.
    Restore(cli::backup::RestoreArgs),
    /// Copy a node's store between SQLite and PostgreSQL (`--from sqlite:DIR --to postgres://...`
    /// or back), in resumable batches, then verify counts and every content hash.
    Migrate(cli::migrate::MigrateArgs),
    /// Check the node's data: unresolvable markings and other problems.
    Doctor {
        #[arg(long, short)]
        config: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter =
        || tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into());
    if let Command::Demo(args) = &cli.command {
        // The demo's terminal carries its narrative only: its nodes' logs go to a file in the
        // demo directory (the narrative says where).
        match cli::demo::open_log(args) {
            Ok(file) => {
                tracing_subscriber::fmt().with_env_filter(filter()).with_ansi(false).with_writer(file).init();
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                return std::process::ExitCode::FAILURE;
            }
        }
    } else {
        tracing_subscriber::fmt().with_env_filter(filter()).with_writer(std::io::stderr).init();
    }
    let result = match cli.command {
        Command::Serve { config } => cli::serve::run(&config),
        Command::Demo(args) => cli::demo::run(&args),
        Command::Import(args) => cli::import::run(&args),
        Command::Export(args) => cli::export::run(&args),
        Command::Feed(args) => cli::feed::run(&args),
        Command::Validate(args) => cli::validate::run(&args),
        Command::Extract(args) => cli::extract::run(&args),
        Command::User { command } => cli::accounts::run_user(&command),
        Command::Token { command } => cli::accounts::run_token(&command),
        Command::Marking { command } => cli::marking::run(&command),
        Command::Place { command } => cli::place::run(&command),
        Command::Audit { command } => cli::audit::run(&command),
        Command::Peer { command } => cli::peer::run(&command),
        Command::Key { command } => cli::peer::run_key(&command),
        Command::Cert { config, hosts } => cli::peer::run_cert(&config, &hosts),
        Command::Watch { command } => cli::watch::run(&command),
        Command::Tail(args) => cli::tail::run(&args),
        Command::Roster { command } => cli::roster::run(&command),
        Command::Doctor { config } => cli::doctor::run(&config),
        Command::Backup(args) => cli::backup::backup(&args),
        Command::Restore(args) => cli::backup::restore(&args),
        Command::Migrate(args) => cli::migrate::run(&args),
        Command::Trends(args) => cli::analytics::run_trends(&args),
        Command::Spikes(args) => cli::analytics::run_spikes(&args),
        Command::Hotspots(args) => cli::analytics::run_hotspots(&args),
        Command::Track(args) => cli::analytics::run_track(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
