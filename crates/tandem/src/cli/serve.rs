//! `tandem serve`: run a node.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::config::Config;
use crate::node;

pub fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let node = launch(config, shutdown_signal()).await?;
    node.server.await.context("the server task")?
}

/// A node running inside this process.
pub struct Launched {
    pub config: Config,
    pub store: Arc<dyn tandem_store::Store>,
    /// The live roster: changing it changes what every read decides from then on.
    pub roster: Arc<std::sync::RwLock<Arc<tandem_policy::Roster>>>,
    pub federation: Arc<tandem_sync::federation::Federation>,
    /// Serves until `shutdown` completes, then stops federation and closes the audit log.
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Opens the store, binds the listener, assembles the app ([`crate::http::app`]: every route,
/// one authentication, the audit layer last), and starts serving, federation, and the
/// followers of the roster (SIGHUP) and of CLI-created users and tokens in tasks.
pub async fn launch(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Launched> {
    let store = node::open_store(&config)?;
    // Bound first: discovery advertises the address actually bound when listen's port is 0.
    let listener = tokio::net::TcpListener::bind(config.node.listen)
        .await
        .with_context(|| format!("binding {}", config.node.listen))?;
    let addr = listener.local_addr()?;
    let public_url = config.public_url(addr)?;
    let (mut state, directory) = node::app_state(&config, store.clone())?;
    state.config = Arc::new(tandem_taxii::TaxiiConfig { public_url: Some(public_url), ..(*state.config).clone() });
    let audit = super::audit::open_log(&config)?;
    state.audit = Arc::new(super::audit::Sink(Arc::clone(&audit)));
    // Under federation's hooks, so replicated pages are audited as local writes are.
    state.hooks = Arc::new(tandem_taxii::audit::ContestAudit { sink: Arc::clone(&state.audit), inner: state.hooks });
    // The feed signal that wakes live streams, rung after every local and replicated write.
    let (feed_hooks, feed) = tandem_live::FeedHooks::new(store.clone(), state.hooks);
    state.hooks = Arc::new(feed_hooks);
    let fed = crate::federation::attach(&config, store.clone(), &mut state)?;
    let roster = Arc::clone(&state.roster);
    let alerter_state = state.clone();
    let alerter_feed = feed.clone();
    let app = crate::http::app(state, &fed, feed);
    fed.start();
    tracing::info!(member = %config.node.member, %addr, collection = %config.intel_collection_id(), "tandem node listening");
    println!("tandem node {} listening on http://{addr}/taxii2/", config.node.member);
    spawn_roster_reload(&config, fed.roster_log());
    let (stop_accounts, stopped) = tokio::sync::watch::channel(false);
    let accounts = node::follow_accounts(&config, store.clone(), directory, stopped);
    // Watch-zone alerts for every zone, in its owner's view, persisted once each.
    let alerter = tokio::spawn(tandem_live::alerts::run_alerter(
        alerter_state,
        alerter_feed,
        std::time::Duration::from_secs(1),
        stop_accounts.subscribe(),
    ));
    // Webhook deliveries from the durable outbox (retries and dead letters there).
    let webhooks = tokio::spawn(tandem_live::webhooks::run_worker(
        store.clone(),
        Arc::clone(&roster),
        tandem_live::webhooks::Retry::default(),
        std::time::Duration::from_millis(500),
        stop_accounts.subscribe(),
    ));
    let task_fed = Arc::clone(&fed);
    let server = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await.context("serving");
        let _ = stop_accounts.send(true);
        let _ = accounts.await;
        let _ = alerter.await;
        let _ = webhooks.await;
        task_fed.stop().await;
        if let Err(e) = audit.close() {
            tracing::error!(error = %e, "closing the audit log");
        }
        tracing::info!("tandem node stopped");
        served
    });
    Ok(Launched { config, store, roster, federation: fed, server })
}

/// On SIGHUP, re-reads the roster (members, their status, groups) from the configuration file
/// and applies the signed roster changes on top of it again (including any `tandem roster
/// submit` wrote meanwhile): a change takes effect on the next read, without a restart.
fn spawn_roster_reload(config: &Config, log: Arc<tandem_sync::roster_log::RosterLog>) {
    #[cfg(unix)]
    {
        let Some(path) = config.source.clone() else { return };
        let member = config.node.member.clone();
        tokio::spawn(async move {
            let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
            while hup.recv().await.is_some() {
                match Config::load(&path) {
                    Ok(fresh) if fresh.node.member == member => {
                        if fresh.authority().ok().flatten() != log.authority().copied() {
                            tracing::warn!("coalition.authority changed: restart the node for it to take effect");
                        }
                        let log = Arc::clone(&log);
                        match tokio::task::spawn_blocking(move || log.set_bootstrap(fresh.roster())).await {
                            Ok(Ok(())) => tracing::info!(path = %path.display(), "roster reloaded"),
                            Ok(Err(e)) => {
                                tracing::error!(error = %e, "roster not reloaded: cannot read the applied roster changes")
                            }
                            Err(e) => tracing::error!(error = %e, "roster reload failed"),
                        }
                    }
                    Ok(_) => tracing::error!("roster not reloaded: node.member changed (restart the node)"),
                    Err(e) => tracing::error!(error = %e, "roster not reloaded: the configuration is invalid"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (config, log);
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
