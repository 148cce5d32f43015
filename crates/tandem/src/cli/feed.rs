//! `tandem feed add|list|remove`: subscriptions of this node to external TAXII 2.1 collections,
//! kept in the store (`tandem_node::feeds`) and polled by the running node.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use tandem_node::feeds::{self, Feed};

use crate::config::Config;
use crate::node;

#[derive(Args)]
pub struct FeedArgs {
    #[arg(long, short, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: FeedCommand,
}

#[derive(Subcommand)]
pub enum FeedCommand {
    /// Subscribe to a collection (replaces a feed of the same name, cursor reset).
    Add {
        name: String,
        /// The collection's URL, e.g. https://cti.example.org/api1/collections/<id>/
        #[arg(long)]
        url: String,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        token: Option<String>,
        /// Marking-definition ids added to everything that comes in (repeatable; they only
        /// narrow who receives it). Without any, objects keep their own markings only.
        #[arg(long = "marking")]
        markings: Vec<String>,
        /// Seconds between polls.
        #[arg(long, default_value_t = 300)]
        interval: u64,
    },
    /// The feeds, their cursors and what their last round did.
    List,
    /// Unsubscribe.
    Remove { name: String },
}

pub fn run(args: &FeedArgs) -> anyhow::Result<ExitCode> {
    let Some(path) = &args.config else { anyhow::bail!("--config is required") };
    let config = Config::load(path)?;
    let store = node::open_store(&config)?;
    match &args.command {
        FeedCommand::Add { name, url, username, password, token, markings, interval } => {
            if !url.starts_with("http://") && !url.starts_with("https://") {
                anyhow::bail!("--url must be an http(s) URL of a TAXII collection");
            }
            if name.is_empty() || name.contains('/') {
                anyhow::bail!("a feed name is not empty and has no '/'");
            }
            let feed = Feed {
                name: name.clone(),
                collection_url: url.clone(),
                username: username.clone(),
                password: password.clone(),
                token: token.clone(),
                markings: markings.clone(),
                interval_secs: (*interval).max(1),
                cursor: Default::default(),
                last_round: None,
            };
            // Stored sealed with the node's secrets key (a file beside node.key).
            let secrets = tandem_node::federation::secrets_key(&config)?;
            feeds::save(store.as_ref(), &secrets, &feed)?;
            println!("feed {name} added: {url} every {}s", feed.interval_secs);
        }
        FeedCommand::List => {
            for f in feeds::list(store.as_ref())? {
                println!(
                    "{}\t{}\tevery {}s\tafter {}\t{}",
                    f.name,
                    f.collection_url,
                    f.interval_secs,
                    f.cursor.added_after.as_deref().unwrap_or("-"),
                    f.last_round.as_deref().unwrap_or("never polled")
                );
            }
        }
        FeedCommand::Remove { name } => {
            if !feeds::remove(store.as_ref(), name)? {
                eprintln!("no feed {name}");
                return Ok(ExitCode::from(1));
            }
            println!("feed {name} removed");
        }
    }
    Ok(ExitCode::SUCCESS)
}
