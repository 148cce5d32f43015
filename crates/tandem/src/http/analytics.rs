//! Analytics endpoints over the incidents the caller may see (`tandem-analytics`):
//! `GET /api/tandem/analytics/trends?by=&interval=&from=&to=&admin1=` (JSON, or CSV with
//! `Accept: text/csv`), `GET /api/tandem/analytics/spikes?from=&to=&flagged=true` and
//! `GET /api/tandem/analytics/hotspots?from=&to=&resolution=&violent=true` and
//! `GET /api/tandem/analytics/tracks/{cell-id}` (404 alike for a cell the caller sees no incident
//! of and one that does not exist); each takes an optional
//! `collection` (id or alias, default `intel`).
//!
//! Every request reads the caller's own copies through `Store::list` with the caller's
//! `ViewContext` (`tandem_analytics::service`), authenticates as an active member's user
//! (`ActiveCaller`) and is audited (`analytics.trends`, `analytics.spikes`, `analytics.hotspots`, `analytics.track`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tandem_analytics::calendar::Interval;
use tandem_analytics::hotspots::{HotspotQuery, hotspots};
use tandem_analytics::spikes::{SpikeQuery, spikes};
use tandem_analytics::trends::{By, TrendQuery, to_csv, trends};
use tandem_analytics::{Dataset, service};
use tandem_model::incident::Date;
use tandem_policy::Viewer;
use tandem_store::{Store, ViewContext};
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, Principal, TaxiiError};

pub fn routes(api_root: &str) -> Router<AppState> {
    let base = format!("/{}/tandem/analytics", api_root.trim_matches('/'));
    let mut r = Router::new();
    for suffix in ["", "/"] {
        r = r
            .route(&format!("{base}/trends{suffix}"), get(get_trends))
            .route(&format!("{base}/spikes{suffix}"), get(get_spikes))
            .route(&format!("{base}/hotspots{suffix}"), get(get_hotspots))
            .route(&format!("{base}/tracks/{{cell}}{suffix}"), get(get_track));
    }
    r
}

type Params = HashMap<String, String>;

fn json(body: &impl serde::Serialize) -> Result<Response, TaxiiError> {
    let text = serde_json::to_string(body).map_err(|e| TaxiiError::Internal(e.to_string()))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], text).into_response())
}

/// A `YYYY-MM-DD` parameter as days since 1970-01-01.
fn day(q: &Params, key: &str) -> Result<Option<i64>, TaxiiError> {
    q.get(key)
        .map(|s| Date::parse(s).map(|d| d.days()).ok_or_else(|| TaxiiError::BadRequest(format!("{key} must be YYYY-MM-DD"))))
        .transpose()
}

fn flag(q: &Params, key: &str) -> Result<bool, TaxiiError> {
    match q.get(key).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        _ => Err(TaxiiError::BadRequest(format!("{key} must be true or false"))),
    }
}

/// The caller's dataset: its own copies in the collection, read through `Store::list`.
async fn dataset(state: &AppState, p: &Principal, q: &Params) -> Result<Dataset, TaxiiError> {
    let key = q.get("collection").map_or("intel", String::as_str);
    let c = state
        .config
        .collections
        .iter()
        .find(|c| c.id == key || c.alias.as_deref() == Some(key))
        .ok_or(TaxiiError::NotFound)?;
    if !c.can_read {
        return Err(TaxiiError::Forbidden("this collection cannot be read".into()));
    }
    let roster = match state.roster.read() {
        Ok(r) => Arc::clone(&r),
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    };
    let ctx = ViewContext { viewer: Viewer { member: p.member.clone(), clearance: p.clearance }, roster };
    let (store, id): (Arc<dyn Store>, String) = (Arc::clone(&state.store), c.id.clone());
    let ds = tokio::task::spawn_blocking(move || service::load(store.as_ref(), &ctx, &id)).await??;
    tandem_taxii::audit::detail("incidents", ds.incidents.len());
    Ok(ds)
}

async fn get_trends(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Result<Response, TaxiiError> {
    let by = match q.get("by") {
        None => By::Admin1,
        Some(s) => By::parse(s).ok_or_else(|| {
            TaxiiError::BadRequest("by must be admin1, event_type, sub_event_type, cell or member".into())
        })?,
    };
    let interval = match q.get("interval") {
        None => Interval::Month,
        Some(s) => Interval::parse(s).ok_or_else(|| TaxiiError::BadRequest("interval must be week or month".into()))?,
    };
    let query = TrendQuery { by, interval, from: day(&q, "from")?, to: day(&q, "to")?, admin1: q.get("admin1").cloned() };
    let ds = dataset(&state, &p, &q).await?;
    let t = trends(&ds, &query);
    let csv = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"));
    if csv {
        return Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/csv; charset=utf-8")], to_csv(&t)).into_response());
    }
    json(&t)
}

async fn get_spikes(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Query(q): Query<Params>,
) -> Result<Response, TaxiiError> {
    let query = SpikeQuery { from: day(&q, "from")?, to: day(&q, "to")?, flagged_only: flag(&q, "flagged")? };
    let ds = dataset(&state, &p, &q).await?;
    json(&serde_json::json!({ "weeks": spikes(&ds, &query) }))
}

async fn get_hotspots(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Query(q): Query<Params>,
) -> Result<Response, TaxiiError> {
    let resolution = match q.get("resolution").map(|s| s.parse::<u8>()) {
        None => tandem_analytics::hotspots::DEFAULT_RESOLUTION,
        Some(Ok(r)) if (3..=9).contains(&r) => r,
        _ => return Err(TaxiiError::BadRequest("resolution must be an integer from 3 to 9".into())),
    };
    let query = HotspotQuery { from: day(&q, "from")?, to: day(&q, "to")?, resolution, violent_only: flag(&q, "violent")? };
    let ds = dataset(&state, &p, &q).await?;
    let h = tokio::task::spawn_blocking(move || hotspots(&ds, &query)).await?.map_err(TaxiiError::BadRequest)?;
    json(&h)
}

async fn get_track(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Path(cell): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response, TaxiiError> {
    let ds = dataset(&state, &p, &q).await?;
    match tandem_analytics::tracks::track(&ds, &cell) {
        Some(t) => json(&t),
        None => Err(TaxiiError::NotFound),
    }
}
