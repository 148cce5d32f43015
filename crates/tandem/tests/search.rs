//! Full-text search through the real binary: `GET /api/tandem/search` on a node serving over
//! HTTP, on SQLite and on PostgreSQL. Objects posted over TAXII are found by any spelling of a
//! place the gazetteer folds together or lists for the place (Arabic and Latin), page by page
//! with `next`; a reader finds nothing by a
//! word that only a property withheld from it (granular marking) or an object released only to
//! others contains, and receives the redacted copy; a bad query is a 400 with a TAXII error
//! body, no credentials a 401.

mod common;

use serde_json::{Value, json};

use common::*;

const PASSWORD: &str = "search-test";
const REL_UUID: &str = "6f0c2a4e-1b7d-4c3e-9a51-2d4e6f8a0b1c";

fn incident(n: u32, name: &str, description: &str, markings: &[&str]) -> Value {
    json!({"type": "incident", "spec_version": "2.1", "id": format!("incident--5e4d3c2b-0000-4000-8000-{n:012}"),
           "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
           "name": name, "description": description, "object_marking_refs": markings})
}

struct Node {
    port: u16,
    http: reqwest::blocking::Client,
}

impl Node {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn post(&self, objects: Vec<Value>) {
        let n = objects.len();
        let r = self
            .http
            .post(self.url("/api/collections/intel/objects/"))
            .basic_auth("analyst", Some(PASSWORD))
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .body(json!({ "objects": objects }).to_string())
            .send()
            .expect("post");
        assert_eq!(r.status(), 202);
        let status: Value = r.json().expect("status");
        assert_eq!(status["success_count"], n, "{status}");
    }

    /// GET /api/tandem/search with `query` (already URL-encoded) as `user`: (status, body).
    fn search(&self, user: Option<&str>, query: &str) -> (u16, Value) {
        let mut req = self.http.get(self.url(&format!("/api/tandem/search?{query}")));
        if let Some(u) = user {
            req = req.basic_auth(u, Some(PASSWORD));
        }
        let r = req.send().expect("search");
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    /// Every object `user` finds for `q`, following `next` with pages of `limit`.
    fn found(&self, user: &str, q: &str, limit: usize) -> Vec<Value> {
        let q = urlencode(q);
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = match &next {
                None => format!("q={q}&limit={limit}"),
                Some(t) => format!("q={q}&limit={limit}&next={t}"),
            };
            let (status, body) = self.search(Some(user), &page);
            assert_eq!(status, 200, "{body}");
            let objects = body["objects"].as_array().cloned().unwrap_or_default();
            assert!(objects.len() <= limit);
            out.extend(objects);
            match body["next"].as_str() {
                Some(t) => {
                    assert_eq!(body["more"], true);
                    next = Some(t.to_string());
                }
                None => {
                    assert_eq!(body["more"], false);
                    return out;
                }
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn names(objects: &[Value]) -> Vec<String> {
    objects.iter().map(|o| o["name"].as_str().unwrap_or_default().to_string()).collect()
}

fn scenario(postgres: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut toml = NodeToml::new("USA", port)
        .member("USA")
        .member("IRQ")
        .member("SYR")
        .user("analyst", "USA", PASSWORD)
        .user("iris", "IRQ", PASSWORD)
        .user("sam", "SYR", PASSWORD);
    if let Some(url) = postgres {
        toml = toml.postgres(url);
    }
    let cfg = dir.path().join("node.toml");
    toml.write(&cfg).unwrap();
    let _node = Proc(serve_on(&cfg, port));
    let node = Node {
        port,
        http: reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap(),
    };

    let marking =
        tandem_model::incident::releasability_marking(REL_UUID, &["USA", "IRQ"], None, "2025-11-13T00:00:00.000Z");
    let rel = marking["id"].as_str().unwrap().to_string();
    let mut informant = incident(1, "Raid in ar-Raqqah", "informant in Tabqa", &[GREEN]);
    informant["granular_markings"] = json!([{"selectors": ["description"], "marking_ref": rel}]);
    let mut objects = vec![
        marking.clone(),
        informant,
        incident(2, "Tabqa dam closed", "for USA and Iraq only", &[&rel]),
        json!({"type": "report", "spec_version": "2.1", "id": "report--5e4d3c2b-0000-4000-8000-000000000003",
               "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
               "name": "Weekly report", "description": "اشتباكات في الرقة", "published": "2025-11-24T00:00:00Z",
               "object_refs": ["incident--5e4d3c2b-0000-4000-8000-000000000001"], "object_marking_refs": [GREEN]}),
    ];
    objects.extend((4..=7).map(|n| incident(n, &format!("Patrol {n} near Raqqa"), "routine", &[GREEN])));
    node.post(objects);

    // Any spelling of the place, page by page, in either script (the gazetteer names Ar Raqqah
    // الرقة too); the hidden description is not in the copy.
    let syr = node.found("sam", "Raqqah", 2);
    let raqqa = [
        "Raid in ar-Raqqah",
        "Weekly report",
        "Patrol 4 near Raqqa",
        "Patrol 5 near Raqqa",
        "Patrol 6 near Raqqa",
        "Patrol 7 near Raqqa",
    ];
    assert_eq!(names(&syr), raqqa);
    assert!(syr[0].get("description").is_none(), "SYR receives the redacted copy: {}", syr[0]);
    for spelling in ["ar-raqqa", "RAQQA", "الرقه", "الرَّقَّة"] {
        assert_eq!(names(&node.found("sam", spelling, 50)), raqqa, "{spelling}");
    }
    // A prefix takes no other spellings; a phrase; words ANDed.
    assert_eq!(names(&node.found("sam", "اشتباك*", 50)), ["Weekly report"]);
    assert_eq!(names(&node.found("sam", "raq*", 50)).len(), 5, "a Latin prefix matches Latin spellings only");
    assert_eq!(names(&node.found("sam", "\"patrol 6\"", 50)), ["Patrol 6 near Raqqa"]);
    assert_eq!(names(&node.found("sam", "patr* raqqa", 3)).len(), 4);
    // What only IRQ and USA may see finds nothing for SYR, but finds it for IRQ.
    assert!(node.found("sam", "tabqa", 50).is_empty(), "withheld text must find nothing");
    assert!(node.found("sam", "informant", 50).is_empty());
    assert_eq!(names(&node.found("iris", "tabqa", 50)), ["Raid in ar-Raqqah", "Tabqa dam closed"]);
    // A type filter.
    let (status, body) = node.search(Some("iris"), "q=raqqa&type=report");
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(body["objects"].as_array().unwrap()), ["Weekly report"]);

    // Bad queries: 400 with a TAXII error body, never a 500.
    for bad in [
        "",
        "q=",
        "q=%20%20",
        "q=%22unclosed",
        "q=*",
        "q=r*",
        "q=al",
        "q=%FF%FE",
        "q=raqqa&type=",
        "q=raqqa&limit=0",
        "q=raqqa&limit=many",
        "q=raqqa&type=indicator",
        "q=raqqa&next=garbage",
        "q=raqqa&collection=nope",
    ] {
        let (status, body) = node.search(Some("sam"), bad);
        let want = if bad.ends_with("collection=nope") { 404 } else { 400 };
        assert_eq!(status, want, "{bad}: {body}");
        assert_eq!(body["http_status"], want.to_string(), "{bad}: {body}");
        assert!(body["title"].is_string() && body["description"].is_string(), "{bad}: {body}");
    }
    let long = "a".repeat(tandem_store::text::MAX_QUERY_CHARS + 1);
    assert_eq!(node.search(Some("sam"), &format!("q={long}")).0, 400);
    // Authenticated like every /api/tandem/ route.
    let (status, body) = node.search(None, "q=raqqa");
    assert_eq!(status, 401, "{body}");
    assert_eq!(node.search(Some("nobody"), "q=raqqa").0, 401);
}

#[test]
fn search_over_http_on_sqlite() {
    scenario(None);
}

#[test]
fn search_over_http_on_postgres() {
    scenario(Some(&tandem_store_postgres::testdb::fresh_url()));
}
