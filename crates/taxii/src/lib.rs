//! The TAXII 2.1 server: routes, content negotiation, authentication and the mapping of TAXII
//! requests onto the [`Store`] trait.
//!
//! Architecture invariant: this crate never decides what a viewer may see. Every read goes
//! through `Store::list`/`Store::delete` with a [`tandem_store::ViewContext`] built from the
//! authenticated [`Principal`]; the originator of a write is always the principal's member,
//! never anything the client sends. [`router`] is shared by the binary and the tests.
//!
//! Choices where the spec leaves room (documented here once):
//! - Discovery names the API root under the configured `public_url`, or by a relative URL;
//!   never from the `Host` header (a client could make the node advertise any host).
//! - Every endpoint, discovery included, requires authentication (401 with
//!   `WWW-Authenticate: Basic realm="tandem", Bearer`).
//! - A user whose member is not in the roster at all is refused with 401, exactly as bad
//!   credentials are: such an account is a configuration error and must not reach the store.
//!   Suspended or removed members authenticate, read nothing (the store decides) and may not
//!   write (403).
//! - An empty page is `{"more": false}` without `objects`/`versions` (TAXII forbids empty lists;
//!   taxii2-client and stix2 both read `objects` with a default). Its `X-TAXII-Date-Added-First`
//!   and `-Last` headers carry the query's lower bound (the `next` position, else `added_after`),
//!   else the Unix epoch, so a client resuming with `added_after=<Last>` never skips anything.
//! - A DELETE without `match[version]` deletes every version of the object (deleting only the
//!   latest would make the previous version reappear); with it, only the matching versions.
//! - A get-object, versions or delete request that matches nothing the caller may see is 404,
//!   with the same body whether the object is missing or hidden.
//! - Tandem extensions for federation: `GET .../collections/{id}/tombstones/` lists deletions
//!   (same releasability as the deleted versions, `added_after`/`next`/`limit` paging), and a
//!   request with `X-Tandem-Sync: 1` from a peer account (role `peer`) gets sync-sized pages,
//!   `tandem_epoch` and a `tandem_provenance` map (`"<id>|<version>"` -> proof) in the objects
//!   envelope, as TAXII 2.1 §7.1 allows custom properties; anyone else gets a normal page.

pub mod audit;
pub mod auth;
mod error;
mod handlers;
pub mod ingest;
pub mod media;
/// The TAXII 2.1 media type this server answers with (clients and tests send it too).
pub use media::TAXII_CONTENT_TYPE;
/// The TAXII filter parameters, public for the fuzz targets (`fuzz/`).
pub mod query;
mod responses;
pub use responses::error_envelope;
pub mod session;
pub mod transport;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::routing::{MethodRouter, get};
use tandem_policy::{Classification, Roster};
use tandem_store::{PutOutcome, Store};

pub use audit::{AuditEvent, AuditSink, NoAudit};
pub use auth::{AuthError, Authenticator, UserDirectory};
pub use error::TaxiiError;
pub use handlers::objects::{ANSWERS_HEADER, SYNC_HEADER, nth_proof_key, proof_key, sync_objects_page};
pub use ingest::Ingest;

/// Server-wide TAXII settings.
#[derive(Debug, Clone)]
pub struct TaxiiConfig {
    pub title: String,
    pub description: Option<String>,
    pub contact: Option<String>,
    /// The API root's path segment (`api` serves `/api/`).
    pub api_root: String,
    /// Largest accepted request body, in bytes.
    pub max_content_length: usize,
    pub collections: Vec<CollectionConfig>,
    /// The most objects one page returns, whatever `limit` asks.
    pub page_size_max: usize,
    /// The most one page returns to a syncing peer (`X-Tandem-Sync: 1`): a node that is far
    /// behind catches up in fewer, larger round trips. Never below `page_size_max`.
    pub sync_page_size_max: usize,
    /// The member this node serves: its users with role `auditor` may read the audit log.
    /// Empty means nobody may.
    pub node_member: String,
    /// The node's public base URL (`https://node.example.org/`): discovery names the API root
    /// under it. `None` names it by a relative URL (`/api/`), which a client resolves against
    /// the URL it used. Never taken from the request's `Host` header, which the client chooses.
    pub public_url: Option<String>,
}

impl Default for TaxiiConfig {
    fn default() -> Self {
        TaxiiConfig {
            title: "Tandem".to_string(),
            description: None,
            contact: None,
            api_root: "api".to_string(),
            max_content_length: 10 * 1024 * 1024,
            collections: Vec::new(),
            page_size_max: 1000,
            sync_page_size_max: 10_000,
            node_member: String::new(),
            public_url: None,
        }
    }
}

impl TaxiiConfig {
    /// Checks what [`router`] relies on; call it at start-up (the router panics on an API root
    /// that collides with `/taxii2/`, as axum does on overlapping routes). Errors name the key.
    pub fn validate(&self) -> Result<(), String> {
        let root = self.api_root.trim_matches('/');
        if root.is_empty()
            || root == "taxii2"
            || !root.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err(format!("api_root {:?}: must be one path segment of [A-Za-z0-9_-], not taxii2", self.api_root));
        }
        if self.max_content_length == 0 {
            return Err("max_content_length: must be positive".into());
        }
        if self.page_size_max == 0 {
            return Err("page_size_max: must be positive".into());
        }
        if let Some(u) = &self.public_url
            && (!(u.starts_with("http://") || u.starts_with("https://")) || u.contains(char::is_whitespace))
        {
            return Err(format!("public_url {u:?}: must be an absolute http:// or https:// URL"));
        }
        let mut keys: Vec<&str> = Vec::new();
        for c in &self.collections {
            if uuid::Uuid::parse_str(&c.id).is_err() {
                return Err(format!("collections.id {:?}: must be a UUID", c.id));
            }
            if c.title.trim().is_empty() {
                return Err(format!("collections.title of {}: must not be empty", c.id));
            }
            for key in std::iter::once(c.id.as_str()).chain(c.alias.as_deref()) {
                if key.is_empty() || key.contains('/') || keys.contains(&key) {
                    return Err(format!("collections: id or alias {key:?} is empty, has a '/', or is not unique"));
                }
                keys.push(key);
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct CollectionConfig {
    /// A UUID.
    pub id: String,
    pub alias: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub can_read: bool,
    pub can_write: bool,
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub member: String,
    pub clearance: Classification,
    pub roles: Vec<String>,
    pub read_only: bool,
}

impl Principal {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// A peer node's account ([`auth::PEER_ROLE`]).
    pub fn is_peer(&self) -> bool {
        self.has_role(auth::PEER_ROLE)
    }
}

/// Called after a write succeeded, for live streams and federation.
pub trait WriteHooks: Send + Sync {
    /// Called after a store call: by [`Ingest`] once per local batch that added something, with
    /// only its `Added` outcomes; by federation per replicated store call, with all of them.
    /// Only `Added` outcomes may ring anyone (duplicates never do: that ends the echo).
    fn after_write(&self, collection: &str, member: &str, outcomes: &[PutOutcome]);

    /// Called after a delete removed `count` versions of `id`.
    fn after_delete(&self, _collection: &str, _member: &str, _id: &str, _count: usize) {}

    /// Called when the store's feed position moved to `position` because another process
    /// (`tandem import`, `tandem marking create`) wrote to it: this process wrote nothing, so
    /// only a look at the store shows it (federation's refresher looks).
    fn after_external_write(&self, _position: tandem_model::Timestamp) {}
}

/// Provenance for federation (implemented by `tandem-sync`): signs the versions this node's
/// member originates and prepares the proof served with each version to a syncing peer.
pub trait Signer: Send + Sync {
    /// The member this node signs for (its own): [`Ingest`] signs only what it submits.
    fn member(&self) -> &str;

    /// Sets the provenance of versions the node's member submitted together (one batch, signed
    /// once).
    fn sign(&self, batch: &mut [tandem_store::Incoming]);

    /// The proof to serve with `record` (whose object may be a redacted copy), if any.
    fn proof_for(&self, record: &tandem_store::Record) -> Option<serde_json::Value>;

    /// The node's release epoch for syncing peers: it changes when versions stored earlier
    /// became servable to peers (they were signed late), so pullers start their feed over.
    fn epoch(&self) -> Option<String> {
        None
    }

    /// The originator's signature of a deletion this node's member made, for the tombstone feed.
    fn tombstone_proof(&self, _tombstone: &tandem_store::Tombstone) -> Option<serde_json::Value> {
        None
    }
}

/// Hooks that do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl WriteHooks for NoHooks {
    fn after_write(&self, _collection: &str, _member: &str, _outcomes: &[PutOutcome]) {}
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub auth: Arc<dyn Authenticator>,
    pub config: Arc<TaxiiConfig>,
    pub roster: Arc<RwLock<Arc<Roster>>>,
    pub hooks: Arc<dyn WriteHooks>,
    /// Receives one event per authenticated (or failed) request; [`NoAudit`] drops them.
    pub audit: Arc<dyn AuditSink>,
    /// Signs local writes and serves proofs to peers; `None` disables provenance.
    pub signer: Option<Arc<dyn Signer>>,
}

impl AppState {
    /// The current roster snapshot (a poisoned lock still holds a consistent snapshot).
    pub fn roster(&self) -> Arc<Roster> {
        match self.roster.read() {
            Ok(r) => Arc::clone(&r),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// What `p` reads as: its member and clearance against the current roster. Every route
    /// that reads for a request (TAXII, search, analytics, exports, the UI, alerts) takes its
    /// `ViewContext` from here.
    pub fn view(&self, p: &Principal) -> tandem_store::ViewContext {
        tandem_store::ViewContext {
            viewer: tandem_policy::Viewer { member: p.member.clone(), clearance: p.clearance },
            roster: self.roster(),
        }
    }

    /// The ingest pipeline over this state's store, signer and hooks (built per write: the
    /// federation installs the signer and hooks after the state is made).
    pub fn ingest(&self) -> Ingest {
        Ingest::new(Arc::clone(&self.store)).with_signer(self.signer.clone()).with_hooks(Arc::clone(&self.hooks))
    }
}

/// The TAXII 2.1 routes alone, audited (tests of this crate; a node uses [`assemble`]).
pub fn router(state: AppState) -> Router {
    assemble(state, Router::new())
}

/// A whole app: the TAXII routes merged with `extra` (Tandem's own routes, federation,
/// metrics, each authenticating through [`auth::Caller`]), then the audit layer applied once,
/// last. Layer order is behaviour: in axum a layer wraps only the routes added before it, so a
/// route merged after the audit layer would go unaudited.
pub fn assemble(state: AppState, extra: Router) -> Router {
    taxii_routes(state.clone()).merge(extra).layer(axum::middleware::from_fn_with_state(state, audit::record))
}

/// The TAXII 2.1 routes. Every path is served with and without its trailing slash.
fn taxii_routes(state: AppState) -> Router {
    use handlers::{collections, discovery, objects, status};
    let root = format!("/{}", state.config.api_root.trim_matches('/'));
    let coll = format!("{root}/collections/{{collection}}");
    let obj = format!("{coll}/objects/{{object}}");
    let mut r = Router::new();
    let routes: Vec<(String, MethodRouter<AppState>)> = vec![
        ("/taxii2".to_string(), get(discovery::discovery)),
        (root.clone(), get(discovery::api_root)),
        (format!("{root}/status/{{status}}"), get(status::get_status)),
        (format!("{root}/collections"), get(collections::list)),
        (coll.clone(), get(collections::one)),
        (format!("{coll}/objects"), get(objects::get_objects).post(objects::add_objects)),
        (obj.clone(), get(objects::get_object).delete(objects::delete_object)),
        (format!("{obj}/versions"), get(objects::versions)),
        (format!("{coll}/manifest"), get(objects::manifest)),
        (format!("{coll}/tombstones"), get(objects::tombstones)),
    ];
    for (path, method_router) in routes {
        r = r.route(&format!("{path}/"), method_router.clone()).route(&path, method_router);
    }
    // Tandem extensions that answer plain JSON: outside TAXII negotiation and envelopes.
    let audit_path = format!("{root}/audit");
    let extensions = Router::new()
        .route(&format!("{audit_path}/"), get(handlers::audit::read))
        .route(&audit_path, get(handlers::audit::read));
    r.fallback(|| async { TaxiiError::NotFound })
        .layer(axum::middleware::from_fn(media::negotiate))
        .layer(axum::middleware::map_response(responses::taxii_envelope))
        .merge(extensions)
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coll(id: &str, alias: Option<&str>) -> CollectionConfig {
        CollectionConfig {
            id: id.into(),
            alias: alias.map(String::from),
            title: "t".into(),
            description: None,
            can_read: true,
            can_write: true,
        }
    }

    #[test]
    fn config_validation() {
        let id = "365fed99-08fa-4fdc-a1b3-fb247eb41d01";
        let ok = TaxiiConfig { collections: vec![coll(id, Some("intel"))], ..TaxiiConfig::default() };
        assert!(ok.validate().is_ok());
        for bad in [
            TaxiiConfig { api_root: "taxii2".into(), ..ok.clone() },
            TaxiiConfig { api_root: "a/b".into(), ..ok.clone() },
            TaxiiConfig { api_root: "".into(), ..ok.clone() },
            TaxiiConfig { page_size_max: 0, ..ok.clone() },
            TaxiiConfig { public_url: Some("node.example.org".into()), ..ok.clone() },
            TaxiiConfig { collections: vec![coll("not-a-uuid", None)], ..ok.clone() },
            TaxiiConfig { collections: vec![coll(id, None), coll(id, None)], ..ok.clone() },
            TaxiiConfig { collections: vec![coll(id, Some(id))], ..ok.clone() },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
