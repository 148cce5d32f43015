//! The assembled app through the real binary: Tandem's own routes are authenticated like TAXII
//! (401 with `WWW-Authenticate`) and audited, so `tandem audit show` lists roster changes,
//! notifications and place look-ups; their OpenAPI description is served; users and tokens the
//! CLI creates work on the running node without a restart. (Every route, one by one, is `http::tests` in the binary crate.)

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const PASSWORD: &str = "routes-test";

fn config(port: u16, authority: &str) -> String {
    NodeToml::new("USA", port)
        .authority(authority)
        .member("USA")
        .member("IRQ")
        .user("analyst", "USA", PASSWORD)
        .user_with("sync-IRQ", "IRQ", PASSWORD, r#"roles = ["peer"]"#)
        .peer("IRQ", "http://127.0.0.1:9/taxii2/", "sync-USA", "x")
        .to_string()
}

#[test]
fn own_routes_are_audited_and_cli_accounts_apply_live() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("authority.key");
    let out = tandem(&["roster", "keygen", "--out", p(&key)]);
    assert!(out.status.success(), "{}", text(&out));
    let authority = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let port = free_port();
    let cfg = dir.path().join("node.toml");
    std::fs::write(&cfg, config(port, &authority)).unwrap();
    let _node = Proc(
        Command::new(bin())
            .args(["serve", "--config", p(&cfg)])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("the node listens", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();

    // A place look-up: 401 with the challenge and a TAXII error body without credentials.
    let r = http.get(url("/api/tandem/places/?q=Mosul")).send().unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"tandem\", Bearer");
    assert_eq!(r.headers()["content-type"], TAXII);
    let r = http.get(url("/api/tandem/places/?q=Mosul")).basic_auth("analyst", Some(PASSWORD)).send().unwrap();
    assert_eq!(r.status(), 200);

    // The OpenAPI description of these routes: authenticated like them, under the node's API root.
    let r = http.get(url("/api/tandem/openapi.json")).send().unwrap();
    assert_eq!(r.status(), 401);
    let r = http.get(url("/api/tandem/openapi.json")).basic_auth("analyst", Some(PASSWORD)).send().unwrap();
    assert_eq!(r.status(), 200);
    let doc: serde_json::Value = serde_json::from_str(&r.text().unwrap()).unwrap();
    assert!(doc["paths"]["/api/tandem/places/"]["get"].is_object(), "{doc}");

    // A notification from IRQ's node account; a normal user may not notify.
    let r = http.post(url("/api/tandem/notify/")).basic_auth("sync-IRQ", Some(PASSWORD)).send().unwrap();
    assert_eq!(r.status(), 202);
    let r = http.post(url("/api/tandem/notify/")).basic_auth("analyst", Some(PASSWORD)).send().unwrap();
    assert_eq!(r.status(), 403);

    // A roster change: IRQ suspended.
    let out = tandem(&["roster", "sign", "--key", p(&key), "--seq", "1", "suspend", "--member", "IRQ"]);
    assert!(out.status.success(), "{}", text(&out));
    let r = http
        .post(url("/api/tandem/roster/changes/"))
        .basic_auth("analyst", Some(PASSWORD))
        .header("Content-Type", "application/json")
        .body(out.stdout)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());

    // `tandem audit show` lists them, with who and the status.
    wait_until("audit show lists the roster change, the notification and the look-ups", || {
        let out = tandem(&["audit", "show", "--config", p(&cfg), "--limit", "1000"]);
        let lines: Vec<serde_json::Value> =
            String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let has = |action: &str, user: Option<&str>, status: u64| {
            lines
                .iter()
                .any(|e| e["action"] == action && e["status"] == status && user.is_none_or(|u| e["actor_user"] == u))
        };
        has("roster.change", Some("analyst"), 200)
            && has("peer.notify", Some("sync-IRQ"), 202)
            && has("peer.notify", Some("analyst"), 403)
            && has("places.search", Some("analyst"), 200)
            && has("auth.failure", None, 401)
    });

    // A user and a token created with the CLI work on the running node, without a restart.
    let discovery = |auth: &dyn Fn(reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder| {
        auth(http.get(url("/taxii2/")).header("Accept", TAXII)).send().unwrap().status().as_u16()
    };
    assert_eq!(discovery(&|b| b.basic_auth("newbie", Some("long-enough-pw"))), 401);
    let out =
        tandem(&["user", "add", "--config", p(&cfg), "newbie", "--member", "USA", "--password", "long-enough-pw"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_until("the new user authenticates", || discovery(&|b| b.basic_auth("newbie", Some("long-enough-pw"))) == 200);
    let out = tandem(&["token", "create", "--config", p(&cfg), "--user", "newbie"]);
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    wait_until("the new token authenticates", || discovery(&|b| b.bearer_auth(&token)) == 200);
}

#[test]
fn an_unspecified_listen_address_needs_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("node.toml");
    let toml = config(free_port(), "").replace("127.0.0.1:", "0.0.0.0:").replace("[coalition]\nauthority = \"\"\n", "");
    std::fs::write(&cfg, &toml).unwrap();
    let out = tandem(&["serve", "--config", p(&cfg)]);
    assert!(!out.status.success());
    assert!(text(&out).contains("node.public_url"), "{}", text(&out));
}
