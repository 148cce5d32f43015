//! `GET /{api_root}/status/{id}/`: only the user who submitted the request sees its status.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::blocking;
use crate::auth::Caller;
use crate::responses::taxii_json;
use crate::{AppState, TaxiiError};

pub async fn get_status(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    let user = p.user.clone();
    let found = blocking(&state, move |s| s.get_status(&id, &user)).await?;
    found.map(|body| taxii_json(StatusCode::OK, &body)).ok_or(TaxiiError::NotFound)
}
