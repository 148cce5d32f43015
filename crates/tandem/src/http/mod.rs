//! Tandem's own HTTP endpoints beside TAXII (for the analyst UI), under `/api/tandem/`.
//!
//! They authenticate with the same accounts as TAXII and answer JSON.

pub mod metrics;
pub mod places;

use axum::Router;
use tandem_taxii::AppState;

pub fn routes(state: AppState) -> Router {
    Router::new().merge(places::routes()).with_state(state)
}
