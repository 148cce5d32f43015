//! Gazetteer endpoints: `GET /api/tandem/places/?q=NAME[&admin1=SY-DY][&near=LAT,LON][&limit=N]`,
//! `GET /api/tandem/places/resolve/?text=...`, `GET /api/tandem/places/reverse/?lat=..&lon=..`.
//!
//! The gazetteer is public reference data (GeoNames, CC BY 4.0); the endpoints still require an
//! authenticated user, like everything else a node serves.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tandem_geo::{Gazetteer, SearchOptions};
use tandem_taxii::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/tandem/places/", get(search))
        .route("/api/tandem/places", get(search))
        .route("/api/tandem/places/resolve/", get(resolve))
        .route("/api/tandem/places/resolve", get(resolve))
        .route("/api/tandem/places/reverse/", get(reverse))
        .route("/api/tandem/places/reverse", get(reverse))
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn error(status: StatusCode, description: &str) -> Response {
    reply(
        status,
        json!({"title": status.canonical_reason().unwrap_or("error"), "http_status": status.as_u16().to_string(), "description": description}),
    )
}

/// `None` when the caller authenticated, else the 401 to send.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match state.auth.authenticate(auth) {
        Ok(_) => None,
        Err(_) => {
            let mut r = error(StatusCode::UNAUTHORIZED, "authentication required");
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"tandem\", Bearer"));
            Some(r)
        }
    }
}

async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = authenticate(&state, &headers) {
        return r;
    }
    let Some(name) = q.get("q").filter(|s| !s.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "the q parameter (a place name) is required");
    };
    let near = match q.get("near").map(|s| crate::cli::place::parse_point(s)).transpose() {
        Ok(n) => n,
        Err(_) => return error(StatusCode::BAD_REQUEST, "near must be LAT,LON"),
    };
    let limit = match q.get("limit").map(|s| s.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return error(StatusCode::BAD_REQUEST, "limit must be an integer from 1 to 100"),
    };
    let opts = SearchOptions { admin1: q.get("admin1").cloned(), near, limit };
    let hits = Gazetteer::embedded().search(name, &opts);
    reply(StatusCode::OK, json!({ "places": hits }))
}

async fn resolve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = authenticate(&state, &headers) {
        return r;
    }
    let Some(text) = q.get("text").filter(|s| !s.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "the text parameter is required");
    };
    match Gazetteer::embedded().resolve(text) {
        Some(r) => reply(StatusCode::OK, json!({ "resolution": r })),
        None => reply(StatusCode::OK, json!({ "resolution": null })),
    }
}

async fn reverse(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = authenticate(&state, &headers) {
        return r;
    }
    let coord = |k: &str, range: std::ops::RangeInclusive<f64>| {
        q.get(k).and_then(|v| v.parse::<f64>().ok()).filter(|v| range.contains(v))
    };
    let (Some(lat), Some(lon)) = (coord("lat", -90.0..=90.0), coord("lon", -180.0..=180.0)) else {
        return error(StatusCode::BAD_REQUEST, "lat and lon are required numbers in range");
    };
    let back = Gazetteer::embedded().reverse(lat, lon, 5);
    reply(StatusCode::OK, json!(back))
}
