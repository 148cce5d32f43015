//! `GET /taxii2/` (discovery) and `GET /{api_root}/` (API root information).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::media::TAXII_CONTENT_TYPE;
use crate::responses::taxii_json;
use crate::{AppState, TaxiiError};

/// The API root's URL as the client reached us: absolute from the `Host` header (https when a
/// proxy says so in `X-Forwarded-Proto`), or relative when the host is missing or odd.
fn api_root_url(headers: &HeaderMap, root: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|c| c.is_ascii_alphanumeric() || b".-:[]_".contains(&c)));
    let root = root.trim_matches('/');
    match host {
        Some(host) => {
            let https = headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
            format!("{}://{host}/{root}/", if https { "https" } else { "http" })
        }
        None => format!("/{root}/"),
    }
}

pub async fn discovery(State(state): State<AppState>, _caller: Caller, headers: HeaderMap) -> Response {
    let root = api_root_url(&headers, &state.config.api_root);
    let mut body = Map::new();
    body.insert("title".into(), json!(state.config.title));
    if let Some(d) = &state.config.description {
        body.insert("description".into(), json!(d));
    }
    if let Some(c) = &state.config.contact {
        body.insert("contact".into(), json!(c));
    }
    body.insert("default".into(), json!(root));
    body.insert("api_roots".into(), json!([root]));
    taxii_json(StatusCode::OK, &Value::Object(body))
}

pub async fn api_root(State(state): State<AppState>, _caller: Caller) -> Result<Response, TaxiiError> {
    let mut body = Map::new();
    body.insert("title".into(), json!(state.config.title));
    if let Some(d) = &state.config.description {
        body.insert("description".into(), json!(d));
    }
    body.insert("versions".into(), json!([TAXII_CONTENT_TYPE]));
    body.insert("max_content_length".into(), json!(state.config.max_content_length));
    Ok(taxii_json(StatusCode::OK, &Value::Object(body)))
}
