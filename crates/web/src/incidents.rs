//! `GET /ui/api/incidents` (the compact list the map and timeline draw),
//! `GET /ui/api/incidents?ids=a,b` (the same compact entries for a few ids: what the open map
//! fetches when the live stream says an incident changed) and `GET /ui/api/incidents/{id}` (one
//! incident page: the caller's copy, its versions, what is withheld, who can see it, its cells,
//! correlated reports and the confirmed merges that name it).
//!
//! Both read only the caller's copies through `ObjectStore::list`: a withheld property is `null`
//! (or absent from the copy), a hidden incident is missing, and one the caller may not see
//! answers the same 404 as one that does not exist.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Value, json};
use tandem_model::incident::{INCIDENT_EXTENSION_ID, REDACTION_EXTENSION_ID};
use tandem_store::{Record, VersionFilter};
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, TaxiiError};

use crate::view::{self, Read};
use crate::{geodata, json, json_gz};

/// The incident extension of an object, or `null`.
fn ext(o: &Value) -> &Value {
    o.get("extensions").and_then(|e| e.get(INCIDENT_EXTENSION_ID)).unwrap_or(&Value::Null)
}

/// The `YYYY-MM-DD` of a date or timestamp text.
fn day(v: &Value) -> Value {
    v.as_str().and_then(|s| s.get(..10)).map_or(Value::Null, |d| Value::String(d.to_string()))
}

/// The Admiralty grading of the best-graded source (`B2`), `null` without one.
fn grading(e: &Value) -> Value {
    let best = e
        .get("sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let r = s.get("reliability")?.as_str()?;
            let c = s.get("credibility")?.as_u64()?;
            Some(format!("{r}{c}"))
        })
        .min();
    best.map_or(Value::Null, Value::String)
}

/// Perpetrator cells (intrusion-sets) of an incident.
pub fn cells_of(o: &Value) -> Vec<String> {
    ext(o)
        .get("actors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| a.get("role").and_then(Value::as_str) == Some("perpetrator"))
        .filter_map(|a| a.get("actor_ref").and_then(Value::as_str))
        .filter(|r| r.starts_with("intrusion-set--"))
        .map(str::to_string)
        .collect()
}

/// How uncertain the place is, in km: the location's own `precision` (metres) when given, else
/// by the place precision (0 at a town, the governorate's size when only it is known).
fn radius_km(place: &Value, location: Option<&Value>) -> Value {
    if let Some(m) = location.and_then(|l| l.get("precision")).and_then(Value::as_f64) {
        return json!((m / 1000.0 * 10.0).round() / 10.0);
    }
    match place.get("precision") {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(1) => json!(0),
            Some(2) => json!(10),
            Some(3) => json!(50),
            _ => Value::Null,
        },
        Some(Value::String(s)) if s == "admin" => place
            .get("admin1")
            .and_then(Value::as_str)
            .and_then(geodata::radius_km)
            .map_or(Value::Null, |r| json!(r.round())),
        _ => Value::Null,
    }
}

/// One incident, compact, from the caller's copy and the locations it sees.
fn compact(r: &Record, locations: &HashMap<&str, &Value>) -> Value {
    let o = &r.object;
    let e = ext(o);
    let time = e.get("time").unwrap_or(&Value::Null);
    let place = e.get("place").unwrap_or(&Value::Null);
    let fat = e.get("fatalities").unwrap_or(&Value::Null);
    // The first referenced location the caller sees that has coordinates.
    let location = place
        .get("location_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str().and_then(|l| locations.get(l)).copied())
        .find(|l| l.get("latitude").is_some_and(Value::is_number));
    // Five decimals are about a metre: more only lengthens the list.
    let at = |k: &str| {
        location.and_then(|l| l.get(k)).and_then(Value::as_f64).map_or(Value::Null, |x| json!((x * 1e5).round() / 1e5))
    };
    let best = fat.get("best").cloned().unwrap_or(Value::Null);
    json!({
        "id": r.id,
        "version": r.version.to_stix_millis(),
        "title": o.get("name").cloned().unwrap_or(Value::Null),
        "t0": day(time.get("start").unwrap_or(&Value::Null)),
        "t1": day(time.get("end").unwrap_or(&Value::Null)),
        "date_precision": time.get("precision").cloned().unwrap_or(Value::Null),
        "event_type": e.get("event_type").cloned().unwrap_or(Value::Null),
        "sub_event_type": e.get("sub_event_type").cloned().unwrap_or(Value::Null),
        "fatalities": best,
        "fatalities_low": fat.get("low").cloned().unwrap_or_else(|| best.clone()),
        "fatalities_high": fat.get("high").cloned().unwrap_or_else(|| best.clone()),
        "lat": at("latitude"),
        "lon": at("longitude"),
        "place": location.and_then(|l| l.get("name")).cloned().or_else(|| place.get("description").cloned()).unwrap_or(Value::Null),
        "place_precision": place.get("precision").cloned().unwrap_or(Value::Null),
        "radius_km": radius_km(place, location),
        "admin1": place.get("admin1").cloned().unwrap_or(Value::Null),
        "member": r.originator,
        "cells": cells_of(o),
        "grading": grading(e),
    })
}

/// Whether an incident is withdrawn (revoked): the map shows none of those.
fn revoked(r: &Record) -> bool {
    r.object.get("revoked").and_then(Value::as_bool) == Some(true)
}

/// At most this many ids in one `?ids=` request (the live stream's changes come in small batches).
pub const MAX_IDS: usize = 200;

/// The `ids` of `?ids=a,b,c`, or `None` for the whole list.
fn ids_of(q: &HashMap<String, String>) -> Result<Option<Vec<String>>, TaxiiError> {
    let Some(text) = q.get("ids") else { return Ok(None) };
    let ids: Vec<String> = text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
    if ids.len() > MAX_IDS {
        return Err(TaxiiError::BadRequest(format!("ids: at most {MAX_IDS} ids per request")));
    }
    if let Some(bad) = ids.iter().find(|i| !i.starts_with("incident--") || i.len() > 128) {
        return Err(TaxiiError::BadRequest(format!("ids: {bad:?} is not an incident id")));
    }
    Ok(Some(ids))
}

pub async fn list(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
) -> Result<Response, TaxiiError> {
    let records = match ids_of(&q)? {
        None => {
            view::records(&state, &p, Read { types: vec!["incident".into(), "location".into()], ..Default::default() })
                .await?
        }
        Some(ids) if ids.is_empty() => Vec::new(),
        Some(ids) => {
            // The incidents the caller sees among these ids, then the locations they reference
            // that it sees: both reads through `list` as the caller, like the whole list.
            let mut incidents =
                view::records(&state, &p, Read { types: vec!["incident".into()], ids, ..Default::default() }).await?;
            let mut refs: Vec<String> = incidents
                .iter()
                .flat_map(|r| {
                    ext(&r.object).get("place").and_then(|p| p.get("location_refs")).and_then(Value::as_array).cloned()
                })
                .flatten()
                .filter_map(|v| v.as_str().filter(|s| s.starts_with("location--")).map(str::to_string))
                .collect();
            refs.sort();
            refs.dedup();
            if !refs.is_empty() {
                let read = Read { types: vec!["location".into()], ids: refs, ..Default::default() };
                incidents.extend(view::records(&state, &p, read).await?);
            }
            incidents
        }
    };
    let locations: HashMap<&str, &Value> =
        records.iter().filter(|r| r.object_type == "location").map(|r| (r.id.as_str(), &r.object)).collect();
    let incidents: Vec<Value> =
        records.iter().filter(|r| r.object_type == "incident" && !revoked(r)).map(|r| compact(r, &locations)).collect();
    tandem_taxii::audit::detail("returned", incidents.len());
    json_gz(&headers, &json!({"count": incidents.len(), "incidents": incidents}))
}

/// The selectors withheld from a copy (the redaction extension), oldest first.
fn redacted(o: &Value) -> Value {
    o.get("extensions")
        .and_then(|e| e.get(REDACTION_EXTENSION_ID))
        .and_then(|r| r.get("redacted"))
        .cloned()
        .unwrap_or_else(|| json!([]))
}

pub async fn one(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    if !id.starts_with("incident--") || id.len() > 128 {
        return Err(TaxiiError::NotFound);
    }
    let read = Read { ids: vec![id.clone()], versions: VersionFilter::All, ..Default::default() };
    let mut versions: Vec<Record> =
        view::records(&state, &p, read).await?.into_iter().filter(|r| r.object_type == "incident").collect();
    versions.sort_by_key(|r| r.version);
    let Some(latest) = versions.last().cloned() else { return Err(TaxiiError::NotFound) };
    tandem_taxii::audit::detail("id", id.clone());
    let roster = view::roster(&state);
    let (_, meanings) = view::meanings(&state, &p).await?;
    let object = tandem_model::StixObject::from_map_unchecked(latest.object.as_object().cloned().unwrap_or_default());
    let label = tandem_policy::AccessLabel::of(&latest.originator, &object);
    let who = view::who_can_see(&roster, &label, &meanings);
    // Its cells, as far as the caller sees them (a hidden cell is left out).
    let cell_ids = cells_of(&latest.object);
    let cells: Vec<Value> = if cell_ids.is_empty() {
        Vec::new()
    } else {
        let read = Read { types: vec!["intrusion-set".into()], ids: cell_ids, ..Default::default() };
        view::records(&state, &p, read)
            .await?
            .iter()
            .map(|r| json!({"id": r.id, "name": r.object.get("name").cloned().unwrap_or(Value::Null)}))
            .collect()
    };
    let correlated = correlated(&state, &p, &id).await?;
    let merges = merges(&state, &p, &id).await?;
    json(&json!({
        "object": latest.object,
        "member": latest.originator,
        "versions": versions.iter().map(|r| &r.object).collect::<Vec<_>>(),
        "redacted": redacted(&latest.object),
        "who_can_see": who,
        "cells": cells,
        "correlated": correlated,
        "merges": merges,
    }))
}

/// The confirmed merges (`duplicate-of` relationships, not revoked) the caller sees that name
/// this incident on either side: what the page offers to undo (the member that confirmed one
/// may undo it).
async fn merges(state: &AppState, p: &tandem_taxii::Principal, id: &str) -> Result<Vec<Value>, TaxiiError> {
    let read = Read { types: vec!["relationship".into()], ..Default::default() };
    let records = view::records(state, p, read).await?;
    let side = |r: &Record, k: &str| r.object.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(records
        .iter()
        .filter(|r| r.object.get("relationship_type").and_then(Value::as_str) == Some("duplicate-of") && !revoked(r))
        .filter(|r| side(r, "source_ref").as_deref() == Some(id) || side(r, "target_ref").as_deref() == Some(id))
        .map(|r| {
            json!({"id": r.id, "duplicate": side(r, "source_ref"), "of": side(r, "target_ref"),
                "member": r.originator, "mine": r.originator == p.member})
        })
        .collect())
}

/// Other members' reports scored against this one, over the caller's own dataset.
async fn correlated(state: &AppState, p: &tandem_taxii::Principal, id: &str) -> Result<Vec<Value>, TaxiiError> {
    // Scoring needs the incidents and their points only (not merges, notes or opinions).
    let read = Read { types: vec!["incident".into(), "location".into()], ..Default::default() };
    let records = view::records(state, p, read).await?;
    let id = id.to_string();
    let out = tokio::task::spawn_blocking(move || {
        let ds = tandem_analytics::service::dataset_of(&records);
        let Some(me) = ds.incidents.iter().find(|i| i.id == id) else { return Vec::new() };
        let mut c: Vec<(tandem_analytics::correlate::Candidate, String)> = ds
            .incidents
            .iter()
            .filter_map(|o| tandem_analytics::correlate::score(me, o).map(|c| (c, o.member.clone())))
            .filter(|(c, _)| c.score >= tandem_analytics::correlate::MIN_SCORE)
            .collect();
        c.sort_by(|x, y| y.0.score.total_cmp(&x.0.score));
        c.truncate(20);
        c.into_iter()
            .map(|(c, member)| {
                let mut reasons = Vec::new();
                if let Some(km) = c.km {
                    reasons.push(format!("{km:.1} km apart"));
                }
                reasons.push(format!("time windows overlap by {} days", c.overlap_days));
                if !c.shared_actors.is_empty() {
                    reasons.push(format!("shared actors: {}", c.shared_actors.join(", ")));
                }
                // The reasons also as data, for the UI to word in the reader's language.
                json!({"id": c.b, "member": member, "score": c.score, "reasons": reasons,
                    "km": c.km, "overlap_days": c.overlap_days, "shared_actors": c.shared_actors})
            })
            .collect()
    })
    .await?;
    Ok(out)
}
