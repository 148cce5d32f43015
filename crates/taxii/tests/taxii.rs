//! Handler tests: the whole router over a real SQLite store, driven with `oneshot`.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};
use tandem_taxii::TaxiiConfig;

#[tokio::test]
async fn discovery_api_root_and_collections() {
    let f = fixture();
    for path in ["/taxii2/", "/taxii2"] {
        let r = get(&f.app, path, "alice").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["title"], "Tandem test");
        assert_eq!(r.body["api_roots"], json!(["http://127.0.0.1:8480/api/"]));
        assert_eq!(r.body["default"], "http://127.0.0.1:8480/api/");
    }
    // A forged Host (or X-Forwarded-Proto) is never reflected: discovery names the configured URL.
    let forged = req(Method::GET, "/taxii2/", Some("alice"))
        .header("host", "evil.example:666")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let r = send(&f.app, forged).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["api_roots"], json!(["http://127.0.0.1:8480/api/"]));
    assert!(!String::from_utf8_lossy(&r.raw).contains("evil.example"), "{:?}", r.body);
    // Without a public URL, the API root is named relative to what the client used.
    let bare = fixture_with(TaxiiConfig { public_url: None, ..config() });
    let forged =
        req(Method::GET, "/taxii2/", Some("alice")).header("host", "evil.example").body(Body::empty()).unwrap();
    let r = send(&bare.app, forged).await;
    assert_eq!((r.body["default"].clone(), r.body["api_roots"].clone()), (json!("/api/"), json!(["/api/"])));

    let r = get(&f.app, "/api/", "alice").await;
    assert_eq!(r.body["versions"], json!([TAXII]));
    assert_eq!(r.body["max_content_length"], json!(2 * 1024 * 1024));

    let r = get(&f.app, "/api/collections/", "alice").await;
    let colls = r.body["collections"].as_array().unwrap();
    assert_eq!(colls.len(), 3);
    assert_eq!(colls[0]["id"], COLL);
    assert_eq!(colls[0]["alias"], "intel");
    assert_eq!(colls[0]["can_write"], true);
    assert_eq!(colls[0]["media_types"], json!(["application/stix+json;version=2.1"]));
    // A read-only account sees can_write false.
    let r = get(&f.app, "/api/collections", "reader").await;
    assert_eq!(r.body["collections"][0]["can_write"], false);

    for path in [format!("/api/collections/{COLL}/"), "/api/collections/intel".to_string()] {
        let r = get(&f.app, &path, "alice").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["id"], COLL);
    }
    let r = get(&f.app, "/api/collections/nope/", "alice").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn mixed_envelope_good_objects_survive_bad_ones() {
    let f = fixture();
    let body = json!({"objects": [
        indicator(1, "2025-01-01T00:00:00.000Z", GREEN),
        {"type": "indicator", "id": "indicator--not-a-uuid", "spec_version": "2.1"},
        malware(2),
        "not an object",
    ]});
    let r = post(&f.app, &objects_url(COLL), "alice", &body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let s = &r.body;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["total_count"], 4);
    assert_eq!(s["success_count"], 2);
    assert_eq!(s["failure_count"], 2);
    assert_eq!(s["pending_count"], 0);
    assert_eq!(s["successes"].as_array().unwrap().len(), 2);
    assert_eq!(s["successes"][0]["id"], indicator_id(1));
    assert_eq!(s["successes"][0]["version"], "2025-01-01T00:00:00.000Z");
    assert_eq!(s["failures"][0]["id"], "indicator--not-a-uuid");
    assert!(s["failures"][0]["message"].as_str().unwrap().len() > 3);
    assert!(uuid::Uuid::parse_str(s["id"].as_str().unwrap()).is_ok());
    assert!(s["request_timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(f.hooks.0.lock().unwrap().as_slice(), &[(COLL.to_string(), "USA".to_string(), 2)]);

    // The status, with and without the trailing slash; only its submitter sees it.
    let id = s["id"].as_str().unwrap();
    for path in [format!("/api/status/{id}/"), format!("/api/status/{id}")] {
        let r = get(&f.app, &path, "alice").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(&r.body, s);
    }
    let other = get(&f.app, &format!("/api/status/{id}/"), "bob").await;
    let missing = get(&f.app, "/api/status/00000000-0000-4000-8000-000000000000/", "bob").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(other.raw, missing.raw);

    let r = get(&f.app, &objects_url(COLL), "bob").await;
    assert_eq!(r.body["objects"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bundle_duplicate_and_conflict() {
    let f = fixture();
    let bundle = json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001",
        "objects": [indicator(1, "2025-01-01T00:00:00.000Z", GREEN)]});
    let r = post(&f.app, &objects_url("intel"), "alice", &bundle).await;
    assert_eq!((r.status, r.body["success_count"].clone()), (StatusCode::ACCEPTED, json!(1)));
    // The same version again: a success, not an error.
    let r = post(&f.app, &objects_url(COLL), "alice", &bundle).await;
    assert_eq!(r.body["success_count"], 1);
    assert_eq!(r.body["failure_count"], 0);
    // Different content under the same (id, modified): a conflict, reported as a failure.
    let mut changed = indicator(1, "2025-01-01T00:00:00.000Z", GREEN);
    changed["name"] = json!("something else");
    let r = post(&f.app, &objects_url(COLL), "alice", &json!({"objects": [changed]})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!((r.body["success_count"].clone(), r.body["failure_count"].clone()), (json!(0), json!(1)));
    assert_eq!(r.body["failures"][0]["id"], indicator_id(1));
    // An empty envelope is a complete, empty status.
    let r = post(&f.app, &objects_url(COLL), "alice", &json!({})).await;
    assert_eq!((r.body["total_count"].clone(), r.body["success_count"].clone()), (json!(0), json!(0)));
}

#[tokio::test]
async fn paging_2500_objects() {
    let f = fixture();
    let objects: Vec<Value> = (0..2500).map(|n| indicator(n, "2025-01-01T00:00:00.000Z", GREEN)).collect();
    for chunk in objects.chunks(1250) {
        seed(&f.app, chunk.to_vec()).await;
    }
    for (endpoint, limit) in [("objects", 1000), ("manifest", 1000), ("objects", 5000)] {
        let mut seen: Vec<String> = Vec::new();
        let mut next: Option<String> = None;
        let mut pages = 0;
        let mut last_header = String::new();
        loop {
            let mut uri = format!("/api/collections/{COLL}/{endpoint}/?limit={limit}");
            if let Some(n) = &next {
                uri.push_str(&format!("&next={n}"));
            }
            let r = get(&f.app, &uri, "bob").await;
            assert_eq!(r.status, StatusCode::OK);
            pages += 1;
            let items = r.body["objects"].as_array().cloned().unwrap_or_default();
            assert!(items.len() <= 1000);
            let first = r.header("x-taxii-date-added-first").unwrap().to_string();
            let last = r.header("x-taxii-date-added-last").unwrap().to_string();
            assert_eq!(first.len(), 27, "{first}");
            assert!(first > last_header, "pages overlap");
            last_header = last;
            seen.extend(items.iter().map(|o| o["id"].as_str().unwrap().to_string()));
            let more = r.body["more"].as_bool().unwrap();
            assert_eq!(more, r.body.get("next").is_some(), "next set iff more");
            if !more {
                break;
            }
            next = r.body["next"].as_str().map(String::from);
        }
        assert_eq!(pages, 3, "{endpoint}");
        assert_eq!(seen.len(), 2500);
        let mut dedup = seen.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 2500, "no repeats");
    }
}

#[tokio::test]
async fn filters() {
    let f = fixture();
    seed(&f.app, vec![indicator(1, "2025-01-01T00:00:00.000Z", GREEN), malware(2)]).await;
    seed(&f.app, vec![indicator(1, "2025-02-01T00:00:00.000Z", GREEN)]).await;
    seed(&f.app, vec![indicator(1, "2025-03-01T00:00:00.000Z", GREEN)]).await;
    let base = objects_url(COLL);
    let names = |r: &Resp| -> Vec<String> {
        r.body["objects"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| format!("{}@{}", o["type"].as_str().unwrap(), o["modified"].as_str().unwrap()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let r = get(&f.app, &base, "bob").await;
    assert_eq!(names(&r), ["malware@2025-01-01T00:00:00.000Z", "indicator@2025-03-01T00:00:00.000Z"]);
    let r = get(&f.app, &format!("{base}?match[type]=malware"), "bob").await;
    assert_eq!(names(&r), ["malware@2025-01-01T00:00:00.000Z"]);
    let r = get(&f.app, &format!("{base}?match[type]=malware,indicator&match[version]=all"), "bob").await;
    assert_eq!(names(&r).len(), 4);
    let r = get(&f.app, &format!("{base}?match[id]={}&match[version]=first", indicator_id(1)), "bob").await;
    assert_eq!(names(&r), ["indicator@2025-01-01T00:00:00.000Z"]);
    // Exact versions compare as instants, whatever the number of fractional digits.
    let r =
        get(&f.app, &format!("{base}?match[version]=2025-02-01T00:00:00Z,2025-03-01T00:00:00.000000Z"), "bob").await;
    assert_eq!(names(&r), ["indicator@2025-02-01T00:00:00.000Z", "indicator@2025-03-01T00:00:00.000Z"]);
    let r = get(&f.app, &format!("{base}?match[spec_version]=2.1"), "bob").await;
    assert_eq!(names(&r).len(), 2);
    let r = get(&f.app, &format!("{base}?match[spec_version]=2.0"), "bob").await;
    assert_eq!(r.body, json!({"more": false}));
    // added_after: the first page's last date_added excludes everything up to it.
    let all = get(&f.app, &format!("{base}?match[version]=all"), "bob").await;
    let first_added = all.header("x-taxii-date-added-first").unwrap().to_string();
    let r = get(&f.app, &format!("{base}?match[version]=all&added_after={first_added}"), "bob").await;
    assert_eq!(names(&r).len(), 3);
    // An empty page: no objects key, headers at the query's lower bound.
    let r = get(&f.app, &format!("{base}?added_after=2099-01-01T00:00:00.5Z"), "bob").await;
    assert_eq!(r.body, json!({"more": false}));
    assert_eq!(r.header("x-taxii-date-added-first"), Some("2099-01-01T00:00:00.500000Z"));
    assert_eq!(r.header("x-taxii-date-added-last"), Some("2099-01-01T00:00:00.500000Z"));
    let r = get(&f.app, &format!("/api/collections/{COLL}/objects/?match[type]=grouping"), "bob").await;
    assert_eq!(r.header("x-taxii-date-added-first"), Some("1970-01-01T00:00:00.000000Z"));
    // Unknown parameters are ignored.
    let r = get(&f.app, &format!("{base}?foo=bar&match[color]=red"), "bob").await;
    assert_eq!(names(&r).len(), 2);
}

#[tokio::test]
async fn object_versions_and_manifest() {
    let f = fixture();
    seed(&f.app, vec![indicator(1, "2025-01-01T00:00:00.000Z", GREEN)]).await;
    seed(&f.app, vec![indicator(1, "2025-02-01T00:00:00.123Z", GREEN)]).await;
    let id = indicator_id(1);
    for path in [format!("{}{id}/", objects_url(COLL)), format!("{}{id}", objects_url(COLL))] {
        let r = get(&f.app, &path, "bob").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["objects"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["objects"][0]["modified"], "2025-02-01T00:00:00.123Z");
        assert!(r.header("x-taxii-date-added-first").is_some());
    }
    let r = get(&f.app, &format!("{}{id}/?match[version]=all", objects_url(COLL)), "bob").await;
    assert_eq!(r.body["objects"].as_array().unwrap().len(), 2);

    for path in [format!("{}{id}/versions/", objects_url(COLL)), format!("{}{id}/versions", objects_url(COLL))] {
        let r = get(&f.app, &path, "bob").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["versions"], json!(["2025-01-01T00:00:00.000000Z", "2025-02-01T00:00:00.123000Z"]));
        assert_eq!(r.body["more"], false);
        assert!(r.header("x-taxii-date-added-last").is_some());
    }
    let r = get(&f.app, &format!("/api/collections/{COLL}/manifest/?match[version]=all"), "bob").await;
    let m = r.body["objects"].as_array().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["id"], id);
    assert_eq!(m[0]["version"], "2025-01-01T00:00:00.000000Z");
    assert_eq!(m[0]["media_type"], "application/stix+json;version=2.1");
    assert_eq!(m[0]["date_added"].as_str().unwrap().len(), 27);
    assert_eq!(r.header("x-taxii-date-added-first"), m[0]["date_added"].as_str());
    assert_eq!(r.header("x-taxii-date-added-last"), m[1]["date_added"].as_str());
}

#[tokio::test]
async fn hidden_object_is_indistinguishable_from_a_missing_one() {
    let f = fixture();
    seed(&f.app, vec![indicator(7, "2025-01-01T00:00:00.000Z", AMBER)]).await;
    let hidden = format!("{}{}/", objects_url(COLL), indicator_id(7));
    let missing = format!("{}{}/", objects_url(COLL), indicator_id(8));
    assert_eq!(get(&f.app, &hidden, "alice").await.status, StatusCode::OK);
    for suffix in ["", "versions/"] {
        let h = get(&f.app, &format!("{hidden}{suffix}"), "bob").await;
        let m = get(&f.app, &format!("{missing}{suffix}"), "bob").await;
        assert_eq!(h.status, StatusCode::NOT_FOUND);
        assert_eq!((h.status, h.raw), (m.status, m.raw));
    }
    let r = get(&f.app, &objects_url(COLL), "bob").await;
    assert_eq!(r.body, json!({"more": false}));
    let h = send(&f.app, req(Method::DELETE, &hidden, Some("bob")).body(Body::empty()).unwrap()).await;
    let m = send(&f.app, req(Method::DELETE, &missing, Some("bob")).body(Body::empty()).unwrap()).await;
    assert_eq!(h.status, StatusCode::NOT_FOUND);
    assert_eq!(h.raw, m.raw);
    // A suspended member authenticates but sees nothing, and may not write.
    seed(&f.app, vec![malware(3)]).await;
    let r = get(&f.app, &objects_url(COLL), "sam").await;
    assert_eq!(r.body, json!({"more": false}));
    let r = post(&f.app, &objects_url(COLL), "sam", &json!({"objects": [malware(4)]})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn delete_object() {
    let f = fixture();
    seed(&f.app, vec![indicator(1, "2025-01-01T00:00:00.000Z", GREEN)]).await;
    seed(&f.app, vec![indicator(1, "2025-02-01T00:00:00.000Z", GREEN)]).await;
    let url = format!("{}{}/", objects_url(COLL), indicator_id(1));
    let del = |user: &'static str, q: &str| {
        req(Method::DELETE, &format!("{url}{q}"), Some(user)).body(Body::empty()).unwrap()
    };
    // Visible to IRQ but originated by USA: forbidden.
    assert_eq!(send(&f.app, del("bob", "")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(send(&f.app, del("reader", "")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(send(&f.app, del("alice", "?match[version]=bogus")).await.status, StatusCode::BAD_REQUEST);
    let r = send(&f.app, del("alice", "?match[version]=2025-01-01T00:00:00.000Z")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.raw.is_empty());
    let r = get(&f.app, &format!("{url}versions/"), "alice").await;
    assert_eq!(r.body["versions"], json!(["2025-02-01T00:00:00.000000Z"]));
    let r = send(&f.app, del("alice", "")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(get(&f.app, &url, "alice").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&f.app, &url, "bob").await.status, StatusCode::NOT_FOUND);
    assert_eq!(send(&f.app, del("alice", "")).await.status, StatusCode::NOT_FOUND);
    // Deleted versions cannot come back.
    let r = post(
        &f.app,
        &objects_url(COLL),
        "alice",
        &json!({"objects": [indicator(1, "2025-02-01T00:00:00.000Z", GREEN)]}),
    )
    .await;
    assert_eq!(r.body["failure_count"], 1);
}

#[tokio::test]
async fn authentication() {
    let f = fixture();
    let no_auth = send(&f.app, req(Method::GET, "/api/collections/", None).body(Body::empty()).unwrap()).await;
    assert_eq!(no_auth.status, StatusCode::UNAUTHORIZED);
    assert_eq!(no_auth.header("www-authenticate"), Some("Basic realm=\"tandem\", Bearer"));
    for auth in [
        "Basic YWxpY2U6d3Jvbmc=".to_string(), // alice:wrong
        "Basic !!!".to_string(),
        "Bearer tdm_0000_nope".to_string(),
        format!("Bearer {}x", f.token),
        "Negotiate abc".to_string(),
        basic("ghost"), // valid password, member unknown to the roster
    ] {
        let r = send(
            &f.app,
            req(Method::GET, "/taxii2/", None).header("authorization", auth.clone()).body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth}");
        assert!(r.header("www-authenticate").is_some());
        assert_eq!(r.raw, no_auth.raw);
    }
    let r = send(
        &f.app,
        req(Method::GET, "/api/collections/", None)
            .header("authorization", format!("Bearer {}", f.token))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // A read-only account may not write.
    let r = post(&f.app, &objects_url(COLL), "reader", &json!({"objects": [malware(1)]})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_inputs_are_4xx_never_500() {
    let f = fixture();
    let o = objects_url(COLL);
    let t = |method: Method, uri: &str| req(method, uri, Some("alice"));
    let cases: Vec<(axum::http::Request<Body>, StatusCode)> = vec![
        // Content negotiation.
        (
            Request::get("/taxii2/").header("authorization", basic("alice")).body(Body::empty()).unwrap(),
            StatusCode::NOT_ACCEPTABLE,
        ),
        (override_accept("/taxii2/", "application/json"), StatusCode::NOT_ACCEPTABLE),
        (override_accept("/taxii2/", "application/stix+json;version=2.1"), StatusCode::NOT_ACCEPTABLE),
        (override_accept("/api/", "application/taxii+json;version=2.0"), StatusCode::NOT_ACCEPTABLE),
        (override_accept("/api/", "application/taxii+json ; version=2.1; charset=utf-8"), StatusCode::OK),
        (override_accept("/api/", "application/taxii+json"), StatusCode::OK),
        (override_accept("/api/", "*/*"), StatusCode::OK),
        (
            t(Method::POST, &o).header("content-type", "application/json").body(Body::from("{}")).unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (t(Method::POST, &o).body(Body::from("{}")).unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            t(Method::POST, &o)
                .header("content-type", "application/taxii+json;version=2.0")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            t(Method::POST, &o)
                .header("content-type", "application/taxii+json; charset=utf-8")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::ACCEPTED,
        ),
        // Bodies.
        (post_raw(&o, "{not json"), StatusCode::BAD_REQUEST),
        (post_raw(&o, "[1, 2]"), StatusCode::BAD_REQUEST),
        (post_raw(&o, r#"{"objects": {"a": 1}}"#), StatusCode::BAD_REQUEST),
        (post_raw(&o, r#"{"type": "indicator", "id": "x"}"#), StatusCode::BAD_REQUEST),
        (post_raw(&o, ""), StatusCode::BAD_REQUEST),
        (post_raw(&o, "\u{0}\u{1}"), StatusCode::BAD_REQUEST),
        // Query parameters.
        (t(Method::GET, &format!("{o}?limit=0")).body(Body::empty()).unwrap(), StatusCode::BAD_REQUEST),
        (t(Method::GET, &format!("{o}?limit=-5")).body(Body::empty()).unwrap(), StatusCode::BAD_REQUEST),
        (t(Method::GET, &format!("{o}?limit=ten")).body(Body::empty()).unwrap(), StatusCode::BAD_REQUEST),
        (t(Method::GET, &format!("{o}?next=garbage!")).body(Body::empty()).unwrap(), StatusCode::BAD_REQUEST),
        (
            t(Method::GET, &format!("{o}?added_after=2025-13-01T00:00:00Z")).body(Body::empty()).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (t(Method::GET, &format!("{o}?added_after=yesterday")).body(Body::empty()).unwrap(), StatusCode::BAD_REQUEST),
        (t(Method::GET, &format!("{o}?match[version]=newest")).body(Body::empty()).unwrap(), StatusCode::BAD_REQUEST),
        (
            t(Method::GET, &format!("{o}?match[version]=all,first")).body(Body::empty()).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            t(Method::GET, &format!("/api/collections/{COLL}/manifest/?limit=0")).body(Body::empty()).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            t(Method::GET, &format!("{o}indicator--x/versions/?next=%%%")).body(Body::empty()).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (t(Method::GET, &format!("{o}?limit=1&limit=2")).body(Body::empty()).unwrap(), StatusCode::BAD_REQUEST),
        // Collections and routes.
        (t(Method::GET, "/api/collections/unknown/objects/").body(Body::empty()).unwrap(), StatusCode::NOT_FOUND),
        (t(Method::GET, &objects_url(COLL_WO)).body(Body::empty()).unwrap(), StatusCode::FORBIDDEN),
        (
            t(Method::GET, &format!("/api/collections/{COLL_WO}/manifest/")).body(Body::empty()).unwrap(),
            StatusCode::FORBIDDEN,
        ),
        (post_raw(&objects_url(COLL_RO), "{}"), StatusCode::FORBIDDEN),
        (t(Method::DELETE, &format!("{}x/", objects_url(COLL_RO))).body(Body::empty()).unwrap(), StatusCode::FORBIDDEN),
        (t(Method::GET, "/nowhere/").body(Body::empty()).unwrap(), StatusCode::NOT_FOUND),
        (t(Method::GET, "/api/collections/x/y/z/").body(Body::empty()).unwrap(), StatusCode::NOT_FOUND),
        (t(Method::PUT, &o).body(Body::empty()).unwrap(), StatusCode::METHOD_NOT_ALLOWED),
        (t(Method::DELETE, "/taxii2/").body(Body::empty()).unwrap(), StatusCode::METHOD_NOT_ALLOWED),
        (t(Method::GET, "/api/status/%FF%FE/").body(Body::empty()).unwrap(), StatusCode::BAD_REQUEST),
    ];
    for (request, expected) in cases {
        let what = format!("{} {}", request.method(), request.uri());
        let r = send(&f.app, request).await;
        assert_eq!(r.status, expected, "{what}: {}", r.body);
    }
}

fn override_accept(uri: &str, accept: &str) -> axum::http::Request<Body> {
    let mut r = req(Method::GET, uri, Some("alice")).body(Body::empty()).unwrap();
    r.headers_mut().insert("accept", accept.parse().unwrap());
    r
}

fn post_raw(uri: &str, body: &str) -> axum::http::Request<Body> {
    req(Method::POST, uri, Some("alice")).header("content-type", TAXII).body(Body::from(body.to_string())).unwrap()
}

use axum::http::Request;

#[tokio::test]
async fn oversized_bodies_are_413() {
    let f = fixture();
    let big = format!(r#"{{"objects": [], "pad": "{}"}}"#, "x".repeat(3 * 1024 * 1024));
    // Declared too large.
    let r = send(
        &f.app,
        req(Method::POST, &objects_url(COLL), Some("alice"))
            .header("content-type", TAXII)
            .header("content-length", big.len())
            .body(Body::from(big.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Undeclared: enforced while reading.
    let r = send(
        &f.app,
        req(Method::POST, &objects_url(COLL), Some("alice"))
            .header("content-type", TAXII)
            .body(Body::from(big))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// The same location printed by two clients (`"latitude": 36.0`, then `36`) is the same version:
/// both POSTs succeed, and one version is stored (RFC 8785 canonical JSON for content hashes).
#[tokio::test]
async fn a_number_printed_another_way_is_the_same_version() {
    let f = fixture();
    let location = format!(
        r#"{{"objects": [{{"type": "location", "spec_version": "2.1",
            "id": "location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",
            "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
            "latitude": 36.0, "longitude": 43.125, "object_marking_refs": ["{GREEN}"]}}]}}"#
    );
    for body in [location.clone(), location.replace("36.0", "36"), location.replace("43.125", "4.3125e1")] {
        let r = send(&f.app, post_raw(&objects_url(COLL), &body)).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(
            (r.body["success_count"].clone(), r.body["failure_count"].clone()),
            (json!(1), json!(0)),
            "{}",
            r.body
        );
    }
    let r = send(&f.app, post_raw(&objects_url(COLL), &location.replace("36.0", "36.5"))).await;
    assert_eq!(r.body["failure_count"], 1, "a different latitude is still a conflict: {}", r.body);
    let r = get(&f.app, &format!("{}?match[type]=location", objects_url(COLL)), "alice").await;
    assert_eq!(r.body["objects"].as_array().map(Vec::len), Some(1), "{}", r.body);
}
