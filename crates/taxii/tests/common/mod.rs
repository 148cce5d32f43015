//! Test fixture: a router over a real `SqliteStore` in a temporary directory, a roster, users
//! (the TAXII router alone, without the node around it); objects and constants come from
//! `tandem-testkit`.

#![allow(dead_code, unused_imports)] // each test crate uses its own subset

use std::sync::{Arc, Mutex, OnceLock, RwLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tandem_policy::{Classification, Member, MemberStatus, Roster};
use tandem_store::{PutOutcome, SqliteStore};
use tandem_taxii::auth::{Account, ApiToken, hash_secret, new_token};
use tandem_taxii::{AppState, CollectionConfig, TaxiiConfig, UserDirectory, WriteHooks, router};
use tower::ServiceExt;

pub const COLL: &str = "365fed99-08fa-4fdc-a1b3-fb247eb41d01";
pub const COLL_RO: &str = "52892447-4d7e-4f70-b94d-d7f22742ff63";
pub const COLL_WO: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
pub use tandem_testkit::fixtures::{AMBER, GREEN, TAXII};
pub const PASSWORD: &str = "correct horse";

/// Records what the write hooks saw.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<(String, String, usize)>>);

impl WriteHooks for Recorder {
    fn after_write(&self, collection: &str, member: &str, outcomes: &[PutOutcome]) {
        self.0.lock().unwrap().push((collection.into(), member.into(), outcomes.len()));
    }
}

pub struct Fixture {
    pub app: Router,
    pub hooks: Arc<Recorder>,
    pub token: String,
    _dir: tempfile::TempDir,
}

/// One set of hashes for the whole test binary (Argon2 is slow on purpose).
fn directory_parts() -> &'static (Vec<Account>, Vec<ApiToken>, String) {
    static PARTS: OnceLock<(Vec<Account>, Vec<ApiToken>, String)> = OnceLock::new();
    PARTS.get_or_init(|| {
        let hash = hash_secret(PASSWORD);
        let account = |name: &str, member: &str, read_only: bool| Account {
            name: name.into(),
            member: member.into(),
            password_hash: hash.clone(),
            clearance: Classification::Secret,
            roles: vec!["analyst".into()],
            read_only,
        };
        let (token, token_id, secret_hash) = new_token();
        (
            vec![
                account("alice", "USA", false),
                account("bob", "IRQ", false),
                account("reader", "USA", true),
                account("ghost", "XXX", false),
                account("sam", "SYR", false),
            ],
            vec![ApiToken { token_id, user: "alice".into(), secret_hash }],
            token,
        )
    })
}

pub fn roster() -> Roster {
    let syr = Member { status: MemberStatus::Suspended, ..Member::active("SYR") };
    Roster::new([Member::active("USA"), Member::active("IRQ"), syr], [])
}

pub fn config() -> TaxiiConfig {
    let coll = |id: &str, alias: Option<&str>, can_read: bool, can_write: bool| CollectionConfig {
        id: id.into(),
        alias: alias.map(String::from),
        title: format!("collection {id}"),
        description: Some("test".into()),
        can_read,
        can_write,
    };
    TaxiiConfig {
        title: "Tandem test".into(),
        description: Some("a test node".into()),
        contact: Some("ops@example.org".into()),
        max_content_length: 2 * 1024 * 1024,
        collections: vec![
            coll(COLL, Some("intel"), true, true),
            coll(COLL_RO, None, true, false),
            coll(COLL_WO, None, false, true),
        ],
        // What discovery advertises (never the request's Host).
        public_url: Some("http://127.0.0.1:8480/".into()),
        ..TaxiiConfig::default()
    }
}

pub fn fixture() -> Fixture {
    fixture_with(config())
}

/// A fixture serving `config` (tests that need another public URL or page size).
pub fn fixture_with(config: TaxiiConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    config.validate().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let (accounts, tokens, token) = directory_parts().clone();
    let hooks = Arc::new(Recorder::default());
    let state = AppState {
        store: Arc::new(store),
        auth: Arc::new(UserDirectory::new(accounts, tokens)),
        config: Arc::new(config),
        roster: Arc::new(RwLock::new(Arc::new(roster()))),
        hooks: hooks.clone(),
        audit: Arc::new(tandem_taxii::NoAudit),
        signer: None,
    };
    Fixture { app: router(state), hooks, token, _dir: dir }
}

pub fn basic(user: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{PASSWORD}")))
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends a request; asserts the invariants every response must hold (TAXII content type, never a
/// 500, a TAXII error body on errors).
pub async fn send(app: &Router, req: Request<Body>) -> Resp {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let raw = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    let body: Value = if raw.is_empty() { Value::Null } else { serde_json::from_slice(&raw).unwrap() };
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "500: {body}");
    assert_eq!(headers.get("content-type").unwrap(), TAXII, "content type for {status}");
    if status.is_client_error() {
        assert_eq!(body["http_status"], json!(status.as_u16().to_string()), "{body}");
        assert!(body["title"].is_string());
    }
    Resp { status, headers, body, raw }
}

pub fn req(method: Method, uri: &str, user: Option<&str>) -> axum::http::request::Builder {
    let mut b = Request::builder().method(method).uri(uri).header("accept", TAXII).header("host", "127.0.0.1:8480");
    if let Some(u) = user {
        b = b.header("authorization", basic(u));
    }
    b
}

pub async fn get(app: &Router, uri: &str, user: &str) -> Resp {
    send(app, req(Method::GET, uri, Some(user)).body(Body::empty()).unwrap()).await
}

pub async fn post(app: &Router, uri: &str, user: &str, body: &Value) -> Resp {
    let bytes = body.to_string();
    send(
        app,
        req(Method::POST, uri, Some(user))
            .header("content-type", TAXII)
            .header("content-length", bytes.len())
            .body(Body::from(bytes))
            .unwrap(),
    )
    .await
}

pub fn objects_url(coll: &str) -> String {
    format!("/api/collections/{coll}/objects/")
}

pub fn indicator_id(n: u32) -> String {
    format!("indicator--00000000-0000-4000-8000-{n:012}")
}

/// Indicator `n` (its id from [`indicator_id`]), created 2025-01-01, with one object marking.
pub fn indicator(n: u32, modified: &str, marking: &str) -> Value {
    tandem_testkit::fixtures::indicator(&indicator_id(n), modified, "2025-01-01T00:00:00.000Z", &[marking])
}

pub fn malware(n: u32) -> Value {
    json!({
        "type": "malware", "spec_version": "2.1",
        "id": format!("malware--00000000-0000-4000-8000-{n:012}"),
        "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
        "name": format!("malware {n}"), "is_family": false,
        "object_marking_refs": [GREEN]
    })
}

/// Posts objects as alice and asserts they were all accepted.
pub async fn seed(app: &Router, objects: Vec<Value>) {
    let n = objects.len();
    let r = post(app, &objects_url(COLL), "alice", &json!({ "objects": objects })).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["success_count"], json!(n), "{}", r.body);
}
