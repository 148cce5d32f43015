//! Test support: N in-process nodes on loopback ports with a chosen topology, built the way
//! `tandem serve` builds a node (TAXII router, federation routes, pullers, notify hooks), so the
//! multi-node tests exercise the real HTTP path. In the manner of quickwit's `cluster_sandbox`.
//!
//! Every directed link goes through a [`LinkProxy`] (the puller's peer URL points at it), so
//! tests can cut, slow, break and replay links at run time ([`Sandbox::link`]).
//!
//! Every node has users `analyst` and `auditor` (role `auditor`) of its own member and, for
//! every other member, a user `sync-<member>` of that member with role `peer` (the account that
//! member's node pulls and notifies with); all share one password so Argon2 hashes once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use tandem_policy::{Classification, Group, Member, MemberStatus, Roster, Viewer};
use tandem_store::{ObjectQuery, ObjectStore, Record, SqliteStore, VersionFilter, ViewContext};
use tandem_taxii::auth::{Account, hash_secret};
use tandem_taxii::{AppState, CollectionConfig, NoHooks, TaxiiConfig, UserDirectory};
use tokio::task::JoinHandle;

use crate::client::{PeerSpec, Timeouts};
use crate::federation::{Federation, Settings};
use crate::provenance::public_key_string;

mod http;
mod proxy;

pub use proxy::{Faults, LinkProxy, Stats};

pub const PASSWORD: &str = "sandbox-password";
const TAXII: &str = "application/taxii+json;version=2.1";

fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_secret(PASSWORD))
}

/// The intel collection id of a member's node (as `tandem` derives it).
pub fn intel_collection_id(member: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f1d_3a52_8c1e_4b0f_9a7e_5d2c_1b0a_9e11);
    uuid::Uuid::new_v5(&NAMESPACE, format!("tandem:intel:{member}").as_bytes()).to_string()
}

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
}

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

    pub async fn build(self) -> anyhow::Result<Sandbox> {
        let mut keys = BTreeMap::new();
        for m in &self.members {
            keys.insert(m.clone(), SigningKey::generate(&mut rand::rngs::OsRng));
        }
        let roster = Roster::new(
            self.members.iter().filter(|m| !self.joining.contains(m)).map(|m| Member {
                code: m.clone(),
                name: m.clone(),
                joined: None,
                status: MemberStatus::Active,
                public_key: Some(public_key_string(&keys[m].verifying_key())),
            }),
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
                    dir: tempfile::tempdir()?,
                    addr,
                    listener: Some(listener),
                    key: keys[m].clone(),
                    peers: Vec::new(),
                    running: None,
                },
            );
        }
        let mut proxies = BTreeMap::new();
        for (a, b) in &self.links {
            for (from, to) in [(a, b), (b, a)] {
                let target = nodes.get(to).context("link to an unknown node")?.addr;
                let proxy = LinkProxy::start(target).await?;
                let url = format!("http://{}/taxii2/", proxy.addr());
                proxies.insert((from.clone(), to.clone()), proxy);
                let spec = PeerSpec {
                    member: to.clone(),
                    url,
                    username: Some(format!("sync-{from}")),
                    password: Some(PASSWORD.into()),
                    token: None,
                };
                nodes.get_mut(from).context("link to an unknown node")?.peers.push(spec);
            }
        }
        let mut sandbox = Sandbox {
            roster,
            nodes,
            proxies,
            poll: self.poll.unwrap_or(Duration::from_secs(15)),
            page_size_max: self.page_size_max,
            sync_page_size_max: self.sync_page_size_max.or(self.page_size_max),
            max_backoff: self.max_backoff.unwrap_or(crate::puller::MAX_BACKOFF),
            cache_kib: self.cache_kib.unwrap_or(tandem_store::sqlite::DEFAULT_CACHE_KIB),
            http: reqwest::Client::new(),
            authority: self.authority,
        };
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
}

struct Node {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    /// The port reserved at build time, until the first start takes it.
    listener: Option<std::net::TcpListener>,
    key: SigningKey,
    peers: Vec<PeerSpec>,
    running: Option<Running>,
}

struct Running {
    store: Arc<SqliteStore>,
    fed: Arc<Federation>,
    server: JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Sandbox {
    fn node(&self, member: &str) -> anyhow::Result<&Node> {
        self.nodes.get(member).with_context(|| format!("no node {member}"))
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
        Ok(Arc::clone(&r.fed))
    }

    /// Starts (or restarts) a node on its port, with its data directory as it was left.
    pub async fn start(&mut self, member: &str) -> anyhow::Result<()> {
        let poll = self.poll;
        let authority = self.authority;
        let page_size_max = self.page_size_max;
        let sync_page_size_max = self.sync_page_size_max;
        let max_backoff = self.max_backoff;
        let roster = self.roster.clone();
        // Accounts for every node's member, joined or not yet: the roster decides what they get.
        let others = self.members();
        let node = self.nodes.get_mut(member).context("no such node")?;
        if node.running.is_some() {
            return Ok(());
        }
        let store = Arc::new(SqliteStore::open_with(node.dir.path(), self.cache_kib)?);
        let roster = Arc::new(RwLock::new(Arc::new(roster)));
        let collection = intel_collection_id(member);
        let fed = Federation::new(Settings {
            member: member.to_string(),
            collection: collection.clone(),
            store: store.clone(),
            roster: roster.clone(),
            key: node.key.clone(),
            peers: node.peers.clone(),
            poll_interval: poll,
            timeouts: Timeouts::default(),
            max_backoff,
            peer_refresh: Duration::from_millis(300),
            inner_hooks: Arc::new(NoHooks),
            authority,
        });
        let mut accounts = vec![account("analyst", member, &[]), account("auditor", member, &["auditor"])];
        for other in others {
            if other != member {
                // The account `other`'s node pulls and notifies with: a peer account.
                accounts.push(account(&format!("sync-{other}"), &other, &[tandem_taxii::auth::PEER_ROLE]));
            }
        }
        let state = AppState {
            store: store.clone(),
            auth: Arc::new(UserDirectory::new(accounts, [])),
            config: Arc::new(TaxiiConfig {
                title: format!("{member} sandbox node"),
                collections: vec![CollectionConfig {
                    id: collection,
                    alias: Some("intel".into()),
                    title: "intel".into(),
                    description: None,
                    can_read: true,
                    can_write: true,
                }],
                page_size_max: page_size_max.unwrap_or(TaxiiConfig::default().page_size_max),
                sync_page_size_max: sync_page_size_max.unwrap_or(TaxiiConfig::default().sync_page_size_max),
                ..TaxiiConfig::default()
            }),
            roster,
            hooks: fed.hooks(),
            audit: Arc::new(tandem_taxii::NoAudit),
            signer: Some(fed.signer()),
        };
        // Assembled as `tandem serve` assembles its app (TAXII and federation routes, then the
        // audit layer once); the binary adds its places and metrics routes, which need nothing
        // the sandbox tests. Moving the whole assembly into one crate both use is issue 10's.
        let app = tandem_taxii::assemble(state.clone(), fed.routes(state));
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
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        fed.start();
        node.running = Some(Running { store, fed, server, stop });
        Ok(())
    }

    /// Stops a node: its pullers, then its server (in-flight requests finish).
    pub async fn stop(&mut self, member: &str) -> anyhow::Result<()> {
        let node = self.nodes.get_mut(member).context("no such node")?;
        if let Some(Running { store, fed, server, stop }) = node.running.take() {
            fed.stop().await;
            drop(fed);
            let _ = stop.send(());
            let mut server = server;
            if tokio::time::timeout(Duration::from_secs(5), &mut server).await.is_err() {
                server.abort();
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
        Ok(format!("http://{}/taxii2/", self.node(member)?.addr))
    }

    fn objects_url(&self, member: &str) -> anyhow::Result<String> {
        Ok(format!("http://{}/api/collections/intel/objects/", self.node(member)?.addr))
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

fn account(name: &str, member: &str, roles: &[&str]) -> Account {
    Account {
        name: name.into(),
        member: member.into(),
        password_hash: password_hash().to_string(),
        clearance: Classification::Secret,
        roles: roles.iter().map(|r| r.to_string()).collect(),
        read_only: false,
    }
}
