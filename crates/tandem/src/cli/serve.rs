//! `tandem serve`: run a node (assembled by `tandem_node::Node`).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tandem_node::Node;

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

/// Opens the node's SQLite store and starts the node on it (see [`Node::builder`]).
pub async fn launch(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Node> {
    let store: Arc<dyn tandem_store::Store> = node::open_store(&config)?;
    let member = config.node.member.clone();
    let scheme = if config.node.tls_cert.is_some() { "https" } else { "http" };
    let node = Node::builder(config, store).start(shutdown).await?;
    println!("tandem node {member} listening on {scheme}://{}/taxii2/", node.addr);
    Ok(node)
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
