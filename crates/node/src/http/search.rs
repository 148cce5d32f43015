//! Full-text search: `GET /api/tandem/search?q=TEXT[&type=incident,report][&limit=N][&next=TOKEN]
//! [&collection=ID]`, the latest version of each incident and report whose copy, as the caller
//! may see it, matches `q` (words ANDed, `"quoted phrases"`, `word*`; spellings folded as the
//! gazetteer folds them, see `tandem_store::text`; a word or phrase that is exactly a place's
//! name in the node's gazetteer also matches the place's other names, in the other script too).
//!
//! Why a list filter: the search is `ObjectQuery::text` of `Store::list` with the caller's
//! `ViewContext`, so it releases exactly what a TAXII listing would, and the match is checked on
//! the caller's (possibly redacted) copy. The answer is in feed order and carries no count, rank
//! or snippet: nothing in it is computed from what the caller may not see. `more`/`next` page as
//! TAXII does (a token is the position of the last object returned). A bad query is a 400 with
//! a TAXII error body; authenticated as an active member's user (`ActiveCaller`), audited as
//! `search.read` like every request (its path, so the text searched: what a reader looks for
//! is the node's own business to know, as with place look-ups) with the number returned.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tandem_geo::Gazetteer;
use tandem_store::cursor::Cursor;
use tandem_store::text::INDEXED_TYPES;
use tandem_store::{ObjectQuery, Store, TextQuery};
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, TaxiiError};

/// The page size unless `limit` says otherwise, and the largest it may say.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

pub fn routes(api_root: &str) -> Router<AppState> {
    let base = format!("/{}/tandem/search", api_root.trim_matches('/'));
    Router::new().route(&base, get(search)).route(&format!("{base}/"), get(search))
}

async fn search(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, TaxiiError> {
    let mut text = TextQuery::parse(q.get("q").map_or("", String::as_str))
        .map_err(|e| TaxiiError::BadRequest(format!("q: {e}")))?;
    let types = match q.get("type") {
        None => Vec::new(),
        Some(list) => {
            let types: Vec<String> = list.split(',').map(|t| t.trim().to_string()).collect();
            if types.iter().any(|t| !INDEXED_TYPES.contains(&t.as_str())) {
                return Err(TaxiiError::BadRequest(format!("type must be one of {}", INDEXED_TYPES.join(", "))));
            }
            types
        }
    };
    let limit = match q.get("limit").map(|s| s.parse::<usize>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        _ => return Err(TaxiiError::BadRequest(format!("limit must be an integer from 1 to {MAX_LIMIT}"))),
    };
    let cursor = q.get("next").map(|t| Cursor::decode(t)).transpose()?;
    let collection = super::analytics::collection(&state, &q)?.id.clone();
    let gazetteer = super::places::gazetteer(&state).await?;
    text.expand(|term| spellings(&gazetteer, term));
    let ctx = state.view(&p);
    let query = ObjectQuery { types, limit, cursor, text: Some(text), ..Default::default() };
    let store: Arc<dyn Store> = Arc::clone(&state.store);
    let page = tokio::task::spawn_blocking(move || store.list(&ctx, &collection, &query)).await??;
    tandem_taxii::audit::detail("returned", page.items.len());
    let objects: Vec<&serde_json::Value> = page.items.iter().map(|r| &r.object).collect();
    let mut body = json!({ "more": page.next.is_some(), "objects": objects });
    if let Some(next) = page.next {
        body["next"] = json!(next.encode());
    }
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response())
}

/// Every name of the place the gazetteer knows by exactly this name (its Arabic names for a
/// transliteration and the other way round: what folding cannot relate), or none.
fn spellings(gazetteer: &Gazetteer, term: &str) -> Vec<String> {
    gazetteer.exact_place(term, None).map(|p| p.all_names().map(str::to_string).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in gazetteer joins the scripts of a place's names, so a search for one finds
    /// the other.
    #[test]
    fn a_place_name_also_matches_its_other_script() {
        let g = Gazetteer::embedded();
        for (typed, other) in [("Raqqa", "الرقة"), ("الرقه", "Raqqah"), ("Deir ez-Zor", "دير الزور")]
        {
            let mut q = TextQuery::parse(&format!("\"{typed}\"")).unwrap();
            q.expand(|t| spellings(g, t));
            let report = serde_json::json!({"type": "report", "name": format!("clashes in {other}")});
            assert!(q.matches(&report), "{typed} should find {other}: {q:?}");
        }
        let mut q = TextQuery::parse("patrol").unwrap();
        q.expand(|t| spellings(g, t));
        assert!(q.terms()[0].also.is_empty(), "not a place: no other spellings");
    }
}
