//! Runs the scorer on the development set (copied from `extraction-dev`) and on our own
//! texts, and fails below the event-matching targets (recall >= 0.85, precision >=
//! 0.8). Set `EXTRACT_SHOW=1` to print each document's output and the score tables.

use std::path::Path;

use tandem_extract::gold::GoldFile;
use tandem_extract::score::{Score, score};
use tandem_geo::Gazetteer;
use tandem_model::incident::Date;

fn run(dir: &str) -> Score {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(dir);
    let mut total = Score::default();
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    names.sort();
    let show = std::env::var("EXTRACT_SHOW").is_ok();
    for path in names.into_iter().filter(|p| p.extension().is_some_and(|e| e == "txt")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let gold: GoldFile =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("gold.json")).unwrap()).unwrap();
        let x = tandem_extract::extract(Gazetteer::embedded(), &text, None, Date::parse("2025-01-01").unwrap());
        let got = GoldFile::from(&x);
        let s = score(&gold, &got);
        if show {
            println!("== {}\n{}", path.display(), serde_json::to_string_pretty(&got).unwrap());
            if s.field("events").correct != gold.events.len() as u32 || got.events.len() != gold.events.len() {
                println!("!! MISMATCH gold={}", serde_json::to_string_pretty(&gold).unwrap());
            }
        }
        total.merge(&s);
    }
    println!("{dir:?}\n{total}");
    total
}

fn check(dir: &str) {
    let s = run(dir);
    let e = s.field("events");
    assert!(e.recall() >= 0.85, "{dir}: event recall {:.3} below 0.85\n{s}", e.recall());
    assert!(e.precision() >= 0.8, "{dir}: event precision {:.3} below 0.8\n{s}", e.precision());
}

#[test]
fn development_set_meets_targets() {
    check("dev");
}

#[test]
fn own_set_meets_targets() {
    check("own");
}
