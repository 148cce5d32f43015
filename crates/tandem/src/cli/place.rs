//! `tandem place`: the gazetteer from the command line.

use std::process::ExitCode;

use clap::Subcommand;
use tandem_geo::{Gazetteer, SearchOptions};

#[derive(Subcommand)]
pub enum PlaceCommand {
    /// Find places by name, in any script or transliteration, best first.
    Search {
        name: String,
        /// Only within this governorate (ISO 3166-2, e.g. SY-DY).
        #[arg(long)]
        admin1: Option<String>,
        /// Prefer places near this point: LAT,LON.
        #[arg(long)]
        near: Option<String>,
        #[arg(long, default_value_t = 5)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Resolve free text ("al-Badrousiya, northern Latakia") to a place or area with a precision.
    Resolve { text: String },
    /// Load a GeoNames country extract (`SY.txt`/`IQ.txt`, tab-separated, Arabic alternate
    /// names included) into the node's gazetteer, replacing an earlier import. The running node
    /// picks it up on its next look-up; `tandem extract --config` uses it too.
    Import {
        /// The node's TOML configuration.
        #[arg(long, short)]
        config: std::path::PathBuf,
        /// The GeoNames extract.
        file: std::path::PathBuf,
    },
    /// The governorate, nearest places and named areas of a point.
    Reverse {
        lat: f64,
        lon: f64,
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
}

pub use tandem_node::http::places::parse_point;

pub fn run(command: &PlaceCommand) -> anyhow::Result<ExitCode> {
    let g = Gazetteer::embedded();
    match command {
        PlaceCommand::Import { config, file } => {
            use anyhow::Context;
            let config = crate::config::Config::load(config)?;
            let store = crate::node::open_store(&config)?;
            let tsv = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let done = tandem_node::gazetteer::import(store.as_ref(), &tsv, &file.display().to_string())?;
            for (line, why) in done.errors.iter().take(5) {
                eprintln!("warning: {}:{line}: {why}", file.display());
            }
            println!(
                "imported {} populated places ({} other rows skipped, {} malformed)",
                done.places,
                done.skipped,
                done.errors.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        PlaceCommand::Search { name, admin1, near, limit, json } => {
            let near = near.as_deref().map(parse_point).transpose()?;
            let opts = SearchOptions { admin1: admin1.clone(), near, limit: *limit };
            let hits = g.search(name, &opts);
            if *json {
                println!("{}", serde_json::to_string_pretty(&hits)?);
            } else if hits.is_empty() {
                println!("no place matches {name:?}");
            }
            if !*json {
                for c in &hits {
                    let arabic = c.place.arabic_names.first().map(String::as_str).unwrap_or("");
                    println!(
                        "{:.3}  {:<28} {:<14} {}  {:.4},{:.4}  (matched {:?}, GeoNames {})",
                        c.score,
                        c.place.name,
                        arabic,
                        c.place.admin1,
                        c.place.lat,
                        c.place.lon,
                        c.matched_name,
                        c.place.id
                    );
                }
            }
            Ok(if hits.is_empty() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        PlaceCommand::Resolve { text } => match g.resolve(text) {
            Some(r) => {
                println!("{}", serde_json::to_string_pretty(&r)?);
                Ok(ExitCode::SUCCESS)
            }
            None => {
                println!("nothing in {text:?} names a known place, governorate or area");
                Ok(ExitCode::FAILURE)
            }
        },
        PlaceCommand::Reverse { lat, lon, limit } => {
            println!("{}", serde_json::to_string_pretty(&g.reverse(*lat, *lon, *limit))?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
