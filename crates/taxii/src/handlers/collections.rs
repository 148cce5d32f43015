//! `GET /{api_root}/collections/` and `GET /{api_root}/collections/{id}/`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{can_write, collection};
use crate::auth::Caller;
use crate::media::STIX_MEDIA_TYPE;
use crate::responses::taxii_json;
use crate::{AppState, CollectionConfig, Principal, TaxiiError};

/// The collection resource as this principal sees it (`can_write` is false for read-only users).
fn resource(c: &CollectionConfig, p: &Principal) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(c.id));
    m.insert("title".into(), json!(c.title));
    if let Some(d) = &c.description {
        m.insert("description".into(), json!(d));
    }
    if let Some(a) = &c.alias {
        m.insert("alias".into(), json!(a));
    }
    m.insert("can_read".into(), json!(c.can_read));
    m.insert("can_write".into(), json!(can_write(c, p)));
    m.insert("media_types".into(), json!([STIX_MEDIA_TYPE]));
    Value::Object(m)
}

pub async fn list(State(state): State<AppState>, Caller(p): Caller) -> Response {
    let items: Vec<Value> = state.config.collections.iter().map(|c| resource(c, &p)).collect();
    // TAXII forbids empty lists: no collections is an empty object.
    let body = if items.is_empty() { json!({}) } else { json!({ "collections": items }) };
    taxii_json(StatusCode::OK, &body)
}

pub async fn one(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    let c = collection(&state, &id)?;
    Ok(taxii_json(StatusCode::OK, &resource(c, &p)))
}
