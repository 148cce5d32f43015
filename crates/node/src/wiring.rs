//! Wiring shared by the node and the commands: open the store, build the user directory and the
//! TAXII state, follow CLI-created accounts, the roster log, the operator's view, signed ingest.

use std::sync::{Arc, RwLock};

use anyhow::Context;
use tandem_policy::Classification;
use tandem_store::{SqliteStore, Store};
use tandem_taxii::auth::{Account, ApiToken};
use tandem_taxii::ingest::{Outcome, Stage};
use tandem_taxii::{AppState, CollectionConfig, Ingest, NoHooks, TaxiiConfig, UserDirectory};

use crate::config::{Config, StorageBackend};

/// The node's store. Callers hold it as `Arc<dyn Store>`, so nothing above this line depends on
/// the backend.
pub fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match (config.storage.backend, &config.storage.url) {
        (StorageBackend::Postgres, Some(url)) => {
            let store = tandem_store_postgres::PgStore::open(url)
                .with_context(|| format!("opening the PostgreSQL store at {}", redact_url(url)))?;
            Ok(Arc::new(store))
        }
        (StorageBackend::Postgres, None) => anyhow::bail!("storage.url: required with backend = \"postgres\""),
        (StorageBackend::Sqlite, _) => {
            let cache_kib = match config.storage.cache_mib {
                Some(mib) => mib.checked_mul(1024).context("storage.cache_mib: too large")?,
                None => tandem_store::sqlite::DEFAULT_CACHE_KIB,
            };
            let store = SqliteStore::open_with(&config.node.data_dir, cache_kib)
                .with_context(|| format!("opening the store in {}", config.node.data_dir.display()))?;
            Ok(Arc::new(store))
        }
    }
}

/// A database url without its password, for messages and logs.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// The config's users as accounts (plain passwords hashed here, with a warning: once per start).
pub fn config_accounts(config: &Config) -> Vec<Account> {
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
    accounts
}

/// What the store holds of accounts: users and tokens (`tandem user add`, `tandem token create`).
pub type StoredAccounts = (Vec<tandem_store::StoredUser>, Vec<tandem_store::StoredToken>);

pub fn stored_accounts(store: &dyn Store) -> anyhow::Result<StoredAccounts> {
    Ok((store.users()?, store.tokens()?))
}

/// Config accounts plus database users and tokens (a config user shadows a database user of
/// the same name).
pub fn directory_entries(config_accounts: &[Account], stored: StoredAccounts) -> (Vec<Account>, Vec<ApiToken>) {
    let (users, tokens) = stored;
    let mut accounts = config_accounts.to_vec();
    for u in users {
        if accounts.iter().any(|a| a.name == u.name) {
            tracing::warn!(user = %u.name, "database user shadowed by a config user of the same name");
            continue;
        }
        let Some(clearance) = Classification::parse(&u.clearance) else {
            // An access-control field that does not parse denies, never defaults.
            tracing::warn!(user = %u.name, clearance = %u.clearance, "database user with an unknown clearance: not loaded");
            continue;
        };
        accounts.push(Account {
            name: u.name,
            member: u.member,
            password_hash: u.password_hash,
            clearance,
            read_only: u.roles.iter().any(|r| r == "read-only"),
            roles: u.roles,
        });
    }
    let tokens = tokens
        .into_iter()
        .map(|t| ApiToken { token_id: t.token_id, user: t.user, secret_hash: t.secret_hash })
        .collect();
    (accounts, tokens)
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
        // `tandem serve` fills in the bound address when this is unset (Config::public_url).
        public_url: config.node.public_url.clone(),
    }
}

/// The TAXII state of a node, and its user directory (which [`follow_accounts`] keeps current).
pub fn app_state(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<(AppState, Arc<UserDirectory>)> {
    let (accounts, tokens) = directory_entries(&config_accounts(config), stored_accounts(store.as_ref())?);
    let directory = Arc::new(UserDirectory::new(accounts, tokens));
    let state = AppState {
        store,
        auth: directory.clone(),
        config: Arc::new(taxii_config(config)),
        roster: Arc::new(RwLock::new(Arc::new(config.roster()))),
        hooks: Arc::new(NoHooks),
        audit: Arc::new(tandem_taxii::NoAudit),
        signer: None,
    };
    Ok((state, directory))
}

/// How often a running node looks for users and tokens added by the CLI.
pub const ACCOUNTS_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// Keeps `directory` current with the users and tokens in the store, as the CLI changes them
/// (`tandem user add`, `tandem token create`): a cheap read of both tables every
/// [`ACCOUNTS_REFRESH`], and a new directory only when they changed. Runs until `stop` flips.
pub fn follow_accounts(
    config: &Config,
    store: Arc<dyn Store>,
    directory: Arc<UserDirectory>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    // Hashed once here: a plain config password is not re-hashed at every change.
    let config_accounts = Arc::new(config_accounts(config));
    // Another process writes the embedded store's files: while they are untouched (an idle
    // node), nothing can have changed and the store is not even asked.
    let files = [config.node.data_dir.join("tandem.sqlite"), config.node.data_dir.join("tandem.sqlite-wal")];
    let stamp = move || -> Vec<Option<(u64, std::time::SystemTime)>> {
        files.iter().map(|f| std::fs::metadata(f).ok().and_then(|m| Some((m.len(), m.modified().ok()?)))).collect()
    };
    tokio::spawn(async move {
        let mut last: Option<StoredAccounts> = None;
        let mut seen_version: Option<Vec<i64>> = None;
        let mut seen_files = None;
        loop {
            let files_now = stamp();
            // Files that do not exist (another backend) always mean: ask the store.
            if seen_version.is_some()
                && files_now.iter().all(Option::is_some)
                && seen_files.as_ref() == Some(&files_now)
            {
                tokio::select! {
                    _ = tokio::time::sleep(ACCOUNTS_REFRESH) => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            seen_files = Some(files_now);
            let s = Arc::clone(&store);
            let seen = seen_version.clone();
            // Only the cheap version is read each time; the accounts when it moved.
            let check = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<(Vec<i64>, StoredAccounts)>> {
                let version = s.accounts_version()?;
                if seen.as_ref() == Some(&version) {
                    return Ok(None);
                }
                Ok(Some((version, stored_accounts(s.as_ref())?)))
            });
            match check.await {
                Ok(Ok(Some((version, now)))) => {
                    if last.as_ref().is_some_and(|l| *l != now) {
                        let (accounts, tokens) = directory_entries(&config_accounts, now.clone());
                        directory.replace(accounts, tokens);
                        tracing::info!(users = now.0.len(), tokens = now.1.len(), "users and tokens reloaded");
                    }
                    last = Some(now);
                    seen_version = Some(version);
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "cannot read users and tokens"),
                Err(e) => tracing::warn!(error = %e, "reading users and tokens failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(ACCOUNTS_REFRESH) => {}
                _ = stop.changed() => return,
            }
        }
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
