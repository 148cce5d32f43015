//! `GET /taxii2/` (discovery) and `GET /{api_root}/` (API root information).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::media::TAXII_CONTENT_TYPE;
use crate::responses::taxii_json;
use crate::{AppState, TaxiiError};

/// The API root's URL: under the configured public URL, else relative (`/api/`). Never from the
/// request's `Host` or `X-Forwarded-*` headers, which the client controls.
fn api_root_url(config: &crate::TaxiiConfig) -> String {
    let root = config.api_root.trim_matches('/');
    match &config.public_url {
        Some(base) => format!("{}/{root}/", base.trim_end_matches('/')),
        None => format!("/{root}/"),
    }
}

pub async fn discovery(State(state): State<AppState>, _caller: Caller) -> Response {
    let root = api_root_url(&state.config);
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
