//! Latency of federation: from a POST on USA to visibility on SYR, two hops away
//! (USA - IRQ - SYR, notifications on, polling every 15 s as the fallback only).
//!
//! `cargo run --release -p tandem-testkit --example latency [-- N]` prints the median and p99 over N
//! objects (default 200).

use std::time::{Duration, Instant};

use serde_json::json;
use tandem_testkit::sandbox::SandboxBuilder;

use tandem_testkit::fixtures::GREEN;

#[derive(clap::Parser)]
#[command(about = "Latency of federation over two hops")]
struct Args {
    /// How many objects to time.
    #[arg(default_value_t = 200)]
    n: usize,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let Args { n } = clap::Parser::parse();
    let sb =
        SandboxBuilder::new().node("USA").node("IRQ").node("SYR").link("USA", "IRQ").link("IRQ", "SYR").build().await?;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("indicator--{}", uuid::Uuid::new_v4());
        let t = tandem_model::Timestamp::now().to_taxii();
        let obj = json!({
            "type": "indicator", "spec_version": "2.1", "id": id, "created": t, "modified": t,
            "name": format!("latency probe {i}"), "pattern": "[ipv4-addr:value = '10.0.0.1']",
            "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z", "object_marking_refs": [GREEN]
        });
        let version = tandem_model::Timestamp::parse(&t)?.to_taxii();
        let start = Instant::now();
        sb.post("USA", vec![obj]).await?;
        let mut seen = false;
        while start.elapsed() < Duration::from_secs(20) {
            if sb.holds("SYR", &id, &version) {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        anyhow::ensure!(seen, "object {i} never reached SYR");
        samples.push(start.elapsed());
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).saturating_sub(1).min(samples.len() - 1)];
    println!(
        "POST on USA -> visible on SYR (2 hops), {n} objects: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
    sb.shutdown().await;
    Ok(())
}
