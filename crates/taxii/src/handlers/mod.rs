//! Request handlers, one module per group of endpoints, and the helpers they share.

pub mod audit;
pub mod collections;
pub mod discovery;
pub mod objects;
pub mod status;

use std::sync::Arc;

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use tandem_store::{Store, ViewContext};

use crate::{AppState, CollectionConfig, Principal, TaxiiError};

/// The query string as ordered pairs; an undecodable query string is a 400.
pub type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub fn pairs(q: Pairs) -> Result<Vec<(String, String)>, TaxiiError> {
    q.map(|Query(p)| p).map_err(|e| TaxiiError::BadRequest(format!("malformed query string: {e}")))
}

/// Finds a collection by id or alias.
pub fn collection<'a>(state: &'a AppState, key: &str) -> Result<&'a CollectionConfig, TaxiiError> {
    state
        .config
        .collections
        .iter()
        .find(|c| c.id == key)
        .or_else(|| state.config.collections.iter().find(|c| c.alias.as_deref() == Some(key)))
        .ok_or(TaxiiError::NotFound)
}

pub fn require_read(c: &CollectionConfig) -> Result<(), TaxiiError> {
    if c.can_read { Ok(()) } else { Err(TaxiiError::Forbidden("this collection cannot be read".into())) }
}

/// Whether this principal may write to `c`.
pub fn can_write(c: &CollectionConfig, p: &Principal) -> bool {
    c.can_write && !p.read_only
}

pub fn view(state: &AppState, p: &Principal) -> ViewContext {
    state.view(p)
}

/// Runs a synchronous store call off the async workers.
pub async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, TaxiiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> tandem_store::Result<T> + Send + 'static,
{
    let store: Arc<dyn Store> = Arc::clone(&state.store);
    Ok(tokio::task::spawn_blocking(move || f(store.as_ref())).await??)
}
