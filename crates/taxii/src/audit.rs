//! Auditing every request: who (user, member), what (an action name), which path, the status,
//! and ids and counts — never object contents.
//!
//! It exists so that the node can answer "who read or wrote what, when" for releasability
//! disputes. This crate only produces [`AuditEvent`]s and hands them to an [`AuditSink`]; the
//! binary stores them (`tandem-audit`), so the TAXII server knows nothing of hash chains.
//!
//! The [`record`] middleware wraps the whole app, applied once by [`crate::assemble`] after
//! every route (TAXII, Tandem's own, federation, metrics) is merged. It opens a task-local note for the
//! request; the `Caller` extractor writes who authenticated (or who failed to, with the name
//! presented), and handlers add ids and counts. Requests that never reached authentication
//! (a 406 from negotiation, an unrouted path or method) are not audited: there is no "who".
//! A failed authentication is recorded as action `auth.failure` with the action attempted.
//! A streamed answer whose counts are known only once it is written (a large export) asks for
//! its entry at the end of its body instead ([`at_body_end`]).

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::AppState;

/// One audited request.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// The authenticated user; for `auth.failure`, the user name presented, if any.
    pub user: Option<String>,
    /// The authenticated user's member; `None` for `auth.failure`.
    pub member: Option<String>,
    /// `discovery`, `collections`, `objects.read`, `object.read`, `versions.read`,
    /// `manifest.read`, `tombstones.read`, `objects.write`, `object.delete`, `status.read`,
    /// `audit.read`, Tandem's own `roster.read`, `roster.change`, `sync.widened`, `peer.notify`, `peers.read`,
    /// `places.search`, `places.resolve`, `places.reverse`, `analytics.trends`, `analytics.spikes`,
    /// `analytics.hotspots`, `analytics.track`, `analytics.correlations`, `analytics.merge`,
    /// `analytics.unmerge`, `extract.draft`, `search.read`, `interop.import`, `interop.export`, `metrics.read`,
    /// the web UI's `ui.login`, `ui.logout`, `ui.session`, `ui.incidents`, `ui.incident`,
    /// `ui.preview`, `ui.markings`, `ui.roster`, `ui.coalition`, `ui.cells`, `ui.data`,
    /// `auth.failure`, or `other`.
    pub action: String,
    pub method: String,
    /// Path and query string.
    pub path: String,
    pub status: u16,
    /// Ids and counts (a JSON object).
    pub detail: Value,
}

/// Where audit events go. Implementations must not block: `record` runs on the request path.
pub trait AuditSink: Send + Sync {
    fn record(&self, event: AuditEvent);

    /// Entries with a sequence number above `after`, oldest first, at most `limit`, as JSON;
    /// `None` when this sink keeps nothing readable (the endpoint is then 404).
    fn read(&self, _after: u64, _limit: usize) -> Option<Result<Vec<Value>, String>> {
        None
    }
}

/// A sink that drops everything (tests, tools that serve no users).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _event: AuditEvent) {}
}

/// Who the request turned out to be.
#[derive(Debug, Clone)]
enum Who {
    Caller { user: String, member: String },
    Failed { presented: Option<String>, reason: String },
}

#[derive(Debug, Default)]
struct Note {
    who: Option<Who>,
    detail: Map<String, Value>,
    /// Set by [`at_body_end`]: the entry waits for the end of the response body.
    late: Option<LateDetail>,
}

/// Ids and counts of a request's audit entry that are known only while or after its response
/// body is written (by any thread: a blocking exporter holds it), recorded when the body ends.
#[derive(Debug, Clone, Default)]
pub struct LateDetail(Arc<Mutex<Map<String, Value>>>);

impl LateDetail {
    pub fn set(&self, key: &str, value: impl Into<Value>) {
        if let Ok(mut d) = self.0.lock() {
            d.insert(key.to_string(), value.into());
        }
    }
}

/// Makes the request's audit entry wait for the end of its response body, and returns where
/// the handler (or whoever writes the body) puts what it learns meanwhile. The entry then also
/// says `complete`: `true` when the body was sent whole, `false` when it ended with an error or
/// the client went away. Outside a request the handle is still usable and records nothing.
pub fn at_body_end() -> LateDetail {
    let late = LateDetail::default();
    with_note(|n| n.late = Some(late.clone()));
    late
}

tokio::task_local! {
    static NOTE: Arc<Mutex<Note>>;
}

fn with_note(f: impl FnOnce(&mut Note)) {
    // Outside the middleware (unit tests of handlers) there is no note: nothing to record.
    let _ = NOTE.try_with(|n| {
        if let Ok(mut n) = n.lock() {
            f(&mut n);
        }
    });
}

/// Called by the `Caller` extractor once it knows who is calling.
pub(crate) fn authenticated(user: &str, member: &str) {
    with_note(|n| n.who = Some(Who::Caller { user: user.to_string(), member: member.to_string() }));
}

/// Called by the `Caller` extractor when authentication fails.
pub(crate) fn failed(presented: Option<String>, reason: &str) {
    with_note(|n| n.who = Some(Who::Failed { presented, reason: reason.to_string() }));
}

/// Adds an id or a count to the request's audit entry (handlers of any route merged before
/// the audit layer; outside a request it does nothing).
pub fn detail(key: &str, value: impl Into<Value>) {
    with_note(|n| {
        n.detail.insert(key.to_string(), value.into());
    });
}

/// The action a request performs, from its method and path.
pub(crate) fn action(method: &Method, path: &str, api_root: &str) -> &'static str {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let root = api_root.trim_matches('/');
    let get = method == Method::GET;
    match segs.as_slice() {
        ["taxii2"] => "discovery",
        [r] if *r == root => "discovery",
        [r, "audit"] if *r == root && get => "audit.read",
        [r, "status", _] if *r == root => "status.read",
        [r, "collections"] | [r, "collections", _] if *r == root => "collections",
        [r, "collections", _, "objects"] if *r == root => {
            if method == Method::POST {
                "objects.write"
            } else {
                "objects.read"
            }
        }
        [r, "collections", _, "objects", _] if *r == root => {
            if method == Method::DELETE {
                "object.delete"
            } else {
                "object.read"
            }
        }
        [r, "collections", _, "objects", _, "versions"] if *r == root => "versions.read",
        [r, "collections", _, "manifest"] if *r == root => "manifest.read",
        [r, "collections", _, "tombstones"] if *r == root => "tombstones.read",
        [r, "tandem", "roster", "changes"] if *r == root => {
            if method == Method::POST {
                "roster.change"
            } else {
                "roster.read"
            }
        }
        [r, "tandem", "sync", "widened"] if *r == root => "sync.widened",
        [r, "tandem", "notify"] if *r == root => "peer.notify",
        [r, "tandem", "peers"] if *r == root => "peers.read",
        [r, "tandem", "places"] if *r == root => "places.search",
        [r, "tandem", "places", "resolve"] if *r == root => "places.resolve",
        [r, "tandem", "places", "reverse"] if *r == root => "places.reverse",
        [r, "tandem", "extract"] if *r == root => "extract.draft",
        [r, "tandem", "openapi.json"] if *r == root => "openapi.read",
        [r, "tandem", "search"] if *r == root => "search.read",
        [r, "tandem", "analytics", "trends"] if *r == root => "analytics.trends",
        [r, "tandem", "analytics", "spikes"] if *r == root => "analytics.spikes",
        [r, "tandem", "analytics", "hotspots"] if *r == root => "analytics.hotspots",
        [r, "tandem", "analytics", "tracks", _] if *r == root => "analytics.track",
        [r, "tandem", "analytics", "correlations"] if *r == root => {
            if method == Method::POST {
                "analytics.merge"
            } else {
                "analytics.correlations"
            }
        }
        [r, "tandem", "analytics", "correlations", _] if *r == root => "analytics.unmerge",
        [r, "tandem", "import"] if *r == root => "interop.import",
        [r, "tandem", "export"] if *r == root => "interop.export",
        [r, "tandem", "stream"] if *r == root => "stream.read",
        [r, "tandem", "watch-zones"] if *r == root => {
            if method == Method::POST {
                "zones.create"
            } else {
                "zones.read"
            }
        }
        [r, "tandem", "watch-zones", _] if *r == root => {
            if method == Method::PATCH {
                "zones.update"
            } else {
                "zones.delete"
            }
        }
        [r, "tandem", "alerts"] if *r == root => "alerts.read",
        [r, "tandem", "webhooks", "deliveries"] if *r == root => "webhooks.read",
        ["metrics"] => "metrics.read",
        // The web UI (`tandem-web`): its session and data endpoints.
        ["ui", "api", "login"] => "ui.login",
        ["ui", "api", "logout"] => "ui.logout",
        ["ui", "api", "session"] => "ui.session",
        ["ui", "api", "incidents"] => "ui.incidents",
        ["ui", "api", "incidents", _] => "ui.incident",
        ["ui", "api", "releasability", "preview"] => "ui.preview",
        ["ui", "api", "markings"] => "ui.markings",
        ["ui", "api", "roster"] => "ui.roster",
        ["ui", "api", "coalition"] => "ui.coalition",
        ["ui", "api", "cells"] => "ui.cells",
        ["ui", "data", _] => "ui.data",
        _ => "other",
    }
}

/// Middleware: records one [`AuditEvent`] per request that reached authentication.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path =
        req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| req.uri().path().to_string());
    let action = action(&method, req.uri().path(), &state.config.api_root);
    let note = Arc::new(Mutex::new(Note::default()));
    let resp = NOTE.scope(Arc::clone(&note), next.run(req)).await;
    let Some(note) = note.lock().ok().map(|mut n| std::mem::take(&mut *n)) else {
        return resp;
    };
    let (user, member, action, detail) = match note.who {
        None => return resp,
        Some(Who::Caller { user, member }) => (Some(user), Some(member), action.to_string(), note.detail),
        Some(Who::Failed { presented, reason }) => {
            let mut d = note.detail;
            d.insert("attempted".into(), action.into());
            d.insert("reason".into(), reason.into());
            (presented, None, "auth.failure".to_string(), d)
        }
    };
    let event = AuditEvent {
        user,
        member,
        action,
        method: method.to_string(),
        path,
        status: resp.status().as_u16(),
        detail: Value::Object(detail),
    };
    match note.late {
        None => {
            state.audit.record(event);
            resp
        }
        Some(late) => {
            let (parts, body) = resp.into_parts();
            let pending = Some(Pending { audit: Arc::clone(&state.audit), event, late });
            Response::from_parts(parts, axum::body::Body::new(AuditAtEnd { inner: body, pending }))
        }
    }
}

/// An entry waiting for its response body's end.
struct Pending {
    audit: Arc<dyn AuditSink>,
    event: AuditEvent,
    late: LateDetail,
}

impl Pending {
    fn record(self, complete: bool) {
        let Pending { audit, mut event, late } = self;
        if let Value::Object(detail) = &mut event.detail {
            if let Ok(mut l) = late.0.lock() {
                detail.append(&mut l);
            }
            detail.insert("complete".into(), complete.into());
        }
        audit.record(event);
    }
}

/// A response body that records its request's audit entry when it ends (whole, failed, or
/// dropped because the client went away).
struct AuditAtEnd {
    inner: axum::body::Body,
    pending: Option<Pending>,
}

impl http_body::Body for AuditAtEnd {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            std::task::Poll::Ready(None) => {
                if let Some(p) = self.pending.take() {
                    p.record(true);
                }
            }
            std::task::Poll::Ready(Some(Err(_))) => {
                if let Some(p) = self.pending.take() {
                    p.record(false);
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for AuditAtEnd {
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            // A body with nothing to send may never be polled.
            let whole = http_body::Body::is_end_stream(&self.inner);
            p.record(whole);
        }
    }
}

/// Write hooks that audit every write which made an id contested (its writer's first version of
/// an id another member already claims, see `tandem_store::PutOutcome::Added`): local POSTs and
/// imports as well as replicated pages, since every writer rings the hooks. One entry per
/// write, action `claims.contested`, with the member that wrote and the ids; the contest stays
/// listed by `tandem doctor`.
pub struct ContestAudit {
    pub sink: Arc<dyn AuditSink>,
    /// The hooks to ring after auditing.
    pub inner: Arc<dyn crate::WriteHooks>,
}

impl crate::WriteHooks for ContestAudit {
    fn after_write(&self, collection: &str, member: &str, outcomes: &[tandem_store::PutOutcome]) {
        let ids: Vec<Value> = outcomes
            .iter()
            .filter_map(|o| match o {
                tandem_store::PutOutcome::Added { id, contested: true, .. } => Some(Value::String(id.clone())),
                _ => None,
            })
            .collect();
        if !ids.is_empty() {
            tracing::warn!(%member, ids = ids.len(), "a write made ids contested: readers of third members are served neither claim (see tandem doctor)");
            let mut detail = Map::new();
            detail.insert("collection".into(), Value::String(collection.to_string()));
            detail.insert("count".into(), Value::from(ids.len()));
            detail.insert("ids".into(), Value::Array(ids));
            self.sink.record(AuditEvent {
                user: None,
                member: Some(member.to_string()),
                action: "claims.contested".into(),
                method: "WRITE".into(),
                path: format!("collections/{collection}/objects/"),
                status: 200,
                detail: Value::Object(detail),
            });
        }
        self.inner.after_write(collection, member, outcomes);
    }

    fn after_delete(&self, collection: &str, member: &str, id: &str, count: usize) {
        self.inner.after_delete(collection, member, id, count);
    }

    fn after_external_write(&self, position: tandem_model::Timestamp) {
        self.inner.after_external_write(position);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_from_paths() {
        let cases = [
            (Method::GET, "/taxii2/", "discovery"),
            (Method::GET, "/api/", "discovery"),
            (Method::GET, "/api/collections/", "collections"),
            (Method::GET, "/api/collections/x", "collections"),
            (Method::GET, "/api/collections/x/objects/", "objects.read"),
            (Method::POST, "/api/collections/x/objects/", "objects.write"),
            (Method::GET, "/api/collections/x/objects/i/", "object.read"),
            (Method::DELETE, "/api/collections/x/objects/i/", "object.delete"),
            (Method::GET, "/api/collections/x/objects/i/versions/", "versions.read"),
            (Method::GET, "/api/collections/x/manifest/", "manifest.read"),
            (Method::GET, "/api/status/s/", "status.read"),
            (Method::GET, "/api/audit/", "audit.read"),
            (Method::GET, "/api/collections/x/tombstones/", "tombstones.read"),
            (Method::GET, "/api/tandem/roster/changes/", "roster.read"),
            (Method::POST, "/api/tandem/roster/changes", "roster.change"),
            (Method::GET, "/api/tandem/sync/widened/", "sync.widened"),
            (Method::POST, "/api/tandem/notify/", "peer.notify"),
            (Method::GET, "/api/tandem/peers/", "peers.read"),
            (Method::GET, "/api/tandem/places/", "places.search"),
            (Method::GET, "/api/tandem/openapi.json", "openapi.read"),
            (Method::GET, "/api/tandem/search/", "search.read"),
            (Method::GET, "/api/tandem/analytics/trends", "analytics.trends"),
            (Method::GET, "/api/tandem/analytics/tracks/intrusion-set--1/", "analytics.track"),
            (Method::POST, "/api/tandem/analytics/correlations/", "analytics.merge"),
            (Method::DELETE, "/api/tandem/analytics/correlations/relationship--1", "analytics.unmerge"),
            (Method::GET, "/api/tandem/places/resolve/", "places.resolve"),
            (Method::GET, "/api/tandem/places/reverse", "places.reverse"),
            (Method::POST, "/api/tandem/extract", "extract.draft"),
            (Method::POST, "/api/tandem/import", "interop.import"),
            (Method::GET, "/api/tandem/export/", "interop.export"),
            (Method::GET, "/metrics", "metrics.read"),
            (Method::POST, "/ui/api/login", "ui.login"),
            (Method::GET, "/ui/api/incidents/incident--1", "ui.incident"),
            (Method::POST, "/ui/api/releasability/preview", "ui.preview"),
            (Method::GET, "/ui/data/governorates.json", "ui.data"),
            (Method::GET, "/other/collections/", "other"),
        ];
        for (m, p, want) in cases {
            assert_eq!(action(&m, p, "api"), want, "{m} {p}");
        }
    }
}
