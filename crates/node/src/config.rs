//! The node's TOML configuration, declared once and validated at start-up.
//!
//! Unknown keys are errors that name the key; every validation error names the file.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use tandem_policy::{Classification, Group, Member, MemberStatus, Roster};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub node: NodeConfig,
    #[serde(default)]
    pub members: Vec<MemberConfig>,
    #[serde(default)]
    pub groups: Vec<GroupConfig>,
    #[serde(default)]
    pub users: Vec<UserConfig>,
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
    #[serde(default)]
    pub coalition: CoalitionConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub interop: InteropConfig,
    /// The file this configuration was loaded from (for reloading the roster on SIGHUP).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[interop]`: the web UI's imports and exports (`/api/tandem/import`, `/api/tandem/export`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteropConfig {
    /// Largest upload, in MiB. An upload is spooled to `<data_dir>/spool/` and imported from
    /// there a record at a time, so this bounds disk, not memory.
    #[serde(default = "default_max_upload_mib")]
    pub max_upload_mib: u64,
}

impl Default for InteropConfig {
    fn default() -> Self {
        InteropConfig { max_upload_mib: default_max_upload_mib() }
    }
}

fn default_max_upload_mib() -> u64 {
    1024
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The coalition member this node serves.
    pub member: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    #[serde(default = "default_title")]
    pub title: String,
    #[serde(default)]
    pub contact: Option<String>,
    /// Largest accepted TAXII request body, in bytes.
    #[serde(default = "default_max_content_length")]
    pub max_content_length: usize,
    /// The most objects one TAXII page returns.
    #[serde(default = "default_page_size")]
    pub page_size_max: usize,
    /// Seconds to establish a connection to a peer (federation).
    #[serde(default = "default_peer_connect_timeout")]
    pub peer_connect_timeout_secs: u64,
    /// Seconds one whole request to a peer may take, body included (a sync page is megabytes).
    #[serde(default = "default_peer_request_timeout")]
    pub peer_request_timeout_secs: u64,
    /// Object pages fetched from peers and not stored yet, across all of the node's pullers
    /// (bounds a hub's memory when many peers are far behind at once).
    #[serde(default = "default_sync_pages_in_flight")]
    pub sync_pages_in_flight: usize,
    /// The node's public base URL, which TAXII discovery advertises (`https://node.example.org/`);
    /// default `http://<listen>/`. Required when `listen` is an unspecified address (`0.0.0.0`).
    #[serde(default)]
    pub public_url: Option<String>,
    /// The node's TLS certificate (PEM, from `tandem cert`); with `tls_key`, every listener
    /// serves TLS. Relative paths are relative to the config file.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM PKCS#8; `tandem cert` writes the node key).
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// The certificate served to browsers and other clients that are not Tandem nodes
    /// (browsers cannot verify the Ed25519 node certificate): an ECDSA one from `tandem cert`,
    /// or one a CA issued. Default `tls-web.crt` / `tls-web.key` beside `tls_cert`, used when
    /// they exist.
    #[serde(default)]
    pub web_tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub web_tls_key: Option<PathBuf>,
    /// CA certificates (PEM) trusted, besides the system's roots, for the node's outbound
    /// HTTPS to servers that are not Tandem nodes: webhook receivers and external TAXII feeds
    /// behind a private CA. Relative to the config file. Peers are never checked against it.
    #[serde(default)]
    pub outbound_ca_file: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback. Off by default: outside loopback a
    /// node without TLS refuses to start, since passwords and intelligence would cross the
    /// network in clear.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// Seconds a client has to send a request's headers (and finish the TLS handshake).
    #[serde(default = "default_header_timeout")]
    pub header_timeout_secs: u64,
    /// Seconds of grace before a request body must keep up `body_min_rate`.
    #[serde(default = "default_body_grace")]
    pub body_timeout_secs: u64,
    /// Bytes per second a request body must average after the grace (slow bodies are cut).
    #[serde(default = "default_body_min_rate")]
    pub body_min_rate: u64,
    /// Open connections one client address may hold; more are refused at accept.
    #[serde(default = "default_per_address")]
    pub max_connections_per_address: usize,
    /// Open connections in all; more are refused at accept.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

impl NodeConfig {
    /// A node of `member` on `listen` with `data_dir`, every other key at its default (for
    /// configurations built in code: the test sandbox).
    pub fn new(member: &str, listen: SocketAddr, data_dir: PathBuf) -> Self {
        NodeConfig {
            member: member.to_string(),
            listen,
            data_dir,
            title: default_title(),
            contact: None,
            max_content_length: default_max_content_length(),
            page_size_max: default_page_size(),
            peer_connect_timeout_secs: default_peer_connect_timeout(),
            peer_request_timeout_secs: default_peer_request_timeout(),
            sync_pages_in_flight: default_sync_pages_in_flight(),
            public_url: None,
            tls_cert: None,
            tls_key: None,
            web_tls_cert: None,
            web_tls_key: None,
            outbound_ca_file: None,
            allow_plain_http: false,
            header_timeout_secs: default_header_timeout(),
            body_timeout_secs: default_body_grace(),
            body_min_rate: default_body_min_rate(),
            max_connections_per_address: default_per_address(),
            max_connections: default_max_connections(),
        }
    }
}

fn default_header_timeout() -> u64 {
    10
}
fn default_body_grace() -> u64 {
    10
}
fn default_body_min_rate() -> u64 {
    1024
}
fn default_per_address() -> usize {
    64
}
fn default_max_connections() -> usize {
    1024
}

fn default_title() -> String {
    "Tandem node".into()
}
fn default_max_content_length() -> usize {
    10 * 1024 * 1024
}
fn default_page_size() -> usize {
    1000
}
fn default_peer_connect_timeout() -> u64 {
    tandem_sync::client::Timeouts::default().connect.as_secs()
}
fn default_peer_request_timeout() -> u64 {
    tandem_sync::client::Timeouts::default().request.as_secs()
}

fn default_sync_pages_in_flight() -> usize {
    tandem_sync::puller::DEFAULT_PAGES_IN_FLIGHT
}

/// Where the node's objects, accounts and state live (`[storage]`). The audit log and the node
/// key stay in `node.data_dir` whichever backend holds the rest.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    #[serde(default)]
    pub backend: StorageBackend,
    /// `postgres://user:password@host:port/database` (backend `postgres` only). Several
    /// `tandem serve` processes on one database serve one node.
    #[serde(default)]
    pub url: Option<String>,
    /// SQLite's page cache per connection, in MiB (backend `sqlite`; default 64). A node holds
    /// a writer and up to eight pooled readers, each filling its cache as the database grows, so
    /// the caches' part of the node's memory is at most about nine times this.
    #[serde(default)]
    pub cache_mib: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// The embedded store in `node.data_dir` (the default).
    #[default]
    Sqlite,
    Postgres,
}

/// What the whole coalition shares.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoalitionConfig {
    /// The roster authority's public key (`ed25519:<base64>`, from `tandem roster keygen`):
    /// roster changes it signs are applied and replicated; without it, none are.
    #[serde(default)]
    pub authority: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberConfig {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub joined: Option<String>,
    #[serde(default)]
    pub status: MemberStatus,
    #[serde(default)]
    pub public_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub code: String,
    pub name: String,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    pub member: String,
    /// Development only: the node logs a warning when a plain password is configured.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_hash: Option<String>,
    #[serde(default)]
    pub clearance: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    pub member: String,
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
}

impl Config {
    /// The base URL discovery advertises: `node.public_url`, else `http://<bound>/` for the
    /// address the node bound (`listen`, with its port filled in when it was 0). Never the
    /// request's `Host`. An unspecified listen address names no host a client could use.
    pub fn public_url(&self, bound: SocketAddr) -> anyhow::Result<String> {
        if let Some(u) = &self.node.public_url {
            return Ok(u.clone());
        }
        if bound.ip().is_unspecified() {
            bail!(
                "node.public_url: required when node.listen is an unspecified address ({}): set it to the URL clients reach this node at, e.g. \"https://node.example.org/\"",
                self.node.listen
            );
        }
        let scheme = if self.node.tls_cert.is_some() { "https" } else { "http" };
        Ok(format!("{scheme}://{bound}/"))
    }

    /// The node's TLS identity, or `None` for plain HTTP, which only a loopback listener (or an
    /// explicit `allow_plain_http = true`) may serve.
    pub fn tls_identity(&self) -> anyhow::Result<Option<tandem_tls::Identity>> {
        match (&self.node.tls_cert, &self.node.tls_key) {
            (Some(cert), Some(key)) => {
                let id = tandem_tls::Identity::load(cert, key).context("node.tls_cert / node.tls_key")?;
                Ok(Some(id))
            }
            (None, None) if self.node.listen.ip().is_loopback() => Ok(None),
            (None, None) if self.node.allow_plain_http => {
                tracing::warn!(
                    listen = %self.node.listen,
                    "serving plain HTTP outside loopback (allow_plain_http = true): passwords and intelligence cross the network in clear"
                );
                Ok(None)
            }
            (None, None) => bail!(
                "node.listen {} is not loopback: set node.tls_cert and node.tls_key (`tandem cert --config FILE`), or allow_plain_http = true to serve in clear",
                self.node.listen
            ),
            _ => bail!("node.tls_cert and node.tls_key: set both or neither"),
        }
    }

    /// Where the web certificate and key are: `web_tls_cert`/`web_tls_key`, else `tls-web.crt`
    /// and `tls-web.key` beside the node certificate (or in the data directory).
    pub fn web_tls_paths(&self) -> (PathBuf, PathBuf) {
        let dir = self
            .node
            .tls_cert
            .as_ref()
            .and_then(|c| c.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| self.node.data_dir.clone());
        (
            self.node.web_tls_cert.clone().unwrap_or_else(|| dir.join("tls-web.crt")),
            self.node.web_tls_key.clone().unwrap_or_else(|| dir.join("tls-web.key")),
        )
    }

    /// The certificate browsers are served, when TLS is on and one is configured or present at
    /// the default paths (a configured one that does not load is an error).
    pub fn web_tls_identity(&self) -> anyhow::Result<Option<tandem_tls::WebIdentity>> {
        let (cert, key) = self.web_tls_paths();
        let configured = self.node.web_tls_cert.is_some() || self.node.web_tls_key.is_some();
        let present = cert.exists() && key.exists();
        if self.node.tls_cert.is_none() || !(configured || present) {
            return Ok(None);
        }
        Ok(Some(tandem_tls::WebIdentity::load(&cert, &key).context("node.web_tls_cert / node.web_tls_key")?))
    }

    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))?;
        config.validate().with_context(|| format!("config {}", path.display()))?;
        config.source = Some(path.to_path_buf());
        // A relative data_dir is relative to the config file, so a node starts the same from
        // any working directory.
        if config.node.data_dir.is_relative() {
            let base = path.parent().unwrap_or(Path::new("."));
            config.node.data_dir = base.join(&config.node.data_dir);
        }
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let paths = [
            &mut config.node.tls_cert,
            &mut config.node.tls_key,
            &mut config.node.web_tls_cert,
            &mut config.node.web_tls_key,
            &mut config.node.outbound_ca_file,
        ];
        for p in paths.into_iter().flatten() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(config)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        match (self.storage.backend, &self.storage.url) {
            (StorageBackend::Postgres, None) => {
                bail!("storage.url: required with backend = \"postgres\" (postgres://user@host:port/database)")
            }
            (StorageBackend::Postgres, Some(u))
                if !(u.starts_with("postgres://") || u.starts_with("postgresql://")) =>
            {
                bail!("storage.url: must start with postgres:// (got {:?})", u.split('@').next_back().unwrap_or(""))
            }
            (StorageBackend::Sqlite, Some(_)) => {
                bail!("storage.url: only for backend = \"postgres\" (the SQLite store lives in node.data_dir)")
            }
            _ => {}
        }
        match (self.storage.backend, self.storage.cache_mib) {
            (StorageBackend::Postgres, Some(_)) => {
                bail!("storage.cache_mib: only for backend = \"sqlite\" (PostgreSQL has its own shared_buffers)")
            }
            (_, Some(mib)) if mib > 1024 * 1024 => bail!("storage.cache_mib: {mib} MiB per connection is too large"),
            _ => {}
        }
        let mut codes = BTreeSet::new();
        for m in &self.members {
            if !is_member_code(&m.code) {
                bail!(
                    "members: code {:?} must be an ISO alpha-3 code (3 capital letters) or a 4-letter body code",
                    m.code
                );
            }
            if !codes.insert(m.code.clone()) {
                bail!("members: code {:?} is listed twice", m.code);
            }
        }
        for g in &self.groups {
            if g.code.len() != 4 || !g.code.bytes().all(|c| c.is_ascii_uppercase()) {
                bail!("groups: code {:?} must be 4 capital letters", g.code);
            }
            if codes.contains(&g.code) {
                bail!("groups: code {:?} is also a member code", g.code);
            }
            for m in &g.members {
                if !codes.contains(m) {
                    bail!("groups.{}.members: {m:?} is not in [[members]]", g.code);
                }
            }
        }
        if !codes.contains(&self.node.member) {
            bail!("node.member: {:?} is not in [[members]]", self.node.member);
        }
        if let Some(u) = &self.node.public_url
            && (!(u.starts_with("http://") || u.starts_with("https://")) || u.contains(char::is_whitespace))
        {
            bail!("node.public_url: {u:?} must be an absolute http:// or https:// URL");
        }
        let mut names = BTreeSet::new();
        for u in &self.users {
            if !names.insert(u.name.clone()) {
                bail!("users: name {:?} is listed twice", u.name);
            }
            if !codes.contains(&u.member) {
                bail!("users.{}.member: {:?} is not in [[members]]", u.name, u.member);
            }
            match (&u.password, &u.password_hash) {
                (Some(_), Some(_)) => {
                    bail!("users.{}: set password or password_hash, not both", u.name)
                }
                (None, None) => bail!("users.{}: password or password_hash is required", u.name),
                _ => {}
            }
            if let Some(c) = &u.clearance
                && Classification::parse(c).is_none()
            {
                bail!("users.{}.clearance: {c:?} is not one of UNCLASSIFIED, RESTRICTED, CONFIDENTIAL, SECRET", u.name);
            }
        }
        for p in &self.peers {
            if !codes.contains(&p.member) {
                bail!("peers: member {:?} is not in [[members]]", p.member);
            }
        }
        self.authority().context("coalition.authority")?;
        if self.node.peer_connect_timeout_secs == 0 || self.node.peer_request_timeout_secs == 0 {
            bail!("node.peer_connect_timeout_secs and node.peer_request_timeout_secs must be at least 1");
        }
        if self.node.sync_pages_in_flight == 0 {
            bail!("node.sync_pages_in_flight must be at least 1");
        }
        if self.node.header_timeout_secs == 0 || self.node.body_timeout_secs == 0 || self.node.body_min_rate == 0 {
            bail!("node.header_timeout_secs, node.body_timeout_secs and node.body_min_rate must be at least 1");
        }
        if self.node.max_connections_per_address == 0 || self.node.max_connections == 0 {
            bail!("node.max_connections_per_address and node.max_connections must be at least 1");
        }
        if self.node.page_size_max == 0 {
            bail!("node.page_size_max must be at least 1");
        }
        Ok(())
    }

    /// The roster authority's key, if the coalition has one.
    pub fn authority(&self) -> anyhow::Result<Option<ed25519_dalek::VerifyingKey>> {
        match &self.coalition.authority {
            None => Ok(None),
            Some(k) => Ok(Some(tandem_audit::keys::parse_public_key(k)?)),
        }
    }

    /// The roster as configured: the bootstrap that signed roster changes apply on top of
    /// (`tandem_sync::roster_log`).
    pub fn roster(&self) -> Roster {
        Roster::new(
            self.members.iter().map(|m| Member {
                code: m.code.clone(),
                name: m.name.clone(),
                joined: m.joined.clone(),
                status: m.status,
                public_key: m.public_key.clone(),
            }),
            self.groups.iter().map(|g| Group {
                code: g.code.clone(),
                name: g.name.clone(),
                members: g.members.iter().cloned().collect(),
            }),
        )
    }

    /// The id of the member's `intel` collection: stable per member, so peers and clients can
    /// keep it across restarts.
    pub fn intel_collection_id(&self) -> String {
        intel_collection_id(&self.node.member)
    }
}

pub fn intel_collection_id(member: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f1d_3a52_8c1e_4b0f_9a7e_5d2c_1b0a_9e11);
    uuid::Uuid::new_v5(&NAMESPACE, format!("tandem:intel:{member}").as_bytes()).to_string()
}

fn is_member_code(code: &str) -> bool {
    (code.len() == 3 || code.len() == 4) && code.bytes().all(|c| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[node]
member = "USA"
listen = "127.0.0.1:8480"
data_dir = "./data"

[[members]]
code = "USA"
name = "United States"
joined = "2014-09-10"

[[members]]
code = "IRQ"
name = "Iraq"

[[groups]]
code = "LVNT"
name = "Levant partners"
members = ["IRQ"]

[[users]]
name = "analyst"
member = "USA"
password = "dev-only"
"#;

    #[test]
    fn parses_the_documented_example() {
        let c: Config = toml::from_str(GOOD).unwrap();
        c.validate().unwrap();
        assert!(c.roster().names("LVNT", "IRQ"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let bad = GOOD.replace("listen =", "listne = \"x\"\nlisten =");
        let err = toml::from_str::<Config>(&bad).unwrap_err().to_string();
        assert!(err.contains("listne"), "{err}");
    }

    #[test]
    fn coalition_authority() {
        let key =
            tandem_audit::keys::public_key_string(&ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key());
        let with = GOOD.replacen("[[members]]", &format!("[coalition]\nauthority = \"{key}\"\n\n[[members]]"), 1);
        let c: Config = toml::from_str(&with).unwrap();
        c.validate().unwrap();
        assert!(c.authority().unwrap().is_some());
        let c: Config = toml::from_str(GOOD).unwrap();
        assert!(c.authority().unwrap().is_none());
        let bad: Config = toml::from_str(&with.replace(&key, "ed25519:AAAA")).unwrap();
        assert!(bad.validate().unwrap_err().to_string().contains("coalition.authority"));
        let unknown = with.replace("authority =", "authorty = \"x\"\nauthority =");
        let err = toml::from_str::<Config>(&unknown).unwrap_err().to_string();
        assert!(err.contains("authorty"), "{err}");
    }

    #[test]
    fn public_url_from_config_or_listen() {
        let c: Config = toml::from_str(GOOD).unwrap();
        assert_eq!(c.public_url("127.0.0.1:8480".parse().unwrap()).unwrap(), "http://127.0.0.1:8480/");
        let any = GOOD.replace("127.0.0.1:8480", "0.0.0.0:8480");
        let c: Config = toml::from_str(&any).unwrap();
        c.validate().unwrap();
        let err = c.public_url("0.0.0.0:8480".parse().unwrap()).unwrap_err().to_string();
        assert!(err.contains("node.public_url"), "{err}");
        let set = any.replace("data_dir =", "public_url = \"https://usa.example.org/\"\ndata_dir =");
        let c: Config = toml::from_str(&set).unwrap();
        c.validate().unwrap();
        assert_eq!(c.public_url("0.0.0.0:8480".parse().unwrap()).unwrap(), "https://usa.example.org/");
        let bad: Config = toml::from_str(&set.replace("https://usa.example.org/", "usa.example.org")).unwrap();
        assert!(bad.validate().unwrap_err().to_string().contains("node.public_url"));
    }

    #[test]
    fn plain_http_outside_loopback_needs_an_explicit_choice() {
        let c: Config = toml::from_str(GOOD).unwrap();
        assert!(c.tls_identity().unwrap().is_none(), "loopback may serve plain HTTP");
        let outside = GOOD.replace("127.0.0.1:8480", "10.1.2.3:8480");
        let c: Config = toml::from_str(&outside).unwrap();
        let err = format!("{:#}", c.tls_identity().unwrap_err());
        assert!(err.contains("tls_cert") && err.contains("allow_plain_http"), "{err}");
        let allowed = outside.replace("data_dir =", "allow_plain_http = true\ndata_dir =");
        let c: Config = toml::from_str(&allowed).unwrap();
        assert!(c.tls_identity().unwrap().is_none());
        let half = GOOD.replace("data_dir =", "tls_cert = \"x.crt\"\ndata_dir =");
        let c: Config = toml::from_str(&half).unwrap();
        assert!(format!("{:#}", c.tls_identity().unwrap_err()).contains("both or neither"));
        // With TLS, the default public URL is https.
        assert_eq!(c.public_url("127.0.0.1:8480".parse().unwrap()).unwrap(), "https://127.0.0.1:8480/");
    }

    #[test]
    fn storage_backend_and_url() {
        let c: Config = toml::from_str(GOOD).unwrap();
        assert_eq!(c.storage.backend, StorageBackend::Sqlite, "SQLite is the default");
        let with = |table: &str| GOOD.replacen("[[members]]", &format!("[storage]\n{table}\n\n[[members]]"), 1);
        let c: Config =
            toml::from_str(&with("backend = \"postgres\"\nurl = \"postgres://tandem@db:5432/usa\"")).unwrap();
        c.validate().unwrap();
        assert_eq!(c.storage.backend, StorageBackend::Postgres);
        let no_url: Config = toml::from_str(&with("backend = \"postgres\"")).unwrap();
        assert!(no_url.validate().unwrap_err().to_string().contains("storage.url"));
        let secret = "postgres://tandem:hunter2@db/usa";
        let not_postgres: Config =
            toml::from_str(&with("backend = \"postgres\"\nurl = \"mysql://tandem:hunter2@db/usa\"")).unwrap();
        let err = not_postgres.validate().unwrap_err().to_string();
        assert!(err.contains("storage.url") && !err.contains("hunter2"), "the password is never echoed: {err}");
        let sqlite_url: Config = toml::from_str(&with(&format!("url = \"{secret}\""))).unwrap();
        assert!(sqlite_url.validate().unwrap_err().to_string().contains("storage.url"));
        assert!(toml::from_str::<Config>(&with("backend = \"oracle\"")).is_err());
        let cache: Config = toml::from_str(&with("cache_mib = 4")).unwrap();
        cache.validate().unwrap();
        assert_eq!(cache.storage.cache_mib, Some(4));
        let pg_cache: Config =
            toml::from_str(&with("backend = \"postgres\"\nurl = \"postgres://db/usa\"\ncache_mib = 4")).unwrap();
        assert!(pg_cache.validate().unwrap_err().to_string().contains("storage.cache_mib"));
        let huge: Config = toml::from_str(&with("cache_mib = 4000000")).unwrap();
        assert!(huge.validate().unwrap_err().to_string().contains("storage.cache_mib"));
    }

    #[test]
    fn references_must_resolve() {
        let bad = GOOD.replace("members = [\"IRQ\"]", "members = [\"SYR\"]");
        let c: Config = toml::from_str(&bad).unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("SYR"));
    }
}
