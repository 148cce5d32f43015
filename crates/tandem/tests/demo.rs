//! `tandem demo` as a newcomer runs it: the terminal carries the narrative and nothing else (the
//! nodes' logs go to a file in the demo directory, which the narrative names), and every command
//! the narrative suggests works pasted verbatim into a shell against the running demo.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Loading, replicating and replaying the join with a small data set; generous for a loaded
/// machine (the demo itself waits for replication to settle twice).
const WAIT: Duration = Duration::from_secs(180);

/// A base port whose seven successors are free right now (the demo takes eight in a row), below
/// the ephemeral range (32768 and up on Linux): there, the other tests' outgoing connections
/// can take one of the eight between this check and the demo's bind (it happened in a full run:
/// the demo stopped after binding four nodes).
fn eight_free_ports() -> u16 {
    loop {
        let base = 20_000 + (uuid::Uuid::new_v4().as_u128() % 12_000) as u16;
        if (0..8).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
}

/// A line a `tracing` formatter wrote (`2026-01-01T00:00:00.000000Z  INFO target: ...`).
fn is_log_line(line: &str) -> bool {
    [" TRACE ", " DEBUG ", " INFO ", " WARN ", " ERROR "].iter().any(|l| line.contains(l))
}

#[test]
fn demo_shows_only_its_narrative_and_its_commands_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = eight_free_ports();
    // No RUST_LOG: the default level (info) is what a newcomer gets.
    let mut child = Proc(
        Command::new(bin())
            .args(["demo", "--synthetic", "200", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--dir")
            .arg(dir.path())
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn demo"),
    );
    let (tx, rx) = mpsc::channel();
    let stdout = child.0.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let stderr = child.0.stderr.take().expect("stderr");
    let errors = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            lines.push(line);
        }
        lines
    });
    // The narrative ends with the log file's line; the demo then serves until stopped.
    let start = Instant::now();
    let mut narrative = Vec::new();
    loop {
        let left = WAIT.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let last = line.trim_start().starts_with("logs:");
                narrative.push(line);
                if last {
                    break;
                }
            }
            Err(e) => panic!("the demo's narrative did not end ({e}): {narrative:#?}"),
        }
    }
    let text = narrative.join("\n");
    // The web UI's addresses come first, Syria's node first among them, and each serves the UI.
    assert!(narrative[0].starts_with("web UI"), "{text}");
    assert!(narrative[1].trim_start().starts_with("SYR ") && narrative[1].contains("/ui/"), "{text}");
    let uis: Vec<(&str, &str)> = narrative
        .iter()
        .take_while(|l| !l.starts_with("logs of every demo node"))
        .filter_map(|l| {
            let member = l.split_whitespace().next()?;
            Some((member, l.split_whitespace().find(|w| w.ends_with("/ui/"))?))
        })
        .collect();
    assert!(uis.len() >= 2, "{text}");
    for (member, ui) in &uis {
        assert!(ui.starts_with("https://"), "the demo serves TLS: {ui}");
        // Each node's web certificate is self-signed: trusted here by its file.
        let pem = std::fs::read(dir.path().join(member.to_lowercase()).join("tls-web.crt"))
            .expect("the node's web certificate");
        let client = reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("a PEM certificate"))
            .build()
            .expect("a client");
        let r = client.get(*ui).send().expect("the UI answers");
        assert_eq!(r.status(), 200, "{ui}");
        assert!(r.headers()["content-type"].to_str().unwrap_or("").starts_with("text/html"), "{ui}");
    }
    assert!(!narrative.iter().any(|l| is_log_line(l)), "log lines on the terminal:\n{text}");
    assert!(text.contains("replay: Syria joins the coalition on 13 November 2025"), "{text}");
    let log = dir.path().join("demo.log");
    assert!(text.contains(&format!("logs: {}", log.display())), "the narrative names the log file:\n{text}");
    let logged = std::fs::read_to_string(&log).expect("the log file exists");
    assert!(logged.lines().any(|l| l.contains(" INFO ") && l.contains("tandem node listening")), "{logged}");

    // Every suggested command, pasted verbatim into a shell, answers with what it promises.
    let commands: Vec<&str> = narrative.iter().filter_map(|l| l.find("curl ").map(|at| &l[at..])).collect();
    assert_eq!(commands.len(), 3, "{text}");
    for command in &commands {
        let out = Command::new("sh").args(["-c", command]).output().expect("run sh");
        let body = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{command}: {}", String::from_utf8_lossy(&out.stderr));
        let json: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{command}: {e}: {body}"));
        assert!(json.get("http_status").is_none(), "{command}: an error: {json}");
        let key = ["objects", "places", "peers"].into_iter().find(|k| command.contains(k)).expect("a known command");
        assert!(json[key].as_array().is_some_and(|a| !a.is_empty()), "{command}: no {key}: {json}");
    }
    drop(child);
    let stderr = errors.join().expect("stderr reader");
    assert!(!stderr.iter().any(|l| is_log_line(l)), "log lines on the terminal (stderr):\n{}", stderr.join("\n"));
}
