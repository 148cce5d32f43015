//! The TAXII client a node pulls with: discovery, object pages with provenance, tombstone pages,
//! and the notification call.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tandem_model::Timestamp;
use tandem_policy::Roster;
use tandem_store::Tombstone;

const ACCEPT: &str = tandem_taxii::TAXII_CONTENT_TYPE;

/// How this node reaches one peer: the peer's discovery URL and this node's account there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerSpec {
    pub member: String,
    /// The peer's discovery URL, e.g. `http://127.0.0.1:8481/taxii2/`.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// One page of objects from a peer.
#[derive(Debug, Default)]
pub struct ObjectPage {
    pub objects: Vec<Value>,
    pub proofs: Map<String, Value>,
    pub more: bool,
    pub next: Option<String>,
    /// Where to resume: the later of `X-TAXII-Date-Added-Last` and the `next` position.
    pub resume_after: Option<Timestamp>,
    /// The peer's release epoch (`tandem_epoch`): when it changes, the feed is read again.
    pub epoch: Option<String>,
}

/// One page of a peer's roster change feed.
#[derive(Debug, Default)]
pub struct ChangesPage {
    pub changes: Vec<Value>,
    pub more: bool,
    /// The peer's latest applied seq and the digest of its effective roster there (older
    /// peers say neither).
    pub latest: Option<u64>,
    pub roster: Option<String>,
}

/// What a peer answered to a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notified {
    Accepted,
    /// Over the peer's rate limit: notify again after this long.
    RetryAfter(Duration),
}

/// One page of a peer's manifest: which versions it added, without their content.
#[derive(Debug, Default)]
pub struct ManifestPage {
    /// (id, version, originator): a syncing peer names each version's originator
    /// (`tandem_originator`), so that another member's copy under the same id never passes for
    /// it; an entry without one is never taken as held.
    pub entries: Vec<(String, Timestamp, Option<String>)>,
    pub more: bool,
    pub next: Option<String>,
    pub resume_after: Option<Timestamp>,
    pub epoch: Option<String>,
}

/// How many ids one by-id request names (keeps the URL a few kilobytes).
pub const IDS_PER_REQUEST: usize = 50;

#[derive(Debug, Default)]
pub struct TombstonePage {
    pub tombstones: Vec<Tombstone>,
    pub more: bool,
    pub next: Option<String>,
    pub resume_after: Option<Timestamp>,
}

/// How long a node waits on a peer. Connecting fails fast (a peer that is down costs little);
/// a whole request may take long, because a sync page of several thousand versions with their
/// proofs is megabytes and a loaded peer serves it slowly. A request that runs out of time is
/// simply retried from the last stored cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP connection.
    pub connect: Duration,
    /// One whole request: sending it, the peer's work, and reading the whole body.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_secs(5), request: Duration::from_secs(120) }
    }
}

/// How a node's clients reach peers over https: the node's certificate to present (mutual
/// TLS: the peer checks it against this node's roster key) and the live roster, whose key for
/// the peer's member is the only server certificate accepted (no CA: the roster is the PKI).
#[derive(Clone)]
pub struct PeerTls {
    pub identity: Option<Arc<tandem_tls::Identity>>,
    pub roster: Arc<RwLock<Arc<Roster>>>,
}

impl PeerTls {
    /// The key the roster names for `member` now, read at every handshake.
    fn expected(&self, member: &str) -> tandem_tls::verify::ExpectedKey {
        let roster = Arc::clone(&self.roster);
        let member = member.to_string();
        Arc::new(move |presented| {
            let roster = match roster.read() {
                Ok(r) => Arc::clone(&r),
                Err(p) => Arc::clone(&p.into_inner()),
            };
            let expected = roster
                .member(&member)
                .and_then(|m| m.public_key.as_deref())
                .and_then(tandem_taxii::transport::roster_key);
            expected.as_ref() == Some(presented)
        })
    }
}

/// A client for one peer. Cheap to clone.
#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    spec: PeerSpec,
}

impl PeerClient {
    /// A client without TLS identity or roster: plain http peers only (an https peer is
    /// refused, having no roster key to be checked against).
    pub fn new(spec: PeerSpec, timeouts: Timeouts) -> anyhow::Result<Self> {
        let none = PeerTls { identity: None, roster: Arc::new(RwLock::new(Arc::new(Roster::default()))) };
        Self::with_tls(spec, timeouts, &none)
    }

    /// A client whose https connections present `tls.identity` and accept only the server
    /// certificate carrying the roster key of `spec.member`.
    pub fn with_tls(spec: PeerSpec, timeouts: Timeouts, tls: &PeerTls) -> anyhow::Result<Self> {
        let config = tandem_tls::client_config(tls.identity.as_deref(), tls.expected(&spec.member))
            .context("building the TLS client configuration")?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .timeout(timeouts.request)
            .connect_timeout(timeouts.connect.min(timeouts.request))
            // Below a node's idle-connection bound (`header_timeout_secs`, 10 s by default), so
            // the client drops an idle connection before the peer closes it under a request.
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .context("building the HTTP client")?;
        Ok(PeerClient { http, spec })
    }

    pub fn spec(&self) -> &PeerSpec {
        &self.spec
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match (&self.spec.token, &self.spec.username) {
            (Some(t), _) => rb.bearer_auth(t),
            (None, Some(u)) => rb.basic_auth(u, self.spec.password.as_deref()),
            (None, None) => rb,
        }
    }

    /// The peer's API root URL (ending in `/`), from its discovery document.
    pub async fn api_root(&self) -> anyhow::Result<String> {
        let resp =
            self.auth(self.http.get(&self.spec.url)).header("Accept", ACCEPT).send().await.context("discovery")?;
        if !resp.status().is_success() {
            bail!("discovery: HTTP {}", resp.status());
        }
        let doc: Value = resp.json().await.context("discovery body")?;
        let root = doc
            .get("default")
            .and_then(Value::as_str)
            .or_else(|| doc.get("api_roots")?.as_array()?.first()?.as_str())
            .context("discovery names no API root")?;
        let base = reqwest::Url::parse(&self.spec.url).context("peer url")?;
        let mut url = base.join(root).context("API root url")?.to_string();
        if !url.ends_with('/') {
            url.push('/');
        }
        Ok(url)
    }

    async fn get_page(&self, url: &str, query: &[(&str, String)]) -> anyhow::Result<(Value, Option<Timestamp>)> {
        let resp = self
            .auth(self.http.get(url))
            .header("Accept", ACCEPT)
            .header(tandem_taxii::SYNC_HEADER, "1")
            .query(query)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        Self::page_body(url, resp).await
    }

    /// A sync page's body and `X-TAXII-Date-Added-Last`, once it is known to answer the request.
    async fn page_body(url: &str, resp: reqwest::Response) -> anyhow::Result<(Value, Option<Timestamp>)> {
        if !resp.status().is_success() {
            bail!("GET {url}: HTTP {}", resp.status());
        }
        // A page for another request (a stale or misrouted response) must not move the cursor.
        if let Some(answers) = resp.headers().get(tandem_taxii::ANSWERS_HEADER) {
            let asked = resp.url().query().unwrap_or_default();
            if answers.as_bytes() != asked.as_bytes() {
                bail!("GET {url}: the response answers another request ({:?}, asked {asked:?})", answers);
            }
        }
        let last = resp
            .headers()
            .get("x-taxii-date-added-last")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Timestamp::parse(v).ok());
        let body: Value = resp.json().await.with_context(|| format!("GET {url}: body"))?;
        if !body.is_object() {
            bail!("GET {url}: the body is not a JSON object");
        }
        Ok((body, last))
    }

    fn resume(last: Option<Timestamp>, next: Option<&str>) -> Option<Timestamp> {
        let from_next = next.and_then(|n| tandem_store::cursor::Cursor::decode(n).ok()).map(|c| c.after);
        match (last, from_next) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// One page of every version added after `after` (or continuing at `next`).
    pub async fn objects(
        &self,
        root: &str,
        after: Option<Timestamp>,
        next: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<ObjectPage> {
        let url = format!("{root}collections/intel/objects/");
        let mut q = vec![("match[version]", "all".to_string()), ("limit", limit.to_string())];
        if let Some(a) = after {
            q.push(("added_after", a.to_taxii()));
        }
        if let Some(n) = next {
            q.push(("next", n.to_string()));
        }
        let (body, last) = self.get_page(&url, &q).await?;
        Self::object_page(body, last)
    }

    /// An object page from a sync page's body.
    fn object_page(mut body: Value, last: Option<Timestamp>) -> anyhow::Result<ObjectPage> {
        // Moved out of the envelope, not cloned: a sync page is thousands of objects.
        let objects = match body.as_object_mut().and_then(|b| b.remove("objects")) {
            None => Vec::new(),
            Some(Value::Array(a)) => a,
            Some(_) => bail!("objects is not a list"),
        };
        let proofs = match body.as_object_mut().and_then(|b| b.remove("tandem_provenance")) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let more = body.get("more").and_then(Value::as_bool).unwrap_or(false);
        let next = body.get("next").and_then(Value::as_str).map(str::to_string);
        if more && next.is_none() {
            bail!("more without next");
        }
        let epoch = body.get("tandem_epoch").and_then(Value::as_str).map(str::to_string);
        Ok(ObjectPage { objects, proofs, more, resume_after: Self::resume(last, next.as_deref()), next, epoch })
    }

    /// One page of the peer's manifest after `after` (or continuing at `next`): the versions it
    /// would serve, without their content.
    pub async fn manifest(
        &self,
        root: &str,
        after: Option<Timestamp>,
        next: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<ManifestPage> {
        let url = format!("{root}collections/intel/manifest/");
        let mut q = vec![("match[version]", "all".to_string()), ("limit", limit.to_string())];
        if let Some(a) = after {
            q.push(("added_after", a.to_taxii()));
        }
        if let Some(n) = next {
            q.push(("next", n.to_string()));
        }
        let (body, last) = self.get_page(&url, &q).await?;
        let mut entries = Vec::new();
        if let Some(list) = body.get("objects") {
            let Value::Array(list) = list else { bail!("GET {url}: objects is not a list") };
            for e in list {
                let id = e.get("id").and_then(Value::as_str).context("a manifest entry without id")?;
                let version = e
                    .get("version")
                    .and_then(Value::as_str)
                    .and_then(|v| Timestamp::parse(v).ok())
                    .context("a manifest entry without a valid version")?;
                let originator = e.get("tandem_originator").and_then(Value::as_str).map(str::to_string);
                entries.push((id.to_string(), version, originator));
            }
        }
        let more = body.get("more").and_then(Value::as_bool).unwrap_or(false);
        let next = body.get("next").and_then(Value::as_str).map(str::to_string);
        if more && next.is_none() {
            bail!("more without next");
        }
        let epoch = body.get("tandem_epoch").and_then(Value::as_str).map(str::to_string);
        Ok(ManifestPage { entries, more, resume_after: Self::resume(last, next.as_deref()), next, epoch })
    }

    /// Every version of `ids` (at most [`IDS_PER_REQUEST`]) the peer releases to this node, with
    /// provenance. The page's cursor fields say nothing about the feed and are left unset.
    pub async fn objects_by_id(&self, root: &str, ids: &[String]) -> anyhow::Result<ObjectPage> {
        let url = format!("{root}collections/intel/objects/");
        let mut out = ObjectPage::default();
        let mut next: Option<String> = None;
        loop {
            let mut q = vec![("match[version]", "all".to_string()), ("match[id]", ids.join(","))];
            if let Some(n) = &next {
                q.push(("next", n.clone()));
            }
            let (body, _) = self.get_page(&url, &q).await?;
            match body.get("objects") {
                None => {}
                Some(Value::Array(a)) => out.objects.extend(a.iter().cloned()),
                Some(_) => bail!("objects is not a list"),
            }
            if let Some(p) = body.get("tandem_provenance").and_then(Value::as_object) {
                out.proofs.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            next = body.get("next").and_then(Value::as_str).map(str::to_string);
            if !body.get("more").and_then(Value::as_bool).unwrap_or(false) || next.is_none() {
                return Ok(out);
            }
        }
    }

    /// One page of the peer's tombstone feed.
    pub async fn tombstones(
        &self,
        root: &str,
        after: Option<Timestamp>,
        next: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<TombstonePage> {
        let url = format!("{root}collections/intel/tombstones/");
        let mut q = vec![("limit", limit.to_string())];
        if let Some(a) = after {
            q.push(("added_after", a.to_taxii()));
        }
        if let Some(n) = next {
            q.push(("next", n.to_string()));
        }
        let (mut body, last) = self.get_page(&url, &q).await?;
        let tombstones = match body.as_object_mut().and_then(|b| b.remove("tombstones")) {
            None => Vec::new(),
            Some(v) => serde_json::from_value(v).context("tombstones")?,
        };
        let more = body.get("more").and_then(Value::as_bool).unwrap_or(false);
        let next = body.get("next").and_then(Value::as_str).map(str::to_string);
        if more && next.is_none() {
            bail!("more without next");
        }
        Ok(TombstonePage { tombstones, more, resume_after: Self::resume(last, next.as_deref()), next })
    }

    /// Tells the peer this node has new data (`POST {root}tandem/notify/`).
    pub async fn notify(&self, root: &str) -> anyhow::Result<Notified> {
        let url = format!("{root}tandem/notify/");
        let resp = self
            .auth(self.http.post(&url))
            .header("Accept", ACCEPT)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        if resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let secs = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            return Ok(Notified::RetryAfter(Duration::from_secs(secs.clamp(1, 15))));
        }
        if !resp.status().is_success() {
            bail!("POST {url}: HTTP {}", resp.status());
        }
        Ok(Notified::Accepted)
    }

    /// The peer's applied roster changes after `after` (`GET {root}tandem/roster/changes/`),
    /// as served, whether there are more, and the peer's latest seq and roster digest.
    pub async fn roster_changes(&self, root: &str, after: u64) -> anyhow::Result<ChangesPage> {
        let url = format!("{root}tandem/roster/changes/");
        let resp = self
            .auth(self.http.get(&url))
            .query(&[("after", after.to_string())])
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        if !resp.status().is_success() {
            bail!("GET {url}: HTTP {}", resp.status());
        }
        let body: Value = resp.json().await.with_context(|| format!("GET {url}: body"))?;
        let changes = match body.get("changes") {
            Some(Value::Array(a)) => a.clone(),
            _ => bail!("GET {url}: changes is not a list"),
        };
        Ok(ChangesPage {
            changes,
            more: body.get("more").and_then(Value::as_bool).unwrap_or(false),
            latest: body.get("latest").and_then(Value::as_u64),
            roster: body.get("roster").and_then(Value::as_str).map(str::to_string),
        })
    }

    /// One page of the versions whose release to this node widened since the peer's roster
    /// `since` (`GET {root}tandem/sync/widened/`), with provenance, in the peer's feed order;
    /// `None` when the peer cannot rebuild that roster (409): then only reading the whole feed
    /// again is safe.
    pub async fn widened(
        &self,
        root: &str,
        since: &crate::roster_log::PeerRoster,
        next: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Option<ObjectPage>> {
        let url = format!("{root}tandem/sync/widened/");
        let mut q =
            vec![("since", since.seq.to_string()), ("digest", since.digest.clone()), ("limit", limit.to_string())];
        if let Some(n) = next {
            q.push(("next", n.to_string()));
        }
        let resp = self
            .auth(self.http.get(&url))
            .header("Accept", ACCEPT)
            .header(tandem_taxii::SYNC_HEADER, "1")
            .query(&q)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        if resp.status() == reqwest::StatusCode::CONFLICT {
            return Ok(None);
        }
        let (body, last) = Self::page_body(&url, resp).await?;
        Self::object_page(body, last).map(Some)
    }
}
