//! Hostile input over HTTP, through the real binary: oversized and deeply nested JSON, invalid
//! UTF-8, huge `limit`, forged `next` tokens, path traversal in ids and header injection each get
//! the right 4xx with a TAXII error body (a request timeout of 60 s bounds the time, and the node
//! must still answer afterwards), and another member's hidden object is indistinguishable from
//! one that does not exist on every read path (by id, version, manifest, listing, analytics).
//! Slow headers and connection limits are the accept loop's (see the TLS work).

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

struct Node {
    _dir: tempfile::TempDir,
    port: u16,
    _proc: Proc,
}

fn start() -> Node {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = dir.path().join("node.toml");
    NodeToml::new("USA", port)
        .node_key("max_content_length = 1048576")
        .member("USA")
        .member("IRQ")
        .user_with("usa", "USA", "dev-only", r#"clearance = "SECRET""#)
        .user_with("irq", "IRQ", "dev-only", r#"clearance = "SECRET""#)
        .write(&config)
        .expect("config");
    let proc = Proc(serve_on(&config, port));
    Node { _dir: dir, port, _proc: proc }
}

impl Node {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().expect("client")
}

/// Status, headers and body of a request `user` sends (bodies as bytes: they may be hostile).
fn send(node: &Node, method: &str, path: &str, user: &str, body: Option<Vec<u8>>) -> (u16, String, Value) {
    let mut req = client()
        .request(method.parse().expect("method"), node.url(path))
        .basic_auth(user, Some("dev-only"))
        .header("Accept", TAXII);
    if let Some(b) = body {
        req = req.header("Content-Type", TAXII).body(b);
    }
    let r = req.send().expect("the node answers within the timeout");
    let status = r.status().as_u16();
    let headers = format!("{:?}", r.headers());
    let body = r.json().unwrap_or(Value::Null);
    (status, headers, body)
}

/// A TAXII error: the status, the TAXII content type, and `http_status` in the body.
fn assert_taxii_error(got: &(u16, String, Value), status: u16, what: &str) {
    assert_eq!(got.0, status, "{what}: {:?}", got.2);
    assert!(got.1.contains("application/taxii+json"), "{what}: content type in {}", got.1);
    assert_eq!(got.2["http_status"], status.to_string(), "{what}: {:?}", got.2);
    assert!(got.2["description"].is_string(), "{what}: {:?}", got.2);
}

const OBJECTS: &str = "/api/collections/intel/objects/";

#[test]
fn hostile_requests_get_a_taxii_4xx_and_the_node_keeps_serving() {
    let node = start();
    // Oversized (over max_content_length, 1 MiB here) and deeply nested bodies.
    let big = format!("{{\"objects\": [\"{}\"]}}", "x".repeat(2 * 1024 * 1024)).into_bytes();
    assert_taxii_error(&send(&node, "POST", OBJECTS, "usa", Some(big)), 413, "oversized body");
    let deep = format!("{{\"objects\": {}{}}}", "[".repeat(200_000), "]".repeat(200_000)).into_bytes();
    assert_taxii_error(&send(&node, "POST", OBJECTS, "usa", Some(deep)), 400, "deeply nested JSON");
    let deep_object = format!("{{\"objects\": [{}]}}", "{\"a\":".repeat(50_000) + "1" + &"}".repeat(50_000));
    let r = send(&node, "POST", OBJECTS, "usa", Some(deep_object.into_bytes()));
    assert!(r.0 == 400 || r.0 == 202, "deeply nested object: {:?}", r.2);
    // Invalid UTF-8 in the body and in the query.
    assert_taxii_error(
        &send(&node, "POST", OBJECTS, "usa", Some(b"{\"objects\": [\"\xff\xfe\"]}".to_vec())),
        400,
        "bad UTF-8",
    );
    let r = send(&node, "GET", &format!("{OBJECTS}?match[id]=%ff%fe"), "usa", None);
    assert!(r.0 == 200 || r.0 == 400, "bad UTF-8 in the query: {r:?}");
    // A huge limit is capped (or refused), never an allocation of that size.
    let r = send(&node, "GET", &format!("{OBJECTS}?limit=18446744073709551615"), "usa", None);
    assert!(r.0 == 200 || r.0 == 400, "huge limit: {r:?}");
    assert_taxii_error(
        &send(&node, "GET", &format!("{OBJECTS}?limit=99999999999999999999999"), "usa", None),
        400,
        "limit beyond u64",
    );
    // Forged `next` tokens: positions at the ends of the clock, garbage, other versions.
    for token in ["djE6LTkyMjMzNzIwMzY4NTQ3NzU4MDg", "djE6OTIyMzM3MjAzNjg1NDc3NTgwNw", "djI6MQ", "eyJ9", "%00"] {
        let r = send(&node, "GET", &format!("{OBJECTS}?next={token}"), "usa", None);
        assert!(r.0 == 200 || r.0 == 400, "forged next {token}: {r:?}");
        if r.0 == 400 {
            assert_taxii_error(&r, 400, "forged next");
        }
    }
    // Path traversal in ids: never a file, always a TAXII 404 (or 400).
    for path in [
        "/api/collections/intel/objects/..%2F..%2F..%2Fetc%2Fpasswd/",
        "/api/collections/intel/objects/indicator--..%2F..%2Ftandem.sqlite/",
        "/api/collections/intel/objects/%2e%2e/versions/",
        "/api/collections/..%2Fintel/objects/",
        "/api/collections/intel/objects/indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f%00/",
    ] {
        let r = send(&node, "GET", path, "usa", None);
        assert!(r.0 == 404 || r.0 == 400, "{path}: {r:?}");
        assert_taxii_error(&r, r.0, path);
    }
    // Header injection: CR LF in a value the node might echo (the query, in X-Tandem-Answers
    // or a log) never becomes a header of the response.
    let r = send(&node, "GET", &format!("{OBJECTS}?match[id]=x%0d%0aSet-Cookie:%20pwned=1"), "usa", None);
    assert!(!r.1.to_ascii_lowercase().contains("pwned"), "injected header: {}", r.1);
    // ...nor does one in a request header: the raw request is refused or answered normally.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", node.port)).expect("connect");
    raw.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    raw.write_all(b"GET /taxii2/ HTTP/1.1\r\nHost: x\r\nAccept: application/taxii+json;version=2.1\r\nX-A: a\rSet-Cookie: pwned=1\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let _ = raw.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 4"), "a bare CR in a header: {answer}");
    assert!(!answer.contains("set-cookie: pwned"), "{answer}");

    // Still serving.
    let r = send(&node, "GET", OBJECTS, "usa", None);
    assert_eq!(r.0, 200, "{r:?}");
}

/// What `irq` gets for an id, with the id itself replaced so that two ids can be compared.
fn seen(node: &Node, path: &str, id: &str) -> (u16, Value) {
    let r = send(node, "GET", &path.replace("{id}", id), "irq", None);
    let text = r.2.to_string().replace(id, "{id}");
    (r.0, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn another_members_hidden_ids_are_indistinguishable_from_missing_ones() {
    let node = start();
    let hidden = reported_indicator(&[AMBER], "[ipv4-addr:value = '10.9.9.9']");
    let id = hidden["id"].as_str().expect("id").to_string();
    let version = hidden["modified"].as_str().expect("modified").to_string();
    let body = json!({ "objects": [hidden] }).to_string().into_bytes();
    let r = send(&node, "POST", OBJECTS, "usa", Some(body));
    assert_eq!((r.0, r.2["success_count"].as_u64()), (202, Some(1)), "{r:?}");
    assert_eq!(send(&node, "GET", &format!("{OBJECTS}{id}/"), "usa", None).0, 200, "the originator sees it");
    let missing = "indicator--0b3cbb7c-7b4e-4a0c-9d1f-1c4c5a4e0e2f";
    for path in [
        "/api/collections/intel/objects/{id}/",
        "/api/collections/intel/objects/{id}/versions/",
        &format!("/api/collections/intel/objects/{{id}}/?match[version]={version}"),
        "/api/collections/intel/objects/?match[id]={id}",
        "/api/collections/intel/manifest/?match[id]={id}",
        "/api/collections/intel/objects/?match[id]={id}&match[version]=all",
    ] {
        assert_eq!(seen(&node, path, &id), seen(&node, path, missing), "{path} tells a hidden id from a missing one");
    }
    // The live stream replays everything IRQ may see: a released object, never the hidden one.
    let released = reported_indicator(&[GREEN], "[ipv4-addr:value = '10.8.8.8']");
    let released_id = released["id"].as_str().expect("id").to_string();
    let r = send(&node, "POST", OBJECTS, "usa", Some(json!({ "objects": [released] }).to_string().into_bytes()));
    assert_eq!(r.2["success_count"].as_u64(), Some(1), "{r:?}");
    let events = stream_text(&node, "irq", &released_id);
    assert!(events.contains(&released_id), "the stream replays what IRQ may see: {events}");
    assert!(!events.contains(&id), "the stream shows IRQ a hidden object");

    // Analytics count what the reader may see: the hidden incident changes nothing for IRQ.
    let trends = "/api/tandem/analytics/trends?by=member&interval=month";
    let before = send(&node, "GET", trends, "irq", None);
    let mut incident = json!({"type": "incident", "spec_version": "2.1",
        "id": "incident--5e0b7a7d-3c2e-4b8a-9a51-0d6f1d2c3b4a", "created": "2025-06-22T00:00:00.000Z",
        "modified": "2025-06-22T00:00:00.000Z", "name": "hidden clash", "object_marking_refs": [AMBER]});
    {
        use tandem_model::incident::*;
        IncidentExt {
            fatalities: Some(Count::exact(4)),
            ..IncidentExt::new(
                "Battles",
                "Armed clash",
                TimeWindow::day(Date::new(2025, 6, 22).expect("a date")),
                Place::admin("SY-DY"),
            )
        }
    }
    .attach(&mut incident);
    let r = send(&node, "POST", OBJECTS, "usa", Some(json!({ "objects": [incident] }).to_string().into_bytes()));
    assert_eq!(r.2["success_count"].as_u64(), Some(1), "{r:?}");
    let after = send(&node, "GET", trends, "irq", None);
    assert_eq!(before.0, 200, "{before:?}");
    assert_eq!((before.0, &before.2), (after.0, &after.2), "IRQ's trends moved with a hidden incident");
    let usa = send(&node, "GET", trends, "usa", None);
    assert_ne!(usa.2, after.2, "the originator's trends count it (the check can fail)");
}

/// The stream replayed from the start for `user`, read until `until` appears (or 60 s pass).
fn stream_text(node: &Node, user: &str, until: &str) -> String {
    let mut r = client()
        .get(node.url("/api/tandem/stream/?after=1970-01-01T00:00:00.000000Z"))
        .basic_auth(user, Some("dev-only"))
        .header("Accept", "text/event-stream")
        .send()
        .expect("stream");
    assert_eq!(r.status().as_u16(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    while !text.contains(until) && std::time::Instant::now() < deadline {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    text
}
