//! `tandem roster keygen|sign|submit|show`: the coalition's roster authority and its signed
//! changes (`tandem_sync::roster_change`), so a member joins, is suspended or leaves on every
//! node from one signed document instead of an edit to every node's config.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use tandem_sync::roster_change::{self, Action, SignedChange};

use crate::config::Config;
use crate::node;

#[derive(Subcommand)]
pub enum RosterCommand {
    /// Create the roster authority's key pair (not a node key): write the private key to FILE
    /// (mode 0600, never overwritten) and print the public key for `[coalition] authority`.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a roster change with the authority's key and print it (JSON, for `submit`).
    Sign {
        /// The authority's private key file (from `tandem roster keygen`).
        #[arg(long)]
        key: PathBuf,
        /// The change's sequence number: 1 for the authority's first change, then 2, 3, ...
        #[arg(long)]
        seq: u64,
        /// When the change is issued (RFC 3339); now by default.
        #[arg(long)]
        issued: Option<String>,
        #[command(subcommand)]
        action: ActionArgs,
    },
    /// Apply a signed change to the node's store, offline. A running node takes it at its next
    /// pull pass or on SIGHUP; `POST /api/tandem/roster/changes/` applies it at once.
    Submit {
        #[arg(long, short)]
        config: PathBuf,
        /// The signed change (`tandem roster sign` output).
        file: PathBuf,
    },
    /// Print the effective roster: the config's roster with every applied signed change on top.
    Show {
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum ActionArgs {
    /// A new member, active at once.
    Join {
        #[arg(long)]
        member: String,
        #[arg(long)]
        name: String,
        /// Its node's key (`tandem key show` on that node).
        #[arg(long)]
        public_key: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        joined: Option<String>,
        /// A group to add it to (repeat for several).
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Nodes stop serving the member until it is reinstated.
    Suspend {
        #[arg(long)]
        member: String,
    },
    /// A suspended member is active again.
    Reinstate {
        #[arg(long)]
        member: String,
    },
    /// The member leaves (status removed, out of every group).
    Leave {
        #[arg(long)]
        member: String,
    },
    /// A member's node has a new key.
    SetKey {
        #[arg(long)]
        member: String,
        #[arg(long)]
        public_key: String,
    },
    /// Set a group's members (creating the group if needed).
    Group {
        #[arg(long)]
        group: String,
        #[arg(long)]
        name: Option<String>,
        /// A member of the group (repeat, or separate with commas).
        #[arg(long = "member", value_delimiter = ',')]
        members: Vec<String>,
    },
}

impl ActionArgs {
    fn to_action(&self) -> Action {
        match self {
            ActionArgs::Join { member, name, public_key, joined, groups } => Action::Join {
                member: member.clone(),
                name: name.clone(),
                public_key: public_key.clone(),
                joined: joined.clone(),
                groups: groups.clone(),
            },
            ActionArgs::Suspend { member } => Action::Suspend { member: member.clone() },
            ActionArgs::Reinstate { member } => Action::Reinstate { member: member.clone() },
            ActionArgs::Leave { member } => Action::Leave { member: member.clone() },
            ActionArgs::SetKey { member, public_key } => {
                Action::SetKey { member: member.clone(), public_key: public_key.clone() }
            }
            ActionArgs::Group { group, name, members } => {
                Action::Group { group: group.clone(), name: name.clone(), members: members.clone() }
            }
        }
    }
}

pub fn run(command: &RosterCommand) -> anyhow::Result<ExitCode> {
    match command {
        RosterCommand::Keygen { out } => {
            let key = tandem_audit::keys::create_key_file(out)?;
            eprintln!("roster authority key written to {} (keep it off the nodes)", out.display());
            println!("{}", tandem_audit::keys::public_key_string(&key.verifying_key()));
            Ok(ExitCode::SUCCESS)
        }
        RosterCommand::Sign { key, seq, issued, action } => {
            let key = tandem_audit::keys::load_key_file(key)?;
            let issued = issued.clone().unwrap_or_else(|| tandem_model::Timestamp::now().to_taxii());
            let change = roster_change::new_change(&key, *seq, &issued, action.to_action());
            // A key no node could parse is caught before it is signed.
            if let Action::Join { public_key, .. } | Action::SetKey { public_key, .. } = &change.action {
                tandem_audit::keys::parse_public_key(public_key).context("--public-key")?;
            }
            let signed = roster_change::sign(change, &key);
            println!("{}", serde_json::to_string_pretty(&signed.to_value())?);
            Ok(ExitCode::SUCCESS)
        }
        RosterCommand::Submit { config, file } => {
            let config = Config::load(config)?;
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let value: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{}: not JSON", file.display()))?;
            let change = SignedChange::from_value(&value)?;
            let log = node::roster_log(&config, node::open_store(&config)?)?;
            let seq = log.submit(&change)?;
            println!("roster change {seq} applied ({})", describe(&change.change.action));
            println!("a running node takes it at its next pull pass (or on SIGHUP) and replicates it");
            Ok(ExitCode::SUCCESS)
        }
        RosterCommand::Show { config } => {
            let config = Config::load(config)?;
            let log = node::roster_log(&config, node::open_store(&config)?)?;
            let applied = log.applied()?;
            let (roster, skipped) = log.effective()?;
            match config.coalition.authority.as_deref() {
                Some(a) => println!("roster authority {a}: {} signed changes applied", applied.len()),
                None => println!("no roster authority configured: the roster is the config's"),
            }
            println!("\n{:<6} {:<30} {:<10} {:<11} public key", "member", "name", "status", "joined");
            for m in roster.members() {
                println!(
                    "{:<6} {:<30} {:<10} {:<11} {}",
                    m.code,
                    m.name,
                    format!("{:?}", m.status).to_lowercase(),
                    m.joined.as_deref().unwrap_or("-"),
                    m.public_key.as_deref().unwrap_or("-")
                );
            }
            println!("\n{:<6} {:<30} members", "group", "name");
            for g in roster.groups() {
                println!("{:<6} {:<30} {}", g.code, g.name, g.members.iter().cloned().collect::<Vec<_>>().join(", "));
            }
            if !applied.is_empty() {
                println!("\nchanges:");
                for c in &applied {
                    println!("  {:>4}  {}  {}", c.seq(), c.change.issued, describe(&c.change.action));
                }
            }
            for (seq, e) in skipped {
                println!("  change {seq} does not apply to this node's configured roster: {e}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn describe(a: &Action) -> String {
    match a {
        Action::Join { member, groups, .. } if groups.is_empty() => format!("join {member}"),
        Action::Join { member, groups, .. } => format!("join {member} (groups {})", groups.join(", ")),
        Action::Suspend { member } => format!("suspend {member}"),
        Action::Reinstate { member } => format!("reinstate {member}"),
        Action::Leave { member } => format!("leave {member}"),
        Action::SetKey { member, .. } => format!("set-key {member}"),
        Action::Group { group, members, .. } => format!("group {group} = {}", members.join(", ")),
    }
}
