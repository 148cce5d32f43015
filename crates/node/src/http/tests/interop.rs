//! The HTTP import and export against an oracle: for every reader, what `GET
//! /api/tandem/export` gives is exactly what TAXII (`Store::list` as that reader) releases, also
//! while a hostile member writes a claim on another member's id and a marking under another
//! member's marking id; and the CSV uploaded comes back as written.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{basic, call, fixture_with};

const EXTRA: &str = r#"public_url = "https://usa.example.org/"
[[members]]
code = "JOR"
name = "Jordan"
[[users]]
name = "iris"
member = "IRQ"
password = "routes-test"
[[users]]
name = "jo"
member = "JOR"
password = "routes-test"
"#;

const HEADER: &str = "event_id_cnty,event_date,time_precision,event_type,sub_event_type,actor1,inter1,actor2,inter2,civilian_targeting,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp";
const SHARED: &str = "SYR1001,2025-11-12,1,Battles,Armed clash,Islamic State (Syria),,SDF,,,Deir ez-Zor,,,Thiban,35.0142,40.5628,1,SOHR,,,2,,1763000000";
const OWN: &str = "SYR1002,2025-11-13,1,Battles,Armed clash,Islamic State (Syria),,SDF,,,Deir ez-Zor,,,Hajin,34.6931,40.8313,1,SOHR,,Only for USA.,1,,1763000000";

async fn raw(app: &axum::Router, method: Method, path: &str, user: &str, body: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, basic(user))
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).to_string())
}

/// `(id, modified, name)` of every incident `user` reads over TAXII: the oracle.
async fn oracle(app: &axum::Router, user: &str) -> Vec<(String, String, String)> {
    let r = call(app, &Method::GET, "/api/collections/intel/objects/?match[type]=incident", Some(user), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut out: Vec<_> = r.body["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_string(),
                o["modified"].as_str().unwrap().to_string(),
                o["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_releases_exactly_what_taxii_releases_with_a_hostile_member_writing() {
    let f = fixture_with(EXTRA).await;
    let marking = tandem_model::incident::releasability_marking(
        "3a4f1f7e-6d0c-4a59-9c51-1b2f0d3e4c5a",
        &["USA", "IRQ"],
        None,
        "2025-11-13T00:00:00.000Z",
    );
    let mid = marking["id"].as_str().unwrap().to_string();
    let w = call(
        &f.app,
        &Method::POST,
        "/api/collections/intel/objects/",
        Some("analyst"),
        Some(&json!({"objects": [marking]})),
    )
    .await;
    assert_eq!(w.status, StatusCode::ACCEPTED, "{}", w.body);
    // USA uploads one row released to IRQ, one for itself.
    for (row, markings) in [(SHARED, mid.as_str()), (OWN, "")] {
        let (status, body) = raw(
            &f.app,
            Method::POST,
            &format!("/api/tandem/import?format=csv&markings={markings}"),
            "analyst",
            &format!("{HEADER}\n{row}\n"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let report: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(report["counts"]["stored"], 2, "{report}");
    }
    // A dry run stores nothing and says what it would.
    let (_, body) =
        raw(&f.app, Method::POST, "/api/tandem/import?format=csv&dry_run=true", "iris", &format!("{HEADER}\n{OWN}\n"))
            .await;
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["counts"]["would_store"], 2, "{report}");
    assert!(report["counts"].get("stored").is_none());

    // JOR, hostile: claims USA's own incident id (TLP:GREEN, another content) and defines USA's
    // marking id as released to itself.
    let own_id = tandem_interop::acled::import::incident_id("SYR1002");
    let mut claim = json!({"type": "incident", "spec_version": "2.1", "id": own_id, "name": "JOR's claim",
        "created": "2025-11-13T00:00:00.000Z", "modified": "2025-11-20T00:00:00.000Z",
        "object_marking_refs": [tandem_model::tlp::TLP2_GREEN]});
    let fake = tandem_model::incident::releasability_marking(
        "3a4f1f7e-6d0c-4a59-9c51-1b2f0d3e4c5a",
        &["USA", "IRQ", "JOR"],
        None,
        "2025-11-13T00:00:00.000Z",
    );
    claim["description"] = json!("posted to make the USA-only incident leak");
    let w = call(
        &f.app,
        &Method::POST,
        "/api/collections/intel/objects/",
        Some("jo"),
        Some(&json!({"objects": [fake, claim]})),
    )
    .await;
    assert_eq!(w.status, StatusCode::ACCEPTED, "{}", w.body);

    for user in ["analyst", "iris", "jo"] {
        let want = oracle(&f.app, user).await;
        let (status, body) = raw(&f.app, Method::GET, "/api/tandem/export?format=stix", user, "").await;
        assert_eq!(status, StatusCode::OK, "{user}: {body}");
        let bundle: Value = serde_json::from_str(&body).unwrap();
        let mut got: Vec<_> = bundle["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["type"] == "incident")
            .map(|o| {
                (
                    o["id"].as_str().unwrap().to_string(),
                    o["modified"].as_str().unwrap().to_string(),
                    o["name"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "{user}: the STIX export differs from what TAXII releases");

        let (status, csv) = raw(&f.app, Method::GET, "/api/tandem/export?format=csv", user, "").await;
        assert_eq!(status, StatusCode::OK);
        let ids: Vec<&str> = csv.lines().skip(1).filter_map(|l| l.split(',').next()).collect();
        // Only incidents with Tandem's extension make rows; each is one the oracle holds.
        for id in &ids {
            let stix = tandem_interop::acled::import::incident_id(id);
            assert!(want.iter().any(|(w, _, _)| *w == stix), "{user}: CSV row {id} not released to it");
        }
        assert!(user == "analyst" || !csv.contains("Only for USA."), "{user} read USA's own notes");
        let (status, misp) = raw(&f.app, Method::GET, "/api/tandem/export?format=misp", user, "").await;
        assert_eq!(status, StatusCode::OK);
        let events: Value = serde_json::from_str(&misp).unwrap();
        for e in events["response"].as_array().unwrap() {
            let id = format!("incident--{}", e["Event"]["uuid"].as_str().unwrap());
            assert!(want.iter().any(|(w, _, _)| *w == id), "{user}: MISP event {id} not released to it");
        }
        assert!(user == "analyst" || !misp.contains("Only for USA."), "{user} read USA's own notes in MISP");
        match user {
            "analyst" => assert_eq!(ids, ["SYR1001", "SYR1002"]),
            "iris" => assert_eq!(ids, ["SYR1001"]),
            _ => assert!(ids.is_empty(), "jo: {ids:?}"),
        }
    }
    // The upload comes back as written.
    let (_, csv) = raw(&f.app, Method::GET, "/api/tandem/export?format=csv", "iris", "").await;
    assert_eq!(csv, format!("{HEADER}\n{SHARED}\n"));
    f.fed.stop().await;
}

/// What `tandem import|export` can say, the HTTP API can: a MISP distribution mapping (a level
/// it does not name is refused, never widened), a deletions file that revokes the caller's own
/// incidents only, and the STIX export's filters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_parameters_over_http_mapping_deletions_and_filters() {
    let f = fixture_with(EXTRA).await;
    let event = json!({"Event": {"uuid": "6a0c7d52-3a1e-4b8f-9c2d-6e4a1b3c0001", "info": "community event",
        "date": "2025-11-12", "timestamp": "1763000000", "distribution": "1"}});
    // Distribution 1 without a mapping: refused.
    let (status, body) =
        raw(&f.app, Method::POST, "/api/tandem/import?format=misp", "analyst", &event.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["rejected"].as_array().map(Vec::len), Some(1), "{report}");
    assert!(oracle(&f.app, "iris").await.is_empty());
    // A mapping that is not one is the caller's 400.
    let bad = urlencode(r#"{"community": "USA", "everyone": ["JOR"]}"#);
    let (status, _) = raw(
        &f.app,
        Method::POST,
        &format!("/api/tandem/import?format=misp&misp_mapping={bad}"),
        "analyst",
        &event.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // With distribution 1 mapped to USA and IRQ: stored, and Iraq's user reads it; Jordan's not.
    let mapping = urlencode(r#"{"community": ["USA", "IRQ"]}"#);
    let (status, body) = raw(
        &f.app,
        Method::POST,
        &format!("/api/tandem/import?format=misp&misp_mapping={mapping}"),
        "analyst",
        &event.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert!(report["rejected"].as_array().is_some_and(Vec::is_empty), "{report}");
    let id = "incident--6a0c7d52-3a1e-4b8f-9c2d-6e4a1b3c0001";
    assert!(oracle(&f.app, "iris").await.iter().any(|(i, _, _)| i == id));
    assert!(oracle(&f.app, "jo").await.is_empty());
    // The export maps the releasability back to distribution 1 with the same mapping, to 0 without.
    for (query, want) in [(format!("&misp_mapping={mapping}"), "1"), (String::new(), "0")] {
        let (status, body) =
            raw(&f.app, Method::GET, &format!("/api/tandem/export?format=misp{query}"), "analyst", "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let misp: Value = serde_json::from_str(&body).unwrap();
        let e = misp["response"].as_array().and_then(|a| a.iter().find(|e| e["Event"]["uuid"] == id[10..]));
        assert_eq!(e.map(|e| e["Event"]["distribution"].clone()), Some(json!(want)), "{query}: {misp}");
    }

    // CSV rows by two members; a deletions file from Iraq's user names both: only its own goes.
    for (user, row) in [("analyst", SHARED), ("iris", OWN.replace("SYR1002", "IRQ3001").as_str())] {
        let (status, body) =
            raw(&f.app, Method::POST, "/api/tandem/import?format=csv", user, &format!("{HEADER}\n{row}\n")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let deletions = "event_id_cnty,deleted_timestamp\nSYR1001,1764000000\nIRQ3001,1764000000\n";
    let (status, body) =
        raw(&f.app, Method::POST, "/api/tandem/import?format=csv&deletions=true&dry_run=true", "iris", deletions).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let dry: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(dry["counts"]["would_store"], 1, "{dry}");
    let (status, body) =
        raw(&f.app, Method::POST, "/api/tandem/import?format=csv&deletions=true", "iris", deletions).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["counts"]["revocations"], 1, "{report}");
    let rejected = report["rejected"].as_array().cloned().unwrap_or_default();
    assert_eq!(rejected.len(), 1, "{report}");
    assert_eq!((rejected[0]["at"].clone(), rejected[0]["key"].clone()), (json!(2), json!("SYR1001")), "{report}");
    let (_, csv) = raw(&f.app, Method::GET, "/api/tandem/export?format=csv", "iris", "").await;
    assert!(!csv.contains("IRQ3001"), "revoked: {csv}");
    let (_, csv) = raw(&f.app, Method::GET, "/api/tandem/export?format=csv", "analyst", "").await;
    assert!(csv.contains("SYR1001"), "USA's stays: {csv}");
    let (status, _) = raw(&f.app, Method::POST, "/api/tandem/import?format=misp&deletions=true", "iris", "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The STIX export's filters.
    let objects = |body: &str| -> Vec<Value> {
        serde_json::from_str::<Value>(body).unwrap()["objects"].as_array().cloned().unwrap_or_default()
    };
    let (status, body) = raw(&f.app, Method::GET, "/api/tandem/export?format=stix&type=incident", "analyst", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let incidents = objects(&body);
    assert!(!incidents.is_empty() && incidents.iter().all(|o| o["type"] == "incident"), "{body}");
    let (_, body) =
        raw(&f.app, Method::GET, "/api/tandem/export?format=stix&type=incident,location", "analyst", "").await;
    assert!(objects(&body).iter().any(|o| o["type"] == "location"));
    // `since`/`until` select by version time; SYR1001's incident is of 2025-11-13 (its timestamp).
    let (_, body) = raw(
        &f.app,
        Method::GET,
        "/api/tandem/export?format=stix&type=incident&since=2025-11-13T00:00:00Z&until=2025-11-13T23:59:59Z",
        "iris",
        "",
    )
    .await;
    let window: Vec<String> = objects(&body).iter().map(|o| o["modified"].as_str().unwrap_or("").to_string()).collect();
    assert!(window.iter().all(|m| m.starts_with("2025-11-13")), "{window:?}");
    let (_, all) =
        raw(&f.app, Method::GET, "/api/tandem/export?format=stix&all_versions=true&type=incident", "iris", "").await;
    let (_, last) = raw(&f.app, Method::GET, "/api/tandem/export?format=stix&type=incident", "iris", "").await;
    assert!(objects(&all).len() > objects(&last).len(), "the revoked incident's two versions");
    let future = "/api/tandem/export?format=stix&added_after=2999-01-01T00:00:00Z";
    let (_, body) = raw(&f.app, Method::GET, future, "analyst", "").await;
    assert!(objects(&body).is_empty());
    for bad in ["format=stix&since=yesterday", "format=csv&type=incident", "format=misp&all_versions=yes"] {
        let (status, _) = raw(&f.app, Method::GET, &format!("/api/tandem/export?{bad}"), "analyst", "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    f.fed.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
