//! Backfill rate for a newly joined member: a source node (USA) holds `--objects` versions
//! (default 1,000,000) released to a new member (UKR): half TLP:GREEN, half `REL TO USA, UKR`,
//! each signed by USA as `tandem demo`'s loader does (store.put in batches of 5,000). Then UKR's
//! node is given USA as a peer (`tandem peer add`, i.e. the peer list in its store) and the
//! clock runs until UKR's node has pulled and stored every one of them over TAXII (every version
//! verified against USA's key; pages of up to `--page-size-max` to a syncing peer, default
//! 10,000 as `tandem serve` serves peers; the puller asks for that many once a page says
//! `more`). Prints objects/s and the bytes that crossed the wire (a counting proxy in front of
//! USA's node; HTTP headers included).
//!
//! `cargo run --release -p tandem-testkit --example backfill [-- --objects 1000000 --page-size-max 10000]`
//!
//! Target: 1,000,000 objects in under 60 s. The sandbox roster is fixed when it is built, so UKR
//! is on it from the start; "joining" here is the peering, which starts UKR's puller with an
//! empty cursor exactly as after a roster change (a new roster digest resets every cursor).

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use tandem_store::{Incoming, ObjectStore, PutOutcome};
use tandem_sync::client::PeerSpec;
use tandem_sync::signer::NodeSigner;
use tandem_testkit::sandbox::{PASSWORD, Sandbox, SandboxBuilder};

const SRC: &str = "USA";
const NEW: &str = "UKR";

#[derive(clap::Parser)]
#[command(about = "Backfill of a joining member from one peer, through a byte-counting proxy")]
struct Args {
    /// Versions USA holds before UKR joins.
    #[arg(long, default_value_t = 1_000_000)]
    objects: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// The most objects one page holds (to readers and peers alike).
    #[arg(long, default_value_t = 10_000)]
    page_size_max: usize,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let Args { objects: n, timeout_secs: timeout, page_size_max } = clap::Parser::parse();
    let sb = SandboxBuilder::new().node(SRC).node(NEW).page_size_max(page_size_max).build().await?;
    let rel_codes = vec![SRC.to_string(), NEW.to_string()];
    let rel_def = tandem_testkit::fixtures::rel(&rel_codes);
    let rel_ref = tandem_testkit::fixtures::rel_id(&rel_codes);

    // Load the source store directly, signed, in batches of 5,000.
    let store = sb.store(SRC)?;
    let signer = NodeSigner::new(SRC, sb.key(SRC)?);
    let collection = Sandbox::collection(SRC);
    let load_start = Instant::now();
    let loaded = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let base = tandem_model::Timestamp::now().as_micros() / 1000 * 1000 - 86_400_000_000;
        let mut stored = 0;
        let mut batch = Vec::with_capacity(5000);
        let mut flush = |batch: &mut Vec<Incoming>| -> anyhow::Result<()> {
            signer.sign_all(batch);
            for o in store.put(&collection, SRC, std::mem::take(batch))? {
                match o {
                    PutOutcome::Added { .. } => stored += 1,
                    other => anyhow::bail!("load: {other:?}"),
                }
            }
            Ok(())
        };
        let object = tandem_model::check_object(&rel_def).map_err(|v| anyhow::anyhow!("{v:?}"))?;
        batch.push(Incoming::new(object));
        for i in 0..n {
            let t = tandem_model::Timestamp::from_micros(base + i as i64 * 1000).to_taxii();
            let marking = if i % 2 == 0 { tandem_model::tlp::TLP2_GREEN } else { rel_ref.as_str() };
            let value = json!({
                "type": "indicator", "spec_version": "2.1", "id": format!("indicator--{}", uuid::Uuid::new_v4()),
                "created": t, "modified": t, "name": format!("backfill indicator {i}"),
                "description": "Observed near the checkpoint", "pattern": format!("[ipv4-addr:value = '10.{}.{}.{}']", i >> 16 & 255, i >> 8 & 255, i & 255),
                "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z", "object_marking_refs": [marking]
            });
            let object = tandem_model::check_object(&value).map_err(|v| anyhow::anyhow!("{v:?}"))?;
            batch.push(Incoming::new(object));
            if batch.len() == 5000 {
                flush(&mut batch)?;
            }
        }
        flush(&mut batch)?;
        Ok(stored)
    })
    .await??;
    let load_secs = load_start.elapsed().as_secs_f64();
    println!(
        "loaded {loaded} versions on {SRC} (incl. the REL TO marking) in {load_secs:.1} s ({:.0}/s)",
        loaded as f64 / load_secs
    );

    // UKR joins: it peers with USA through a byte-counting proxy.
    let proxy = tandem_testkit::LinkProxy::plain(sb.addr(SRC)?).await?;
    let cpu0 = support::cpu_seconds();
    let start = Instant::now();
    tandem_sync::peers::add(
        sb.store(NEW)?.as_ref(),
        &PeerSpec {
            member: SRC.into(),
            url: format!("{}://{}/taxii2/", sb.scheme(), proxy.addr()),
            username: Some(format!("sync-{NEW}")),
            password: Some(PASSWORD.into()),
            token: None,
        },
    )?;
    let fed = sb.federation(NEW)?;
    let mut last_report = Instant::now();
    let mut received = 0;
    while start.elapsed() < Duration::from_secs(timeout) {
        let st = fed.statuses();
        received = st.iter().map(|s| s.received).sum::<u64>() as usize;
        let rejected: u64 = st.iter().map(|s| s.rejected).sum();
        anyhow::ensure!(rejected == 0, "rejections: {:?}", st.iter().map(|s| &s.last_rejection).collect::<Vec<_>>());
        if received >= loaded {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("  {:.0} s: {received} / {loaded}", start.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = support::cpu_seconds() - cpu0;
    anyhow::ensure!(received >= loaded, "timed out after {secs:.0} s with {received} / {loaded}");
    let (up, down, conns) = proxy.stats().traffic();
    println!(
        "backfill: {NEW} pulled {received} versions from {SRC} in {secs:.1} s = {:.0} objects/s \
         (target 1,000,000 in < 60 s; page_size_max {page_size_max}); process CPU {cpu:.1} s ({:.2} cores)",
        received as f64 / secs,
        cpu / secs
    );
    println!(
        "bytes on the wire: {} responses + {} requests over {conns} connection(s) = {:.0} bytes/object",
        support::human_bytes(down),
        support::human_bytes(up),
        (up + down) as f64 / received as f64
    );
    sb.shutdown().await;
    Ok(())
}
