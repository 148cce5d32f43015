//! Held-out evaluation: real GeoNames spelling variants that the generator removed
//! from the index must still find their place (top-1 accuracy >= 95%).

use serde::Deserialize;
use tandem_geo::{Gazetteer, SearchOptions};

#[derive(Deserialize)]
struct Variant {
    name: String,
    script: String,
    geonames_id: u64,
    expected_name: String,
}

#[derive(Deserialize)]
struct Table {
    variants: Vec<Variant>,
}

#[test]
fn heldout_top1_accuracy() {
    let table: Table = serde_json::from_str(include_str!("../data/heldout.json")).unwrap();
    let gaz = Gazetteer::embedded();
    assert!(table.variants.len() >= 200);
    let opts = SearchOptions::default();
    let (mut hits, mut by_script) = (0usize, std::collections::BTreeMap::new());
    let mut misses = Vec::new();
    for v in &table.variants {
        assert!(
            !gaz.place(v.geonames_id).unwrap().all_names().any(|n| n == v.name),
            "held-out name {} leaked into the index",
            v.name
        );
        let top = gaz.search(&v.name, &opts);
        let ok = top.first().is_some_and(|c| c.place.id == v.geonames_id);
        let e = by_script.entry(v.script.as_str()).or_insert((0usize, 0usize));
        e.1 += 1;
        if ok {
            hits += 1;
            e.0 += 1;
        } else {
            misses.push(format!(
                "  {} -> expected {} ({}), got {:?}",
                v.name,
                v.expected_name,
                v.geonames_id,
                top.first().map(|c| (&c.place.name, &c.matched_name, c.score))
            ));
        }
    }
    let acc = hits as f64 / table.variants.len() as f64;
    println!("held-out top-1 accuracy: {hits}/{} = {:.1}% {by_script:?}", table.variants.len(), acc * 100.0);
    println!("misses:\n{}", misses.join("\n"));
    assert!(acc >= 0.95, "top-1 accuracy {acc:.3} below 0.95");
}
