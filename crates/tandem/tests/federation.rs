//! Two real `tandem serve` processes on loopback ports, peered both ways: `tandem key show`
//! gives each node's key for the other's roster, a POST on USA appears on IRQ through the TAXII
//! pull (signed, verified), and `tandem peer list` shows the status the running node persisted.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TAXII: &str = "application/taxii+json;version=2.1";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const PASSWORD: &str = "federation-test";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tandem")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write_config(path: &Path, member: &str, port: u16, peer: &str, peer_port: u16, keys: &[(&str, String)]) {
    let mut members = String::new();
    for (code, key) in keys {
        members.push_str(&format!("[[members]]\ncode = \"{code}\"\nname = \"{code}\"\n"));
        if !key.is_empty() {
            members.push_str(&format!("public_key = \"{key}\"\n"));
        }
    }
    let text = format!(
        r#"[node]
member = "{member}"
listen = "127.0.0.1:{port}"
data_dir = "./data"

{members}
[[users]]
name = "analyst"
member = "{member}"
password = "{PASSWORD}"

[[users]]
name = "sync-{peer}"
member = "{peer}"
password = "{PASSWORD}"

[[peers]]
member = "{peer}"
url = "http://127.0.0.1:{peer_port}/taxii2/"
username = "sync-{member}"
password = "{PASSWORD}"
"#
    );
    std::fs::write(path, text).unwrap();
}

fn key_show(config: &Path) -> String {
    let out = Command::new(bin()).args(["key", "show", "--config"]).arg(config).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn wait_up(port: u16) {
    let client = reqwest::blocking::Client::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        let r = client
            .get(format!("http://127.0.0.1:{port}/taxii2/"))
            .basic_auth("analyst", Some(PASSWORD))
            .header("Accept", TAXII)
            .send();
        if r.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("node on {port} never came up");
}

#[test]
fn two_processes_replicate_a_signed_object() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (usa_port, irq_port) = (free_port(), free_port());
    let usa: PathBuf = dirs[0].path().join("node.toml");
    let irq: PathBuf = dirs[1].path().join("node.toml");
    let no_keys = [("USA", String::new()), ("IRQ", String::new())];
    write_config(&usa, "USA", usa_port, "IRQ", irq_port, &no_keys);
    write_config(&irq, "IRQ", irq_port, "USA", usa_port, &no_keys);
    let (usa_key, irq_key) = (key_show(&usa), key_show(&irq));
    assert!(usa_key.starts_with("ed25519:") && usa_key != irq_key);
    assert_eq!(key_show(&usa), usa_key, "the key is created once");
    let keys = [("USA", usa_key), ("IRQ", irq_key)];
    write_config(&usa, "USA", usa_port, "IRQ", irq_port, &keys);
    write_config(&irq, "IRQ", irq_port, "USA", usa_port, &keys);

    let spawn = |config: &Path| {
        Proc(
            Command::new(bin())
                .args(["serve", "--config"])
                .arg(config)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let _usa_proc = spawn(&usa);
    let _irq_proc = spawn(&irq);
    wait_up(usa_port);
    wait_up(irq_port);

    let id = format!("indicator--{}", uuid::Uuid::new_v4());
    let obj = json!({
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2025-11-20T10:00:00.000Z", "modified": "2025-11-20T10:00:00.000Z",
        "name": "Checkpoint VBIED", "pattern": "[ipv4-addr:value = '10.0.0.1']",
        "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z", "object_marking_refs": [GREEN]
    });
    let client = reqwest::blocking::Client::new();
    let resp = client
        .post(format!("http://127.0.0.1:{usa_port}/api/collections/intel/objects/"))
        .basic_auth("analyst", Some(PASSWORD))
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(json!({"objects": [obj]}).to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 202);

    let start = Instant::now();
    let mut found = false;
    while start.elapsed() < Duration::from_secs(20) && !found {
        let body: Value = client
            .get(format!("http://127.0.0.1:{irq_port}/api/collections/intel/objects/{id}/"))
            .basic_auth("analyst", Some(PASSWORD))
            .header("Accept", TAXII)
            .send()
            .unwrap()
            .json()
            .unwrap_or(Value::Null);
        found = body["objects"][0]["id"] == id.as_str();
        if !found {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(found, "the object never reached IRQ");

    // `tandem import` writes to USA's store from another process while USA serves: the node
    // notices the write and notifies IRQ (well before IRQ's 15 s poll would).
    let imported = format!("indicator--{}", uuid::Uuid::new_v4());
    let mut second = obj.clone();
    second["id"] = json!(imported);
    let bundle = dirs[0].path().join("bundle.json");
    std::fs::write(
        &bundle,
        json!({"type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()), "objects": [second]}).to_string(),
    )
    .unwrap();
    let start = Instant::now();
    let out = Command::new(bin()).args(["import", "--quiet", "--config"]).arg(&usa).arg(&bundle).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut found = false;
    while start.elapsed() < Duration::from_secs(10) && !found {
        let body: Value = client
            .get(format!("http://127.0.0.1:{irq_port}/api/collections/intel/objects/{imported}/"))
            .basic_auth("analyst", Some(PASSWORD))
            .header("Accept", TAXII)
            .send()
            .unwrap()
            .json()
            .unwrap_or(Value::Null);
        found = body["objects"][0]["id"] == imported.as_str();
        if !found {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    assert!(found, "an imported object was not notified to IRQ within 10 s");

    // Status over HTTP for IRQ's own users, and persisted for the CLI.
    let peers: Value = client
        .get(format!("http://127.0.0.1:{irq_port}/api/tandem/peers/"))
        .basic_auth("analyst", Some(PASSWORD))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(peers["peers"][0]["member"], "USA", "{peers}");
    assert!(peers["peers"][0]["received"].as_u64().unwrap() >= 1, "{peers}");
    let out = Command::new(bin()).args(["peer", "list", "--config"]).arg(&irq).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("USA") && !text.contains("never"), "{text}");
}

#[test]
fn peer_add_list_remove() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    write_config(
        &config,
        "USA",
        free_port(),
        "IRQ",
        free_port(),
        &[("USA", String::new()), ("IRQ", String::new()), ("SYR", String::new())],
    );
    let run = |args: &[&str]| {
        let out = Command::new(bin()).args(args).arg("--config").arg(&config).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, text) = run(&[
        "peer",
        "add",
        "SYR",
        "--url",
        "http://127.0.0.1:9/taxii2/",
        "--username",
        "sync-USA",
        "--password",
        "x",
    ]);
    assert!(ok, "{text}");
    let (ok, text) = run(&["peer", "list"]);
    assert!(
        ok && text.contains("SYR") && text.contains("added") && text.contains("IRQ") && text.contains("config"),
        "{text}"
    );
    assert!(!text.contains("\"x\""), "no secrets listed: {text}");
    let (ok, text) = run(&["peer", "add", "XXX", "--url", "http://127.0.0.1:9/taxii2/", "--token", "t"]);
    assert!(!ok, "unknown member accepted: {text}");
    let (ok, _) = run(&["peer", "remove", "SYR"]);
    assert!(ok);
    let (ok, _) = run(&["peer", "remove", "SYR"]);
    assert!(!ok);
    let (ok, text) = run(&["peer", "list"]);
    assert!(ok && !text.contains("SYR"), "{text}");
}
