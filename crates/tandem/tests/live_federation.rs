//! Alerts across the coalition: three real `tandem serve` processes in a chain USA - IRQ - SYR;
//! an incident USA publishes reaches SYR through IRQ (two hops) and raises an alert for a zone
//! of SYR's analyst on SYR's node, on its stream and in its alerts, and only there.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const PASSWORD: &str = "live-federation-test";
const WAIT: Duration = Duration::from_secs(60);

/// A node of `member` on `port` pulling from `peers`; every other member has a sync account
/// `sync-<member>` here.
fn write_node_config(path: &Path, member: &str, port: u16, peers: &[(&str, u16)], keys: &[(&str, String)]) {
    let mut text =
        format!("[node]\nmember = \"{member}\"\nlisten = \"127.0.0.1:{port}\"\ndata_dir = \"./data\"\n{TLS_LINES}\n");
    for (code, key) in keys {
        text.push_str(&format!("[[members]]\ncode = \"{code}\"\nname = \"{code}\"\n"));
        if !key.is_empty() {
            text.push_str(&format!("public_key = \"{key}\"\n"));
        }
    }
    text.push_str(&format!("\n[[users]]\nname = \"analyst\"\nmember = \"{member}\"\npassword = \"{PASSWORD}\"\n"));
    for (code, _) in keys.iter().filter(|(c, _)| *c != member) {
        text.push_str(&format!(
            "\n[[users]]\nname = \"sync-{code}\"\nmember = \"{code}\"\npassword = \"{PASSWORD}\"\nroles = [\"peer\"]\n"
        ));
    }
    for (peer, peer_port) in peers {
        text.push_str(&format!(
            "\n[[peers]]\nmember = \"{peer}\"\nurl = \"https://127.0.0.1:{peer_port}/taxii2/\"\nusername = \"sync-{member}\"\npassword = \"{PASSWORD}\"\n"
        ));
    }
    std::fs::write(path, text).expect("config");
}

/// The node's key (`tandem key show`), and its certificate made from it (`tandem cert`).
fn key_show(config: &Path) -> String {
    make_cert(config);
    let out = Command::new(bin()).args(["key", "show", "--config"]).arg(config).output().expect("key show");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn serve(config: &Path) -> Proc {
    Proc(spawn_serve(config))
}

fn wait_up(port: u16) {
    assert!(wait_listening(port), "node on {port} never came up");
}

fn incident() -> Value {
    use tandem_model::incident::*;
    let ext = IncidentExt {
        fatalities: Some(Count::exact(4)),
        ..IncidentExt::new(
            "Explosions/Remote violence",
            "Remote explosive/landmine/IED",
            TimeWindow::day(Date::parse("2025-11-20").expect("date")),
            Place::admin("SY-DY"),
        )
    };
    let mut obj = json!({"type": "incident", "spec_version": "2.1", "id": format!("incident--{}", uuid::Uuid::new_v4()),
        "created": "2025-11-20T10:00:00.000Z", "modified": "2025-11-20T10:00:00.000Z",
        "name": "IED near Mayadin", "object_marking_refs": [GREEN]});
    ext.attach(&mut obj);
    obj
}

fn alerts(port: u16) -> Vec<Value> {
    let r = client()
        .get(format!("https://127.0.0.1:{port}/api/tandem/alerts/"))
        .basic_auth("analyst", Some(PASSWORD))
        .send()
        .expect("alerts");
    let v: Value = r.json().expect("json");
    v["alerts"].as_array().cloned().unwrap_or_default()
}

#[test]
fn an_incident_two_hops_away_raises_an_alert_on_the_far_node() {
    let dirs =
        [tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir")];
    let ports = [free_port(), free_port(), free_port()];
    let cfg: Vec<PathBuf> = dirs.iter().map(|d| d.path().join("node.toml")).collect();
    let members = ["USA", "IRQ", "SYR"];
    let no_keys: Vec<(&str, String)> = members.iter().map(|m| (*m, String::new())).collect();
    let peers = |i: usize| -> Vec<(&str, u16)> {
        match i {
            0 => vec![("IRQ", ports[1])],
            1 => vec![("USA", ports[0]), ("SYR", ports[2])],
            _ => vec![("IRQ", ports[1])],
        }
    };
    for i in 0..3 {
        write_node_config(&cfg[i], members[i], ports[i], &peers(i), &no_keys);
    }
    let keys: Vec<(&str, String)> = (0..3).map(|i| (members[i], key_show(&cfg[i]))).collect();
    for i in 0..3 {
        write_node_config(&cfg[i], members[i], ports[i], &peers(i), &keys);
    }
    let out = Command::new(bin())
        .args(["watch", "add", "--config"])
        .arg(&cfg[2])
        .args(["--user", "analyst", "--name", "Deir ez-Zor", "--governorate", "SY-DY", "--min-fatalities", "2"])
        .output()
        .expect("watch add");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _procs: Vec<Proc> = cfg.iter().map(|c| serve(c)).collect();
    for p in ports {
        wait_up(p);
    }
    // SYR's analyst follows its node's stream.
    let streaming = client_builder().timeout(WAIT).build().expect("client");
    let stream = streaming
        .get(format!("https://127.0.0.1:{}/api/tandem/stream/?type=incident", ports[2]))
        .basic_auth("analyst", Some(PASSWORD))
        .send()
        .expect("stream");
    assert_eq!(stream.status().as_u16(), 200);
    let obj = incident();
    let id = obj["id"].as_str().unwrap_or_default().to_string();
    let r = client()
        .post(format!("https://127.0.0.1:{}/api/collections/intel/objects/", ports[0]))
        .basic_auth("analyst", Some(PASSWORD))
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(json!({ "objects": [obj] }).to_string())
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 202);

    // On SYR's stream: the alert, then the replicated version.
    let mut lines = BufReader::new(stream);
    let mut events: Vec<(String, Value)> = Vec::new();
    let (mut event, mut data) = (String::new(), String::new());
    while events.len() < 2 {
        let mut line = String::new();
        assert!(lines.read_line(&mut line).expect("read the stream") > 0, "the stream ended");
        let line = line.trim_end();
        if line.is_empty() {
            if !event.is_empty() {
                events.push((std::mem::take(&mut event), serde_json::from_str(&data).expect("data")));
            }
            data.clear();
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
    assert_eq!((events[0].0.as_str(), events[0].1["incident"].as_str()), ("alert", Some(id.as_str())), "{events:?}");
    assert_eq!((events[1].0.as_str(), events[1].1["id"].as_str()), ("version", Some(id.as_str())));
    assert_eq!(events[1].1["originator"], "USA");

    // And persisted by SYR's alerter, once; USA's and IRQ's analysts have no zone, no alert.
    let start = Instant::now();
    while alerts(ports[2]).is_empty() && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(100));
    }
    let a = alerts(ports[2]);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["incident"].as_str(), Some(id.as_str()));
    assert!(alerts(ports[0]).is_empty() && alerts(ports[1]).is_empty());
}
