//! Every route of the assembled app ([`super::app`]), from one table: without credentials a 401
//! with `WWW-Authenticate` and an `auth.failure` audit entry naming the action attempted; a
//! user of a suspended member refused (or, on TAXII reads, served nothing); an authorized call
//! audited with who, member, action and status.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tandem_taxii::{AuditEvent, AuditSink};
use tower::ServiceExt;

use crate::config::Config;

const PASSWORD: &str = "routes-test";
// The server's own constant: a test of the app must not restate it.
use tandem_taxii::TAXII_CONTENT_TYPE as TAXII;

/// Keeps every audit event in memory.
#[derive(Default)]
struct Memory(Mutex<Vec<AuditEvent>>);

impl AuditSink for Memory {
    fn record(&self, event: AuditEvent) {
        if let Ok(mut e) = self.0.lock() {
            e.push(event);
        }
    }

    fn read(&self, after: u64, limit: usize) -> Option<Result<Vec<Value>, String>> {
        let e = self.0.lock().ok()?;
        let entries = e.iter().skip(after as usize).take(limit);
        Some(Ok(entries.map(|e| json!({"action": e.action, "status": e.status})).collect()))
    }
}

impl Memory {
    fn last(&self) -> Option<AuditEvent> {
        self.0.lock().ok()?.last().cloned()
    }
    fn len(&self) -> usize {
        self.0.lock().map(|e| e.len()).unwrap_or(0)
    }
}

struct Fixture {
    app: Router,
    audit: Arc<Memory>,
    fed: Arc<tandem_sync::federation::Federation>,
    _dir: tempfile::TempDir,
}

fn config_text(extra_node: &str) -> String {
    format!(
        r#"[node]
member = "USA"
listen = "127.0.0.1:8480"
data_dir = "./data"
{extra_node}

[[members]]
code = "USA"
name = "United States"
[[members]]
code = "IRQ"
name = "Iraq"
[[members]]
code = "SYR"
name = "Syria"
status = "suspended"

[[users]]
name = "analyst"
member = "USA"
password = "{PASSWORD}"
clearance = "SECRET"
[[users]]
name = "auditor"
member = "USA"
password = "{PASSWORD}"
roles = ["auditor"]
[[users]]
name = "sam"
member = "SYR"
password = "{PASSWORD}"
[[users]]
name = "sync-SYR"
member = "SYR"
password = "{PASSWORD}"
roles = ["peer"]
[[users]]
name = "sync-IRQ"
member = "IRQ"
password = "{PASSWORD}"
roles = ["peer"]

[[peers]]
member = "IRQ"
url = "http://127.0.0.1:9/taxii2/"
username = "sync-USA"
password = "x"
"#
    )
}

/// The app exactly as `tandem serve` assembles it, over a fresh store, with a memory audit sink.
async fn fixture() -> Fixture {
    fixture_with("public_url = \"https://usa.example.org/\"").await
}

/// The fixture with `extra` written at the end of the `[node]` table (where further tables may
/// start: more members and users).
async fn fixture_with(extra: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.toml");
    std::fs::write(&path, config_text(extra)).unwrap();
    let config = Config::load(&path).unwrap();
    let store = crate::wiring::open_store(&config).unwrap();
    let (mut state, _directory) = crate::wiring::app_state(&config, store.clone()).unwrap();
    let signal = crate::feed::FeedSignal::new(store.clone(), Arc::clone(&state.hooks));
    let feed = signal.subscribe();
    state.hooks = Arc::new(signal);
    let fed = crate::federation::attach(&config, store, &mut state).unwrap();
    let audit = Arc::new(Memory::default());
    state.audit = audit.clone();
    // Started so that IRQ's peer entry exists (its URL answers nothing: pulls just fail).
    fed.start();
    let secrets = Arc::new(crate::federation::secrets_key(&config).unwrap());
    Fixture { app: super::app(state, &fed, feed, super::interop::Uploads::of(&config), secrets), audit, fed, _dir: dir }
}

fn basic(user: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{PASSWORD}")))
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn call(app: &Router, method: &Method, path: &str, user: Option<&str>, body: Option<&Value>) -> Resp {
    let mut b = Request::builder().method(method.clone()).uri(path).header(header::ACCEPT, TAXII);
    if let Some(u) = user {
        b = b.header(header::AUTHORIZATION, basic(u));
    }
    let req = match body {
        Some(v) => b.header(header::CONTENT_TYPE, TAXII).body(Body::from(v.to_string())).unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Resp { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

/// What a user of the suspended member SYR gets on a route.
#[derive(Debug, Clone, Copy)]
enum Suspended {
    /// 403: Tandem's own endpoints and writes.
    Refused,
    /// TAXII reads: the store releases nothing to a suspended member, so the answer is the one
    /// for an empty collection (this status, and no objects).
    SeesNothing(StatusCode),
    /// Discovery, the API root, the collection list and the roster changes: no intelligence,
    /// and what a suspended member's node needs to learn (or submit) its reinstatement. The
    /// status is the one the authorized call gets.
    Answered,
}

struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    action: &'static str,
    /// Who makes the authorized call, and what it answers.
    user: &'static str,
    status: StatusCode,
    suspended: Suspended,
}

fn indicator() -> Value {
    json!({"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
           "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
           "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2025-11-24T00:00:00Z",
           "object_marking_refs": [tandem_model::tlp::TLP2_GREEN]})
}

fn table(status_id: &str) -> Vec<Row> {
    use Suspended::*;
    let obj = "/api/collections/intel/objects/indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f/";
    let row = |method: Method, path: &str, action, user, status, suspended| Row {
        method,
        path: path.to_string(),
        body: None,
        action,
        user,
        status,
        suspended,
    };
    vec![
        row(Method::GET, "/taxii2/", "discovery", "analyst", StatusCode::OK, Answered),
        row(Method::GET, "/api/", "discovery", "analyst", StatusCode::OK, Answered),
        row(Method::GET, "/api/collections/", "collections", "analyst", StatusCode::OK, Answered),
        row(Method::GET, "/api/collections/intel/", "collections", "analyst", StatusCode::OK, Answered),
        Row {
            body: Some(json!({"objects": [indicator()]})),
            ..row(
                Method::POST,
                "/api/collections/intel/objects/",
                "objects.write",
                "analyst",
                StatusCode::ACCEPTED,
                Refused,
            )
        },
        row(
            Method::GET,
            "/api/collections/intel/objects/",
            "objects.read",
            "analyst",
            StatusCode::OK,
            SeesNothing(StatusCode::OK),
        ),
        row(Method::GET, obj, "object.read", "analyst", StatusCode::OK, SeesNothing(StatusCode::NOT_FOUND)),
        row(
            Method::GET,
            &format!("{obj}versions/"),
            "versions.read",
            "analyst",
            StatusCode::OK,
            SeesNothing(StatusCode::NOT_FOUND),
        ),
        row(
            Method::GET,
            "/api/collections/intel/manifest/",
            "manifest.read",
            "analyst",
            StatusCode::OK,
            SeesNothing(StatusCode::OK),
        ),
        row(
            Method::GET,
            "/api/collections/intel/tombstones/",
            "tombstones.read",
            "analyst",
            StatusCode::OK,
            SeesNothing(StatusCode::OK),
        ),
        row(
            Method::GET,
            &format!("/api/status/{status_id}/"),
            "status.read",
            "analyst",
            StatusCode::OK,
            SeesNothing(StatusCode::NOT_FOUND),
        ),
        row(Method::GET, "/api/audit/", "audit.read", "auditor", StatusCode::OK, Refused),
        row(Method::GET, "/api/tandem/roster/changes/", "roster.read", "analyst", StatusCode::OK, Answered),
        // No coalition authority here: the change is refused for what it is (400), after
        // authentication, and audited as such.
        Row {
            body: Some(json!({"change": {}})),
            ..row(
                Method::POST,
                "/api/tandem/roster/changes/",
                "roster.change",
                "analyst",
                StatusCode::BAD_REQUEST,
                Answered,
            )
        },
        row(Method::POST, "/api/tandem/notify/", "peer.notify", "sync-IRQ", StatusCode::ACCEPTED, Refused),
        row(Method::GET, "/api/tandem/peers/", "peers.read", "analyst", StatusCode::OK, Refused),
        // A peer node's account only: a user is refused, suspended or not.
        row(
            Method::GET,
            "/api/tandem/sync/widened/?since=0&digest=00",
            "sync.widened",
            "analyst",
            StatusCode::FORBIDDEN,
            Refused,
        ),
        row(Method::GET, "/api/tandem/places/?q=Mosul", "places.search", "analyst", StatusCode::OK, Refused),
        row(Method::GET, "/api/tandem/search?q=Mosul", "search.read", "analyst", StatusCode::OK, Refused),
        row(
            Method::GET,
            "/api/tandem/places/resolve/?text=Mosul",
            "places.resolve",
            "analyst",
            StatusCode::OK,
            Refused,
        ),
        row(
            Method::GET,
            "/api/tandem/places/reverse/?lat=36.34&lon=43.13",
            "places.reverse",
            "analyst",
            StatusCode::OK,
            Refused,
        ),
        Row {
            body: Some(json!("Published 2025-06-13\n\nForces arrested three suspects in Mosul on Tuesday.")),
            ..row(
                Method::POST,
                "/api/tandem/extract?published=2025-06-13",
                "extract.draft",
                "analyst",
                StatusCode::OK,
                Refused,
            )
        },
        row(Method::GET, "/api/tandem/watch-zones/", "zones.read", "analyst", StatusCode::OK, Refused),
        row(
            Method::DELETE,
            "/api/tandem/watch-zones/zone--missing/",
            "zones.delete",
            "analyst",
            StatusCode::NOT_FOUND,
            Refused,
        ),
        Row {
            body: Some(json!({"name": "renamed"})),
            ..row(
                Method::PATCH,
                "/api/tandem/watch-zones/zone--missing/",
                "zones.update",
                "analyst",
                StatusCode::NOT_FOUND,
                Refused,
            )
        },
        row(Method::GET, "/api/tandem/alerts/", "alerts.read", "analyst", StatusCode::OK, Refused),
        row(Method::GET, "/api/tandem/webhooks/deliveries/", "webhooks.read", "analyst", StatusCode::OK, Refused),
        row(Method::GET, "/metrics", "metrics.read", "analyst", StatusCode::OK, Refused),
        row(Method::GET, "/api/tandem/openapi.json", "openapi.read", "analyst", StatusCode::OK, Refused),
        row(
            Method::GET,
            "/api/tandem/analytics/trends?by=member",
            "analytics.trends",
            "analyst",
            StatusCode::OK,
            Refused,
        ),
        row(Method::GET, "/api/tandem/analytics/spikes", "analytics.spikes", "analyst", StatusCode::OK, Refused),
        row(
            Method::GET,
            "/api/tandem/analytics/hotspots?scan=true",
            "analytics.hotspots",
            "analyst",
            StatusCode::OK,
            Refused,
        ),
        row(
            Method::GET,
            "/api/tandem/analytics/tracks/intrusion-set--6f1d3a52-8c1e-4b0f-9a7e-5d2c1b0a9e11",
            "analytics.track",
            "analyst",
            StatusCode::NOT_FOUND,
            Refused,
        ),
        row(
            Method::GET,
            "/api/tandem/analytics/correlations",
            "analytics.correlations",
            "analyst",
            StatusCode::OK,
            Refused,
        ),
        Row {
            body: Some(json!({"objects": [indicator()]})),
            ..row(
                Method::POST,
                "/api/tandem/import?format=stix&dry_run=true",
                "interop.import",
                "analyst",
                StatusCode::OK,
                Refused,
            )
        },
        row(Method::GET, "/api/tandem/export?format=csv", "interop.export", "analyst", StatusCode::OK, Refused),
        row(Method::GET, "/api/tandem/export/?format=misp", "interop.export", "analyst", StatusCode::OK, Refused),
        // The web UI's endpoints (`tandem_web`); login has its own tests (it takes no caller).
        row(Method::GET, "/ui/api/session", "ui.session", "analyst", StatusCode::OK, Refused),
        row(Method::POST, "/ui/api/logout", "ui.logout", "analyst", StatusCode::NO_CONTENT, Answered),
        row(Method::GET, "/ui/api/incidents", "ui.incidents", "analyst", StatusCode::OK, Refused),
        row(
            Method::GET,
            "/ui/api/incidents/incident--6f1d3a52-8c1e-4b0f-9a7e-5d2c1b0a9e11",
            "ui.incident",
            "analyst",
            StatusCode::NOT_FOUND,
            Refused,
        ),
        Row {
            body: Some(json!({"object_marking_refs": [tandem_model::tlp::TLP2_GREEN]})),
            ..row(Method::POST, "/ui/api/releasability/preview", "ui.preview", "analyst", StatusCode::OK, Refused)
        },
        row(Method::GET, "/ui/api/markings", "ui.markings", "analyst", StatusCode::OK, Refused),
        row(Method::GET, "/ui/api/roster", "ui.roster", "analyst", StatusCode::OK, Refused),
        row(Method::GET, "/ui/api/coalition", "ui.coalition", "analyst", StatusCode::OK, Refused),
        row(Method::GET, "/ui/api/cells", "ui.cells", "analyst", StatusCode::OK, Refused),
        row(Method::GET, "/ui/data/governorates.json", "ui.data", "analyst", StatusCode::OK, Refused),
        row(Method::GET, "/ui/data/places.json", "ui.data", "analyst", StatusCode::OK, Refused),
        // Deleting what the store releases nothing of: the same 404 as for a missing object.
        row(Method::DELETE, obj, "object.delete", "analyst", StatusCode::OK, SeesNothing(StatusCode::NOT_FOUND)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_authenticated_and_audited() {
    let f = fixture().await;
    // A write first, for a status id (the table's POST row writes the same object again).
    let w = call(
        &f.app,
        &Method::POST,
        "/api/collections/intel/objects/",
        Some("analyst"),
        Some(&json!({"objects": [indicator()]})),
    )
    .await;
    assert_eq!(w.status, StatusCode::ACCEPTED, "{}", w.body);
    let status_id = w.body["id"].as_str().unwrap().to_string();
    for r in table(&status_id) {
        let what = format!("{} {}", r.method, r.path);
        // No credentials.
        let before = f.audit.len();
        let resp = call(&f.app, &r.method, &r.path, None, r.body.as_ref()).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{what}");
        // The web UI's routes send no Basic challenge: a browser would show its own password
        // dialog instead of the UI's login page.
        let challenge = (!r.path.starts_with("/ui/")).then_some("Basic realm=\"tandem\", Bearer");
        assert_eq!(resp.headers.get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()), challenge, "{what}");
        assert_eq!(resp.body["http_status"], "401", "{what}: a TAXII error body");
        assert_eq!(f.audit.len(), before + 1, "{what}: one audit entry");
        let e = f.audit.last().unwrap();
        assert_eq!((e.action.as_str(), e.status, e.member.as_deref()), ("auth.failure", 401, None), "{what}");
        assert_eq!(e.detail["attempted"], r.action, "{what}");

        // A user of the suspended member.
        let resp = call(&f.app, &r.method, &r.path, Some("sam"), r.body.as_ref()).await;
        match r.suspended {
            Suspended::Refused => assert_eq!(resp.status, StatusCode::FORBIDDEN, "{what}: {}", resp.body),
            Suspended::SeesNothing(s) => {
                assert_eq!(resp.status, s, "{what}: {}", resp.body);
                assert!(resp.body.get("objects").is_none() && resp.body.get("versions").is_none(), "{what}");
            }
            Suspended::Answered => assert_eq!(resp.status, r.status, "{what}"),
        }
        let e = f.audit.last().unwrap();
        assert_eq!(
            (e.user.as_deref(), e.member.as_deref(), e.action.as_str(), e.status),
            (Some("sam"), Some("SYR"), r.action, resp.status.as_u16()),
            "{what}"
        );

        // The authorized call.
        let before = f.audit.len();
        let resp = call(&f.app, &r.method, &r.path, Some(r.user), r.body.as_ref()).await;
        assert_eq!(resp.status, r.status, "{what}: {}", resp.body);
        assert_eq!(f.audit.len(), before + 1, "{what}: one audit entry");
        let e = f.audit.last().unwrap();
        let member = if r.user == "sync-IRQ" { "IRQ" } else { "USA" };
        assert_eq!(
            (e.user.as_deref(), e.member.as_deref(), e.action.as_str(), e.status, e.path.as_str()),
            (Some(r.user), Some(member), r.action, r.status.as_u16(), r.path.as_str()),
            "{what}"
        );
    }
    f.fed.stop().await;
}

/// A login on a node reached over https (`public_url`) sets a `Secure` cookie, and the UI's
/// assets carry the strict headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_login_over_https_sets_a_secure_cookie() {
    let f = fixture().await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/ui/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"username": "analyst", "password": PASSWORD}).to_string()))
        .unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.starts_with("tandem_session=") && cookie.contains("; Secure"), "{cookie}");
    let e = f.audit.last().unwrap();
    assert_eq!((e.action.as_str(), e.user.as_deref(), e.status), ("ui.login", Some("analyst"), 200));
    // A login from a cross-site form (not JSON) is refused before any password is checked.
    let form = Request::builder()
        .method(Method::POST)
        .uri("/ui/api/login")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(json!({"username": "analyst", "password": PASSWORD}).to_string()))
        .unwrap();
    let resp = f.app.clone().oneshot(form).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(resp.headers().get(header::SET_COOKIE).is_none());
    // A suspended member's user cannot open a session.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/ui/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"username": "sam", "password": PASSWORD}).to_string()))
        .unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get(header::SET_COOKIE).is_none());
    let resp = f.app.clone().oneshot(Request::get("/ui/").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_SECURITY_POLICY], tandem_web::CSP);
    assert_eq!(resp.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(resp.headers()[header::REFERRER_POLICY], "no-referrer");
    f.fed.stop().await;
}

/// The Tandem extensions a normal user must not drive: sync mode and notifications are for
/// peer accounts, peer error details for auditors and operators.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_only_from_peer_accounts() {
    let f = fixture().await;
    let r = call(&f.app, &Method::POST, "/api/tandem/notify/", Some("analyst"), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body["description"].as_str().unwrap().contains("peer"), "{}", r.body);
    // Over the limit: 429 with Retry-After and a TAXII error body, audited.
    let mut limited = None;
    for _ in 0..200 {
        let r = call(&f.app, &Method::POST, "/api/tandem/notify/", Some("sync-IRQ"), None).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, StatusCode::ACCEPTED);
    }
    let r = limited.expect("the rate limit never answered 429");
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    assert_eq!(r.body["http_status"], "429");
    let e = f.audit.last().unwrap();
    assert_eq!((e.action.as_str(), e.status, e.detail["rate_limited"].clone()), ("peer.notify", 429, json!(true)));
    f.fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_names_the_configured_url_whatever_the_host() {
    let f = fixture().await;
    let req = Request::builder()
        .uri("/taxii2/")
        .header(header::ACCEPT, TAXII)
        .header(header::HOST, "evil.example")
        .header("x-forwarded-proto", "https")
        .header(header::AUTHORIZATION, basic("analyst"))
        .body(Body::empty())
        .unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    let body: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["api_roots"], json!(["https://usa.example.org/api/"]));
    assert_eq!(body["default"], "https://usa.example.org/api/");
    f.fed.stop().await;
}

fn incident(n: u32, day: &str, markings: &[&str]) -> Value {
    let id = format!("incident--00000000-0000-4000-8000-{n:012}");
    let loc = format!("location--00000000-0000-4000-8000-{n:012}");
    json!({"type": "incident", "spec_version": "2.1", "id": id,
           "created": format!("{day}T12:00:00.000Z"), "modified": format!("{day}T12:00:00.000Z"),
           "name": format!("incident {n}"), "object_marking_refs": markings,
           "extensions": {tandem_model::incident::INCIDENT_EXTENSION_ID: {
               "extension_type": "property-extension",
               "event_type": "Explosions/Remote violence", "sub_event_type": "Remote explosive/landmine/IED",
               "time": {"start": day, "end": day, "precision": "day"},
               "place": {"location_refs": [loc], "precision": 1, "admin1": "SY-DY"},
               "actors": [{"actor_ref": "intrusion-set--00000000-0000-4000-8000-000000000001", "role": "perpetrator"}],
               "fatalities": {"best": 3}}}})
}

fn location(n: u32, lat: f64, markings: &[&str]) -> Value {
    json!({"type": "location", "spec_version": "2.1", "id": format!("location--00000000-0000-4000-8000-{n:012}"),
           "created": "2025-11-01T00:00:00.000Z", "modified": "2025-11-01T00:00:00.000Z",
           "latitude": lat, "longitude": 40.45, "object_marking_refs": markings})
}

/// Trends over what the caller sees, CSV, candidates across members, a merge confirmed through
/// the ingest pipeline (counted once), and undone by revocation (counted twice again); a hidden
/// incident is neither counted nor mergeable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_count_what_the_caller_sees_and_merges_confirm_and_undo() {
    let f = fixture().await;
    let config = Config::load(&f._dir.path().join("node.toml")).unwrap();
    let store = crate::wiring::open_store(&config).unwrap();
    let green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
    let amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
    let put = |member: &str, objects: Vec<Value>| {
        let incoming = objects
            .into_iter()
            .map(|o| {
                tandem_store::Incoming::new(tandem_model::StixObject::from_map_unchecked(
                    o.as_object().cloned().unwrap(),
                ))
            })
            .collect();
        store.put(&config.intel_collection_id(), member, incoming).unwrap();
    };
    put("USA", vec![incident(1, "2025-11-20", &[green]), location(1, 35.02, &[green])]);
    put("IRQ", vec![incident(2, "2025-11-20", &[green]), location(2, 35.03, &[green])]);
    // IRQ's AMBER report is IRQ's only: USA never counts it.
    put("IRQ", vec![incident(3, "2025-11-20", &[amber])]);
    let trends = "/api/tandem/analytics/trends?by=member&interval=week";
    let r = call(&f.app, &Method::GET, trends, Some("analyst"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let rows = |b: &Value| -> Vec<(String, u64)> {
        b["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["key"].as_str().unwrap_or("").to_string(), r["incidents"].as_u64().unwrap_or(0)))
            .collect()
    };
    assert_eq!(rows(&r.body), vec![("IRQ".to_string(), 1), ("USA".to_string(), 1)]);
    assert_eq!(r.body["rows"][0]["interval"], "2025-11-17");

    let req = Request::builder()
        .uri(trends)
        .header(header::ACCEPT, "text/csv")
        .header(header::AUTHORIZATION, basic("analyst"))
        .body(Body::empty())
        .unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    assert!(resp.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let csv = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert_eq!(csv.lines().nth(1), Some("IRQ,2025-11-17,1,3,3,3,0,0"), "{csv}");

    let c = call(&f.app, &Method::GET, "/api/tandem/analytics/correlations", Some("analyst"), None).await;
    let candidates = c.body["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{candidates:?}");
    let (a, b) = (incident(1, "x", &[])["id"].clone(), incident(2, "x", &[])["id"].clone());
    let hidden = incident(3, "x", &[])["id"].clone();
    let path = "/api/tandem/analytics/correlations";
    let m = call(&f.app, &Method::POST, path, Some("analyst"), Some(&json!({"duplicate": hidden, "of": a}))).await;
    assert_eq!(m.status, StatusCode::NOT_FOUND, "a hidden incident answers as a missing one");
    let m = call(&f.app, &Method::POST, path, Some("analyst"), Some(&json!({"duplicate": b, "of": a}))).await;
    assert_eq!(m.status, StatusCode::CREATED, "{:?}", m.body);
    assert_eq!(f.audit.last().map(|e| e.action), Some("analytics.merge".to_string()));
    let rel = m.body["relationship"].as_str().unwrap().to_string();
    let r = call(&f.app, &Method::GET, trends, Some("analyst"), None).await;
    assert_eq!(rows(&r.body), vec![("USA".to_string(), 1)], "merged: counted once, as the representative");
    assert_eq!(r.body["merged"], 1);
    let c = call(&f.app, &Method::GET, path, Some("analyst"), None).await;
    assert!(c.body["candidates"].as_array().unwrap().is_empty());

    let u = call(&f.app, &Method::DELETE, &format!("{path}/{rel}"), Some("analyst"), None).await;
    assert_eq!(u.status, StatusCode::OK, "{:?}", u.body);
    let r = call(&f.app, &Method::GET, trends, Some("analyst"), None).await;
    assert_eq!(rows(&r.body), vec![("IRQ".to_string(), 1), ("USA".to_string(), 1)]);
    let u = call(&f.app, &Method::DELETE, &format!("{path}/{rel}"), Some("analyst"), None).await;
    assert_eq!(u.status, StatusCode::NOT_FOUND, "already undone");

    let t = call(
        &f.app,
        &Method::GET,
        "/api/tandem/analytics/tracks/intrusion-set--00000000-0000-4000-8000-000000000001",
        Some("analyst"),
        None,
    )
    .await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(t.body["steps"].as_array().map(Vec::len), Some(2));
}

/// The live stream is one of the node's routes: unauthenticated 401, a suspended member's user
/// 403, an authorized connection audited as `stream.read` when it opens (its body never ends,
/// so it has no row in the table above, whose calls read bodies to the end).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_is_authenticated_and_audited() {
    let f = fixture().await;
    let path = "/api/tandem/stream/";
    let resp = call(&f.app, &Method::GET, path, None, None).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(f.audit.last().unwrap().detail["attempted"], "stream.read");
    let resp = call(&f.app, &Method::GET, path, Some("sam"), None).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    let req = Request::get(path).header(header::AUTHORIZATION, basic("analyst")).body(Body::empty()).unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("text/event-stream"));
    let e = f.audit.last().unwrap();
    assert_eq!((e.user.as_deref(), e.action.as_str(), e.status), (Some("analyst"), "stream.read", 200));
    drop(resp);
    f.fed.stop().await;
}

/// The extractor route answers drafts with spans (and stores nothing), and refuses a text over
/// its cap with a 413 TAXII error body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extract_answers_drafts_and_caps_the_text() {
    let f = fixture().await;
    let post_text = |text: String| {
        let app = f.app.clone();
        async move {
            let req = Request::builder()
                .method(Method::POST)
                .uri("/api/tandem/extract")
                .header(header::AUTHORIZATION, basic("analyst"))
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(Body::from(text))
                .unwrap();
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null))
        }
    };
    let text = "Published 2024-09-18\n\nTwo soldiers were killed when a roadside bomb struck their patrol near Hawija in Kirkuk province on Sunday.";
    let (status, body) = post_text(text.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let drafts = body["extraction"]["drafts"].as_array().unwrap();
    assert_eq!(drafts.len(), 1, "{body}");
    assert_eq!(drafts[0]["sub_event_type"], "Remote explosive/landmine/IED");
    assert_eq!(drafts[0]["time"]["start"], "2024-09-15");
    assert_eq!(drafts[0]["admin1"], "IQ-KI");
    let span = &drafts[0]["place"]["span"];
    let (a, b) = (span["start"].as_u64().unwrap() as usize, span["end"].as_u64().unwrap() as usize);
    assert_eq!(&text[a..b], "Hawija", "spans are byte offsets into the text sent");
    let objects = body["bundle"]["objects"].as_array().unwrap();
    let incident = objects.iter().find(|o| o["type"] == "incident").unwrap();
    assert_eq!(incident["labels"], json!(["draft"]));
    assert!(incident.get("object_marking_refs").is_none(), "a draft carries no releasability: originator-only");
    // Nothing was stored.
    let read =
        call(&f.app, &Method::GET, "/api/collections/intel/objects/?match[type]=incident", Some("analyst"), None).await;
    assert!(read.body.get("objects").is_none_or(|o| o.as_array().is_some_and(|a| a.is_empty())), "{}", read.body);

    let (status, body) = post_text("x".repeat(tandem_extract::MAX_TEXT_BYTES + 1)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["http_status"], "413", "a TAXII error body");
    f.fed.stop().await;
}
mod interop;

/// Every path the app mounts, read from the router itself: axum's `Debug` of a `Router` lists
/// its route table (`Node { paths: {RouteId(..): "/path", ..} }`). If a new axum printed it
/// otherwise, this finds no paths and the test below fails rather than passing on nothing.
fn mounted_paths(app: &Router) -> std::collections::BTreeSet<String> {
    let debug = format!("{app:?}");
    debug.split('"').skip(1).step_by(2).filter(|s| s.starts_with('/')).map(str::to_string).collect()
}

/// TAXII 2.1's own routes (its specification describes them), the UI's static assets and the
/// fallback (`/` and `/{*__private__axum_fallback}`: axum's names for what matches no route).
fn taxii_or_static(path: &str) -> bool {
    path == "/"
        || path.contains("__private__axum")
        || path == "/taxii2"
        || path == "/api"
        || path.starts_with("/api/collections")
        || path.starts_with("/api/status/")
        || matches!(path, "/ui" | "/ui/" | "/ui/{*path}")
}

/// `openapi.json` describes exactly the operations the app serves beside TAXII: every path the
/// router mounts (each served with and without its trailing slash, described once) with every
/// method it answers (anything but 405), and nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_description_names_every_route_the_app_mounts() {
    use std::collections::BTreeSet;
    let f = fixture().await;
    let trim = |p: &str| if p.len() > 1 { p.trim_end_matches('/').to_string() } else { p.to_string() };
    let mounted: BTreeSet<String> = mounted_paths(&f.app).iter().map(|p| trim(p)).collect();
    assert!(mounted.contains("/api/tandem/places") && mounted.contains("/metrics"), "{mounted:?}");
    let methods = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
    let mut served = BTreeSet::new();
    for path in mounted.iter().filter(|p| !taxii_or_static(p)) {
        // A path parameter takes any value: the route matches before the handler looks.
        let concrete = path.replace("{cell}", "x").replace("{relationship}", "x").replace("{id}", "x");
        for m in &methods {
            let req = Request::builder()
                .method(m.clone())
                .uri(&concrete)
                .header(header::AUTHORIZATION, basic("analyst"))
                .body(Body::empty())
                .unwrap();
            // The status only: the stream's body never ends.
            let status = f.app.clone().oneshot(req).await.unwrap().status();
            if status != StatusCode::METHOD_NOT_ALLOWED {
                served.insert(format!("{m} {path}"));
            }
        }
    }
    let doc: Value = serde_json::from_str(super::openapi::DESCRIPTION).unwrap();
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            described.insert(format!("{} {}", method.to_uppercase(), trim(path)));
        }
    }
    let missing: Vec<_> = served.difference(&described).collect();
    let extra: Vec<_> = described.difference(&served).collect();
    assert!(missing.is_empty() && extra.is_empty(), "not described: {missing:?}; described, not served: {extra:?}");
    f.fed.stop().await;
}

/// What Schemathesis found: a body that is not UTF-8 on the routes that read JSON from a text
/// body, and a path segment that does not decode, were axum's plain-text rejections. They are
/// TAXII error bodies like every other error of Tandem's routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_outside_handlers_are_taxii_error_bodies() {
    let f = fixture().await;
    let not_utf8 = vec![0xff, 0xfe, b'{', 0x80];
    for (method, path) in [
        (Method::POST, "/ui/api/releasability/preview"),
        (Method::POST, "/api/tandem/analytics/correlations"),
        (Method::GET, "/ui/api/incidents/incident--%FF"),
        (Method::GET, "/api/tandem/analytics/tracks/%FF%FE"),
        (Method::PUT, "/api/tandem/places/"),
    ] {
        let req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::AUTHORIZATION, basic("analyst"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(not_utf8.clone()))
            .unwrap();
        let resp = f.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        assert!(status.is_client_error(), "{method} {path}: {status}");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], TAXII, "{method} {path}");
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(body["http_status"], status.as_u16().to_string(), "{method} {path}: {body}");
    }
    f.fed.stop().await;
}

/// A request with a raw body; the status and the body's bytes.
async fn raw(app: &Router, method: Method, path: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, basic("analyst"))
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

fn spool_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join("data/spool")).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}

fn misp_event(n: u32) -> Value {
    json!({"Event": {"uuid": format!("5f0c7d52-3a1e-4b8f-9c2d-6e4a1b3c{n:04}"), "info": format!("event {n}"),
                     "date": "2025-11-12", "timestamp": "1763000000", "distribution": "0",
                     "Attribute": [{"uuid": format!("a1b2c3d4-0001-4a5b-8c6d-7e8f9a0b{n:04}"), "type": "ip-dst",
                                    "category": "Network activity", "value": "203.0.113.7", "to_ids": true,
                                    "timestamp": "1763000000", "distribution": "5"}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_spooled_capped_and_checked_before_anything_is_stored() {
    let fx = fixture_with("\n[interop]\nmax_upload_mib = 1\n").await;
    let dir = fx._dir.path();
    let import = |format: &str| format!("/api/tandem/import?format={format}");

    // Over the cap: 413 with a TAXII error body, and the partial spool file is gone.
    let big = vec![b'x'; 1024 * 1024 + 1];
    let (status, body) = raw(&fx.app, Method::POST, &import("csv"), big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let error: Value = serde_json::from_slice(&body).expect("a TAXII error body");
    assert_eq!(error["http_status"], "413");
    assert!(spool_files(dir).is_empty(), "{:?}", spool_files(dir));

    // Malformed JSON after a valid object: 400, and not even the valid object is stored.
    let cut = format!(r#"{{"type":"bundle","id":"bundle--1","objects":[{},"#, indicator());
    let (status, body) = raw(&fx.app, Method::POST, &import("stix"), cut.into_bytes()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&body));
    let (status, bundle) = raw(&fx.app, Method::GET, "/api/tandem/export?format=stix", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let bundle: Value = serde_json::from_slice(&bundle).expect("a bundle");
    assert_eq!(bundle["objects"], json!([]), "nothing of the malformed upload was stored");
    let (status, _) = raw(&fx.app, Method::POST, &import("misp"), b"{\"response\": [".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A MISP restSearch answer: every event read, the bad one reported by its index.
    let mut bad = misp_event(2);
    bad["Event"]["uuid"] = json!("not-a-uuid");
    let doc = json!({"response": [misp_event(1), bad, misp_event(3)]});
    let (status, body) = raw(&fx.app, Method::POST, &import("misp"), doc.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let report: Value = serde_json::from_slice(&body).expect("a report");
    assert_eq!(report["counts"]["events"], 3, "{report}");
    let rejected = report["rejected"].as_array().expect("rejected");
    assert_eq!(rejected.len(), 1, "{report}");
    assert_eq!(rejected[0]["at"], 1, "{report}");

    // A STIX bundle under the cap is stored and streamed back in the export.
    let doc = json!({"type": "bundle", "id": "bundle--2", "objects": [indicator()]});
    let (status, body) = raw(&fx.app, Method::POST, &import("stix"), doc.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (_, bundle) = raw(&fx.app, Method::GET, "/api/tandem/export?format=stix", vec![]).await;
    let bundle: Value = serde_json::from_slice(&bundle).expect("a bundle");
    let ids: Vec<&str> = bundle["objects"].as_array().unwrap().iter().filter_map(|o| o["id"].as_str()).collect();
    assert!(ids.contains(&indicator()["id"].as_str().unwrap()), "{ids:?}");
    let incidents = ids.iter().filter(|i| i.starts_with("incident--")).count();
    assert_eq!(incidents, 2, "the two good MISP events: {ids:?}");
    let (status, misp) = raw(&fx.app, Method::GET, "/api/tandem/export?format=misp", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let misp: Value = serde_json::from_slice(&misp).expect("MISP JSON");
    assert_eq!(misp["response"].as_array().map(Vec::len), Some(2));
    assert!(spool_files(dir).is_empty(), "every spool file is deleted: {:?}", spool_files(dir));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_larger_than_its_chunks_streams_whole() {
    let fx = fixture().await;
    // Enough incidents that the CSV passes several 64 KiB chunks of the download channel.
    let events: Vec<Value> = (0..600).map(misp_event).collect();
    let (status, body) =
        raw(&fx.app, Method::POST, "/api/tandem/import?format=misp", Value::Array(events).to_string().into_bytes())
            .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (status, bundle) = raw(&fx.app, Method::GET, "/api/tandem/export?format=stix", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bundle.len() > 4 * 64 * 1024, "{} bytes", bundle.len());
    let bundle: Value = serde_json::from_slice(&bundle).expect("the streamed bundle parses whole");
    let incidents = bundle["objects"].as_array().unwrap().iter().filter(|o| o["type"] == "incident").count();
    assert_eq!(incidents, 600);
    // Its audit entry is written when the download ends, with the count the exporter reached.
    let entry = fx.audit.last().expect("an audit entry");
    assert_eq!(entry.action, "interop.export");
    let objects = bundle["objects"].as_array().map(Vec::len).unwrap_or_default() as u64;
    assert_eq!(entry.detail["returned"], objects, "{}", entry.detail);
    assert_eq!(entry.detail["complete"], true, "{}", entry.detail);
    // So does the MISP export's: one event per incident.
    let (status, body) = raw(&fx.app, Method::GET, "/api/tandem/export?format=misp", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.len() > 2 * 64 * 1024, "{} bytes", body.len());
    let misp: Value = serde_json::from_slice(&body).expect("MISP JSON");
    assert_eq!(misp["response"].as_array().map(Vec::len), Some(600));
    let entry = fx.audit.last().expect("an audit entry");
    assert_eq!((&entry.detail["returned"], &entry.detail["complete"]), (&json!(600), &json!(true)), "{}", entry.detail);
}
