//! `GET /{api_root}/audit/?after=SEQ&limit=N`: the node's audit log, for its auditors only.
//!
//! A Tandem extension, not TAXII: plain JSON `{"entries": [...], "more": bool}`. It exists so
//! that an auditor can review access without shell access to the node. Only a user with role
//! `auditor` whose member is the node's member may read it; anyone else gets 403, and every
//! read, refused or not, is itself audited.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Pairs, pairs};
use crate::auth::Caller;
use crate::{AppState, TaxiiError};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub async fn read(State(state): State<AppState>, Caller(p): Caller, q: Pairs) -> Result<Response, TaxiiError> {
    let node = &state.config.node_member;
    if node.is_empty() || p.member != *node || !p.roles.iter().any(|r| r == "auditor") {
        return Err(TaxiiError::Forbidden("the audit log is readable by the node member's auditors only".into()));
    }
    let mut after = 0u64;
    let mut limit = DEFAULT_LIMIT;
    for (k, v) in pairs(q)? {
        let bad = || TaxiiError::BadRequest(format!("invalid {k}"));
        match k.as_str() {
            "after" => after = v.parse().map_err(|_| bad())?,
            "limit" => limit = v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(bad)?.min(MAX_LIMIT),
            _ => {}
        }
    }
    crate::audit::detail("after", after);
    let audit = state.audit.clone();
    // One more than asked, to tell whether there is more.
    let found = tokio::task::spawn_blocking(move || audit.read(after, limit + 1)).await?;
    let mut entries = match found {
        None => return Err(TaxiiError::NotFound),
        Some(Ok(e)) => e,
        Some(Err(e)) => return Err(TaxiiError::internal("reading the audit log", e)),
    };
    let more = entries.len() > limit;
    entries.truncate(limit);
    crate::audit::detail("returned", entries.len());
    Ok((StatusCode::OK, Json(json!({ "entries": entries, "more": more }))).into_response())
}
