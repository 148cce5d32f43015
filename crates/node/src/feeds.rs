//! Subscriptions to external TAXII 2.1 collections (an OpenCTI or medallion server): each feed
//! is a meta key `interop/feed/<name>` holding its collection URL, credentials, the markings
//! added to what comes in (its releasability mapping: markings only narrow), its polling
//! interval and its persisted cursor (`tandem_interop::feed`). `tandem feed add|list|remove`
//! edits them; the running node polls them ([`run`]) and stores what arrives through the one
//! ingest pipeline as the node's member, so federation signs and replicates it like any import.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_interop::feed::{Cursor, Page, Round, Step, take};
use tandem_store::Store;
use tandem_taxii::Ingest;
use tandem_taxii::ingest::Outcome;

const PREFIX: &str = "interop/feed/";
const ACCEPT: &str = "application/taxii+json;version=2.1";
/// At most this many pages per feed per round (a server that pages forever is cut off).
const MAX_PAGES: usize = 1000;

/// One subscription, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    pub name: String,
    /// The collection's URL, ending in `collections/<id>/`.
    pub collection_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Marking-definition ids added to every object that comes in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markings: Vec<String>,
    pub interval_secs: u64,
    #[serde(default)]
    pub cursor: Cursor,
    /// What the last round did, for `tandem feed list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_round: Option<String>,
}

pub fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

pub fn list(store: &dyn Store) -> anyhow::Result<Vec<Feed>> {
    let mut out = Vec::new();
    for (k, v) in store.list_meta(PREFIX)? {
        out.push(serde_json::from_value(v).with_context(|| format!("meta key {k} is not a feed"))?);
    }
    Ok(out)
}

pub fn save(store: &dyn Store, feed: &Feed) -> anyhow::Result<()> {
    Ok(store.put_meta(&key(&feed.name), Some(&serde_json::to_value(feed)?))?)
}

pub fn remove(store: &dyn Store, name: &str) -> anyhow::Result<bool> {
    let existed = store.get_meta(&key(name))?.is_some();
    store.put_meta(&key(name), None)?;
    Ok(existed)
}

/// Polls every feed whose interval has passed, forever (until `stop` turns true).
pub async fn run(
    store: Arc<dyn Store>,
    ingest: Ingest,
    collection: String,
    member: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(60)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "feeds: no http client");
            return;
        }
    };
    let mut due: std::collections::HashMap<String, tokio::time::Instant> = Default::default();
    loop {
        let feeds = {
            let store = Arc::clone(&store);
            tokio::task::spawn_blocking(move || list(store.as_ref())).await
        };
        match feeds {
            Ok(Ok(feeds)) => {
                for feed in feeds {
                    let now = tokio::time::Instant::now();
                    if due.get(&feed.name).is_some_and(|t| *t > now) {
                        continue;
                    }
                    due.insert(feed.name.clone(), now + Duration::from_secs(feed.interval_secs.max(1)));
                    let name = feed.name.clone();
                    match poll(&client, &store, &ingest, &collection, &member, feed).await {
                        Ok(summary) => tracing::info!(feed = %name, %summary, "feed polled"),
                        Err(e) => tracing::warn!(feed = %name, error = %format!("{e:#}"), "feed poll failed"),
                    }
                }
            }
            Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "feeds: reading subscriptions"),
            Err(e) => tracing::error!(error = %e, "feeds: reading subscriptions"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One round of one feed: pages until the cursor says done, each page stored, then the cursor
/// saved (compare-and-set on the meta key: a feed removed meanwhile stays removed).
pub async fn poll(
    client: &reqwest::Client,
    store: &Arc<dyn Store>,
    ingest: &Ingest,
    collection: &str,
    member: &str,
    mut feed: Feed,
) -> anyhow::Result<String> {
    let (mut stored, mut unchanged, mut rejected) = (0u64, 0u64, 0u64);
    let base = format!("{}/objects/", feed.collection_url.trim_end_matches('/'));
    let mut next: Option<String> = None;
    let mut round_after = feed.cursor.added_after.clone();
    let mut round = Round::default();
    let mut failure: Option<anyhow::Error> = None;
    for _ in 0..MAX_PAGES {
        let page = match fetch(client, &feed, &base, round_after.as_deref(), next.as_deref()).await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                // What earlier pages stored is kept, and so is the cursor that says so.
                failure = Some(e);
                break;
            }
        };
        let (mut fresh, step) = take(&mut feed.cursor, &mut round, page);
        for o in &mut fresh {
            add_markings(o, &feed.markings);
        }
        if !fresh.is_empty() {
            let (ingest, collection, member) = (ingest.clone(), collection.to_string(), member.to_string());
            let summary = tokio::task::spawn_blocking(move || ingest.submit(&collection, &member, fresh)).await??;
            for e in summary.entries {
                match e.outcome {
                    Outcome::Accepted { .. } => stored += 1,
                    Outcome::Duplicate { .. } => unchanged += 1,
                    Outcome::Rejected { reason, .. } => {
                        rejected += 1;
                        tracing::warn!(feed = %feed.name, id = %e.id, %reason, "feed object rejected");
                    }
                }
            }
        }
        match step {
            Step::Next(n) => next = Some(n),
            Step::Requery => {
                next = None;
                round_after = feed.cursor.added_after.clone();
            }
            Step::Done => break,
        }
    }
    let mut summary = format!("stored {stored}, unchanged {unchanged}, rejected {rejected}");
    if let Some(e) = &failure {
        summary.push_str(&format!(", then failed: {e:#}"));
    }
    feed.last_round = Some(summary.clone());
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let k = key(&feed.name);
        // Only the cursor and the round's summary are ours to write: a feed removed or
        // replaced (`tandem feed add` again) meanwhile keeps what its editor wrote.
        let Some(current) = store.get_meta(&k)? else { return Ok(()) };
        let mut current: Feed = serde_json::from_value(current.clone()).context("a feed")?;
        if current.collection_url != feed.collection_url {
            return Ok(());
        }
        let before = serde_json::to_value(&current)?;
        current.cursor = feed.cursor;
        current.last_round = feed.last_round;
        store.cas_meta(&k, Some(&before), Some(&serde_json::to_value(&current)?))?;
        Ok(())
    })
    .await??;
    match failure {
        Some(e) => Err(e.context(summary)),
        None => Ok(summary),
    }
}

/// Objects asked for per page (medallion, for one, refuses `next` without a `limit`).
const PAGE_LIMIT: &str = "100";

/// One page of the feed's collection; `None` when the server says there is nothing (404/204).
async fn fetch(
    client: &reqwest::Client,
    feed: &Feed,
    base: &str,
    added_after: Option<&str>,
    next: Option<&str>,
) -> anyhow::Result<Option<Page>> {
    let mut rb = client.get(base).header(reqwest::header::ACCEPT, ACCEPT).query(&[("limit", PAGE_LIMIT)]);
    if let Some(a) = added_after {
        rb = rb.query(&[("added_after", a)]);
    }
    if let Some(n) = next {
        rb = rb.query(&[("next", n)]);
    }
    rb = match (&feed.token, &feed.username) {
        (Some(t), _) => rb.bearer_auth(t),
        (None, Some(u)) => rb.basic_auth(u, feed.password.as_deref()),
        _ => rb,
    };
    let resp = rb.send().await.with_context(|| format!("GET {base}"))?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND || resp.status() == reqwest::StatusCode::NO_CONTENT {
        return Ok(None);
    }
    if !resp.status().is_success() {
        anyhow::bail!("GET {base}: {}", resp.status());
    }
    let last = resp.headers().get("X-TAXII-Date-Added-Last").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body: Value = resp.json().await.context("the page is not JSON")?;
    Ok(Some(Page {
        objects: body.get("objects").and_then(Value::as_array).cloned().unwrap_or_default(),
        more: body.get("more").and_then(Value::as_bool).unwrap_or(false),
        next: body.get("next").and_then(Value::as_str).map(str::to_string),
        date_added_last: last,
    }))
}

/// The feed's markings join the object's own: releasability markings intersect, so this only
/// narrows who receives it.
fn add_markings(o: &mut Value, markings: &[String]) {
    if markings.is_empty() {
        return;
    }
    let Some(map) = o.as_object_mut() else { return };
    let refs = map.entry("object_marking_refs").or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(a) = refs {
        for m in markings {
            if !a.iter().any(|x| x.as_str() == Some(m)) {
                a.push(Value::String(m.clone()));
            }
        }
    }
}
