//! `tandem tail`: follows a node's live stream in a terminal, one line per event (`--json`:
//! the event as one JSON object), reconnecting from its last event id when the connection
//! drops, so nothing is missed and nothing repeats.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};

use crate::config::Config;

#[derive(Args)]
pub struct TailArgs {
    /// The node's config (its listen address is the URL), or give --url.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The node's base URL, e.g. https://127.0.0.1:8480/.
    #[arg(long)]
    url: Option<String>,
    /// With an https --url: the node's certificate file (trusted by the node key it carries;
    /// with --config, the node's own `tls_cert` is used).
    #[arg(long)]
    node_cert: Option<PathBuf>,
    #[arg(long)]
    user: String,
    /// Read from TANDEM_PASSWORD when omitted.
    #[arg(long)]
    password: Option<String>,
    /// Start after this event id (default: only what is new).
    #[arg(long)]
    after: Option<String>,
    /// Filters, as the stream takes them (repeatable): type, event_type, sub_event_type, cell,
    /// admin1, zone.
    #[arg(long = "type")]
    types: Vec<String>,
    #[arg(long = "event-type")]
    event_types: Vec<String>,
    #[arg(long = "admin1")]
    admin1: Vec<String>,
    #[arg(long = "cell")]
    cells: Vec<String>,
    #[arg(long = "zone")]
    zones: Vec<String>,
    /// Print each event as one JSON object.
    #[arg(long)]
    json: bool,
    /// Stop after this many events (for scripts).
    #[arg(long)]
    count: Option<usize>,
}

fn line(event: &str, id: &str, data: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    match event {
        "alert" => format!(
            "{:<27} alert      {} {} {} ({})",
            "",
            s(&data["match"]),
            s(&data["incident"]),
            s(&data["name"]),
            s(&data["zone_name"])
        ),
        "deletion" => format!("{id} deletion   {} {}", s(&data["id"]), s(&data["version"])),
        "reset" => format!("{id} reset      {}", s(&data["reason"])),
        other => format!("{id} {other:<10} {} {}", s(&data["id"]), s(&data["object"]["name"])),
    }
}

pub fn run(args: &TailArgs) -> anyhow::Result<ExitCode> {
    // A node's certificate is self-signed with its node key: trust that key, no CA.
    let (base, cert) = match (&args.url, &args.config) {
        (Some(u), _) => (u.trim_end_matches('/').to_string(), args.node_cert.clone()),
        (None, Some(c)) => {
            let config = Config::load(c)?;
            let scheme = if config.node.tls_cert.is_some() { "https" } else { "http" };
            (format!("{scheme}://{}", config.node.listen), config.node.tls_cert.clone())
        }
        (None, None) => anyhow::bail!("give --config or --url"),
    };
    let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(5));
    if let Some(path) = cert {
        let key = tandem_tls::certificate_key(&path)?;
        builder =
            builder.use_preconfigured_tls(tandem_tls::client_config(None, tandem_tls::verify::accept_keys(vec![key]))?);
    }
    let client = builder.build()?;
    let password = args
        .password
        .clone()
        .or_else(|| std::env::var("TANDEM_PASSWORD").ok())
        .context("give --password or set TANDEM_PASSWORD")?;
    let mut query: Vec<(&str, String)> = Vec::new();
    for (k, vs) in [
        ("type", &args.types),
        ("event_type", &args.event_types),
        ("admin1", &args.admin1),
        ("cell", &args.cells),
        ("zone", &args.zones),
    ] {
        query.extend(vs.iter().map(|v| (k, v.clone())));
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(follow(args, &client, &base, &password, &query))
}

async fn follow(
    args: &TailArgs,
    client: &reqwest::Client,
    base: &str,
    password: &str,
    query: &[(&str, String)],
) -> anyhow::Result<ExitCode> {
    let mut last = args.after.clone();
    let mut printed = 0usize;
    loop {
        let mut req =
            client.get(format!("{base}/api/tandem/stream/")).basic_auth(&args.user, Some(password)).query(query);
        if let Some(id) = &last {
            req = req.header("Last-Event-ID", id);
        }
        let mut resp = match req.send().await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) if r.status().is_client_error() => anyhow::bail!("the node refused the stream: {}", r.status()),
            Ok(r) => {
                eprintln!("stream: {}, retrying", r.status());
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
            Err(e) => {
                eprintln!("stream: {e}, retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        let mut buf = String::new();
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) | Err(_) => break,
            };
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for l in block.lines() {
                    if let Some(v) = l.strip_prefix("id:") {
                        id = v.trim_start().to_string();
                    } else if let Some(v) = l.strip_prefix("event:") {
                        event = v.trim_start().to_string();
                    } else if let Some(v) = l.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if event.is_empty() {
                    continue; // a heartbeat
                }
                let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                if args.json {
                    println!("{}", json!({"id": id, "event": event, "data": data}));
                } else {
                    println!("{}", line(&event, &id, &data));
                }
                if !id.is_empty() {
                    last = Some(id);
                }
                printed += 1;
                if args.count.is_some_and(|n| printed >= n) {
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
        eprintln!("stream closed, resuming after {}", last.as_deref().unwrap_or("the start"));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
