//! Every request that reaches authentication is audited (who, what, which path, status, ids and
//! counts), failed authentications included; only an auditor of the node's member reads
//! `/api/audit/`.

mod common;

use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tandem_policy::Classification;
use tandem_store::SqliteStore;
use tandem_taxii::auth::{Account, hash_secret};
use tandem_taxii::{AppState, AuditEvent, AuditSink, NoHooks, TaxiiConfig, UserDirectory, router};
use tower::ServiceExt;

use common::*;

/// Keeps events in memory; reads them back with 1-based sequence numbers.
#[derive(Default)]
struct Memory(Mutex<Vec<AuditEvent>>);

impl Memory {
    fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl AuditSink for Memory {
    fn record(&self, e: AuditEvent) {
        self.0.lock().unwrap().push(e);
    }

    fn read(&self, after: u64, limit: usize) -> Option<Result<Vec<Value>, String>> {
        let events = self.0.lock().unwrap();
        Some(Ok(events
            .iter()
            .enumerate()
            .skip(after as usize)
            .take(limit)
            .map(|(i, e)| json!({"seq": i + 1, "action": e.action, "actor_user": e.user}))
            .collect()))
    }
}

fn app(node_member: &str) -> (Router, Arc<Memory>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let hash = hash_secret(PASSWORD);
    let account = |name: &str, member: &str, role: &str| Account {
        name: name.into(),
        member: member.into(),
        password_hash: hash.clone(),
        clearance: Classification::Secret,
        roles: vec![role.into()],
        read_only: false,
    };
    let audit = Arc::new(Memory::default());
    let state = AppState {
        store: Arc::new(SqliteStore::open(dir.path()).unwrap()),
        auth: Arc::new(UserDirectory::new(
            [
                account("alice", "USA", "analyst"),
                account("audrey", "USA", "auditor"),
                account("ivan", "IRQ", "auditor"),
            ],
            [],
        )),
        config: Arc::new(TaxiiConfig { node_member: node_member.into(), ..config() }),
        roster: Arc::new(RwLock::new(Arc::new(roster()))),
        hooks: Arc::new(NoHooks),
        audit: audit.clone(),
        signer: None,
    };
    (router(state), audit, dir)
}

async fn read_audit(app: &Router, user: &str, query: &str) -> (StatusCode, Option<String>, Value) {
    let req = req(Method::GET, &format!("/api/audit/{query}"), Some(user))
        .header("accept", "application/json")
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(String::from);
    let raw = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ct, serde_json::from_slice(&raw).unwrap_or(Value::Null))
}

#[tokio::test]
async fn requests_are_recorded_with_who_what_and_counts() {
    let (app, audit, _dir) = app("USA");
    let id = indicator_id(1);
    seed(&app, vec![indicator(1, "2025-01-01T00:00:00.000Z", GREEN)]).await;
    let r = get(&app, &objects_url("intel"), "alice").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = get(&app, &format!("{}{id}/", objects_url(COLL)), "alice").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(
        &app,
        req(Method::DELETE, &format!("{}{id}/", objects_url(COLL)), Some("alice")).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = get(&app, "/taxii2/", "alice").await;
    assert_eq!(r.status, StatusCode::OK);

    let events = audit.take();
    let summary: Vec<(&str, &str, u16)> =
        events.iter().map(|e| (e.action.as_str(), e.method.as_str(), e.status)).collect();
    assert_eq!(
        summary,
        vec![
            ("objects.write", "POST", 202),
            ("objects.read", "GET", 200),
            ("object.read", "GET", 200),
            ("object.delete", "DELETE", 200),
            ("discovery", "GET", 200),
        ]
    );
    for e in &events {
        assert_eq!((e.user.as_deref(), e.member.as_deref()), (Some("alice"), Some("USA")));
    }
    let write = &events[0];
    assert_eq!(write.path, format!("/api/collections/{COLL}/objects/"));
    assert_eq!(write.detail["collection"], COLL);
    assert_eq!(write.detail["total_count"], 1);
    assert_eq!(write.detail["success_count"], 1);
    assert_eq!(write.detail["added"], json!([[id, "2025-01-01T00:00:00.000000Z"]]));
    // Reads record how many objects went out, never the objects.
    assert_eq!(events[1].path, "/api/collections/intel/objects/");
    assert_eq!(events[1].detail, json!({"collection": COLL, "returned": 1}));
    assert_eq!(events[2].detail["object"], id);
    assert_eq!(events[3].detail["versions_deleted"], 1);
    assert!(!events.iter().any(|e| e.detail.to_string().contains("pattern")), "no object contents");
}

#[tokio::test]
async fn failed_authentication_is_recorded_with_the_presented_name() {
    let (app, audit, _dir) = app("USA");
    let bad = req(Method::GET, &objects_url(COLL), None)
        .header("authorization", "Basic bWFsbG9yeTp3cm9uZw==") // mallory:wrong
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, bad).await.status, StatusCode::UNAUTHORIZED);
    let none = req(Method::GET, "/taxii2/", None).body(Body::empty()).unwrap();
    assert_eq!(send(&app, none).await.status, StatusCode::UNAUTHORIZED);
    // Refused before authentication (no TAXII Accept header): nobody to record.
    let not_acceptable = Request::get("/taxii2/").header("authorization", basic("alice")).body(Body::empty()).unwrap();
    assert_eq!(app.clone().oneshot(not_acceptable).await.unwrap().status(), StatusCode::NOT_ACCEPTABLE);

    let events = audit.take();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].action, "auth.failure");
    assert_eq!(events[0].user.as_deref(), Some("mallory"));
    assert_eq!(events[0].member, None);
    assert_eq!(events[0].status, 401);
    assert_eq!(events[0].detail["attempted"], "objects.read");
    assert_eq!(events[0].detail["reason"], "invalid credentials");
    assert_eq!(events[1].user, None);
    assert_eq!(events[1].detail["reason"], "no credentials presented");
}

#[tokio::test]
async fn only_auditors_of_the_node_member_read_the_log() {
    let (app, audit, _dir) = app("USA");
    let _ = get(&app, "/taxii2/", "alice").await;
    // An analyst of the node's member, and an auditor of another member: 403.
    for user in ["alice", "ivan"] {
        let (status, _, body) = read_audit(&app, user, "").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}: {body}");
        assert!(body.get("entries").is_none());
    }
    let (status, ct, body) = read_audit(&app, "audrey", "?after=1&limit=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ct.as_deref(), Some("application/json"));
    assert_eq!(body["more"], json!(true), "{body}");
    let seqs: Vec<u64> = body["entries"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![2]);
    // Each read, refused or not, is itself audited.
    let events = audit.take();
    let reads: Vec<(&str, u16)> = events
        .iter()
        .filter(|e| e.action == "audit.read")
        .map(|e| (e.user.as_deref().unwrap_or(""), e.status))
        .collect();
    assert_eq!(reads, vec![("alice", 403), ("ivan", 403), ("audrey", 200)]);
    assert_eq!(events.last().unwrap().detail, json!({"after": 1, "returned": 1}));
    // Unauthenticated: 401 and an auth.failure entry.
    let anon = req(Method::GET, "/api/audit/", None).body(Body::empty()).unwrap();
    assert_eq!(app.clone().oneshot(anon).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(audit.take()[0].action, "auth.failure");
}

#[tokio::test]
async fn no_node_member_means_no_reader() {
    let (app, _audit, _dir) = app("");
    let (status, _, _) = read_audit(&app, "audrey", "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn taxii_routes_keep_their_fallback_and_negotiation() {
    let (app, _audit, _dir) = app("USA");
    let r = get(&app, "/api/nowhere/", "alice").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(&app, req(Method::PUT, "/taxii2/", Some("alice")).body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}
