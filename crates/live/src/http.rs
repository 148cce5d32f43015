//! `GET|POST /api/tandem/watch-zones/`, `PATCH|DELETE /api/tandem/watch-zones/{id}/` (the
//! caller's own zones only: another user's zone answers as a missing one) and
//! `GET /api/tandem/alerts/`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, TaxiiError};

use crate::zones::{self, UpdateError, Zone, ZonePatch, ZoneSpec};

fn reply(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn blocking_err(e: tokio::task::JoinError) -> TaxiiError {
    TaxiiError::from(e)
}

pub async fn list_zones(ActiveCaller(p): ActiveCaller, State(state): State<AppState>) -> Result<Response, TaxiiError> {
    let store = state.store.clone();
    let all = tokio::task::spawn_blocking(move || zones::list(&*store)).await.map_err(blocking_err)??;
    let mine: Vec<Zone> = all.into_iter().filter(|z| z.owner == p.user).map(|z| z.public()).collect();
    tandem_taxii::audit::detail("returned", mine.len());
    Ok(reply(StatusCode::OK, json!({ "zones": mine })))
}

pub async fn create_zone(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<crate::stream::Shared>>,
    body: Result<Json<ZoneSpec>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, TaxiiError> {
    let Json(spec) = body.map_err(|e| TaxiiError::BadRequest(format!("the zone does not parse: {}", e.body_text())))?;
    let zone = zones::new_zone(spec, &p.user, &p.member, p.clearance).map_err(TaxiiError::BadRequest)?;
    let store = state.store.clone();
    let mut z = zone.clone();
    // The secret is stored sealed (the node's secrets key is a file, never in the store).
    crate::webhooks::seal(&mut z, &shared.secrets).map_err(|e| TaxiiError::Internal(e.to_string()))?;
    if !tokio::task::spawn_blocking(move || zones::create(&*store, &z)).await.map_err(blocking_err)?? {
        return Err(TaxiiError::Internal("zone id collision".into()));
    }
    tandem_taxii::audit::detail("zone", zone.id.clone());
    Ok(reply(StatusCode::CREATED, serde_json::to_value(zone.public()).unwrap_or(Value::Null)))
}

/// Renames, moves, resizes or re-shapes one of the caller's zones ([`ZonePatch`]); 200 with the
/// zone as it is now.
pub async fn update_zone(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<ZonePatch>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, TaxiiError> {
    let Json(patch) =
        body.map_err(|e| TaxiiError::BadRequest(format!("the change does not parse: {}", e.body_text())))?;
    let store = state.store.clone();
    let (user, zid) = (p.user.clone(), id.clone());
    let updated =
        tokio::task::spawn_blocking(move || zones::update(&*store, &user, &zid, &patch)).await.map_err(blocking_err)?;
    match updated {
        Ok(z) => {
            tandem_taxii::audit::detail("zone", id);
            Ok(reply(StatusCode::OK, serde_json::to_value(z.public()).unwrap_or(Value::Null)))
        }
        Err(UpdateError::Missing) => Err(TaxiiError::NotFound),
        Err(UpdateError::Invalid(why)) => Err(TaxiiError::BadRequest(why)),
        Err(UpdateError::Store(e)) => Err(e.into()),
    }
}

pub async fn delete_zone(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    let store = state.store.clone();
    let user = p.user.clone();
    let zid = id.clone();
    if tokio::task::spawn_blocking(move || zones::remove(&*store, &user, &zid)).await.map_err(blocking_err)?? {
        tandem_taxii::audit::detail("zone", id);
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(TaxiiError::NotFound)
    }
}

pub async fn list_alerts(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, TaxiiError> {
    let limit = match q.get("limit").map(|s| s.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        _ => return Err(TaxiiError::BadRequest("limit must be an integer from 1 to 1000".into())),
    };
    let ctx = state.view(&p);
    let store = state.store.clone();
    let user = p.user.clone();
    let alerts = tokio::task::spawn_blocking(move || crate::alerts::alerts_for(&*store, &ctx, &user, limit))
        .await
        .map_err(blocking_err)??;
    tandem_taxii::audit::detail("returned", alerts.len());
    Ok(reply(StatusCode::OK, json!({ "alerts": alerts })))
}

pub async fn list_deliveries(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
) -> Result<Response, TaxiiError> {
    let store = state.store.clone();
    let user = p.user.clone();
    let d = tokio::task::spawn_blocking(move || crate::webhooks::deliveries(&*store, Some(&user)))
        .await
        .map_err(blocking_err)??;
    tandem_taxii::audit::detail("returned", d.len());
    Ok(reply(StatusCode::OK, json!({ "deliveries": d })))
}
