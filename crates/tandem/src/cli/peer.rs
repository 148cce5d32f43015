//! `tandem peer add|list|remove` and `tandem key show`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use tandem_sync::client::PeerSpec;

use crate::config::Config;
use crate::{federation, node};

#[derive(Subcommand)]
pub enum PeerCommand {
    /// Add (or replace) a peer kept in the node's database; a running node picks it up within
    /// seconds.
    Add {
        #[arg(long, short)]
        config: PathBuf,
        /// The peer's member code.
        member: String,
        /// The peer's discovery URL, e.g. http://127.0.0.1:8481/taxii2/.
        #[arg(long)]
        url: String,
        /// This node's account on the peer.
        #[arg(long)]
        username: Option<String>,
        /// Its password; read from TANDEM_PEER_PASSWORD when omitted.
        #[arg(long)]
        password: Option<String>,
        /// Or an API token issued by the peer.
        #[arg(long)]
        token: Option<String>,
    },
    /// List peers (config and database) with the status the running node last persisted.
    List {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Remove a peer added with `tandem peer add` (config peers stay until removed from the file);
    /// a running node stops pulling from it within seconds.
    Remove {
        #[arg(long, short)]
        config: PathBuf,
        member: String,
    },
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Print the node's public key (`ed25519:<base64>`), creating the key if needed; put it in
    /// the other nodes' `[[members]] public_key`.
    Show {
        #[arg(long, short)]
        config: PathBuf,
    },
}

pub fn run_key(command: &KeyCommand) -> anyhow::Result<ExitCode> {
    let KeyCommand::Show { config } = command;
    let config = Config::load(config)?;
    let key = federation::node_key(&config)?;
    println!("{}", tandem_audit::keys::public_key_string(&key.verifying_key()));
    Ok(ExitCode::SUCCESS)
}

/// `tandem cert`: the node's certificate, made with its node key.
pub fn run_cert(config: &std::path::Path, hosts: &[String]) -> anyhow::Result<ExitCode> {
    let config = Config::load(config)?;
    let hosts = if hosts.is_empty() { tandem_node::cert::default_hosts(&config) } else { hosts.to_vec() };
    let (cert, key) = tandem_node::cert::write(&config, &hosts)?;
    println!("certificate {} for {}", cert.display(), hosts.join(", "));
    println!("key {} (the node key, owner-only)", key.display());
    if config.node.tls_cert.is_none() {
        println!(
            "serve it with, under [node]:\ntls_cert = {:?}\ntls_key = {:?}",
            cert.display().to_string(),
            key.display().to_string()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(command: &PeerCommand) -> anyhow::Result<ExitCode> {
    match command {
        PeerCommand::Add { config, member, url, username, password, token } => {
            let config = Config::load(config)?;
            let store = node::open_store(&config)?;
            if node::effective_roster(&config, store.clone())?.member(member).is_none() {
                anyhow::bail!("peer {member:?} is not in the roster ([[members]] or a signed roster change)");
            }
            let password = password.clone().or_else(|| std::env::var("TANDEM_PEER_PASSWORD").ok());
            let spec = PeerSpec {
                member: member.clone(),
                url: url.clone(),
                username: username.clone(),
                password: if username.is_some() { password } else { None },
                token: token.clone(),
            };
            tandem_sync::peers::add(store.as_ref(), &spec)?;
            println!("peer {member} added ({url})");
            Ok(ExitCode::SUCCESS)
        }
        PeerCommand::List { config } => {
            let config = Config::load(config)?;
            let store = node::open_store(&config)?;
            let peers = federation::peers(&config, store.as_ref())?;
            let statuses = tandem_sync::status::load_all(store.as_ref())?;
            let from_config = federation::config_peers(&config);
            println!(
                "{:<6} {:<8} {:<40} {:<28} {:>8} {:>8} {:>6}  last error",
                "member", "source", "url", "last contact", "lag obj", "lag s", "errors"
            );
            for p in peers {
                let source = if from_config.iter().any(|c| c.member == p.member) { "config" } else { "added" };
                let st = statuses.iter().find(|s| s.member == p.member);
                let contact = st.and_then(|s| s.last_contact).map(|t| t.to_taxii()).unwrap_or_else(|| "never".into());
                println!(
                    "{:<6} {:<8} {:<40} {:<28} {:>8} {:>8.1} {:>6}  {}",
                    p.member,
                    source,
                    p.url,
                    contact,
                    st.map_or(0, |s| s.lag_objects),
                    st.map_or(0.0, |s| s.lag_seconds),
                    st.map_or(0, |s| s.errors),
                    st.and_then(|s| s.last_error.clone()).unwrap_or_default(),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        PeerCommand::Remove { config, member } => {
            let config = Config::load(config)?;
            let store = node::open_store(&config)?;
            if tandem_sync::peers::remove(store.as_ref(), member)? {
                println!("peer {member} removed");
                Ok(ExitCode::SUCCESS)
            } else if config.peers.iter().any(|p| &p.member == member) {
                anyhow::bail!("peer {member} comes from the config file: remove it there")
            } else {
                anyhow::bail!("no stored peer {member}")
            }
        }
    }
}
