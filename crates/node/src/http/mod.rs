//! The node's HTTP app: TAXII, Tandem's own endpoints beside it (for the analyst UI, under
//! `/api/tandem/`, described by `openapi.json`), federation, metrics and the web UI (`/ui/`, `tandem_web`), assembled once
//! by [`app`].
//!
//! Every route authenticates through the one TAXII extractor (`tandem_taxii::auth::Caller`,
//! with its verification cache and Argon2 off the async threads, and its roster check), answers
//! errors as TAXII error bodies, and is audited by the one audit layer applied after every
//! route is merged.

pub mod analytics;
pub mod extract;
pub mod interop;
pub mod metrics;
pub mod openapi;
pub mod places;
pub mod search;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use tandem_sync::federation::Federation;
use tandem_taxii::AppState;

/// The whole app of a node: every route merged first, then the audit layer once, last
/// (`tandem_taxii::assemble`). `tandem serve` and `tandem demo` serve exactly this. `feed` is
/// the store's feed signal (see `tandem_live::FeedHooks`): it wakes the live stream; `uploads`
/// where and how much the web UI's import may spool; `secrets` seals webhook secrets before a
/// zone is stored.
pub fn app(
    state: AppState,
    federation: &Arc<Federation>,
    feed: tandem_live::FeedSignal,
    uploads: interop::Uploads,
    secrets: Arc<tandem_store::sealed::SealKey>,
) -> Router {
    let own = Router::new()
        .merge(places::routes(&state.config.api_root))
        .merge(analytics::routes(&state.config.api_root))
        .merge(search::routes(&state.config.api_root))
        .merge(extract::routes(&state.config.api_root))
        .merge(interop::routes(&state.config.api_root, uploads))
        .merge(metrics::routes(Arc::clone(federation)))
        .merge(openapi::routes(&state.config.api_root))
        .with_state(state.clone())
        .merge(federation.routes(state.clone()))
        .merge(tandem_live::router(state.clone(), feed, tandem_live::LiveConfig::default(), secrets))
        .merge(tandem_web::routes(state.clone(), web(federation)))
        // An extractor's rejection (a body that is not UTF-8, a path that does not decode) is a
        // TAXII error body like the handlers' own, as `openapi.json` promises.
        .layer(axum::middleware::map_response(tandem_taxii::error_envelope));
    tandem_taxii::assemble(state, own)
}

/// What the web UI needs of the node: the peers' status as the caller may read it.
fn web(federation: &Arc<Federation>) -> tandem_web::Web {
    let fed = Arc::clone(federation);
    tandem_web::Web {
        peers: Arc::new(move |p: &tandem_taxii::Principal| fed.peer_statuses_for(p)),
        started: std::time::Instant::now(),
    }
}
