//! Wiring shared by the commands: open the store, build the user directory and the TAXII state.

use std::sync::{Arc, RwLock};

use anyhow::Context;
use tandem_policy::Classification;
use tandem_store::{SqliteStore, Store};
use tandem_taxii::auth::{Account, ApiToken};
use tandem_taxii::ingest::{Outcome, Stage};
use tandem_taxii::{AppState, CollectionConfig, Ingest, NoHooks, TaxiiConfig, UserDirectory};

use crate::config::Config;

/// The node's store. Callers hold it as `Arc<dyn Store>`, so nothing above this line depends on
/// the backend.
pub fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let store = SqliteStore::open(&config.node.data_dir)
        .with_context(|| format!("opening the store in {}", config.node.data_dir.display()))?;
    Ok(Arc::new(store))
}

/// Config users (plain passwords hashed here, with a warning) plus database users and tokens.
pub fn user_directory(config: &Config, store: &dyn Store) -> anyhow::Result<UserDirectory> {
    let mut accounts = Vec::new();
    for u in &config.users {
        let password_hash = match (&u.password, &u.password_hash) {
            (_, Some(h)) => h.clone(),
            (Some(p), None) => {
                tracing::warn!(user = %u.name, "config carries a plain password: use password_hash outside development");
                tandem_taxii::auth::hash_secret(p)
            }
            (None, None) => continue,
        };
        accounts.push(Account {
            name: u.name.clone(),
            member: u.member.clone(),
            password_hash,
            clearance: u.clearance.as_deref().and_then(Classification::parse).unwrap_or_default(),
            roles: u.roles.clone(),
            read_only: u.read_only,
        });
    }
    for u in store.users()? {
        if accounts.iter().any(|a| a.name == u.name) {
            tracing::warn!(user = %u.name, "database user shadowed by a config user of the same name");
            continue;
        }
        accounts.push(Account {
            name: u.name,
            member: u.member,
            password_hash: u.password_hash,
            clearance: Classification::parse(&u.clearance).unwrap_or_default(),
            read_only: u.roles.iter().any(|r| r == "read-only"),
            roles: u.roles,
        });
    }
    let tokens = store.tokens()?.into_iter().map(|t| ApiToken {
        token_id: t.token_id,
        user: t.user,
        secret_hash: t.secret_hash,
    });
    Ok(UserDirectory::new(accounts, tokens))
}

pub fn taxii_config(config: &Config) -> TaxiiConfig {
    TaxiiConfig {
        title: config.node.title.clone(),
        description: Some(format!("Tandem node of {}", config.node.member)),
        contact: config.node.contact.clone(),
        api_root: "api".into(),
        max_content_length: config.node.max_content_length,
        collections: vec![CollectionConfig {
            id: config.intel_collection_id(),
            alias: Some("intel".into()),
            title: format!("{} intelligence", config.node.member),
            description: Some("Everything this node holds, as releasability allows each reader".into()),
            can_read: true,
            can_write: true,
        }],
        page_size_max: config.node.page_size_max,
        sync_page_size_max: TaxiiConfig::default().sync_page_size_max,
        node_member: config.node.member.clone(),
    }
}

pub fn app_state(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<AppState> {
    let auth = user_directory(config, store.as_ref())?;
    Ok(AppState {
        store,
        auth: Arc::new(auth),
        config: Arc::new(taxii_config(config)),
        roster: Arc::new(RwLock::new(Arc::new(config.roster()))),
        hooks: Arc::new(NoHooks),
        audit: Arc::new(tandem_taxii::NoAudit),
        signer: None,
    })
}

/// The node's roster log over `store`: the config's roster with the applied signed changes on
/// top (call `recompute` to fill `roster`).
pub fn roster_log(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<tandem_sync::roster_log::RosterLog> {
    let shared = Arc::new(RwLock::new(Arc::new(config.roster())));
    Ok(tandem_sync::roster_log::RosterLog::new(store, config.roster(), config.authority()?, shared))
}

/// The effective roster for a command-line operation.
pub fn effective_roster(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<tandem_policy::Roster> {
    Ok(roster_log(config, store)?.effective()?.0)
}

/// The viewer a command-line operation acts as: the node's own member, at the highest clearance
/// among its configured users (the operator of a node sees what its member sees), under the
/// effective roster.
pub fn operator_context(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<tandem_store::ViewContext> {
    let clearance = config
        .users
        .iter()
        .filter(|u| u.member == config.node.member)
        .filter_map(|u| u.clearance.as_deref().and_then(Classification::parse))
        .max()
        .unwrap_or_default();
    Ok(tandem_store::ViewContext {
        viewer: tandem_policy::Viewer { member: config.node.member.clone(), clearance },
        roster: Arc::new(effective_roster(config, store)?),
    })
}

/// The ingest pipeline of a command that writes as the node's member from outside the serving
/// process (`tandem import`, `tandem marking create`, the demo's loader): versions are signed
/// with the node key, like a POST, so they replicate; the serving node's refresher notices the
/// write and rings its peers, so no hooks here.
pub fn signed_ingest(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<Ingest> {
    let signer = tandem_sync::signer::NodeSigner::new(&config.node.member, crate::federation::node_key(config)?);
    Ok(Ingest::new(store).with_signer(Some(Arc::new(signer))))
}

/// Stores what Tandem publishes: its identity and extension-definitions and the TLP 2.0
/// marking-definitions (all TLP:CLEAR). The demo does this for every node; a plain `serve`
/// leaves the intel collection to its users. Idempotent. Unsigned: every node seeds the same
/// objects itself, so none is one node's to vouch for (pullers accept them unsigned).
pub fn seed_published(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<()> {
    let objects = tandem_model::incident::published_extension_definitions()
        .into_iter()
        .chain(tandem_model::tlp::published_definitions().into_iter().take(5))
        .collect();
    let summary = Ingest::new(store).submit(&config.intel_collection_id(), &config.node.member, objects)?;
    for e in &summary.entries {
        match &e.outcome {
            Outcome::Rejected { reason, stage: Stage::Invalid, .. } => {
                anyhow::bail!("published object invalid: {}: {reason}", e.id)
            }
            Outcome::Rejected { reason, .. } => tracing::warn!(id = %e.id, %reason, "published definition not stored"),
            _ => {}
        }
    }
    Ok(())
}
