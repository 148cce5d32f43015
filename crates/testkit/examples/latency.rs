//! Latency of federation: from a POST on USA to visibility on SYR, two hops away
//! (USA - IRQ - SYR, notifications on, polling every 15 s as the fallback only), and with
//! `--alerts` from a POST to the watch-zone alert it raises: on the node it was posted to, and on
//! SYR two hops away (the alert stored by SYR's alerter, which reads what replication stored).
//!
//! `cargo run --release -p tandem-testkit --example latency [-- N] [--alerts]` prints the median
//! and p99 over N objects (default 200).

use std::time::{Duration, Instant};

use serde_json::json;
use tandem_store::ObjectStore;
use tandem_testkit::sandbox::SandboxBuilder;

use tandem_testkit::fixtures::GREEN;

#[derive(clap::Parser)]
#[command(about = "Latency of federation over two hops")]
struct Args {
    /// How many objects to time.
    #[arg(default_value_t = 200)]
    n: usize,
    /// Time POST-to-alert (locally and two hops away) instead of POST-to-visible.
    #[arg(long)]
    alerts: bool,
    /// With --alerts: this many more zones on each node (radii of 1-5 km around random
    /// gazetteer places, owned by other users), so the alerter evaluates against them.
    #[arg(long, default_value_t = 0)]
    zones: usize,
    /// With --alerts: this many live-stream clients connected to SYR over HTTP while timing.
    #[arg(long, default_value_t = 0)]
    clients: usize,
}

/// A GREEN incident in Deir ez-Zor governorate (matched by the SY-DY zone).
fn incident(i: usize) -> serde_json::Value {
    use tandem_model::incident::*;
    let ext = IncidentExt {
        fatalities: Some(Count::exact(1)),
        ..IncidentExt::new(
            "Explosions/Remote violence",
            "Remote explosive/landmine/IED",
            TimeWindow::day(Date::new(2025, 11, 20).expect("a date")),
            Place::admin("SY-DY"),
        )
    };
    let t = tandem_model::Timestamp::now().to_taxii();
    let mut obj = json!({"type": "incident", "spec_version": "2.1", "id": format!("incident--{}", uuid::Uuid::new_v4()),
        "created": t, "modified": t, "name": format!("latency probe {i}"), "object_marking_refs": [GREEN]});
    ext.attach(&mut obj);
    obj
}

/// Whether `store` holds an alert on incident `id` (a scan of every alert: checked once per
/// incident, after the timing, since with many zones it costs more than the alerter's pass).
fn alerted(store: &dyn tandem_store::Store, id: &str) -> anyhow::Result<bool> {
    Ok(store.list_meta(tandem_live::alerts::PREFIX)?.iter().any(|(_, a)| a["incident"] == id))
}

/// Whether `store`'s alerter has stored the alerts of everything after feed position `before`
/// (it moves its cursor only after committing them): one meta read.
fn alerter_past(store: &dyn tandem_store::Store, before: Option<tandem_model::Timestamp>) -> anyhow::Result<bool> {
    let cursor = store.get_meta(tandem_live::alerts::CURSOR_KEY)?;
    let cursor = cursor.as_ref().and_then(|v| v.as_str()).and_then(|s| tandem_model::Timestamp::parse(s).ok());
    Ok(cursor.is_some_and(|c| before.is_none_or(|b| c > b)))
}

/// A governorate zone on SY-DY owned by `member`'s analyst.
fn watch(store: &dyn tandem_store::Store, member: &str) -> anyhow::Result<()> {
    let spec = tandem_live::zones::ZoneSpec {
        name: "Deir ez-Zor".into(),
        governorate: Some("SY-DY".into()),
        ..Default::default()
    };
    let zone = tandem_live::zones::new_zone(spec, "analyst", member, tandem_policy::Classification::Secret)
        .map_err(|e| anyhow::anyhow!(e))?;
    anyhow::ensure!(tandem_live::zones::create(store, &zone)?, "zone not created");
    Ok(())
}

fn report(what: &str, n: usize, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).saturating_sub(1).min(samples.len() - 1)];
    println!(
        "{what}, {n} objects: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
}

/// `n` radius zones around random gazetteer places, owned by `member`'s other users.
fn more_zones(store: &dyn tandem_store::Store, member: &str, n: usize) -> anyhow::Result<()> {
    use rand::{Rng, SeedableRng};
    let places = tandem_geo::Gazetteer::embedded().places();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for i in 0..n {
        let p = &places[rng.gen_range(0..places.len())];
        let spec = tandem_live::zones::ZoneSpec {
            name: format!("z{i}"),
            point: Some([p.lat, p.lon]),
            radius_km: Some(rng.gen_range(1.0..5.0)),
            ..Default::default()
        };
        let zone = tandem_live::zones::new_zone(
            spec,
            &format!("user{}", i % 50),
            member,
            tandem_policy::Classification::Secret,
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        tandem_live::zones::create(store, &zone)?;
    }
    Ok(())
}

/// `n` stream clients on `member`'s node, reading and discarding; they stop with the process.
async fn stream_clients(sb: &tandem_testkit::sandbox::Sandbox, member: &str, n: usize) -> anyhow::Result<()> {
    // Over TLS when the sandbox serves it (it does by default), as an analyst's browser would.
    let url = sb.url(member, "/api/tandem/stream/")?;
    let http = sb.http().clone();
    for _ in 0..n {
        let mut resp = http
            .get(&url)
            .basic_auth("analyst", Some(tandem_testkit::sandbox::PASSWORD))
            .send()
            .await?
            .error_for_status()?;
        tokio::spawn(async move { while let Ok(Some(_)) = resp.chunk().await {} });
    }
    Ok(())
}

async fn alert_latency(
    sb: &tandem_testkit::sandbox::Sandbox,
    n: usize,
    zones: usize,
    clients: usize,
) -> anyhow::Result<()> {
    for m in ["USA", "SYR"] {
        watch(&*sb.store(m)?, m)?;
        more_zones(&*sb.store(m)?, m, zones)?;
    }
    stream_clients(sb, "SYR", clients).await?;
    println!("{zones} more zones on USA and SYR, {clients} stream clients on SYR");
    // Let the alerters take in the new zones.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mut local, mut far) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let obj = incident(i);
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        let (usa, syr) = (sb.store("USA")?, sb.store("SYR")?);
        // Nothing but this incident enters either feed meanwhile, so an alerter past the
        // position before the POST has stored its alerts (checked below, untimed).
        let (usa_before, syr_before) = (usa.feed_position()?, syr.feed_position()?);
        let start = Instant::now();
        sb.post("USA", vec![obj]).await?;
        let (mut at_usa, mut at_syr) = (None, None);
        while start.elapsed() < Duration::from_secs(20) && (at_usa.is_none() || at_syr.is_none()) {
            if at_usa.is_none() && alerter_past(&*usa, usa_before)? {
                at_usa = Some(start.elapsed());
            }
            if at_syr.is_none() && syr.feed_position()? != syr_before && alerter_past(&*syr, syr_before)? {
                at_syr = Some(start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        anyhow::ensure!(at_usa.is_some() && alerted(&*usa, &id)?, "incident {i} raised no alert on USA");
        anyhow::ensure!(at_syr.is_some() && alerted(&*syr, &id)?, "incident {i} raised no alert on SYR");
        local.extend(at_usa);
        far.extend(at_syr);
    }
    report("POST on USA -> alert stored on USA (local)", n, local);
    report("POST on USA -> alert stored on SYR (2 hops)", n, far);
    Ok(())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let Args { n, alerts, zones, clients } = clap::Parser::parse();
    let sb = SandboxBuilder::new()
        .node("USA")
        .node("IRQ")
        .node("SYR")
        .link("USA", "IRQ")
        .link("IRQ", "SYR")
        // The stream clients stand for analysts at separate machines, all on loopback here:
        // the per-address cap (64, a defence against one host taking every slot) would
        // refuse most of them.
        .tune(|node| node.max_connections_per_address = node.max_connections)
        .build()
        .await?;
    if alerts {
        alert_latency(&sb, n, zones, clients).await?;
        sb.shutdown().await;
        return Ok(());
    }
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
    report("POST on USA -> visible on SYR (2 hops)", n, samples);
    sb.shutdown().await;
    Ok(())
}
