//! The web UI's upload and download: `POST /api/tandem/import?format=csv|misp|stix[&dry_run=true]
//! [&markings=ID,ID]` (the body is the file; the answer is the conversion report as JSON) and
//! `GET /api/tandem/export?format=csv|misp|stix` (the caller's view of the incidents, or a STIX
//! bundle of everything it may see), each with an optional `collection` (default `intel`).
//!
//! Both go the way the CLI goes (`crate::interop`): an import through the one ingest pipeline as
//! the caller's member (so a user of another member writes in its own namespace, unsigned, like
//! a TAXII POST), an export through `Store::list` with the caller's `ViewContext`. Audited as
//! `interop.import` and `interop.export`. Over HTTP, MISP distributions map with the default
//! mapping (only distribution 0, the caller's own member); other levels are refused.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tandem_store::{ObjectQuery, Store, VersionFilter, ViewContext};
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, Principal, TaxiiError};

use crate::interop::{self as glue, Sink};

pub fn routes(api_root: &str) -> Router<AppState> {
    let base = format!("/{}/tandem", api_root.trim_matches('/'));
    let mut r = Router::new();
    for suffix in ["", "/"] {
        r = r
            .route(&format!("{base}/import{suffix}"), post(import).layer(DefaultBodyLimit::max(MAX_UPLOAD)))
            .route(&format!("{base}/export{suffix}"), get(export));
    }
    r
}

/// The largest upload the web UI may send (axum's default of 2 MB is too small for a CSV);
/// the body is held in memory, so larger files go through `tandem import`, which streams.
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;

type Params = HashMap<String, String>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Misp,
    Stix,
}

fn format(q: &Params) -> Result<Format, TaxiiError> {
    match q.get("format").map(String::as_str) {
        Some("csv") => Ok(Format::Csv),
        Some("misp") => Ok(Format::Misp),
        Some("stix") | None => Ok(Format::Stix),
        Some(other) => Err(TaxiiError::BadRequest(format!("format {other:?} is not csv, misp or stix"))),
    }
}

fn collection(state: &AppState, q: &Params, write: bool) -> Result<String, TaxiiError> {
    let key = q.get("collection").map_or("intel", String::as_str);
    let c = state
        .config
        .collections
        .iter()
        .find(|c| c.id == key || c.alias.as_deref() == Some(key))
        .ok_or(TaxiiError::NotFound)?;
    if (write && !c.can_write) || (!write && !c.can_read) {
        return Err(TaxiiError::Forbidden(format!(
            "this collection cannot be {}",
            if write { "written" } else { "read" }
        )));
    }
    Ok(c.id.clone())
}

fn view(state: &AppState, p: &Principal) -> ViewContext {
    state.view(p)
}

fn misp_options(p: &Principal) -> tandem_interop::misp::import::Options {
    tandem_interop::misp::import::Options { member: p.member.clone(), mapping: Default::default() }
}

async fn import(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Query(q): Query<Params>,
    body: axum::body::Bytes,
) -> Result<Response, TaxiiError> {
    let fmt = format(&q)?;
    let dry_run = match q.get("dry_run").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        _ => return Err(TaxiiError::BadRequest("dry_run must be true or false".into())),
    };
    let coll = collection(&state, &q, true)?;
    if p.read_only && !dry_run {
        return Err(TaxiiError::Forbidden("this account cannot write".into()));
    }
    let (ingest, member) = (state.ingest(), p.member.clone());
    let opts = misp_options(&p);
    // CSV rows carry no releasability: `markings=ID,ID` sets marking-definitions on every object.
    let csv_opts = tandem_interop::acled::import::Options {
        markings: q
            .get("markings")
            .map(|m| m.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default(),
    };
    let report = tokio::task::spawn_blocking(move || -> Result<tandem_interop::Report, TaxiiError> {
        let mut sink = Sink::new(ingest, &coll, &member, dry_run, 500);
        match fmt {
            Format::Csv => glue::import_csv(&body[..], &csv_opts, &mut sink)?,
            Format::Misp => {
                glue::import_misp(&body[..], &opts, &mut sink).map_err(|e| TaxiiError::BadRequest(e.to_string()))?
            }
            Format::Stix => {
                let doc: Value = serde_json::from_slice(&body)
                    .map_err(|_| TaxiiError::BadRequest("the body must be STIX JSON".into()))?;
                let objects = match doc {
                    Value::Object(mut m) if m.contains_key("objects") => m.remove("objects").unwrap_or_default(),
                    other => other,
                };
                let objects = match objects {
                    Value::Array(a) => a,
                    one => vec![one],
                };
                for (i, o) in objects.into_iter().enumerate() {
                    sink.report.count("objects", 1);
                    let key = o.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                    sink.push(i as u64, &key, o)?;
                }
                sink.flush()?;
            }
        }
        Ok(sink.report)
    })
    .await??;
    tandem_taxii::audit::detail("stored", report.get("stored"));
    tandem_taxii::audit::detail("rejected", report.rejected.len());
    let text = serde_json::to_string(&report).map_err(|e| TaxiiError::Internal(e.to_string()))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], text).into_response())
}

async fn export(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Query(q): Query<Params>,
) -> Result<Response, TaxiiError> {
    let fmt = format(&q)?;
    let coll = collection(&state, &q, false)?;
    let ctx = view(&state, &p);
    let store: Arc<dyn Store> = Arc::clone(&state.store);
    let opts = misp_options(&p);
    let (bytes, rows) = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, u64), TaxiiError> {
        let mut out = Vec::new();
        let internal = |e: anyhow::Error| TaxiiError::Internal(e.to_string());
        let count = match fmt {
            Format::Csv => glue::export_csv(&store, &ctx, &coll, &mut out).map_err(internal)?.get("rows"),
            Format::Misp => glue::export_misp(&store, &ctx, &coll, &opts, &mut out).map_err(internal)?.get("events"),
            Format::Stix => {
                let mut objects = Vec::new();
                let mut query = ObjectQuery { versions: VersionFilter::Last, limit: 1000, ..Default::default() };
                loop {
                    let page = store.list(&ctx, &coll, &query)?;
                    objects.extend(page.items.into_iter().map(|r| r.object));
                    match page.next {
                        Some(c) => query.cursor = Some(c),
                        None => break,
                    }
                }
                let n = objects.len() as u64;
                let bundle = serde_json::json!({"type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()), "objects": objects});
                out = bundle.to_string().into_bytes();
                n
            }
        };
        Ok((out, count))
    })
    .await??;
    tandem_taxii::audit::detail("returned", rows);
    let content_type = match fmt {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Misp | Format::Stix => "application/json",
    };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, content_type)], bytes).into_response())
}
