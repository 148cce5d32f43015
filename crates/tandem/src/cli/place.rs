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
