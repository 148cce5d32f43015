//! Shared by the federation examples: a byte-counting TCP proxy put in front of a node, `REL TO`
//! marking-definitions, process CPU time from `/proc/self/stat`, and a tiny argument parser.

#![allow(dead_code)]

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tandem_policy::marking::RELEASABILITY_EXTENSION_ID;
use tokio::net::{TcpListener, TcpStream};

/// Bytes through one proxy: `up` from the pulling node (requests), `down` from the served node
/// (responses), and connections accepted. Everything on the wire, HTTP headers included.
#[derive(Default)]
pub struct Counter {
    pub up: AtomicU64,
    pub down: AtomicU64,
    pub connections: AtomicU64,
}

impl Counter {
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (self.up.load(Ordering::Relaxed), self.down.load(Ordering::Relaxed), self.connections.load(Ordering::Relaxed))
    }
}

/// Starts a proxy on a fresh loopback port that forwards every connection to `target`, counting
/// bytes both ways; returns its address.
pub async fn counting_proxy(target: SocketAddr, counter: Arc<Counter>) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else { continue };
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else { return };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                counter.connections.fetch_add(1, Ordering::Relaxed);
                // Either side closing ends the connection (HTTP/1.1 keep-alive: the client closes
                // idle connections; a half-close is never needed here).
                tokio::select! {
                    _ = pump(&client, &server, &counter.up) => {}
                    _ = pump(&server, &client, &counter.down) => {}
                }
            });
        }
    });
    Ok(addr)
}

async fn pump(from: &TcpStream, to: &TcpStream, counter: &AtomicU64) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        from.readable().await?;
        let n = match from.try_read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        counter.fetch_add(n as u64, Ordering::Relaxed);
        let mut off = 0;
        while off < n {
            to.writable().await?;
            match to.try_write(&buf[off..n]) {
                Ok(k) => off += k,
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// The id of a `REL TO <codes>` marking-definition.
pub fn rel_id(codes: &[String]) -> String {
    let u = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, codes.join("-").as_bytes());
    format!("marking-definition--{u}")
}

/// A `REL TO <codes>` marking-definition (Tandem's releasability extension).
pub fn rel(codes: &[String]) -> Value {
    json!({
        "type": "marking-definition", "spec_version": "2.1", "id": rel_id(codes),
        "created": "2025-11-13T00:00:00.000Z", "name": format!("REL TO {}", codes.join(", ")),
        "extensions": {RELEASABILITY_EXTENSION_ID: {"extension_type": "property-extension", "rel_to": codes}}
    })
}

/// User + system CPU seconds this process has used (`/proc/self/stat`).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name: state is the first, utime the 12th, stime the 13th.
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / clock_ticks()
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// `--name value` from the command line, parsed.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: cannot parse {v:?}")))
        .unwrap_or(default)
}

/// Whether `--name` is on the command line.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

pub fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{b} B")
    }
}
