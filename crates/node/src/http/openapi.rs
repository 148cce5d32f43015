//! `GET /api/tandem/openapi.json`: an OpenAPI 3.0 description of the node's non-TAXII
//! endpoints (TAXII 2.1 has its own specification), for client authors and for Schemathesis
//! (`tests/interop/test_openapi.py` fuzzes a live node against it).
//!
//! The description is one file, `openapi.json` beside this module, written under the default
//! API root `/api/`; a node with another `api_root` serves it with its own. Authenticated as an
//! active member's user and audited (`openapi.read`) like every route. `http::tests` checks that
//! it names exactly the routes [`super::app`] mounts.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, TaxiiError};

/// The description as committed (API root `/api/`).
pub const DESCRIPTION: &str = include_str!("openapi.json");

/// The API root the committed description is written under.
const DESCRIBED_ROOT: &str = "/api/";

pub fn routes(api_root: &str) -> Router<AppState> {
    let base = format!("/{}/tandem/openapi.json", api_root.trim_matches('/'));
    let body = served(api_root);
    Router::new().route(&base, get(move |ActiveCaller(_p): ActiveCaller| async move { describe(body) }))
}

fn describe(body: Result<String, String>) -> Result<Response, TaxiiError> {
    let body = body.map_err(|e| TaxiiError::Internal(format!("the openapi description: {e}")))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The description with its paths under `api_root` (the UI's and `/metrics` stay where they are).
pub fn served(api_root: &str) -> Result<String, String> {
    let mut doc: Value = serde_json::from_str(DESCRIPTION).map_err(|e| e.to_string())?;
    let root = format!("/{}/", api_root.trim_matches('/'));
    if root != DESCRIBED_ROOT
        && let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut)
    {
        let moved: serde_json::Map<String, Value> = std::mem::take(paths)
            .into_iter()
            .map(|(p, v)| match p.strip_prefix(DESCRIBED_ROOT) {
                Some(rest) => (format!("{root}{rest}"), v),
                None => (p, v),
            })
            .collect();
        *paths = moved;
    }
    serde_json::to_string(&doc).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_move_to_the_configured_root() {
        let doc: Value = serde_json::from_str(&served("intel/v2").unwrap()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.contains_key("/intel/v2/tandem/places/"));
        assert!(paths.contains_key("/metrics") && paths.contains_key("/ui/api/session"));
        assert!(!paths.keys().any(|p| p.starts_with("/api/")), "{:?}", paths.keys().collect::<Vec<_>>());
        let same: Value = serde_json::from_str(&served("api").unwrap()).unwrap();
        assert_eq!(same, serde_json::from_str::<Value>(DESCRIPTION).unwrap());
    }
}
