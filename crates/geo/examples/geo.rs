//! Try the gazetteer from a shell:
//! `cargo run -p tandem-geo --example geo -- resolve "al-Dana, Idlib"`,
//! `... -- search "Dayr az Zawr"`, `... -- reverse 34.56 38.27`.

use tandem_geo::{Gazetteer, SearchOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let g = Gazetteer::embedded();
    let out = match args.first().map(String::as_str) {
        Some("search") => {
            let hits: Vec<_> =
                args[1..].iter().map(|q| (q, g.search(q, &SearchOptions { limit: 3, ..Default::default() }))).collect();
            serde_json::to_string_pretty(&hits)
        }
        Some("resolve") => {
            let hits: Vec<_> = args[1..].iter().map(|q| (q, g.resolve(q))).collect();
            serde_json::to_string_pretty(&hits)
        }
        Some("reverse") if args.len() == 3 => {
            let (lat, lon) = (args[1].parse().unwrap_or(0.0), args[2].parse().unwrap_or(0.0));
            serde_json::to_string_pretty(&g.reverse(lat, lon, 5))
        }
        _ => {
            eprintln!("usage: geo search NAME... | resolve TEXT... | reverse LAT LON");
            std::process::exit(2);
        }
    };
    println!("{}", out.unwrap_or_default());
}
