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

/// Opens the store, wires TAXII, Tandem's endpoints, federation and the audit log, binds the
/// listener and starts serving in a task.
pub async fn launch(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Launched> {
    let store = node::open_store(&config)?;
    let mut state = node::app_state(&config, store.clone())?;
    let fed = crate::federation::attach(&config, store.clone(), &mut state)?;
    let audit = super::audit::open_log(&config)?;
    state.audit = Arc::new(super::audit::Sink(Arc::clone(&audit)));
    let roster = Arc::clone(&state.roster);
    let metrics = crate::http::metrics::routes(state.clone(), Arc::clone(&fed), &config.node.member);
    let app = tandem_taxii::router(state.clone())
        .merge(crate::http::routes(state.clone()))
        .merge(fed.routes(state))
        .merge(metrics);
    let listener = tokio::net::TcpListener::bind(config.node.listen)
        .await
        .with_context(|| format!("binding {}", config.node.listen))?;
    fed.start();
    let addr = listener.local_addr()?;
    tracing::info!(member = %config.node.member, %addr, collection = %config.intel_collection_id(), "tandem node listening");
    println!("tandem node {} listening on http://{addr}/taxii2/", config.node.member);
    spawn_roster_reload(&config, fed.roster_log());
    let task_fed = Arc::clone(&fed);
    let server = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await.context("serving");
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
