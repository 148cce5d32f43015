//! Idle CPU of federation: three nodes in one process (USA - IRQ - SYR over real loopback HTTP,
//! notifications on), no writes, for `--secs` seconds (default 60). Prints the process CPU time
//! (user + system from `/proc/self/stat`) consumed over that window, which covers all three
//! nodes' servers, pullers, notification senders and peer-list refreshers.
//!
//! `cargo run --release -p tandem-testkit --example idle [-- --secs 60 --poll-secs 15]`
//!
//! `--poll-secs` is the pullers' fallback polling interval (the sandbox default is 15 s). The
//! sandbox re-reads each node's stored peer list every 300 ms (`tandem serve`: every 5 s), so this
//! is a pessimistic figure for a served node.

mod support;

use std::time::{Duration, Instant};

use tandem_testkit::sandbox::SandboxBuilder;

#[derive(clap::Parser)]
#[command(about = "Idle CPU of three federated nodes")]
struct Args {
    /// The measured window, in seconds.
    #[arg(long, default_value_t = 60)]
    secs: u64,
    /// The pullers' fallback polling interval, in seconds.
    #[arg(long, default_value_t = 15)]
    poll_secs: u64,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let Args { secs, poll_secs: poll } = clap::Parser::parse();
    let sb = SandboxBuilder::new()
        .node("USA")
        .node("IRQ")
        .node("SYR")
        .link("USA", "IRQ")
        .link("IRQ", "SYR")
        .poll_interval(Duration::from_secs(poll))
        .build()
        .await?;
    // Let the start-up passes (discovery, first empty pulls, "I am back" notifications) finish.
    let connected = sb
        .wait_for(Duration::from_secs(20), |s| {
            s.members().iter().all(|m| {
                s.federation(m).is_ok_and(|f| f.statuses().iter().all(|st| st.last_success.is_some() && st.errors == 0))
            })
        })
        .await;
    anyhow::ensure!(connected, "the three nodes did not connect");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, t0) = (support::cpu_seconds(), Instant::now());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (cpu1, wall) = (support::cpu_seconds(), t0.elapsed().as_secs_f64());
    let passes: Vec<String> = sb
        .members()
        .iter()
        .flat_map(|m| {
            let m = m.clone();
            sb.federation(&m)
                .map(|f| f.statuses())
                .unwrap_or_default()
                .into_iter()
                .map(move |st| format!("{m}<-{} errors {} received {}", st.member, st.errors, st.received))
        })
        .collect();
    let used = cpu1 - cpu0;
    println!(
        "idle: 3 nodes (USA - IRQ - SYR), poll every {poll} s, {wall:.1} s wall: {used:.3} s CPU \
         (user+system, whole process) = {:.3}% of one core",
        used / wall * 100.0
    );
    println!("peers: {}", passes.join("; "));
    sb.shutdown().await;
    Ok(())
}
