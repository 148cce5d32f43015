//! `POST /api/tandem/extract?published=YYYY-MM-DD`: draft incidents from a pasted text
//! (the UI's "paste a text" report form).
//!
//! The body is the text itself (any content type, UTF-8), at most
//! [`tandem_extract::MAX_TEXT_BYTES`] (64 KiB) — a longer body is refused with 413 and a
//! TAXII error body, so a caller cannot make the node read a book. The answer holds the
//! drafts with their byte spans and the same drafts as a STIX bundle, labelled `draft`
//! and without any releasability marking (default deny: originator-only). Nothing is
//! stored: an analyst publishes a reviewed draft through the normal ingest pipeline, with
//! the releasability they choose. Authenticated like every route (an active member's
//! user) and audited as `extract.draft`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use tandem_extract::MAX_TEXT_BYTES;
use tandem_model::incident::Date;
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, TaxiiError};

pub fn routes(api_root: &str) -> Router<AppState> {
    let base = format!("/{}/tandem/extract", api_root.trim_matches('/'));
    Router::new().route(&base, post(extract)).route(&format!("{base}/"), post(extract))
}

async fn read_text(headers: &HeaderMap, body: Body) -> Result<String, TaxiiError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|s| s.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_TEXT_BYTES as u64) {
        return Err(TaxiiError::PayloadTooLarge);
    }
    // Reading stops at the cap; an error here is a body longer than declared (or a
    // broken connection, which gets the same answer).
    let bytes = axum::body::to_bytes(body, MAX_TEXT_BYTES).await.map_err(|_| TaxiiError::PayloadTooLarge)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| TaxiiError::BadRequest("the text must be UTF-8".into()))
}

async fn extract(
    State(state): State<AppState>,
    ActiveCaller(_p): ActiveCaller,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TaxiiError> {
    let published = match q.get("published") {
        Some(s) => Some(Date::parse(s).ok_or_else(|| TaxiiError::BadRequest("published must be YYYY-MM-DD".into()))?),
        None => None,
    };
    let text = read_text(&headers, body).await?;
    if text.trim().is_empty() {
        return Err(TaxiiError::BadRequest("the body (the text to read) is empty".into()));
    }
    let now = tandem_model::Timestamp::now();
    let today = Date::from_days(now.secs().div_euclid(86_400));
    // The node's gazetteer (with any imported villages); reading it touches the store.
    let store = std::sync::Arc::clone(&state.store);
    let x = tokio::task::spawn_blocking(move || {
        let g = crate::gazetteer::current(store.as_ref())?;
        anyhow::Ok(tandem_extract::extract(&g, &text, published, today))
    })
    .await
    .map_err(|e| TaxiiError::Internal(e.to_string()))?
    .map_err(|e| TaxiiError::Internal(e.to_string()))?;
    tandem_taxii::audit::detail("drafts", x.drafts.len());
    let key = tandem_model::incident::deterministic_uuid(&serde_json::to_string(&x.drafts).unwrap_or_default());
    let bundle = tandem_extract::drafts::bundle(&x, &key, None, &now.to_stix_millis());
    let body = json!({ "extraction": x, "bundle": bundle });
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response())
}
