//! Gazetteer endpoints: `GET /api/tandem/places/?q=NAME[&admin1=SY-DY][&near=LAT,LON][&limit=N]`,
//! `GET /api/tandem/places/resolve/?text=...`, `GET /api/tandem/places/reverse/?lat=..&lon=..`.
//!
//! The gazetteer is public reference data (GeoNames, CC BY 4.0); the endpoints still require an
//! authenticated user of an active member, like everything else a node serves, and are audited
//! (`places.search`, `places.resolve`, `places.reverse`: a look-up says where a reader is
//! interested). Errors are TAXII error bodies.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tandem_geo::{Gazetteer, SearchOptions};
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, TaxiiError};

pub fn routes(api_root: &str) -> Router<AppState> {
    let base = format!("/{}/tandem/places", api_root.trim_matches('/'));
    let mut r = Router::new();
    for suffix in ["", "/"] {
        r = r
            .route(&format!("{base}{suffix}"), get(search))
            .route(&format!("{base}/resolve{suffix}"), get(resolve))
            .route(&format!("{base}/reverse{suffix}"), get(reverse));
    }
    r
}

/// The longest place name a search takes, in characters: longer names exist in no gazetteer,
/// and fuzzy matching costs grow with the length (a 48,000-character look-up once took 3 s of CPU).
pub const MAX_NAME_CHARS: usize = 200;
/// The longest free text `resolve` takes ("the northern countryside of ..."), in characters.
pub const MAX_TEXT_CHARS: usize = 1_000;

fn too_long(what: &str, text: &str, max: usize) -> Result<(), TaxiiError> {
    if text.chars().count() > max {
        return Err(TaxiiError::BadRequest(format!("{what} is longer than {max} characters")));
    }
    Ok(())
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// The node's gazetteer (built-in plus imported places), read off the async threads.
pub(crate) async fn gazetteer(state: &AppState) -> Result<std::sync::Arc<Gazetteer>, TaxiiError> {
    let store = std::sync::Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || crate::gazetteer::current(store.as_ref()))
        .await
        .map_err(|e| TaxiiError::Internal(e.to_string()))?
        .map_err(|e| TaxiiError::Internal(e.to_string()))
}

async fn search(
    State(state): State<AppState>,
    ActiveCaller(_p): ActiveCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, TaxiiError> {
    let Some(name) = q.get("q").filter(|s| !s.trim().is_empty()) else {
        return Err(TaxiiError::BadRequest("the q parameter (a place name) is required".into()));
    };
    too_long("q", name, MAX_NAME_CHARS)?;
    let near = match q.get("near").map(|s| parse_point(s)).transpose() {
        Ok(n) => n,
        Err(_) => return Err(TaxiiError::BadRequest("near must be LAT,LON".into())),
    };
    let limit = match q.get("limit").map(|s| s.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return Err(TaxiiError::BadRequest("limit must be an integer from 1 to 100".into())),
    };
    let opts = SearchOptions { admin1: q.get("admin1").cloned(), near, limit };
    let g = gazetteer(&state).await?;
    let hits = g.search(name, &opts);
    tandem_taxii::audit::detail("returned", hits.len());
    Ok(reply(StatusCode::OK, json!({ "places": hits })))
}

async fn resolve(
    State(state): State<AppState>,
    ActiveCaller(_p): ActiveCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, TaxiiError> {
    let Some(text) = q.get("text").filter(|s| !s.trim().is_empty()) else {
        return Err(TaxiiError::BadRequest("the text parameter is required".into()));
    };
    too_long("text", text, MAX_TEXT_CHARS)?;
    Ok(match gazetteer(&state).await?.resolve(text) {
        Some(r) => reply(StatusCode::OK, json!({ "resolution": r })),
        None => reply(StatusCode::OK, json!({ "resolution": null })),
    })
}

async fn reverse(
    ActiveCaller(_p): ActiveCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, TaxiiError> {
    let coord = |k: &str, range: std::ops::RangeInclusive<f64>| {
        q.get(k).and_then(|v| v.parse::<f64>().ok()).filter(|v| range.contains(v))
    };
    let (Some(lat), Some(lon)) = (coord("lat", -90.0..=90.0), coord("lon", -180.0..=180.0)) else {
        return Err(TaxiiError::BadRequest("lat and lon are required numbers in range".into()));
    };
    let back = Gazetteer::embedded().reverse(lat, lon, 5);
    Ok(reply(StatusCode::OK, json!(back)))
}

/// A point given as `LAT,LON` (the `near` parameter here and `tandem place --near`).
pub fn parse_point(s: &str) -> anyhow::Result<(f64, f64)> {
    use anyhow::Context as _;
    let (lat, lon) = s.split_once(',').context("expected LAT,LON")?;
    let lat: f64 = lat.trim().parse().context("latitude")?;
    let lon: f64 = lon.trim().parse().context("longitude")?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        anyhow::bail!("point out of range");
    }
    Ok((lat, lon))
}
