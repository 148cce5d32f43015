//! Analytics endpoints over the incidents the caller may see (`tandem-analytics`):
//! `GET /api/tandem/analytics/trends?by=&interval=&from=&to=&admin1=` (JSON, or CSV with
//! `Accept: text/csv`), `GET /api/tandem/analytics/spikes?from=&to=&flagged=true` and
//! `GET /api/tandem/analytics/hotspots?from=&to=&resolution=&violent=true&scan=true` (Gi*; with
//! `scan`, also Kulldorff's space-time permutation scan as `space_time`) and
//! `GET /api/tandem/analytics/tracks/{cell-id}` (404 alike for a cell the caller sees no incident
//! of and one that does not exist), and correlation: `GET /api/tandem/analytics/correlations`
//! (scored candidate pairs), `POST` of `{"duplicate": ID, "of": ID}` to confirm one as a STIX
//! `duplicate-of` relationship and `DELETE .../correlations/{relationship-id}` to undo it by
//! revoking that relationship, both through the one ingest pipeline; each takes an optional
//! `collection` (id or alias, default `intel`).
//!
//! Every request reads the caller's own copies through `Store::list` with the caller's
//! `ViewContext` (`tandem_analytics::service`), authenticates as an active member's user
//! (`ActiveCaller`) and is audited (`analytics.trends`, `analytics.spikes`, `analytics.hotspots`, `analytics.track`,
//! `analytics.correlations`, `analytics.merge`, `analytics.unmerge`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::Value;
use tandem_analytics::calendar::Interval;
use tandem_analytics::hotspots::{HotspotQuery, hotspots};
use tandem_analytics::scan::{ScanQuery, space_time_scan};
use tandem_analytics::spikes::{SpikeQuery, spikes};
use tandem_analytics::trends::{By, TrendQuery, to_csv, trends};
use tandem_analytics::{Dataset, service};
use tandem_model::incident::Date;
use tandem_store::{Record, Store};
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::ingest::Outcome;
use tandem_taxii::{AppState, Principal, TaxiiError};

pub fn routes(api_root: &str) -> Router<AppState> {
    let base = format!("/{}/tandem/analytics", api_root.trim_matches('/'));
    let mut r = Router::new();
    for suffix in ["", "/"] {
        r = r
            .route(&format!("{base}/trends{suffix}"), get(get_trends))
            .route(&format!("{base}/spikes{suffix}"), get(get_spikes))
            .route(&format!("{base}/hotspots{suffix}"), get(get_hotspots))
            .route(&format!("{base}/tracks/{{cell}}{suffix}"), get(get_track))
            .route(&format!("{base}/correlations{suffix}"), get(get_correlations).post(post_merge))
            .route(&format!("{base}/correlations/{{relationship}}{suffix}"), delete(delete_merge));
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
        .map(|s| {
            Date::parse(s).map(|d| d.days()).ok_or_else(|| TaxiiError::BadRequest(format!("{key} must be YYYY-MM-DD")))
        })
        .transpose()
}

fn flag(q: &Params, key: &str) -> Result<bool, TaxiiError> {
    match q.get(key).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        _ => Err(TaxiiError::BadRequest(format!("{key} must be true or false"))),
    }
}

pub(crate) fn collection<'a>(
    state: &'a AppState,
    q: &Params,
) -> Result<&'a tandem_taxii::CollectionConfig, TaxiiError> {
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
    Ok(c)
}

/// The caller's own copies of what analytics read, through `Store::list` with its view.
async fn records(state: &AppState, p: &Principal, q: &Params) -> Result<Vec<Record>, TaxiiError> {
    let c = collection(state, q)?;
    let ctx = state.view(p);
    let (store, id): (Arc<dyn Store>, String) = (Arc::clone(&state.store), c.id.clone());
    Ok(tokio::task::spawn_blocking(move || service::viewer_records(store.as_ref(), &ctx, &id)).await??)
}

/// The caller's dataset.
async fn dataset(state: &AppState, p: &Principal, q: &Params) -> Result<Dataset, TaxiiError> {
    let ds = service::dataset_of(&records(state, p, q).await?);
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
    let query =
        TrendQuery { by, interval, from: day(&q, "from")?, to: day(&q, "to")?, admin1: q.get("admin1").cloned() };
    let ds = dataset(&state, &p, &q).await?;
    // Computing over a million incidents takes a while: off the async workers, as reading is.
    let t = tokio::task::spawn_blocking(move || trends(&ds, &query)).await?;
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
    let weeks = tokio::task::spawn_blocking(move || spikes(&ds, &query)).await?;
    json(&serde_json::json!({ "weeks": weeks }))
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
    let query =
        HotspotQuery { from: day(&q, "from")?, to: day(&q, "to")?, resolution, violent_only: flag(&q, "violent")? };
    let scan = flag(&q, "scan")?.then(|| ScanQuery { from: query.from, to: query.to, ..Default::default() });
    let ds = dataset(&state, &p, &q).await?;
    let out = tokio::task::spawn_blocking(move || -> Result<Value, String> {
        let mut v = serde_json::to_value(hotspots(&ds, &query)?).map_err(|e| e.to_string())?;
        if let Some(sq) = scan {
            v["space_time"] = serde_json::to_value(space_time_scan(&ds, &sq)?).map_err(|e| e.to_string())?;
        }
        Ok(v)
    })
    .await?
    .map_err(TaxiiError::BadRequest)?;
    json(&out)
}

async fn get_track(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Path(cell): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response, TaxiiError> {
    let ds = dataset(&state, &p, &q).await?;
    match tokio::task::spawn_blocking(move || tandem_analytics::tracks::track(&ds, &cell)).await? {
        Some(t) => json(&t),
        None => Err(TaxiiError::NotFound),
    }
}

async fn get_correlations(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Query(q): Query<Params>,
) -> Result<Response, TaxiiError> {
    let min = match q.get("min_score").map(|s| s.parse::<f64>()) {
        None => tandem_analytics::correlate::MIN_SCORE,
        Some(Ok(m)) if (0.0..=1.0).contains(&m) => m,
        _ => return Err(TaxiiError::BadRequest("min_score must be a number from 0 to 1".into())),
    };
    let ds = dataset(&state, &p, &q).await?;
    let mut c = tokio::task::spawn_blocking(move || tandem_analytics::correlate::candidates(&ds)).await?;
    c.retain(|c| c.score >= min);
    tandem_taxii::audit::detail("returned", c.len());
    json(&serde_json::json!({ "candidates": c }))
}

/// Submits `object` through the node's one ingest pipeline as the caller's member.
async fn submit(state: &AppState, p: &Principal, q: &Params, object: Value) -> Result<(), TaxiiError> {
    let c = collection(state, q)?;
    if !c.can_write || p.read_only {
        return Err(TaxiiError::Forbidden("this collection cannot be written".into()));
    }
    let (ingest, id, member) = (state.ingest(), c.id.clone(), p.member.clone());
    let summary = tokio::task::spawn_blocking(move || ingest.submit(&id, &member, vec![object])).await??;
    match summary.entries.first().map(|e| &e.outcome) {
        Some(Outcome::Accepted { .. } | Outcome::Duplicate { .. }) => Ok(()),
        Some(Outcome::Rejected { reason, .. }) => Err(TaxiiError::BadRequest(reason.clone())),
        None => Err(TaxiiError::Internal("ingest returned no outcome".into())),
    }
}

async fn post_merge(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Query(q): Query<Params>,
    body: axum::body::Bytes,
) -> Result<Response, TaxiiError> {
    let body: Value =
        serde_json::from_slice(&body).map_err(|_| TaxiiError::BadRequest("the body must be JSON".into()))?;
    let (Some(dup), Some(of)) = (body.get("duplicate").and_then(Value::as_str), body.get("of").and_then(Value::as_str))
    else {
        return Err(TaxiiError::BadRequest("duplicate and of (incident ids) are required".into()));
    };
    if dup == of {
        return Err(TaxiiError::BadRequest("an incident is not a duplicate of itself".into()));
    }
    // Both must be incidents the caller sees; a hidden one answers as a missing one.
    let records = records(&state, &p, &q).await?;
    let find = |id: &str| records.iter().find(|r| r.id == id && r.object_type == "incident");
    let (Some(a), Some(b)) = (find(dup), find(of)) else { return Err(TaxiiError::NotFound) };
    // Every marking of both incidents: releasability markings intersect, TLP combines most
    // restrictively, and another member's marking does not resolve in the caller's namespace
    // (originator-only), so the merge goes no further than both incidents.
    let mut markings: Vec<String> = Vec::new();
    for r in [a, b] {
        for m in r.object.get("object_marking_refs").and_then(Value::as_array).into_iter().flatten() {
            if let Some(m) = m.as_str().filter(|m| !markings.iter().any(|x| x == m)) {
                markings.push(m.to_string());
            }
        }
    }
    let score = body.get("score").and_then(Value::as_f64);
    let id = format!("relationship--{}", uuid::Uuid::new_v4());
    let now = tandem_model::Timestamp::now().to_stix_millis();
    let rel = tandem_analytics::correlate::duplicate_of(&id, dup, of, &markings, &now, score);
    submit(&state, &p, &q, rel).await?;
    let text = serde_json::json!({ "relationship": id }).to_string();
    Ok((StatusCode::CREATED, [(header::CONTENT_TYPE, "application/json")], text).into_response())
}

async fn delete_merge(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Path(rel): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response, TaxiiError> {
    let records = records(&state, &p, &q).await?;
    let Some(r) = records.iter().find(|r| {
        r.id == rel
            && r.object.get("relationship_type").and_then(Value::as_str) == Some("duplicate-of")
            && r.object.get("revoked").and_then(Value::as_bool) != Some(true)
    }) else {
        return Err(TaxiiError::NotFound);
    };
    if r.originator != p.member {
        return Err(TaxiiError::Forbidden("only the member that confirmed a merge can undo it".into()));
    }
    let now = tandem_model::Timestamp::now().to_stix_millis();
    submit(&state, &p, &q, tandem_analytics::correlate::revoked(&r.object, &now)).await?;
    json(&serde_json::json!({ "revoked": rel }))
}
