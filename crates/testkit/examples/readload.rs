//! A closed-loop HTTP read load for `bench/perf.py` (issue 18's report): `--concurrency` workers,
//! each with its own keep-alive connection, send GET requests taken round-robin from a file of
//! request paths for `--secs` seconds, and one JSON line reports what they got: requests,
//! throughput, latency percentiles, objects delivered (counted as occurrences of
//! `"spec_version":` in the bodies, one per STIX object) and bytes. With `--base` given several
//! times (processes serving one node on one database), each worker keeps a connection to every
//! one and sends its requests to them in turn, starting at a different one per worker.
//!
//! Written in Rust rather than Python because 64 concurrent Python threads measure the GIL, not
//! the node. It shares the node's two cores, so `bench/perf.py` reports its CPU beside the
//! server's.
//!
//! `cargo run --release -p tandem-testkit --example readload -- --base http://127.0.0.1:PORT \
//!    --user usa --password ... --paths paths.txt --concurrency 8 --secs 3`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

#[derive(clap::Parser)]
#[command(about = "Closed-loop GET load against a node; prints one JSON line")]
struct Args {
    /// The node's base address, e.g. http://127.0.0.1:8080; repeated for several processes.
    #[arg(long, required = true)]
    base: Vec<String>,
    #[arg(long)]
    user: String,
    #[arg(long)]
    password: String,
    /// A file of request paths (with query), one per line, used round-robin.
    #[arg(long)]
    paths: std::path::PathBuf,
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    #[arg(long, default_value_t = 3.0)]
    secs: f64,
    /// Requests sent per worker before the clock starts (connections opened, caches warm).
    #[arg(long, default_value_t = 2)]
    warmup: usize,
}

struct Sample {
    micros: Vec<u64>,
    objects: u64,
    bytes: u64,
    errors: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Args = clap::Parser::parse();
    let text = std::fs::read_to_string(&args.paths).with_context(|| format!("reading {}", args.paths.display()))?;
    let paths: Arc<Vec<String>> = Arc::new(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect());
    if paths.is_empty() {
        bail!("{} holds no request paths", args.paths.display());
    }
    let next = Arc::new(AtomicUsize::new(0));
    let duration = Duration::from_secs_f64(args.secs);
    let start_barrier = Arc::new(tokio::sync::Barrier::new(args.concurrency + 1));
    let mut workers = Vec::new();
    for worker in 0..args.concurrency {
        let (paths, next, barrier) = (paths.clone(), next.clone(), start_barrier.clone());
        let (bases, user, password, warmup) =
            (args.base.clone(), args.user.clone(), args.password.clone(), args.warmup);
        workers.push(tokio::spawn(async move {
            // One client per worker: one keep-alive connection to each process, as separate
            // analysts behind a round-robin load balancer would have.
            let client = reqwest::Client::builder().pool_max_idle_per_host(1).build()?;
            let mut turn = worker;
            let mut base = || {
                turn += 1;
                bases[(turn - 1) % bases.len()].clone()
            };
            let get = |base: String, path: &str| {
                client
                    .get(format!("{base}{path}"))
                    .basic_auth(&user, Some(&password))
                    .header("Accept", "application/taxii+json;version=2.1")
                    .send()
            };
            for i in 0..warmup {
                let r = get(base(), &paths[i % paths.len()]).await?;
                r.bytes().await?;
            }
            barrier.wait().await;
            let started = Instant::now();
            let mut s = Sample { micros: Vec::new(), objects: 0, bytes: 0, errors: 0 };
            while started.elapsed() < duration {
                let path = &paths[next.fetch_add(1, Ordering::Relaxed) % paths.len()];
                let t0 = Instant::now();
                let outcome = match get(base(), path).await {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        match r.bytes().await {
                            Ok(body) if ok => Some(body),
                            _ => None,
                        }
                    }
                    Err(_) => None,
                };
                s.micros.push(t0.elapsed().as_micros() as u64);
                match outcome {
                    Some(body) => {
                        s.bytes += body.len() as u64;
                        s.objects += count(&body, b"\"spec_version\":") as u64;
                    }
                    None => s.errors += 1,
                }
            }
            anyhow::Ok(s)
        }));
    }
    start_barrier.wait().await;
    let t0 = Instant::now();
    let mut all = Sample { micros: Vec::new(), objects: 0, bytes: 0, errors: 0 };
    for w in workers {
        let s = w.await??;
        all.micros.extend(s.micros);
        all.objects += s.objects;
        all.bytes += s.bytes;
        all.errors += s.errors;
    }
    let secs = t0.elapsed().as_secs_f64();
    all.micros.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.micros.is_empty() {
            return 0.0;
        }
        let i = ((all.micros.len() as f64 * p).ceil() as usize).clamp(1, all.micros.len()) - 1;
        all.micros[i] as f64 / 1000.0
    };
    let n = all.micros.len();
    println!(
        "{}",
        serde_json::json!({
            "concurrency": args.concurrency, "requests": n, "errors": all.errors, "secs": secs,
            "rps": n as f64 / secs, "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0),
            "objects": all.objects, "objects_per_s": all.objects as f64 / secs, "bytes": all.bytes,
        })
    );
    Ok(())
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}
