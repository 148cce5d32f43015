//! The analyst's web UI, served by every node under `/ui/`: the embedded single-page app
//! ([`assets`]), the browser session ([`session`]) and the data endpoints the UI reads
//! (`/ui/api/*`, `/ui/data/*`).
//!
//! Architecture invariant: this crate never decides what a viewer may see. Every object it
//! returns comes from `ObjectStore::list` with the caller's own `ViewContext`; "who can see
//! this" and the releasability preview call `tandem_policy::decide` for each member
//! ([`tandem_policy::recipients`]). Every data route authenticates through the one `Caller`
//! extractor (so the session cookie, its CSRF check and the roster check apply) and is merged
//! before the node's audit layer (`tandem_node::http::app`).

pub mod assets;
pub mod clip;
pub mod coalition;
pub mod geodata;
pub mod incidents;
pub mod session;
pub mod view;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tandem_taxii::{AppState, TaxiiError};

/// The Content-Security-Policy of every `/ui/` response: the UI is ES modules loaded from files,
/// no inline script, nothing from another origin.
pub const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'";

/// The peers' sync status as a caller may read it (the federation's, handed in by the node:
/// this crate knows nothing of federation). `Forbidden` for another member's user.
pub type PeerStatuses =
    Arc<dyn Fn(&tandem_taxii::Principal) -> Result<Vec<serde_json::Value>, TaxiiError> + Send + Sync>;

/// What the UI's endpoints need beyond the app state.
#[derive(Clone)]
pub struct Web {
    pub peers: PeerStatuses,
    /// When the node started (its uptime on the coalition page).
    pub started: Instant,
}

/// Every `/ui/` route (assets, session, data), for `tandem_node::http::app` to merge before the
/// audit layer.
pub fn routes(state: AppState, web: Web) -> Router {
    let api = Router::new()
        .route("/ui/api/login", post(session::login))
        .route("/ui/api/session", get(session::current))
        .route("/ui/api/logout", post(session::logout))
        .route("/ui/api/incidents", get(incidents::list))
        .route("/ui/api/incidents/{id}", get(incidents::one))
        .route("/ui/api/releasability/preview", post(coalition::preview))
        .route("/ui/api/markings", get(coalition::markings))
        .route("/ui/api/roster", get(coalition::roster))
        .route("/ui/api/coalition", get(coalition::coalition))
        .route("/ui/api/cells", get(coalition::cells))
        .route("/ui/data/governorates.json", get(geodata::get_governorates))
        .route("/ui/data/places.json", get(geodata::get_places))
        .route("/ui", get(|| async { axum::response::Redirect::permanent("/ui/") }))
        .route("/ui/", get(assets::index))
        .route("/ui/{*path}", get(assets::file));
    api.layer(axum::Extension(web)).layer(axum::middleware::map_response(headers)).with_state(state)
}

/// Security headers on every `/ui/` response; no Basic challenge on a 401, so that a browser
/// shows the UI's login page rather than its own password dialog.
async fn headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.remove(header::WWW_AUTHENTICATE);
    resp
}

/// A JSON 200 (`Cache-Control: no-store`: the body is what this user may see).
pub(crate) fn json(body: &impl serde::Serialize) -> Result<Response, TaxiiError> {
    let text = serde_json::to_string(body).map_err(|e| TaxiiError::internal("json encoding", e))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], text)
        .into_response())
}

/// Bodies smaller than this go uncompressed (gzip would save nothing worth a header).
const GZIP_ABOVE: usize = 1024;

/// Whether the request accepts a gzip-encoded answer.
pub(crate) fn accepts_gzip(headers: &axum::http::HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |e| {
            let mut parts = e.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|q| q.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        },
    )
}

/// [`json`], gzip-encoded when the client accepts it: the incident list of a large history is
/// megabytes of repetitive JSON (about 500 bytes an incident), a tenth of that compressed.
pub(crate) fn json_gz(headers: &axum::http::HeaderMap, body: &impl serde::Serialize) -> Result<Response, TaxiiError> {
    let text = serde_json::to_vec(body).map_err(|e| TaxiiError::internal("json encoding", e))?;
    let mut resp = if accepts_gzip(headers) && text.len() > GZIP_ABOVE {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(text.len() / 8), flate2::Compression::fast());
        enc.write_all(&text).map_err(|e| TaxiiError::internal("gzip", e))?;
        let gz = enc.finish().map_err(|e| TaxiiError::internal("gzip", e))?;
        let mut r = (StatusCode::OK, gz).into_response();
        r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        (StatusCode::OK, text).into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_when_accepted_and_worth_it() {
        let mut h = axum::http::HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate, br"));
        assert!(accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0"));
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let big: Vec<u32> = (0..2000).collect();
        let r = json_gz(&h, &big).unwrap();
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        let r = json_gz(&h, &[1, 2, 3]).unwrap();
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none(), "too small to bother");
    }
}
