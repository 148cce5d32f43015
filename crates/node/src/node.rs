//! The builder and the running node: what `tandem serve` used to wire by hand.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use tandem_store::Store;
use tandem_sync::federation::Federation;
use tokio::sync::watch;

use crate::config::Config;
use crate::feed::{FeedPosition, FeedSignal};

/// How to build a node. Defaults are production's; the test sandbox tunes the intervals.
pub struct NodeBuilder {
    config: Config,
    store: Arc<dyn Store>,
    key: Option<ed25519_dalek::SigningKey>,
    listener: Option<tokio::net::TcpListener>,
    poll_interval: Duration,
    peer_refresh: Duration,
    max_backoff: Duration,
    sync_page_size_max: Option<usize>,
    advertise_request_host: bool,
}

/// A node running inside this process.
pub struct Node {
    pub config: Config,
    pub store: Arc<dyn Store>,
    /// The address the node serves on (the bound one when `listen`'s port is 0).
    pub addr: SocketAddr,
    /// The live roster: changing it changes what every read decides from then on.
    pub roster: Arc<RwLock<Arc<tandem_policy::Roster>>>,
    pub federation: Arc<Federation>,
    feed: watch::Receiver<FeedPosition>,
    /// Serves until the shutdown future completes, then stops the account follower and
    /// federation and closes the audit log.
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Node {
    /// A builder over `store` (opened by the caller: `wiring::open_store` for SQLite).
    pub fn builder(config: Config, store: Arc<dyn Store>) -> NodeBuilder {
        NodeBuilder {
            config,
            store,
            key: None,
            listener: None,
            poll_interval: crate::federation::POLL_INTERVAL,
            peer_refresh: Duration::from_secs(1),
            max_backoff: tandem_sync::puller::MAX_BACKOFF,
            sync_page_size_max: None,
            advertise_request_host: false,
        }
    }

    /// The feed-change signal: the store's feed position, changed after every local or
    /// replicated write and delete and when another process wrote (for live streams and alerts).
    pub fn feed(&self) -> watch::Receiver<FeedPosition> {
        self.feed.clone()
    }

    /// The server task alone, every other handle of the node dropped (so that, once the task
    /// ends, nothing here holds the store).
    pub fn into_server(self) -> tokio::task::JoinHandle<anyhow::Result<()>> {
        self.server
    }
}

impl NodeBuilder {
    /// The node's signing key (default: `node.key` in the data directory, created on first use).
    pub fn key(mut self, key: ed25519_dalek::SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Serve on this listener instead of binding `node.listen`.
    pub fn listener(mut self, listener: tokio::net::TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Fallback polling of peers that send no notification (default 15 s).
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d;
        self
    }

    /// How often the stored peer list and the feed position are re-read (default 1 s).
    pub fn peer_refresh(mut self, d: Duration) -> Self {
        self.peer_refresh = d;
        self
    }

    /// The longest wait between failed pulls (default: [`tandem_sync::puller::MAX_BACKOFF`]).
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// The most objects one page served to a syncing peer holds (default: the TAXII default).
    pub fn sync_page_size_max(mut self, n: usize) -> Self {
        self.sync_page_size_max = Some(n);
        self
    }

    /// Discovery advertises the address each request was sent to (its `Host`) instead of the
    /// bound or configured one: behind the sandbox's link proxies, peers must keep reaching a
    /// node through the proxy they asked.
    pub fn advertise_request_host(mut self) -> Self {
        self.advertise_request_host = true;
        self
    }

    /// Binds (unless given a listener), assembles the app ([`crate::http::app`]: every route,
    /// one authentication, the audit layer last), and starts serving, federation, and the
    /// followers of the roster (SIGHUP) and of CLI-created users and tokens, in tasks of the
    /// current runtime. The node serves until `shutdown` completes.
    pub async fn start(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<Node> {
        let NodeBuilder {
            config,
            store,
            key,
            listener,
            poll_interval,
            peer_refresh,
            max_backoff,
            sync_page_size_max,
            advertise_request_host,
        } = self;
        // Bound first: discovery advertises the address actually bound when listen's port is 0.
        let listener = match listener {
            Some(l) => l,
            None => tokio::net::TcpListener::bind(config.node.listen)
                .await
                .with_context(|| format!("binding {}", config.node.listen))?,
        };
        let addr = listener.local_addr()?;
        let public_url = config.public_url(addr)?;
        let tls = config.tls_identity()?.map(Arc::new);
        let (mut state, directory) = crate::wiring::app_state(&config, Arc::clone(&store))?;
        let mut taxii = (*state.config).clone();
        taxii.public_url = if advertise_request_host { None } else { Some(public_url) };
        if let Some(n) = sync_page_size_max {
            taxii.sync_page_size_max = n;
        }
        state.config = Arc::new(taxii);
        let audit = crate::audit::open_log(&config)?;
        state.audit = Arc::new(crate::audit::Sink(Arc::clone(&audit)));
        // Innermost hook: the feed signal hears every write the hooks above it see.
        let feed = FeedSignal::new(Arc::clone(&store), Arc::clone(&state.hooks));
        let feed_rx = feed.subscribe();
        // Under federation's hooks, so replicated pages are audited as local writes are.
        state.hooks =
            Arc::new(tandem_taxii::audit::ContestAudit { sink: Arc::clone(&state.audit), inner: Arc::new(feed) });
        let key = match key {
            Some(k) => k,
            None => crate::federation::node_key(&config)?,
        };
        if let Some(id) = &tls
            && id.public_key != key.verifying_key().to_bytes()
        {
            tracing::warn!(
                "node.tls_key is not the node key: peers verify this node's certificate against its roster key and will refuse it (make it with `tandem cert`)"
            );
        }
        let server_tls = match &tls {
            Some(id) => {
                let web = config.web_tls_identity()?;
                if web.is_none() {
                    tracing::warn!(
                        "no web certificate (node.web_tls_cert, or tls-web.crt beside the node certificate): browsers cannot verify the Ed25519 node certificate and will not connect (`tandem cert` makes both)"
                    );
                }
                Some(Arc::new(tandem_tls::server_config(id, web.as_ref()).context("node.tls_cert / node.tls_key")?))
            }
            None => None,
        };
        let bounds = crate::listen::Bounds::of(&config.node);
        let fed = crate::federation::build(
            &config,
            Arc::clone(&store),
            &mut state,
            crate::federation::Tuning { key, poll_interval, peer_refresh, max_backoff, tls },
        )?;
        let roster = Arc::clone(&state.roster);
        let alerter_state = state.clone();
        // Federation installed the signer and hooks: feeds store as the node's member, signed.
        let feed_ingest = state.ingest();
        // Secrets at rest: sealed with a key file beside the node key; what an older version
        // stored in clear is sealed now (a key that does not open what is sealed is named).
        let secrets = Arc::new(crate::federation::secrets_key(&config)?);
        {
            let (store, key) = (Arc::clone(&store), Arc::clone(&secrets));
            let sealed = tokio::task::spawn_blocking(move || {
                (tandem_live::webhooks::seal_stored(&*store, &key), crate::feeds::seal_stored(&*store, &key))
            })
            .await?;
            match sealed.0 {
                Ok(0) => {}
                Ok(n) => tracing::info!(zones = n, "webhook secrets stored in clear are now sealed"),
                Err(e) => tracing::error!(error = %e, "webhook secrets: deliveries will fail until this is fixed"),
            }
            match sealed.1 {
                Ok(0) => {}
                Ok(n) => tracing::info!(feeds = n, "feed credentials stored in clear are now sealed"),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "feed credentials: polls will fail until this is fixed")
                }
            }
        }
        let uploads = crate::http::interop::Uploads::of(&config);
        let app = crate::http::app(state, &fed, feed_rx.clone(), uploads, Arc::clone(&secrets));
        let (stop_accounts, stopped) = watch::channel(false);
        // On a database several processes share, background work (pulling from peers, the
        // alerter, the webhook worker, external feeds) runs in the one holding the node's lease (see
        // `crate::lease`); the embedded store has one serving process.
        let (held, lease) = match config.storage.backend {
            crate::config::StorageBackend::Postgres => {
                let lease = crate::lease::Lease::new(Arc::clone(&store), "background", crate::lease::LEASE_TTL);
                let (held, task) = lease.run(stop_accounts.subscribe());
                fed.gate_pulls(held.clone());
                (Some(held), Some(task))
            }
            crate::config::StorageBackend::Sqlite => (None, None),
        };
        fed.start();
        // On a shared database, other processes' writes are heard at once (`LISTEN`); the
        // federation's once-a-second look at the feed position stays as the fallback.
        let feed_listener = match (config.storage.backend, &config.storage.url) {
            (crate::config::StorageBackend::Postgres, Some(url)) => {
                let fed = Arc::clone(&fed);
                let on_position: tandem_store_postgres::feed::OnPosition =
                    Arc::new(move |at| fed.written_elsewhere(at));
                Some(tokio::spawn(tandem_store_postgres::feed::follow(
                    url.clone(),
                    on_position,
                    stop_accounts.subscribe(),
                )))
            }
            _ => None,
        };
        tracing::info!(member = %config.node.member, %addr, tls = server_tls.is_some(), collection = %config.intel_collection_id(), "tandem node listening");
        spawn_roster_reload(&config, fed.roster_log());
        // On a shared database, a roster change another process of the node applied (`POST
        // .../roster/changes/` there) takes effect here within a second: suspensions included,
        // so a member suspended through one process is refused by every process.
        let roster_follower = match config.storage.backend {
            crate::config::StorageBackend::Postgres => {
                Some(follow_roster(fed.roster_log(), ROSTER_REFRESH, stop_accounts.subscribe()))
            }
            crate::config::StorageBackend::Sqlite => None,
        };
        let accounts = crate::wiring::follow_accounts(&config, Arc::clone(&store), directory, stopped);
        // Watch-zone alerts for every zone, in its owner's view, persisted once each: woken by
        // the feed signal (every local, replicated or other-process write), with a slow poll as
        // a fallback, so an idle node does no alert work.
        // Rung by the alerter when it stored alerts: the webhook worker delivers at once.
        let raised = Arc::new(tokio::sync::Notify::new());
        let start_alerter = {
            let (state, feed, raised) = (alerter_state, feed_rx.clone(), Arc::clone(&raised));
            move |stop: watch::Receiver<bool>| {
                tokio::spawn(tandem_live::alerts::run_alerter(
                    state.clone(),
                    feed.clone(),
                    ALERT_FALLBACK_POLL,
                    Arc::clone(&raised),
                    stop,
                ))
            }
        };
        // Outbound HTTPS (webhook receivers, external feeds): the system's roots and the
        // configured CA file, checked here so that a bad CA file stops the start.
        let outbound = crate::outbound::Clients::of(&config)?;
        // Webhook deliveries from the durable outbox (retries and dead letters there).
        let start_webhooks = {
            let (store, roster, secrets) = (Arc::clone(&store), Arc::clone(&roster), Arc::clone(&secrets));
            let client = outbound.webhooks.clone();
            let raised = Arc::clone(&raised);
            move |stop: watch::Receiver<bool>| {
                tokio::spawn(tandem_live::webhooks::run_worker(
                    Arc::clone(&store),
                    Arc::clone(&roster),
                    Arc::clone(&secrets),
                    client.clone(),
                    tandem_live::webhooks::Retry::default(),
                    Arc::clone(&raised),
                    WEBHOOK_IDLE,
                    stop,
                ))
            }
        };
        // External TAXII feeds (`tandem feed add`), each polled at its own interval.
        let start_feeds = {
            let (store, collection, member) =
                (Arc::clone(&store), config.intel_collection_id(), config.node.member.clone());
            move |stop: watch::Receiver<bool>| {
                tokio::spawn(crate::feeds::run(
                    Arc::clone(&store),
                    feed_ingest.clone(),
                    collection.clone(),
                    member.clone(),
                    Arc::clone(&secrets),
                    outbound.feeds.clone(),
                    stop,
                ))
            }
        };
        let (alerter, webhooks, feeds) = match held {
            Some(held) => (
                crate::lease::gated(held.clone(), stop_accounts.subscribe(), start_alerter),
                crate::lease::gated(held.clone(), stop_accounts.subscribe(), start_webhooks),
                crate::lease::gated(held, stop_accounts.subscribe(), start_feeds),
            ),
            None => (
                start_alerter(stop_accounts.subscribe()),
                start_webhooks(stop_accounts.subscribe()),
                start_feeds(stop_accounts.subscribe()),
            ),
        };
        let task_fed = Arc::clone(&fed);
        let server = tokio::spawn(async move {
            // Each request carries its connection's address (failed logins are throttled per
            // address too) and transport (TLS, the client certificate's key).
            let served = crate::listen::serve(listener, app, server_tls, bounds, shutdown).await.context("serving");
            let _ = stop_accounts.send(true);
            let _ = accounts.await;
            let _ = alerter.await;
            let _ = webhooks.await;
            let _ = feeds.await;
            if let Some(lease) = lease {
                let _ = lease.await;
            }
            if let Some(listener) = feed_listener {
                let _ = listener.await;
            }
            if let Some(follower) = roster_follower {
                let _ = follower.await;
            }
            task_fed.stop().await;
            if let Err(e) = audit.close() {
                tracing::error!(error = %e, "closing the audit log");
            }
            tracing::info!("tandem node stopped");
            served
        });
        Ok(Node { config, store, addr, roster, federation: fed, feed: feed_rx, server })
    }
}

/// How often the alerter looks for new versions when the feed signal did not wake it.
const ALERT_FALLBACK_POLL: Duration = Duration::from_secs(15);
/// The longest the webhook worker sleeps between passes when nothing rang and no retry is
/// due (a missed ring, a clock step): it is woken by the alerter and by its own retry times.
const WEBHOOK_IDLE: Duration = Duration::from_secs(60);

/// How often a process on a shared database looks for roster changes another process applied.
const ROSTER_REFRESH: Duration = Duration::from_secs(1);

/// Every `every`, takes in the roster changes another process of the node stored
/// ([`tandem_sync::roster_log::RosterLog::catch_up`]: one look-up by key when nothing changed).
/// Runs until `stop` flips.
fn follow_roster(
    log: Arc<tandem_sync::roster_log::RosterLog>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            let log = Arc::clone(&log);
            match tokio::task::spawn_blocking(move || log.catch_up()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "roster changes of other processes: cannot read the log"),
                Err(e) => tracing::error!(error = %e, "roster follower failed"),
            }
        }
    })
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
