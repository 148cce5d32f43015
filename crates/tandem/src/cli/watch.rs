//! `tandem watch add|list|remove`: watch zones kept in the node's store (a running node's
//! stream and alerter see them at their next read), and `tandem tail`, which follows the live
//! stream in a terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;
use tandem_live::zones::{self, ZoneFilters, ZoneSpec};

use crate::config::Config;
use crate::node;

#[derive(Subcommand)]
pub enum WatchCommand {
    /// Add a watch zone owned by `--user`: one of --governorate, --area, --place or --point
    /// (with --radius-km), --polygon (a GeoJSON Polygon file).
    Add(Box<AddArgs>),
    /// List the zones (all of them, or `--user`'s).
    List {
        #[arg(long, short)]
        config: PathBuf,
        #[arg(long)]
        user: Option<String>,
    },
    /// The webhook deliveries (all, or of `--user`'s zones): status, attempts, last error.
    Deliveries {
        #[arg(long, short)]
        config: PathBuf,
        #[arg(long)]
        user: Option<String>,
        /// Print each entry as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Remove one of `--user`'s zones.
    Remove {
        #[arg(long, short)]
        config: PathBuf,
        #[arg(long)]
        user: String,
        id: String,
    },
}

#[derive(Args)]
pub struct AddArgs {
    #[arg(long, short)]
    config: PathBuf,
    /// The owner: alerts are decided in this user's view.
    #[arg(long)]
    user: String,
    #[arg(long)]
    name: String,
    #[arg(long)]
    governorate: Option<String>,
    #[arg(long)]
    area: Option<String>,
    #[arg(long)]
    place: Option<String>,
    /// LAT,LON
    #[arg(long)]
    point: Option<String>,
    #[arg(long)]
    radius_km: Option<f64>,
    #[arg(long)]
    polygon: Option<PathBuf>,
    #[arg(long = "event-type")]
    event_types: Vec<String>,
    #[arg(long = "cell")]
    cells: Vec<String>,
    #[arg(long)]
    min_fatalities: Option<u32>,
    /// E.g. C3: a source at least this reliable and credible.
    #[arg(long)]
    min_grading: Option<String>,
    /// POST each alert here, signed with the secret (TANDEM_WEBHOOK_SECRET when omitted).
    #[arg(long)]
    webhook_url: Option<String>,
    #[arg(long)]
    webhook_secret: Option<String>,
    /// Also alert when a matching incident repeats a recent one nearby (1 km, 48 hours unless
    /// --near-repeat-km / --near-repeat-hours say otherwise).
    #[arg(long)]
    near_repeat: bool,
    #[arg(long, requires = "near_repeat")]
    near_repeat_km: Option<f64>,
    #[arg(long, requires = "near_repeat")]
    near_repeat_hours: Option<u32>,
}

/// The member and clearance of `user` (config users first, then those `tandem user add` stored).
fn owner(
    config: &Config,
    store: &dyn tandem_store::Store,
    user: &str,
) -> anyhow::Result<(String, tandem_policy::Classification)> {
    let parse = |c: Option<&str>| {
        c.and_then(tandem_policy::Classification::parse).unwrap_or(tandem_policy::Classification::Unclassified)
    };
    if let Some(u) = config.users.iter().find(|u| u.name == user) {
        return Ok((u.member.clone(), parse(u.clearance.as_deref())));
    }
    let stored = store.users()?;
    let u = stored
        .iter()
        .find(|u| u.name == user)
        .with_context(|| format!("no user {user:?} in the config or the store"))?;
    Ok((u.member.clone(), parse(Some(u.clearance.as_str()))))
}

pub fn run(command: &WatchCommand) -> anyhow::Result<ExitCode> {
    match command {
        WatchCommand::Add(a) => {
            let config = Config::load(&a.config)?;
            let store = node::open_store(&config)?;
            let (member, clearance) = owner(&config, store.as_ref(), &a.user)?;
            let point = match &a.point {
                None => None,
                Some(p) => {
                    Some(crate::cli::place::parse_point(p).map_err(|_| anyhow::anyhow!("--point must be LAT,LON"))?)
                }
            };
            let geometry = match &a.polygon {
                None => None,
                Some(path) => {
                    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                    let v: Value =
                        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
                    // A Feature or a bare geometry.
                    Some(v.get("geometry").cloned().unwrap_or(v))
                }
            };
            let spec = ZoneSpec {
                name: a.name.clone(),
                geometry,
                point: point.map(|(lat, lon)| [lat, lon]),
                place: a.place.clone(),
                radius_km: a.radius_km,
                governorate: a.governorate.clone(),
                area: a.area.clone(),
                webhook: match &a.webhook_url {
                    None => None,
                    Some(url) => Some(tandem_live::webhooks::Webhook {
                        url: url.clone(),
                        secret: a
                            .webhook_secret
                            .clone()
                            .or_else(|| std::env::var("TANDEM_WEBHOOK_SECRET").ok())
                            .context("give --webhook-secret or set TANDEM_WEBHOOK_SECRET")?,
                    }),
                },
                filters: ZoneFilters {
                    event_types: a.event_types.clone(),
                    cells: a.cells.clone(),
                    min_fatalities: a.min_fatalities,
                    min_grading: a.min_grading.clone(),
                },
                near_repeat: a.near_repeat.then(|| {
                    let d = tandem_live::near_repeat::NearRepeat::default();
                    tandem_live::near_repeat::NearRepeat {
                        km: a.near_repeat_km.unwrap_or(d.km),
                        hours: a.near_repeat_hours.unwrap_or(d.hours),
                    }
                }),
            };
            let mut zone = zones::new_zone(spec, &a.user, &member, clearance).map_err(|e| anyhow::anyhow!(e))?;
            // The webhook secret is stored sealed with the node's secrets key (beside node.key).
            if zone.webhook.is_some() {
                tandem_live::webhooks::seal(&mut zone, &tandem_node::federation::secrets_key(&config)?)?;
            }
            if !zones::create(store.as_ref(), &zone)? {
                anyhow::bail!("zone id collision, try again");
            }
            println!("{}", zone.id);
            Ok(ExitCode::SUCCESS)
        }
        WatchCommand::List { config, user } => {
            let config = Config::load(config)?;
            let store = node::open_store(&config)?;
            println!("{:<42} {:<12} {:<22} {:<24} name", "id", "owner", "kind", "created");
            for z in zones::list(store.as_ref())? {
                if user.as_ref().is_some_and(|u| *u != z.owner) {
                    continue;
                }
                let mut kind = tandem_live::alerts::describe(&z.geometry).to_string();
                if let Some(r) = &z.near_repeat {
                    kind = format!("{kind}+nr({}km,{}h)", r.km, r.hours);
                }
                println!("{:<42} {:<12} {:<22} {:<24} {}", z.id, z.owner, kind, z.created.to_taxii(), z.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        WatchCommand::Deliveries { config, user, json } => {
            let config = Config::load(config)?;
            let store = node::open_store(&config)?;
            let all = tandem_live::webhooks::deliveries(store.as_ref(), user.as_deref())?;
            if !json {
                println!("{:<10} {:>8} {:>6}  {:<56} last error", "status", "attempts", "http", "id");
            }
            for d in all {
                if *json {
                    println!("{d}");
                    continue;
                }
                let s = |k: &str| d[k].as_str().unwrap_or("-").to_string();
                let status = d["last_status"].as_u64().map(|v| v.to_string()).unwrap_or_else(|| "-".into());
                println!("{:<10} {:>8} {:>6}  {:<56} {}", s("status"), d["attempts"], status, s("id"), s("last_error"));
            }
            Ok(ExitCode::SUCCESS)
        }
        WatchCommand::Remove { config, user, id } => {
            let config = Config::load(config)?;
            let store = node::open_store(&config)?;
            if zones::remove(store.as_ref(), user, id)? {
                println!("zone {id} removed");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{user} has no zone {id}");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
