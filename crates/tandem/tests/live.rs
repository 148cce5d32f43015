//! The live stream of the real binary: resume after a disconnect and after a node restart
//! (nothing lost, nothing twice), and a write by another process (`tandem marking create`)
//! reaching a connected stream.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const EPOCH: &str = "1970-01-01T00:00:00.000000Z";

type Node = ServedNode;

/// USA's node with IRQ in its roster, a user of each.
fn usa_irq_node() -> Node {
    ServedNode::new(|port| {
        NodeToml::new("USA", port)
            .member("USA")
            .member("IRQ")
            .user("usa", "USA", "dev-only")
            .user("irq", "IRQ", "dev-only")
    })
}

impl Node {
    fn post(&self, n: u32, markings: &[&str]) {
        let obj = json!({"type": "incident", "spec_version": "2.1",
            "id": format!("incident--7a1c9a2e-1d3b-4c55-8e6f-{n:012}"),
            "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
            "name": format!("incident {n}"), "object_marking_refs": markings});
        let r = reqwest::blocking::Client::new()
            .post(self.url("/api/collections/intel/objects/"))
            .basic_auth("usa", Some("dev-only"))
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .body(json!({ "objects": [obj] }).to_string())
            .send()
            .expect("post");
        assert_eq!(r.status().as_u16(), 202);
    }

    /// Opens the stream as `user`, resuming after `last` (a `Last-Event-ID`).
    fn stream(&self, user: &str, last: &str) -> Events {
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        let r = client
            .get(self.url("/api/tandem/stream/"))
            .basic_auth(user, Some("dev-only"))
            .header("Last-Event-ID", last)
            .send()
            .expect("stream");
        assert_eq!(r.status().as_u16(), 200);
        Events(BufReader::new(r))
    }
}

/// The events of one connection (the client's 60 s timeout bounds every wait).
struct Events(BufReader<reqwest::blocking::Response>);

impl Events {
    /// The next event: (id, event name, data).
    fn next(&mut self) -> (String, String, Value) {
        let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
        loop {
            let mut line = String::new();
            let n = self.0.read_line(&mut line).expect("read the stream");
            assert!(n > 0, "the stream ended");
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !event.is_empty() {
                    return (id, event, serde_json::from_str(&data).expect("event data"));
                }
                continue;
            }
            if let Some(v) = line.strip_prefix("id:") {
                id = v.trim_start().to_string();
            } else if let Some(v) = line.strip_prefix("event:") {
                event = v.trim_start().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
    }

    fn names(&mut self, n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|_| {
                let (id, _, data) = self.next();
                (id, data["object"]["name"].as_str().unwrap_or_default().to_string())
            })
            .collect()
    }
}

#[test]
fn the_stream_resumes_exactly_after_a_disconnect_and_a_restart() {
    let mut node = usa_irq_node();
    node.start();
    for n in 1..=3 {
        node.post(n, &[GREEN]);
    }
    node.post(90, &["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]); // AMBER: USA only
    let mut s = node.stream("irq", EPOCH);
    let first = s.names(2);
    assert_eq!(first.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(), ["incident 1", "incident 2"]);
    drop(s); // disconnect

    let mut s = node.stream("irq", &first[1].0);
    assert_eq!(s.names(1)[0].1, "incident 3");
    node.post(4, &[GREEN]);
    let fourth = s.names(1);
    assert_eq!(fourth[0].1, "incident 4", "the AMBER incident is not IRQ's to see");
    drop(s);

    // Another process writes while the node serves: the stream notices it without a signal.
    let mut s = node.stream("irq", &fourth[0].0);
    let out = Command::new(bin())
        .args(["marking", "create", "--config", node.config.to_str().unwrap_or_default(), "--rel-to", "IRQ"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("marking create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (marking_pos, kind, data) = s.next();
    assert_eq!((kind.as_str(), data["type"].as_str()), ("version", Some("marking-definition")));
    drop(s);

    node.stop();
    node.start();
    node.post(5, &[GREEN]);
    // After the restart, from the 1st event: everything after it, once, in order.
    let mut s = node.stream("irq", &first[0].0);
    let mut seen: Vec<String> = s.names(3).into_iter().map(|(_, n)| n).collect();
    let (pos, _, data) = s.next();
    assert_eq!((pos.as_str(), data["type"].as_str()), (marking_pos.as_str(), Some("marking-definition")));
    seen.extend(s.names(1).into_iter().map(|(_, n)| n));
    assert_eq!(seen, ["incident 2", "incident 3", "incident 4", "incident 5"]);
}

fn incident_in(n: u32, admin1: &str) -> Value {
    let id = format!("incident--7a1c9a2e-1d3b-4c55-8e6f-{n:012}");
    tandem_testkit::fixtures::incident_in(&id, &format!("incident {n}"), admin1, 3)
}

impl Node {
    fn post_object(&self, obj: Value) {
        let r = reqwest::blocking::Client::new()
            .post(self.url("/api/collections/intel/objects/"))
            .basic_auth("usa", Some("dev-only"))
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .body(json!({ "objects": [obj] }).to_string())
            .send()
            .expect("post");
        assert_eq!(r.status().as_u16(), 202);
    }

    fn alerts(&self, user: &str) -> Vec<Value> {
        let r = reqwest::blocking::Client::new()
            .get(self.url("/api/tandem/alerts/"))
            .basic_auth(user, Some("dev-only"))
            .send()
            .expect("alerts");
        let v: Value = r.json().expect("alerts json");
        v["alerts"].as_array().cloned().unwrap_or_default()
    }

    fn alerts_eventually(&self, user: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let a = self.alerts(user);
            if a.len() >= n || Instant::now() > deadline {
                return a;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn a_zone_added_by_the_cli_alerts_once_across_a_restart_and_tail_shows_it() {
    let mut node = usa_irq_node();
    node.start();
    let cfg = node.config.to_str().unwrap_or_default().to_string();
    let out = Command::new(bin())
        .args(["watch", "add", "--config", &cfg, "--user", "irq", "--name", "Deir ez-Zor", "--governorate", "SY-DY"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("watch add");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let zone = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(zone.starts_with("zone--"));
    // A zone with the near-repeat rule (nothing happens in Nineveh here): listed with its rule.
    let out = Command::new(bin())
        .args(["watch", "add", "--config", &cfg, "--user", "usa", "--name", "Nineveh", "--governorate", "IQ-NI"])
        .args(["--near-repeat", "--near-repeat-km", "2"])
        .output()
        .expect("watch add");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(bin()).args(["watch", "list", "--config", &cfg]).output().expect("watch list");
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(listed.contains("governorate+nr(2km,48h)"), "{listed}");
    node.post_object(incident_in(1, "SY-DY"));
    node.post_object(incident_in(2, "SY-HM"));
    let a = node.alerts_eventually("irq", 1);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(
        (a[0]["zone"].as_str(), a[0]["incident_object"]["name"].as_str()),
        (Some(zone.as_str()), Some("incident 1"))
    );
    assert!(node.alerts("usa").is_empty(), "alerts are their owner's");

    node.stop();
    node.start();
    node.post_object(incident_in(3, "SY-DY"));
    let a = node.alerts_eventually("irq", 2);
    let names: Vec<&str> = a.iter().filter_map(|x| x["incident_object"]["name"].as_str()).collect();
    assert_eq!(names, ["incident 1", "incident 3"], "one alert per incident version, across a restart");

    // `tandem tail` replays the stream: each alert before its incident.
    let out = Command::new(bin())
        .args(["tail", "--url", &node.url("/"), "--user", "irq", "--password", "dev-only", "--after", EPOCH])
        .args(["--type", "incident", "--json", "--count", "5"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("tail");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds, ["alert", "version", "version", "alert", "version"], "{events:?}");
    let (s, _) = {
        let out = Command::new(bin())
            .args(["watch", "remove", "--config", &cfg, "--user", "usa", &zone])
            .output()
            .expect("remove");
        (out.status.success(), ())
    };
    assert!(!s, "another user cannot remove the zone");
    let out = Command::new(bin())
        .args(["watch", "remove", "--config", &cfg, "--user", "irq", &zone])
        .output()
        .expect("remove");
    assert!(out.status.success());
}
