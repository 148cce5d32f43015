//! The roster authority through the real binary: `tandem roster keygen`, `sign`, offline
//! `submit` and `show`, then `GET|POST /api/tandem/roster/changes/` on a running node, with the
//! exact refusals for forged, replayed, out-of-order and inapplicable changes.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const PASSWORD: &str = "roster-test";

fn write_config(path: &Path, port: u16, authority: &str) {
    NodeToml::new("USA", port)
        .authority(authority)
        .member("USA")
        .member("IRQ")
        .group("LVNT", "Levant partners", &["IRQ"])
        .user("analyst", "USA", PASSWORD)
        .write(path)
        .unwrap();
}

/// `tandem roster sign` into a file; returns the file's path.
fn sign(dir: &Path, key: &Path, seq: u64, action: &[&str]) -> std::path::PathBuf {
    let seq_s = seq.to_string();
    let mut args = vec!["roster", "sign", "--key", p(key), "--seq", &seq_s, "--issued", "2025-11-13T09:00:00Z"];
    args.extend_from_slice(action);
    let out = tandem(&args);
    assert!(out.status.success(), "{}", text(&out));
    let path = dir.join(format!("change-{seq}-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

fn post(port: u16, body: String) -> (u16, Value) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/tandem/roster/changes/"))
        .basic_auth("analyst", Some(PASSWORD))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap_or(Value::Null))
}

fn seqs(port: u16, after: u64) -> Vec<u64> {
    let body: Value = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/tandem/roster/changes/?after={after}"))
        .basic_auth("analyst", Some(PASSWORD))
        .send()
        .unwrap()
        .json()
        .unwrap();
    body["changes"].as_array().unwrap().iter().map(|c| c["change"]["seq"].as_u64().unwrap()).collect()
}

#[test]
fn roster_authority_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("authority.key");
    let out = tandem(&["roster", "keygen", "--out", p(&key)]);
    assert!(out.status.success(), "{}", text(&out));
    let authority = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(authority.starts_with("ed25519:"), "{authority}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = tandem(&["roster", "keygen", "--out", p(&key)]);
    assert!(!again.status.success(), "an existing key is never overwritten");
    let other = dir.path().join("other.key");
    assert!(tandem(&["roster", "keygen", "--out", p(&other)]).status.success());

    let port = free_port();
    let config = dir.path().join("node.toml");
    write_config(&config, port, &authority);
    // Any valid key stands in for SYR's node key here: this node's own, from `key show`.
    let out = tandem(&["key", "show", "--config", p(&config)]);
    assert!(out.status.success(), "{}", text(&out));
    let syr_key = String::from_utf8(out.stdout).unwrap().trim().to_string();

    // Offline: sign and submit the join, replaying it is refused, `show` has it.
    let join = sign(
        dir.path(),
        &key,
        1,
        &[
            "join",
            "--member",
            "SYR",
            "--name",
            "Syria",
            "--public-key",
            &syr_key,
            "--joined",
            "2025-11-13",
            "--group",
            "LVNT",
        ],
    );
    let signed: Value = serde_json::from_str(&std::fs::read_to_string(&join).unwrap()).unwrap();
    assert_eq!(signed["change"]["action"]["type"], "join");
    assert_eq!(signed["change"]["authority"], authority.as_str());
    let out = tandem(&["roster", "submit", "--config", p(&config), p(&join)]);
    assert!(
        out.status.success() && text(&out).contains("roster change 1 applied (join SYR (groups LVNT))"),
        "{}",
        text(&out)
    );
    let out = tandem(&["roster", "submit", "--config", p(&config), p(&join)]);
    assert!(!out.status.success() && text(&out).contains("change 1 is already applied"), "{}", text(&out));
    let out = tandem(&["roster", "show", "--config", p(&config)]);
    let shown = text(&out);
    assert!(out.status.success() && shown.contains("1 signed changes applied"), "{shown}");
    assert!(shown.lines().any(|l| l.starts_with("SYR") && l.contains("Syria") && l.contains("active")), "{shown}");
    assert!(shown.lines().any(|l| l.starts_with("LVNT") && l.contains("IRQ, SYR")), "{shown}");
    // The joined member can now be peered with, and given accounts.
    let out =
        tandem(&["peer", "add", "--config", p(&config), "SYR", "--url", "http://127.0.0.1:9/taxii2/", "--token", "t"]);
    assert!(out.status.success(), "{}", text(&out));
    let out =
        tandem(&["user", "add", "--config", p(&config), "syr-analyst", "--member", "SYR", "--password", PASSWORD]);
    assert!(out.status.success(), "{}", text(&out));
    let out =
        tandem(&["user", "add", "--config", p(&config), "jor-analyst", "--member", "JOR", "--password", PASSWORD]);
    assert!(!out.status.success(), "JOR is on no roster: {}", text(&out));

    // Online.
    let node = Proc(
        Command::new(bin())
            .args(["serve", "--config", p(&config)])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::blocking::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/tandem/roster/changes/");
    let start = Instant::now();
    while client.get(&url).send().is_err() {
        assert!(start.elapsed() < Duration::from_secs(60), "the node never came up");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(client.get(&url).send().unwrap().status().as_u16(), 401, "authenticated callers only");
    assert_eq!(seqs(port, 0), vec![1]);
    assert_eq!(seqs(port, 1), Vec::<u64>::new());
    // The roster at start is the config's plus the change submitted offline: SYR is served.
    let obj = reported_indicator(&[GREEN], "[ipv4-addr:value = '10.0.0.1']");
    let id = obj["id"].as_str().expect("id").to_string();
    let resp = client
        .post(format!("http://127.0.0.1:{port}/api/collections/intel/objects/"))
        .basic_auth("analyst", Some(PASSWORD))
        .header("Accept", TAXII)
        .header("Content-Type", TAXII)
        .body(serde_json::json!({"objects": [obj]}).to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(served_to_syr(port), vec![id.clone()]);

    let suspend = sign(dir.path(), &key, 2, &["suspend", "--member", "SYR"]);
    let (status, body) = post(port, std::fs::read_to_string(&suspend).unwrap());
    assert_eq!((status, body["applied"].as_u64()), (200, Some(2)), "{body}");
    assert_eq!(seqs(port, 0), vec![1, 2]);
    assert_eq!(seqs(port, 1), vec![2]);
    assert_eq!(served_to_syr(port), Vec::<String>::new(), "suspended on the next request");

    let refused = |body: String, why: &str| {
        let (status, resp) = post(port, body);
        assert_eq!(status, 400, "{resp}");
        let d = resp["description"].as_str().unwrap_or_default();
        assert!(d.contains(why), "expected {why:?} in {resp}");
    };
    let read = |path: &Path| std::fs::read_to_string(path).unwrap();
    refused(read(&sign(dir.path(), &other, 3, &["leave", "--member", "SYR"])), "not this coalition's roster authority");
    let mut forged: Value =
        serde_json::from_str(&read(&sign(dir.path(), &other, 3, &["leave", "--member", "SYR"]))).unwrap();
    forged["change"]["authority"] = Value::String(authority.clone());
    refused(forged.to_string(), "signature does not verify");
    let mut altered: Value = serde_json::from_str(&read(&suspend)).unwrap();
    altered["change"]["action"]["member"] = "IRQ".into();
    altered["change"]["seq"] = 3.into();
    refused(altered.to_string(), "signature does not verify");
    refused(read(&suspend), "change 2 is already applied");
    refused(read(&sign(dir.path(), &key, 5, &["leave", "--member", "SYR"])), "the next change must be 3");
    refused(read(&sign(dir.path(), &key, 3, &["suspend", "--member", "SYR"])), "SYR is Suspended, not Active");
    refused(read(&sign(dir.path(), &key, 3, &["reinstate", "--member", "JOR"])), "JOR is not a member");
    refused("{not json".into(), "not JSON");
    refused(r#"{"change": {}, "signature": ""}"#.into(), "not a roster change");
    assert_eq!(seqs(port, 0), vec![1, 2], "nothing refused was stored");

    let reinstate = sign(dir.path(), &key, 3, &["reinstate", "--member", "SYR"]);
    let (status, body) = post(port, read(&reinstate));
    assert_eq!((status, body["applied"].as_u64()), (200, Some(3)), "{body}");
    assert_eq!(seqs(port, 0), vec![1, 2, 3]);
    assert_eq!(served_to_syr(port), vec![id.clone()], "reinstated");

    // Another process writes change 4; the running node applies it on SIGHUP, on top of the
    // config's roster read again.
    let leave = sign(dir.path(), &key, 4, &["leave", "--member", "SYR"]);
    let out = tandem(&["roster", "submit", "--config", p(&config), p(&leave)]);
    assert!(out.status.success(), "{}", text(&out));
    #[cfg(unix)]
    {
        let hup = Command::new("kill").args(["-HUP", &node.0.id().to_string()]).status().unwrap();
        assert!(hup.success());
        let start = Instant::now();
        while !served_to_syr(port).is_empty() {
            assert!(start.elapsed() < Duration::from_secs(60), "SIGHUP did not apply change 4");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(seqs(port, 3), vec![4]);
    }
}

/// The ids the node serves to SYR's analyst.
fn served_to_syr(port: u16) -> Vec<String> {
    let resp = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/collections/intel/objects/"))
        .basic_auth("syr-analyst", Some(PASSWORD))
        .header("Accept", TAXII)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().unwrap();
    body.get("objects")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|o| o["id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[test]
fn a_node_without_an_authority_refuses_offline_changes() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("authority.key");
    assert!(tandem(&["roster", "keygen", "--out", p(&key)]).status.success());
    let config = dir.path().join("node.toml");
    write_config(&config, free_port(), "x");
    let text_cfg = std::fs::read_to_string(&config).unwrap().replace("[coalition]\nauthority = \"x\"\n", "");
    std::fs::write(&config, text_cfg).unwrap();
    let change = sign(dir.path(), &key, 1, &["suspend", "--member", "IRQ"]);
    let out = tandem(&["roster", "submit", "--config", p(&config), p(&change)]);
    assert!(!out.status.success() && text(&out).contains("no roster authority configured"), "{}", text(&out));
    let out = tandem(&["roster", "show", "--config", p(&config)]);
    assert!(out.status.success() && text(&out).contains("no roster authority configured"), "{}", text(&out));
}
