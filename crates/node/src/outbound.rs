//! The node's HTTP clients towards servers that are not Tandem nodes: webhook receivers and
//! external TAXII feeds.
//!
//! Both trust the same roots (`tandem_tls::outbound`: the system's, plus `[node]
//! outbound_ca_file` for receivers behind a private CA), built once at start-up so that a CA
//! file that does not load stops the node with its name instead of failing every delivery.
//! Peer nodes are reached by `tandem_sync`'s own clients, which pin the roster's keys.

use std::time::Duration;

use anyhow::Context;

use crate::config::Config;

/// A feed's whole poll request (a page may be large).
const FEED_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Establishing a connection to a receiver or feed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The outbound clients of one node.
#[derive(Clone)]
pub struct Clients {
    /// Webhook deliveries (each request carries the delivery timeout of its retry policy).
    pub webhooks: reqwest::Client,
    /// External TAXII feed polls.
    pub feeds: reqwest::Client,
}

impl Clients {
    /// The clients for `config`'s roots; logs what they trust.
    pub fn of(config: &Config) -> anyhow::Result<Clients> {
        let ca_file = config.node.outbound_ca_file.as_deref();
        let (tls, roots) = tandem_tls::outbound::client_config(ca_file).context("node.outbound_ca_file")?;
        for e in &roots.system_errors {
            tracing::warn!(error = %e, "reading the system's TLS roots");
        }
        if roots.system + roots.configured == 0 {
            tracing::warn!(
                "no TLS roots (no system bundle, no node.outbound_ca_file): https:// webhook receivers and feeds will be refused"
            );
        } else {
            tracing::info!(system = roots.system, configured = roots.configured, "outbound TLS roots");
        }
        let build = |timeout: Option<Duration>| {
            let mut b = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).use_preconfigured_tls(tls.clone());
            if let Some(t) = timeout {
                b = b.timeout(t);
            }
            b.build().context("building the outbound HTTP client")
        };
        Ok(Clients { webhooks: build(None)?, feeds: build(Some(FEED_REQUEST_TIMEOUT))? })
    }
}
