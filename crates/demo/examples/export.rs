//! Writes the demo data set as STIX bundles for external tools (stix2-validator, a TAXII client):
//! `cargo run -p tandem-demo --example export -- OUT_DIR [SYNTHETIC_COUNT] [SEED]`.
//!
//! Writes `OUT_DIR/definitions.json` (Tandem's identity, extension definitions and the demo
//! releasability markings), `OUT_DIR/seed-facts.json`, `OUT_DIR/synthetic.json` and
//! `OUT_DIR/originators.json` (object id -> originating member).

use std::time::Instant;

use serde_json::{Map, Value, json};
use tandem_demo::{Originated, seed_facts, synthetic_history};

fn bundle(name: &str, objects: impl IntoIterator<Item = Value>) -> Value {
    let id = tandem_model::incident::deterministic_id("bundle", &format!("demo/export/{name}"));
    json!({"type": "bundle", "id": id, "objects": objects.into_iter().collect::<Vec<_>>()})
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "demo-export".into()));
    let count: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(tandem_demo::DEFAULT_COUNT);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    std::fs::create_dir_all(&dir)?;

    let mut originators = Map::new();
    let mut record = |objs: &[Originated]| {
        for o in objs {
            originators.insert(o.object["id"].as_str().unwrap_or_default().to_string(), json!(o.originator));
        }
    };
    let mut defs = tandem_model::incident::published_extension_definitions();
    defs.extend(tandem_demo::markings::releasability_markings());
    let seed_objs = seed_facts();
    let started = Instant::now();
    let synth = synthetic_history(seed, count);
    let elapsed = started.elapsed();
    record(&seed_objs);
    record(&synth);
    let write =
        |name: &str, v: &Value| std::fs::write(dir.join(name), serde_json::to_vec_pretty(v).unwrap_or_default());
    write("definitions.json", &bundle("definitions", defs))?;
    write(
        "seed-facts.json",
        &bundle("seed", seed_objs.into_iter().map(|o| o.object).filter(|o| o["type"] != "marking-definition")),
    )?;
    write(
        "synthetic.json",
        &bundle("synthetic", synth.iter().map(|o| o.object.clone()).filter(|o| o["type"] != "marking-definition")),
    )?;
    write("originators.json", &Value::Object(originators))?;
    eprintln!("generated {count} synthetic incidents ({} objects) in {elapsed:.2?}", synth.len());
    Ok(())
}
