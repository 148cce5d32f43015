//! N in-process nodes on loopback ports with a chosen topology, each started through
//! `tandem_node::Node` (the assembly `tandem serve` runs: every route, one authentication, the
//! audit layer last, federation, the account follower), so the multi-node tests exercise the
//! wiring users run. In the manner of quickwit's `cluster_sandbox`.
//!
//! Every directed link goes through a [`LinkProxy`] (the puller's peer URL points at it), so
//! tests can cut, slow, break and replay links at run time ([`Sandbox::link`]).
//!
//! Nodes serve TLS by default, each with the certificate `tandem cert` makes from its node key
//! (`tandem_node::cert`, made when the sandbox is built), and pull from each other with mutual
//! TLS pinned to the roster keys. Each link's proxy is then a man in the middle
//! ([`LinkProxy::start_tls`]): it serves the served node's certificate to the pulling node and
//! presents the pulling node's certificate to the served one, so every fault (delays, drops
//! mid-body, replays, stale responses) acts on HTTP messages while both nodes still check each
//! other's roster keys. [`SandboxBuilder::plain_http`] is for the tests of a plain listener and
//! for the benchmarks that count plain bytes.
//!
//! Every node has users `analyst` and `auditor` (role `auditor`) of its own member and, for
//! every other member, a user `sync-<member>` of that member with role `peer` (the account that
//! member's node pulls and notifies with); all share one password so Argon2 hashes once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use tandem_node::Node as Running;
use tandem_node::config::{CoalitionConfig, Config, GroupConfig, MemberConfig, NodeConfig, PeerConfig, UserConfig};
use tandem_policy::{Classification, Group, Member, Roster, Viewer};
use tandem_store::{ObjectQuery, ObjectStore, Record, SqliteStore, Store, VersionFilter, ViewContext};
use tandem_sync::client::PeerSpec;
use tandem_sync::federation::Federation;
use tandem_sync::provenance::public_key_string;
use tandem_taxii::TaxiiConfig;
use tandem_taxii::auth::hash_secret;

use crate::fixtures::TAXII;
pub use crate::proxy::{Faults, LinkProxy, Stats};

pub const PASSWORD: &str = "sandbox-password";

fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_secret(PASSWORD))
}

/// The intel collection id of a member's node (as `tandem` derives it).
pub use tandem_node::config::intel_collection_id;

#[derive(Default)]
pub struct SandboxBuilder {
    members: Vec<String>,
    groups: Vec<(String, Vec<String>)>,
    links: Vec<(String, String)>,
    poll: Option<Duration>,
    authority: Option<ed25519_dalek::VerifyingKey>,
    joining: Vec<String>,
    page_size_max: Option<usize>,
    sync_page_size_max: Option<usize>,
    max_backoff: Option<Duration>,
    cache_kib: Option<u32>,
    plain_http: bool,
    tune: Option<Tune>,
}

/// Changes every node's `[node]` settings before it starts (bounds, timeouts).
pub type Tune = Arc<dyn Fn(&mut NodeConfig) + Send + Sync>;

impl SandboxBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a node for `member`.
    pub fn node(mut self, member: &str) -> Self {
        self.members.push(member.to_string());
        self
    }

    /// A roster group (for `REL TO <group>` markings).
    pub fn group(mut self, code: &str, members: &[&str]) -> Self {
        self.groups.push((code.into(), members.iter().map(|m| m.to_string()).collect()));
        self
    }

    /// The coalition's roster authority (none by default: nodes refuse roster changes).
    pub fn authority(mut self, key: ed25519_dalek::VerifyingKey) -> Self {
        self.authority = Some(key);
        self
    }

    /// Adds a node for `member`, which is not on anyone's configured roster: it joins through a
    /// signed roster change.
    pub fn joining(mut self, member: &str) -> Self {
        self.joining.push(member.to_string());
        self.node(member)
    }

    /// `a` and `b` peer with each other (each pulls from the other).
    pub fn link(mut self, a: &str, b: &str) -> Self {
        self.links.push((a.into(), b.into()));
        self
    }

    /// Fallback polling interval (default 15 s, so tests see notifications at work).
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.poll = Some(d);
        self
    }

    /// The longest wait between failed pulls (default: production's 30 s). Tests that heal
    /// faults shorten it so that convergence after the heal is quick.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = Some(d);
        self
    }

    /// Each node's SQLite page cache per connection, in KiB (default: a node's, 64 MiB; dozens
    /// of nodes in one process want much less).
    pub fn store_cache_kib(mut self, kib: u32) -> Self {
        self.cache_kib = Some(kib);
        self
    }

    /// The most objects one TAXII page of every node returns, to readers and to syncing peers
    /// alike (default: 1,000 to readers, 10,000 to peers, as a node serves).
    pub fn page_size_max(mut self, n: usize) -> Self {
        self.page_size_max = Some(n);
        self
    }

    /// The page size for peers alone (default: `page_size_max` when set, so that a test's small
    /// pages are small for peers too).
    pub fn sync_page_size_max(mut self, n: usize) -> Self {
        self.sync_page_size_max = Some(n);
        self
    }

    /// Plain HTTP on every node (as on a loopback listener) and plain HTTP-framing link
    /// proxies: for the tests of the plain listener and for benchmarks that count plain bytes.
    /// Federation tests run over TLS (the default).
    pub fn plain_http(mut self) -> Self {
        self.plain_http = true;
        self
    }

    /// Applies `tune` to every node's `[node]` settings before it starts.
    pub fn tune(mut self, tune: impl Fn(&mut NodeConfig) + Send + Sync + 'static) -> Self {
        self.tune = Some(Arc::new(tune));
        self
    }

    pub async fn build(self) -> anyhow::Result<Sandbox> {
        // Each node's key is its data directory's `node.key`, as for `tandem serve`: the audit
        // log's checkpoints and the provenance signatures come from the same key.
        let mut dirs = BTreeMap::new();
        let mut keys = BTreeMap::new();
        for m in &self.members {
            let dir = tempfile::tempdir()?;
            keys.insert(m.clone(), tandem_audit::keys::load_or_create_node_key(dir.path())?);
            dirs.insert(m.clone(), dir);
        }
        let roster = Roster::new(
            self.members
                .iter()
                .filter(|m| !self.joining.contains(m))
                .map(|m| Member { public_key: Some(public_key_string(&keys[m].verifying_key())), ..Member::active(m) }),
            self.groups.iter().map(|(c, ms)| Group {
                code: c.clone(),
                name: c.clone(),
                members: ms.iter().cloned().collect(),
            }),
        );
        let _ = password_hash();
        let mut nodes = BTreeMap::new();
        for m in &self.members {
            // Bound now and handed to the node's first start, so no other process can take the
            // port in between (restarts bind the same port again).
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            nodes.insert(
                m.clone(),
                Node {
                    dir: dirs.remove(m).context("a node's data directory")?,
                    addr,
                    listener: Some(listener),
                    key: keys[m].clone(),
                    peers: Vec::new(),
                    running: None,
                },
            );
        }
        let mut sandbox = Sandbox {
            roster,
            nodes,
            proxies: BTreeMap::new(),
            poll: self.poll.unwrap_or(Duration::from_secs(15)),
            page_size_max: self.page_size_max,
            sync_page_size_max: self.sync_page_size_max.or(self.page_size_max),
            max_backoff: self.max_backoff.unwrap_or(tandem_sync::puller::MAX_BACKOFF),
            cache_kib: self.cache_kib.unwrap_or(tandem_store::sqlite::DEFAULT_CACHE_KIB),
            http: test_client(keys.values().map(|k| k.verifying_key().to_bytes()).collect())?,
            authority: self.authority,
            tls: !self.plain_http,
            tune: self.tune,
        };
        // Certificates first: a TLS link's proxy serves and presents the nodes' own.
        let mut identities = BTreeMap::new();
        if sandbox.tls {
            for m in &self.members {
                identities.insert(m.clone(), sandbox.identity(m)?);
            }
        }
        for (a, b) in &self.links {
            for (from, to) in [(a, b), (b, a)] {
                let target = sandbox.node(to).context("link to an unknown node")?.addr;
                let proxy = match (identities.get(to), identities.get(from)) {
                    (Some(served), Some(pulling)) => LinkProxy::start_tls(target, served, pulling).await?,
                    _ => LinkProxy::start(target).await?,
                };
                let url = format!("{}://{}/taxii2/", sandbox.scheme(), proxy.addr());
                sandbox.proxies.insert((from.clone(), to.clone()), proxy);
                let spec = PeerSpec {
                    member: to.clone(),
                    url,
                    username: Some(format!("sync-{from}")),
                    password: Some(PASSWORD.into()),
                    token: None,
                };
                sandbox.nodes.get_mut(from).context("link to an unknown node")?.peers.push(spec);
            }
        }
        for m in self.members {
            sandbox.start(&m).await?;
        }
        Ok(sandbox)
    }
}

pub struct Sandbox {
    pub roster: Roster,
    nodes: BTreeMap<String, Node>,
    /// `(from, to)`: the proxy `from`'s puller and notifications reach `to` through.
    proxies: BTreeMap<(String, String), LinkProxy>,
    poll: Duration,
    page_size_max: Option<usize>,
    sync_page_size_max: Option<usize>,
    max_backoff: Duration,
    cache_kib: u32,
    http: reqwest::Client,
    authority: Option<ed25519_dalek::VerifyingKey>,
    tls: bool,
    tune: Option<Tune>,
}

/// A client that accepts the sandbox's nodes, by their keys (no certificate authority).
fn test_client(keys: Vec<[u8; 32]>) -> anyhow::Result<reqwest::Client> {
    let tls = tandem_tls::client_config(None, tandem_tls::verify::accept_keys(keys))?;
    Ok(reqwest::Client::builder().use_preconfigured_tls(tls).build()?)
}

struct Node {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    /// The port reserved at build time, until the first start takes it.
    listener: Option<std::net::TcpListener>,
    key: SigningKey,
    peers: Vec<PeerSpec>,
    running: Option<Started>,
}

/// A started node, with the SQLite handle the sandbox opened for it.
struct Started {
    store: Arc<SqliteStore>,
    node: Running,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Sandbox {
    fn node(&self, member: &str) -> anyhow::Result<&Node> {
        self.nodes.get(member).with_context(|| format!("no node {member}"))
    }

    /// `member`'s node certificate and key, made on first use with the code `tandem cert`
    /// runs (once per data directory: restarts serve the same certificate).
    fn identity(&self, member: &str) -> anyhow::Result<tandem_tls::Identity> {
        let config = self.config(member, self.node(member)?);
        let (cert, key) = tandem_node::cert::paths(&config);
        if !cert.exists() {
            tandem_node::cert::write(&config, &["127.0.0.1".into(), "localhost".into()])?;
        }
        Ok(tandem_tls::Identity::load(&cert, &key)?)
    }

    /// An HTTP client that trusts every node of the sandbox (plain or TLS).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A client presenting `member`'s node certificate (as its node's puller does), trusting
    /// every node of the sandbox.
    pub fn client_as(&self, member: &str) -> anyhow::Result<reqwest::Client> {
        let node = self.node(member)?;
        let identity = tandem_tls::Identity::load(&node.dir.path().join("tls.crt"), &node.dir.path().join("tls.key"))?;
        let keys = self.nodes.values().map(|n| n.key.verifying_key().to_bytes()).collect();
        let tls = tandem_tls::client_config(Some(&identity), tandem_tls::verify::accept_keys(keys))?;
        Ok(reqwest::Client::builder().use_preconfigured_tls(tls).build()?)
    }

    /// What `member`'s node's clients reach peers with: its certificate (when it serves TLS)
    /// and the sandbox roster pinning the peers' keys.
    pub fn peer_tls(&self, member: &str) -> anyhow::Result<tandem_sync::client::PeerTls> {
        let node = self.node(member)?;
        let identity = if self.tls {
            let dir = node.dir.path();
            Some(Arc::new(tandem_tls::Identity::load(&dir.join("tls.crt"), &dir.join("tls.key"))?))
        } else {
            None
        };
        Ok(tandem_sync::client::PeerTls {
            identity,
            roster: Arc::new(std::sync::RwLock::new(Arc::new(self.roster.clone()))),
        })
    }

    /// `member`'s node's data directory.
    pub fn data_dir(&self, member: &str) -> anyhow::Result<std::path::PathBuf> {
        Ok(self.node(member)?.dir.path().to_path_buf())
    }

    /// A client for a sandbox user: a peer account `sync-<member>` presents its member's node
    /// certificate, as that node's puller does (over TLS a peer account without it is refused);
    /// every other user gets [`Sandbox::http`].
    pub fn client_for(&self, user: &str) -> anyhow::Result<reqwest::Client> {
        match user.strip_prefix("sync-") {
            Some(member) if self.tls => self.client_as(member),
            _ => Ok(self.http.clone()),
        }
    }

    /// `http` or `https`, as the nodes serve.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// The URL of `path` (starting with `/`) on `member`'s node.
    pub fn url(&self, member: &str, path: &str) -> anyhow::Result<String> {
        Ok(format!("{}://{}{path}", self.scheme(), self.node(member)?.addr))
    }

    pub fn members(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    pub fn addr(&self, member: &str) -> anyhow::Result<SocketAddr> {
        Ok(self.node(member)?.addr)
    }

    pub fn key(&self, member: &str) -> anyhow::Result<SigningKey> {
        Ok(self.node(member)?.key.clone())
    }

    pub fn collection(member: &str) -> String {
        intel_collection_id(member)
    }

    /// The running node's store (for inspection and for injecting what a faulty node would serve).
    pub fn store(&self, member: &str) -> anyhow::Result<Arc<SqliteStore>> {
        let r = self.node(member)?.running.as_ref().context("node stopped")?;
        Ok(Arc::clone(&r.store))
    }

    pub fn federation(&self, member: &str) -> anyhow::Result<Arc<Federation>> {
        let r = self.node(member)?.running.as_ref().context("node stopped")?;
        Ok(Arc::clone(&r.node.federation))
    }

    /// The configuration a member's node runs with: its roster, its users (`analyst`,
    /// `auditor`, a peer account `sync-<other>` for every other node's member, joined or not
    /// yet: the roster decides what they get) and its peers.
    fn config(&self, member: &str, node: &Node) -> Config {
        let mut settings = NodeConfig::new(member, node.addr, node.dir.path().to_path_buf());
        settings.title = format!("{member} sandbox node");
        settings.page_size_max = self.page_size_max.unwrap_or(TaxiiConfig::default().page_size_max);
        let user = |name: &str, of: &str, roles: &[&str]| UserConfig {
            name: name.into(),
            member: of.into(),
            password: None,
            password_hash: Some(password_hash().to_string()),
            clearance: Some("SECRET".into()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            read_only: false,
        };
        let mut users = vec![user("analyst", member, &[]), user("auditor", member, &["auditor"])];
        for other in self.nodes.keys().filter(|o| *o != member) {
            // The account `other`'s node pulls and notifies with: a peer account.
            users.push(user(&format!("sync-{other}"), other, &[tandem_taxii::auth::PEER_ROLE]));
        }
        Config {
            node: settings,
            members: self
                .roster
                .members()
                .map(|m| MemberConfig {
                    code: m.code.clone(),
                    name: m.name.clone(),
                    joined: m.joined.clone(),
                    status: m.status,
                    public_key: m.public_key.clone(),
                })
                .collect(),
            groups: self
                .roster
                .groups()
                .map(|g| GroupConfig {
                    code: g.code.clone(),
                    name: g.name.clone(),
                    members: g.members.iter().cloned().collect(),
                })
                .collect(),
            users,
            peers: node
                .peers
                .iter()
                .map(|p| PeerConfig {
                    member: p.member.clone(),
                    url: p.url.clone(),
                    username: p.username.clone(),
                    password: p.password.clone(),
                    token: p.token.clone(),
                })
                .collect(),
            coalition: CoalitionConfig { authority: self.authority.as_ref().map(public_key_string) },
            storage: Default::default(),
            interop: Default::default(),
            source: None,
        }
    }

    /// The running node's feed-change signal (`tandem_node::Node::feed`).
    pub fn feed(&self, member: &str) -> anyhow::Result<tokio::sync::watch::Receiver<tandem_node::feed::FeedPosition>> {
        let r = self.node(member)?.running.as_ref().context("node stopped")?;
        Ok(r.node.feed())
    }

    /// Starts (or restarts) a node on its port, with its data directory as it was left.
    pub async fn start(&mut self, member: &str) -> anyhow::Result<()> {
        let node = self.node(member)?;
        if node.running.is_some() {
            return Ok(());
        }
        let mut config = self.config(member, node);
        if let Some(tune) = &self.tune {
            tune(&mut config.node);
        }
        if self.tls {
            self.identity(member)?;
            let (cert, key) = tandem_node::cert::paths(&config);
            config.node.tls_cert = Some(cert);
            config.node.tls_key = Some(key);
        }
        let store = Arc::new(SqliteStore::open_with(node.dir.path(), self.cache_kib)?);
        let (poll, max_backoff, sync_page_size_max) = (self.poll, self.max_backoff, self.sync_page_size_max);
        let node = self.nodes.get_mut(member).context("no such node")?;
        let mut tries = 0;
        let listener = loop {
            if let Some(reserved) = node.listener.take() {
                reserved.set_nonblocking(true)?;
                break tokio::net::TcpListener::from_std(reserved)?;
            }
            match tokio::net::TcpListener::bind(node.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    tracing::debug!(error = %e, "port busy, retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => bail!("binding {}: {e}", node.addr),
            }
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle: Arc<dyn Store> = store.clone();
        let mut builder = Running::builder(config, handle)
            .listener(listener)
            .poll_interval(poll)
            .peer_refresh(Duration::from_millis(300))
            .max_backoff(max_backoff)
            .advertise_request_host();
        if let Some(n) = sync_page_size_max {
            builder = builder.sync_page_size_max(n);
        }
        let running = builder
            .start(async {
                let _ = stopped.await;
            })
            .await?;
        node.running = Some(Started { store, node: running, stop });
        Ok(())
    }

    /// Stops a node: its pullers, then its server (in-flight requests finish).
    pub async fn stop(&mut self, member: &str) -> anyhow::Result<()> {
        let node = self.nodes.get_mut(member).context("no such node")?;
        if let Some(Started { store, node: running, stop }) = node.running.take() {
            running.federation.stop().await;
            let mut server = running.into_server();
            let _ = stop.send(());
            match tokio::time::timeout(Duration::from_secs(5), &mut server).await {
                Ok(Ok(Err(e))) => tracing::warn!(%member, error = %format!("{e:#}"), "node stopped with an error"),
                Ok(_) => {}
                Err(_) => server.abort(),
            }
            // Blocking store calls still running (and connections still closing) hold the store:
            // a restart must not open a second writer on the same file before they finish.
            let started = Instant::now();
            while Arc::strong_count(&store) > 1 && started.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if Arc::strong_count(&store) > 1 {
                tracing::warn!(%member, "stopped node's store still in use");
            }
        }
        Ok(())
    }

    pub async fn shutdown(mut self) {
        for m in self.members() {
            let _ = self.stop(&m).await;
        }
    }

    /// The proxy `from` reaches `to` through (its pulls from `to`, its notifications to `to`).
    pub fn link(&self, from: &str, to: &str) -> anyhow::Result<&LinkProxy> {
        self.proxies.get(&(from.to_string(), to.to_string())).with_context(|| format!("no link {from} -> {to}"))
    }

    /// Both directions of the link between `a` and `b`.
    pub fn links_between(&self, a: &str, b: &str) -> anyhow::Result<[&LinkProxy; 2]> {
        Ok([self.link(a, b)?, self.link(b, a)?])
    }

    /// Every directed link, as `(from, to)`.
    pub fn link_names(&self) -> Vec<(String, String)> {
        self.proxies.keys().cloned().collect()
    }

    /// Clears every fault on every link.
    pub fn heal_all(&self) {
        for p in self.proxies.values() {
            p.heal();
        }
    }

    /// Points `member`'s peer entry for `peer` at `url` (e.g. a closed port for a partition).
    pub fn set_peer_url(&self, member: &str, peer: &str, url: &str) -> anyhow::Result<()> {
        self.federation(member)?.set_peer_url(peer, url);
        Ok(())
    }

    pub fn peer_url(&self, member: &str) -> anyhow::Result<String> {
        self.url(member, "/taxii2/")
    }

    fn objects_url(&self, member: &str) -> anyhow::Result<String> {
        self.url(member, "/api/collections/intel/objects/")
    }

    /// Posts objects to `member`'s node as its analyst; returns the TAXII status.
    pub async fn post(&self, member: &str, objects: Vec<Value>) -> anyhow::Result<Value> {
        let resp = self
            .http
            .post(self.objects_url(member)?)
            .basic_auth("analyst", Some(PASSWORD))
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .body(json!({ "objects": objects }).to_string())
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            bail!("POST: {status} {body}");
        }
        Ok(body)
    }

    /// `GET <member's node><path>` as `user` (every sandbox user has [`PASSWORD`]).
    pub async fn get(&self, member: &str, user: &str, path: &str) -> anyhow::Result<reqwest::Response> {
        let url = self.url(member, path)?;
        Ok(self.client_for(user)?.get(url).basic_auth(user, Some(PASSWORD)).send().await?)
    }

    /// Deletes every version of `id` on `member`'s node, as its analyst.
    pub async fn delete(&self, member: &str, id: &str) -> anyhow::Result<u16> {
        let resp = self
            .http
            .delete(format!("{}{id}/", self.objects_url(member)?))
            .basic_auth("analyst", Some(PASSWORD))
            .header("Accept", TAXII)
            .send()
            .await?;
        Ok(resp.status().as_u16())
    }

    /// Every version `member`'s node holds, as its own member may see them under its live roster
    /// (every member's claim on an id, as a syncing peer reads them).
    pub fn holdings(&self, member: &str) -> anyhow::Result<Vec<Record>> {
        let store = self.store(member)?;
        let ctx = ViewContext {
            viewer: Viewer { member: member.to_string(), clearance: Classification::Secret },
            roster: self.federation(member)?.roster_log().roster(),
        };
        let page = store.list(
            &ctx,
            &intel_collection_id(member),
            &ObjectQuery {
                versions: VersionFilter::All,
                limit: usize::MAX / 2,
                with_provenance: true,
                every_claim: true,
                ..Default::default()
            },
        )?;
        Ok(page.items)
    }

    /// `(id, version)` of every version `member`'s node holds, sorted.
    pub fn versions(&self, member: &str) -> anyhow::Result<Vec<(String, String)>> {
        let mut v: Vec<(String, String)> =
            self.holdings(member)?.into_iter().map(|r| (r.id, r.version.to_taxii())).collect();
        v.sort();
        Ok(v)
    }

    /// Whether `member` holds this version. Panics when the holdings cannot be read (a stopped
    /// node, a store error): read as "not held", an error would pass every negative assertion.
    pub fn holds(&self, member: &str, id: &str, version: &str) -> bool {
        match self.versions(member) {
            Ok(v) => v.iter().any(|(i, ver)| i == id && ver == version),
            Err(e) => panic!("cannot read what {member} holds: {e:#}"),
        }
    }

    /// Polls `cond` every 10 ms until it holds or `timeout` passes.
    pub async fn wait_for(&self, timeout: Duration, mut cond: impl FnMut(&Sandbox) -> bool) -> bool {
        let start = Instant::now();
        loop {
            if cond(self) {
                return true;
            }
            if start.elapsed() > timeout {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
