//! Real `tandem serve` processes on loopback ports: two peered both ways (`tandem key show` gives
//! each node's key for the other's roster, a POST on USA appears on IRQ through the TAXII pull,
//! signed and verified, an import from another process is notified, and `tandem peer list` shows
//! the status the running node persisted); three in a chain turned into a mesh at run time, with
//! a node killed and restarted.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const PASSWORD: &str = "federation-test";

fn write_config(path: &Path, member: &str, port: u16, peer: &str, peer_port: u16, keys: &[(&str, String)]) {
    write_node_config(path, member, port, &[(peer, peer_port)], keys);
}

/// A node of `member` on `port` pulling from `peers`; every other member of `keys` has a sync
/// account `sync-<member>` here, and every node uses `sync-<its member>` on its peers.
fn write_node_config(path: &Path, member: &str, port: u16, peers: &[(&str, u16)], keys: &[(&str, String)]) {
    let mut toml = NodeToml::new(member, port).node_key(TLS_LINES.trim_end());
    for (code, key) in keys {
        // Named by their codes here (the roster's display names play no part).
        let public_key = if key.is_empty() { String::new() } else { format!("public_key = \"{key}\"") };
        toml = toml.member_with(code, &public_key);
    }
    toml = toml.user("analyst", member, PASSWORD);
    for (code, _) in keys.iter().filter(|(c, _)| *c != member) {
        toml = toml.user_with(&format!("sync-{code}"), code, PASSWORD, r#"roles = ["peer"]"#);
    }
    for (peer, peer_port) in peers {
        toml = toml.peer(peer, &format!("https://127.0.0.1:{peer_port}/taxii2/"), &format!("sync-{member}"), PASSWORD);
    }
    toml.write(path).unwrap();
}

/// The node's key (`tandem key show`), and its certificate made from it (`tandem cert`).
fn key_show(config: &Path) -> String {
    make_cert(config);
    let out = Command::new(bin()).args(["key", "show", "--config"]).arg(config).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn wait_up(port: u16) {
    let client = client();
    let start = Instant::now();
    while start.elapsed() < WAIT {
        let r = client
            .get(format!("https://127.0.0.1:{port}/taxii2/"))
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

    let _usa_proc = serve(&usa);
    let _irq_proc = serve(&irq);
    wait_up(usa_port);
    wait_up(irq_port);

    let obj = indicator(GREEN);
    let id = obj["id"].as_str().unwrap().to_string();
    post(usa_port, vec![obj.clone()]);
    let client = client();

    wait_until("the object reaches IRQ", || holds(irq_port, &id));
    // `tandem tail --config` reaches its own TLS node, trusting the node's certificate key.
    let out = Command::new(bin())
        .args(["tail", "--config", irq.to_str().unwrap(), "--user", "analyst", "--password", PASSWORD])
        .args(["--after", "1970-01-01T00:00:00.000000Z", "--type", "indicator", "--json", "--count", "1"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id), "{}", String::from_utf8_lossy(&out.stdout));

    // `tandem import` writes to USA's store from another process while USA serves: the node
    // notices the write and notifies IRQ (IRQ's 15 s poll would bring it too; no clock here
    // tells the two apart).
    let imported = format!("indicator--{}", uuid::Uuid::new_v4());
    let mut second = obj.clone();
    second["id"] = json!(imported);
    let bundle = dirs[0].path().join("bundle.json");
    std::fs::write(
        &bundle,
        json!({"type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()), "objects": [second]}).to_string(),
    )
    .unwrap();
    let out = Command::new(bin()).args(["import", "--quiet", "--config"]).arg(&usa).arg(&bundle).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    wait_until("an imported object reaches IRQ", || holds(irq_port, &imported));

    // Status over HTTP for IRQ's own users, and persisted for the CLI.
    let peers: Value = client
        .get(format!("https://127.0.0.1:{irq_port}/api/tandem/peers/"))
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

fn serve(config: &Path) -> Proc {
    Proc(spawn_serve(config))
}

/// Every `(id, version)` a node's analyst can list (all versions). Panics when the node does not
/// answer with a listing: read as "holds nothing", an error would pass every negative assertion.
fn held(port: u16) -> Vec<(String, String)> {
    let client = client();
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut q = vec![("match[version]".to_string(), "all".to_string()), ("limit".into(), "1000".into())];
        if let Some(n) = &next {
            q.push(("next".into(), n.clone()));
        }
        let resp = client
            .get(format!("https://127.0.0.1:{port}/api/collections/intel/objects/"))
            .basic_auth("analyst", Some(PASSWORD))
            .header("Accept", TAXII)
            .query(&q)
            .send()
            .unwrap_or_else(|e| panic!("listing the node on {port}: {e}"));
        assert_eq!(resp.status(), 200, "listing the node on {port}");
        let body: Value = resp.json().unwrap_or_else(|e| panic!("listing the node on {port}: {e}"));
        for o in body["objects"].as_array().into_iter().flatten() {
            let version = o["modified"].as_str().or(o["created"].as_str()).expect("a version");
            out.push((o["id"].as_str().expect("an id").to_string(), version.to_string()));
        }
        next = body["next"].as_str().map(str::to_string);
        if body["more"] != true || next.is_none() {
            return out;
        }
    }
}

fn holds(port: u16, id: &str) -> bool {
    held(port).iter().any(|(i, _)| i == id)
}

fn post(port: u16, objects: Vec<Value>) {
    let resp = client()
        .post(format!("https://127.0.0.1:{port}/api/collections/intel/objects/"))
        .basic_auth("analyst", Some(PASSWORD))
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(json!({ "objects": objects }).to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 202);
    let status: Value = resp.json().unwrap();
    assert_eq!(status["failure_count"], 0, "{status}");
}

fn indicator(marking: &str) -> Value {
    reported_indicator(&[marking], "[ipv4-addr:value = '10.0.0.1']")
}

/// Three real processes: a chain USA - IRQ - SYR (multi-hop, releasability re-decided at IRQ),
/// turned into a mesh at run time (`tandem peer add`), then IRQ killed and restarted while USA
/// publishes. Every node converges, nothing is held twice, and a version released to IRQ only
/// never reaches SYR on any path.
#[test]
fn three_processes_chain_then_mesh_with_a_restart() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let ports = [free_port(), free_port(), free_port()];
    let names = ["USA", "IRQ", "SYR"];
    let configs: Vec<PathBuf> = dirs.iter().map(|d| d.path().join("node.toml")).collect();
    let peers_of = |i: usize| -> Vec<(&str, u16)> {
        match i {
            0 => vec![("IRQ", ports[1])],
            1 => vec![("USA", ports[0]), ("SYR", ports[2])],
            _ => vec![("IRQ", ports[1])],
        }
    };
    let no_keys: Vec<(&str, String)> = names.iter().map(|n| (*n, String::new())).collect();
    for i in 0..3 {
        write_node_config(&configs[i], names[i], ports[i], &peers_of(i), &no_keys);
    }
    let keys: Vec<(&str, String)> = (0..3).map(|i| (names[i], key_show(&configs[i]))).collect();
    for i in 0..3 {
        write_node_config(&configs[i], names[i], ports[i], &peers_of(i), &keys);
    }
    let (usa, syr) = (serve(&configs[0]), serve(&configs[2]));
    let mut irq = serve(&configs[1]);
    for p in ports {
        wait_up(p);
    }

    // A REL TO IRQ marking made by USA's CLI while USA serves, then a version under it and an
    // open one.
    let out = Command::new(bin())
        .args(["marking", "create", "--rel-to", "IRQ", "--config"])
        .arg(&configs[0])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rel_irq = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let (restricted, open) = (indicator(&rel_irq), indicator(GREEN));
    post(ports[0], vec![restricted.clone(), open.clone()]);
    let (rid, oid) = (restricted["id"].as_str().unwrap(), open["id"].as_str().unwrap());
    wait_until("the open version crosses two hops", || holds(ports[2], oid));
    wait_until("IRQ holds what was released to it", || holds(ports[1], rid));

    // The mesh: USA and SYR peer directly (picked up by the running nodes).
    for (me, peer, port) in [(0usize, "SYR", ports[2]), (2, "USA", ports[0])] {
        let out = Command::new(bin())
            .args(["peer", "add", peer, "--url", &format!("https://127.0.0.1:{port}/taxii2/")])
            .args(["--username", &format!("sync-{}", names[me]), "--password", PASSWORD, "--config"])
            .arg(&configs[me])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // IRQ goes down; what USA publishes now reaches SYR over the new link.
    drop(irq);
    let during = indicator(GREEN);
    post(ports[0], vec![during.clone()]);
    let did = during["id"].as_str().unwrap();
    wait_until("SYR receives over the direct link while IRQ is down", || holds(ports[2], did));
    irq = serve(&configs[1]);
    wait_up(ports[1]);
    wait_until("IRQ catches up after its restart", || holds(ports[1], did));

    let marker = indicator(GREEN);
    post(ports[2], vec![marker.clone()]);
    let mid = marker["id"].as_str().unwrap();
    wait_until("SYR's own version reaches both others", || holds(ports[0], mid) && holds(ports[1], mid));
    for (i, port) in ports.iter().enumerate() {
        let all = held(*port);
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(all.len(), unique.len(), "{} holds a version twice", names[i]);
    }
    assert!(!holds(ports[2], rid), "a version released to IRQ only reached SYR");
    drop((usa, syr, irq));
}
