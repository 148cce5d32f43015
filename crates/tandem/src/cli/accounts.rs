//! `tandem user` and `tandem token`: accounts stored in the node's database.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;
use tandem_model::Timestamp;
use tandem_policy::Classification;
use tandem_store::{StoredToken, StoredUser};

use crate::config::Config;
use crate::node;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add (or replace) a user. The password is stored only as an Argon2 hash.
    Add {
        #[arg(long, short)]
        config: PathBuf,
        /// The user name (login).
        name: String,
        /// The coalition member the user belongs to.
        #[arg(long)]
        member: String,
        /// The password; read from TANDEM_PASSWORD when omitted.
        #[arg(long)]
        password: Option<String>,
        /// UNCLASSIFIED, RESTRICTED, CONFIDENTIAL or SECRET.
        #[arg(long, default_value = "UNCLASSIFIED")]
        clearance: String,
        /// Roles (repeatable): `auditor`, `read-only`.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// List users stored in the database (config users are in the config).
    List {
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; it is printed once and stored only as a hash.
    Create {
        #[arg(long, short)]
        config: PathBuf,
        /// The user the token authenticates as.
        #[arg(long)]
        user: String,
        /// A note on what the token is for.
        #[arg(long)]
        label: Option<String>,
    },
}

pub fn run_user(command: &UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add { config, name, member, password, clearance, roles } => {
            let config = Config::load(config)?;
            if node::effective_roster(&config, node::open_store(&config)?)?.member(member).is_none() {
                bail!("--member {member:?} is not in the roster");
            }
            if Classification::parse(clearance).is_none() {
                bail!("--clearance {clearance:?} is not one of UNCLASSIFIED, RESTRICTED, CONFIDENTIAL, SECRET");
            }
            let password = match password {
                Some(p) => p.clone(),
                None => std::env::var("TANDEM_PASSWORD")
                    .map_err(|_| anyhow::anyhow!("give --password or set TANDEM_PASSWORD"))?,
            };
            if password.len() < 8 {
                bail!("the password must have at least 8 characters");
            }
            let store = node::open_store(&config)?;
            store.put_user(&StoredUser {
                name: name.clone(),
                member: member.clone(),
                password_hash: tandem_taxii::auth::hash_secret(&password),
                clearance: clearance.clone(),
                roles: roles.clone(),
            })?;
            println!("user {name} ({member}) saved; a running node loads it within a second");
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::List { config } => {
            let config = Config::load(config)?;
            let store = node::open_store(&config)?;
            for u in store.users()? {
                println!("{}\t{}\t{}\t{}", u.name, u.member, u.clearance, u.roles.join(","));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn run_token(command: &TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create { config, user, label } => {
            let config = Config::load(config)?;
            let store = node::open_store(&config)?;
            let known = config.users.iter().any(|u| &u.name == user) || store.users()?.iter().any(|u| &u.name == user);
            if !known {
                bail!("no user named {user:?}");
            }
            let (token, token_id, secret_hash) = tandem_taxii::auth::new_token();
            store.put_token(&StoredToken {
                token_id,
                user: user.clone(),
                secret_hash,
                created: Timestamp::now(),
                label: label.clone(),
            })?;
            println!("{token}");
            eprintln!("token for {user} created: it is shown only once; a running node accepts it within a second");
            Ok(ExitCode::SUCCESS)
        }
    }
}
