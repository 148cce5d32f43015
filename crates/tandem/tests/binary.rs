//! Drives the real `tandem` binary: `serve` over HTTP as several members' users, and the
//! operational commands (`import`, `export`, `validate`, `user add`, `token create`,
//! `marking create`, `doctor`).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

type Node = ServedNode;

/// USA's node with IRQ, SYR (joined 2025-11-13) and the LVNT group (IRQ, SYR) in its roster.
fn levant_node() -> Node {
    ServedNode::new(|port| {
        NodeToml::new("USA", port)
            .member("USA")
            .member("IRQ")
            .member_with("SYR", r#"joined = "2025-11-13""#)
            .group("LVNT", "Levant partners", &["IRQ", "SYR"])
            .user_with("usa", "USA", "dev-only", r#"clearance = "SECRET""#)
            .user_with("irq", "IRQ", "dev-only", r#"clearance = "SECRET""#)
            .user("syr", "SYR", "dev-only")
    })
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().expect("client")
}

fn get(node: &Node, user: &str, path: &str) -> (u16, Value) {
    let r =
        client().get(node.url(path)).basic_auth(user, Some("dev-only")).header("Accept", TAXII).send().expect("get");
    let status = r.status().as_u16();
    assert_eq!(r.headers().get("content-type").and_then(|v| v.to_str().ok()), Some(TAXII));
    (status, r.json().unwrap_or(Value::Null))
}

fn post(node: &Node, user: &str, objects: Vec<Value>) -> (u16, Value) {
    let r = client()
        .post(node.url("/api/collections/intel/objects/"))
        .basic_auth(user, Some("dev-only"))
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(json!({ "objects": objects }).to_string())
        .send()
        .expect("post");
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn incident(n: u32, markings: &[&str]) -> Value {
    let mut v = json!({"type": "incident", "spec_version": "2.1", "id": format!("incident--7a1c9a2e-1d3b-4c55-8e6f-{n:012}"),
           "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
           "name": format!("incident {n}")});
    if !markings.is_empty() {
        v["object_marking_refs"] = json!(markings);
    }
    v
}

fn ids(envelope: &Value) -> Vec<String> {
    envelope["objects"]
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["id"].as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).expect("create");
    f.write_all(value.to_string().as_bytes()).expect("write");
    p
}

#[test]
fn serves_each_member_what_is_released_to_it() {
    let mut node = levant_node();
    node.start();
    let rel = tandem(&["marking", "create", "--config", node.config.to_str().unwrap_or_default(), "--rel-to", "LVNT"]);
    // The node is running; marking create writes through the same store (SQLite WAL allows it).
    assert!(rel.status.success(), "{}", String::from_utf8_lossy(&rel.stderr));
    let rel_id = String::from_utf8_lossy(&rel.stdout).trim().to_string();
    assert!(rel_id.starts_with("marking-definition--"));

    let (status, body) = post(
        &node,
        "usa",
        vec![incident(1, &[GREEN]), incident(2, &[AMBER]), incident(3, &[AMBER, &rel_id]), json!({"type": "incident"})],
    );
    assert_eq!(status, 202);
    assert_eq!((body["success_count"].as_u64(), body["failure_count"].as_u64()), (Some(3), Some(1)));

    let (_, usa) = get(&node, "usa", "/api/collections/intel/objects/?match[type]=incident");
    let (_, irq) = get(&node, "irq", "/api/collections/intel/objects/?match[type]=incident");
    let (_, syr) = get(&node, "syr", "/api/collections/intel/objects/?match[type]=incident");
    assert_eq!(ids(&usa).len(), 3);
    assert_eq!(
        ids(&irq),
        vec!["incident--7a1c9a2e-1d3b-4c55-8e6f-000000000001", "incident--7a1c9a2e-1d3b-4c55-8e6f-000000000003"]
    );
    assert_eq!(ids(&syr), ids(&irq));

    // A hidden object is a 404 indistinguishable from a missing one.
    let hidden = get(&node, "irq", "/api/collections/intel/objects/incident--7a1c9a2e-1d3b-4c55-8e6f-000000000002/");
    let missing = get(&node, "irq", "/api/collections/intel/objects/incident--7a1c9a2e-1d3b-4c55-8e6f-000000000099/");
    assert_eq!(hidden.0, 404);
    assert_eq!(hidden, missing);

    // Writes survive a restart; paging tokens are stateless.
    let (_, page) = get(&node, "usa", "/api/collections/intel/objects/?limit=1");
    let next = page["next"].as_str().expect("next").to_string();
    node.stop();
    node.start();
    let (status, rest) = get(&node, "usa", &format!("/api/collections/intel/objects/?limit=10&next={next}"));
    assert_eq!(status, 200);
    assert!(!ids(&rest).is_empty());
    assert!(!ids(&rest).contains(&ids(&page)[0]));

    // Bad credentials and bad input are 4xx with TAXII bodies.
    let r = client()
        .get(node.url("/taxii2/"))
        .basic_auth("usa", Some("wrong"))
        .header("Accept", TAXII)
        .send()
        .expect("get");
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(get(&node, "usa", "/api/collections/intel/objects/?limit=0").0, 400);
    assert_eq!(get(&node, "usa", "/api/collections/intel/objects/?next=garbage").0, 400);
    assert_eq!(get(&node, "usa", "/api/collections/00000000-0000-4000-8000-000000000000/objects/").0, 404);
}

#[test]
fn import_export_validate_and_accounts() {
    let node = levant_node();
    let config = node.config.to_str().unwrap_or_default().to_string();
    let bundle = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [incident(1, &[GREEN]), incident(2, &[]), {"type": "incident", "id": "incident--bad"}]});
    let file = write(node.dir.path(), "bundle.json", &bundle);
    let file = file.to_str().unwrap_or_default();

    let v = tandem(&["validate", file]);
    assert_eq!(v.status.code(), Some(1));
    let report = String::from_utf8_lossy(&v.stdout);
    assert!(report.contains("INVALID incident--bad"), "{report}");
    assert!(report.contains("3 objects: 2 valid, 1 invalid"), "{report}");

    let i = tandem(&["import", "--config", &config, "--quiet", file]);
    let summary = String::from_utf8_lossy(&i.stdout);
    assert!(summary.contains("accepted: 2  duplicate: 0  rejected: 1"), "{summary}");
    let again = tandem(&["import", "--config", &config, "--quiet", file]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("accepted: 0  duplicate: 2  rejected: 1"));

    let out = node.dir.path().join("export.json");
    let e = tandem(&["export", "--config", &config, "--type", "incident", "-o", out.to_str().unwrap_or_default()]);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&out).expect("read export")).expect("json");
    assert_eq!(exported["type"], "bundle");
    assert_eq!(exported["objects"].as_array().map(Vec::len), Some(2));
    let check = tandem(&["validate", out.to_str().unwrap_or_default()]);
    assert!(check.status.success());

    let u = tandem(&[
        "user",
        "add",
        "--config",
        &config,
        "auditor1",
        "--member",
        "USA",
        "--password",
        "long-enough-pw",
        "--role",
        "auditor",
    ]);
    assert!(u.status.success(), "{}", String::from_utf8_lossy(&u.stderr));
    let t = tandem(&["token", "create", "--config", &config, "--user", "auditor1"]);
    assert!(t.status.success());
    let token = String::from_utf8_lossy(&t.stdout).trim().to_string();
    assert!(token.starts_with("tdm_"));
    assert!(
        !tandem(&["user", "add", "--config", &config, "x", "--member", "ZZZ", "--password", "long-enough-pw"])
            .status
            .success()
    );

    // The new user and token work once the node (re)starts.
    let mut node = node;
    node.start();
    let r = client().get(node.url("/taxii2/")).bearer_auth(&token).header("Accept", TAXII).send().expect("get");
    assert_eq!(r.status().as_u16(), 200);
    let doctor = tandem(&["doctor", "--config", &config]);
    assert!(doctor.status.success(), "{}", String::from_utf8_lossy(&doctor.stdout));
}

#[test]
fn bad_config_names_the_key() {
    let node = levant_node();
    let text = std::fs::read_to_string(&node.config).expect("read").replace("listen =", "lisen = \"x\"\nlisten =");
    std::fs::write(&node.config, text).expect("write");
    let out = tandem(&["serve", "--config", node.config.to_str().unwrap_or_default()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lisen"));
}

#[test]
fn demo_replays_syria_joining_across_nodes() {
    // The demo takes eight consecutive ports; other tests running at the same time take ports
    // too, so a base whose eight ports are all free right now is chosen, and a start that still
    // lost a port to another test is tried again with another base.
    let mut attempts = 0;
    let out = loop {
        attempts += 1;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = loop {
            let base = free_port();
            if base < 65_000 && (1..8).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
                break base;
            }
        };
        let out = Command::new(bin())
            .args(["demo", "--no-serve", "--synthetic", "400", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--dir")
            .arg(dir.path())
            .env("RUST_LOG", "error")
            .output()
            .expect("run demo");
        let lost_a_port = String::from_utf8_lossy(&out.stderr).to_lowercase().contains("in use");
        if out.status.success() || !lost_a_port || attempts == 5 {
            break out;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("before: SYR is off every roster; its node holds 0 objects"), "{text}");
    let after = text.lines().find(|l| l.contains("its node backfilled to")).expect("after line");
    let held: u64 = after
        .split("backfilled to ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("count");
    assert!(held > 100, "{after}");
    for member in ["USA", "IRQ", "SYR"] {
        assert!(text.contains(&format!("{member}  node  https://127.0.0.1:")), "{text}");
    }
}
