//! Prints how each clause of a text is read: `cargo run -p tandem-extract --example clauses -- FILE`.

use tandem_geo::Gazetteer;
use tandem_model::incident::Date;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: clauses FILE");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let pub_date = tandem_extract::dateline(&text).map(|d| d.0).unwrap_or(Date { year: 2025, month: 1, day: 1 });
    let mut cache = tandem_extract::places::AreaCache::default();
    for s in tandem_extract::text::sentences(&text, 0) {
        for c in tandem_extract::clause::split(&s.tokens) {
            let cl = tandem_extract::clause::read(Gazetteer::embedded(), &mut cache, &text, c, pub_date);
            println!("--- {:?}", &text[cl.span.start..cl.span.end]);
            println!(
                "generic={} triggers={:?} dates={:?} places={:?} figures={:?}",
                cl.generic,
                cl.triggers.iter().map(|t| (t.kind, &text[t.span.start..t.span.end], t.anaphoric)).collect::<Vec<_>>(),
                cl.dates.iter().map(|d| (&d.role, &text[d.span.start..d.span.end])).collect::<Vec<_>>(),
                cl.places.iter().map(|p| (p.kind, &p.text, &p.admin1, p.incidental)).collect::<Vec<_>>(),
                cl.figures.iter().map(|f| (f.field, f.value)).collect::<Vec<_>>(),
            );
        }
    }
}
