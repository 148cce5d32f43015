//! `GET /metrics`: Prometheus text exposition of the node's replication health.
//!
//! Only aggregate, intelligence-free figures about peers (lag, errors, versions received and
//! refused) — no object counts, which could reveal what exists beyond a reader's releasability —
//! and only to authenticated users of the node's own member (while it is active), through the
//! same extractor and audit layer as every other route (`metrics.read`).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tandem_sync::federation::Federation;
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, TaxiiError};

/// `/metrics`, for the app's state (the federation rides along as an extension).
pub fn routes(federation: Arc<Federation>) -> Router<AppState> {
    let started = Started(std::time::Instant::now());
    Router::new().route("/metrics", get(metrics)).layer(Extension(federation)).layer(Extension(started))
}

/// When the app was assembled (uptime).
#[derive(Clone, Copy)]
struct Started(std::time::Instant);

/// One exposed series: name, help, kind, and how to read it from a peer's status.
type Series = (&'static str, &'static str, &'static str, fn(&tandem_sync::status::PeerStatus) -> f64);

async fn metrics(
    State(state): State<AppState>,
    ActiveCaller(p): ActiveCaller,
    Extension(federation): Extension<Arc<Federation>>,
    Extension(Started(started)): Extension<Started>,
) -> Result<Response, TaxiiError> {
    if p.member != state.config.node_member {
        return Err(TaxiiError::Forbidden("metrics are for users of the node's member".into()));
    }
    let mut out = String::new();
    let gauge = |out: &mut String, name: &str, help: &str, kind: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    gauge(&mut out, "tandem_uptime_seconds", "Seconds since the node started.", "gauge");
    let _ = writeln!(out, "tandem_uptime_seconds {:.3}", started.elapsed().as_secs_f64());
    let statuses = federation.statuses();
    let series: [Series; 7] = [
        ("tandem_peer_lag_objects", "Versions fetched from the peer and not stored yet.", "gauge", |p| {
            p.lag_objects as f64
        }),
        ("tandem_peer_lag_seconds", "Seconds since this node was last caught up with the peer.", "gauge", |p| {
            p.lag_seconds
        }),
        ("tandem_peer_errors", "Consecutive failed pull passes.", "gauge", |p| p.errors as f64),
        ("tandem_peer_received_total", "Versions stored from the peer since start.", "counter", |p| p.received as f64),
        ("tandem_peer_rejected_total", "Versions from the peer refused since start.", "counter", |p| p.rejected as f64),
        ("tandem_peer_deletions_total", "Deletions applied from the peer since start.", "counter", |p| {
            p.deletions as f64
        }),
        ("tandem_peer_last_contact_timestamp_seconds", "When the peer last answered (Unix time).", "gauge", |p| {
            p.last_contact.map_or(0.0, |t| t.as_micros() as f64 / 1e6)
        }),
    ];
    for (name, help, kind, value) in series {
        gauge(&mut out, name, help, kind);
        for p in &statuses {
            let _ = writeln!(out, "{name}{{peer=\"{}\"}} {}", p.member, value(p));
        }
    }
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}
