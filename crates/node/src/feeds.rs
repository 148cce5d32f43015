//! Subscriptions to external TAXII 2.1 collections (an OpenCTI or medallion server): each feed
//! is a meta key `interop/feed/<name>` holding its collection URL, credentials, the markings
//! added to what comes in (its releasability mapping: markings only narrow), its polling
//! interval and its persisted cursor (`tandem_interop::feed`). `tandem feed add|list|remove`
//! edits them; the running node polls them ([`run`]) and stores what arrives through the one
//! ingest pipeline as the node's member, so federation signs and replicates it like any import.
//! The password and token are stored sealed with the node's secrets key
//! ([`tandem_store::sealed`]), opened only to authenticate a request.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_interop::feed::{Cursor, Page, Round, Step, take};
use tandem_store::Store;
use tandem_store::sealed::{self, SealKey};
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

/// The associated data a feed's credential is sealed with (`password` or `token`).
fn seal_context(name: &str, field: &str) -> String {
    format!("{PREFIX}{name}/{field}")
}

/// Seals the feed's password and token where they are in clear.
fn seal(feed: &mut Feed, secrets: &SealKey) -> anyhow::Result<()> {
    let name = feed.name.clone();
    for (field, value) in [("password", &mut feed.password), ("token", &mut feed.token)] {
        if let Some(v) = value
            && !sealed::is_sealed(v)
        {
            *v = secrets.seal(&seal_context(&name, field), v)?;
        }
    }
    Ok(())
}

/// Stores `feed` with its credentials sealed.
pub fn save(store: &dyn Store, secrets: &SealKey, feed: &Feed) -> anyhow::Result<()> {
    let mut feed = feed.clone();
    seal(&mut feed, secrets)?;
    Ok(store.put_meta(&key(&feed.name), Some(&serde_json::to_value(&feed)?))?)
}

/// The feed's credentials in clear: (password, token).
fn credentials(feed: &Feed, secrets: &SealKey) -> anyhow::Result<(Option<String>, Option<String>)> {
    let open = |field: &str, v: &Option<String>| -> anyhow::Result<Option<String>> {
        Ok(v.as_deref().map(|v| secrets.open(&seal_context(&feed.name, field), v)).transpose()?)
    };
    Ok((open("password", &feed.password)?, open("token", &feed.token)?))
}

/// Seals the credentials of every feed still stored in clear (by a version before sealing),
/// each by compare-and-set; checks that the sealed ones open (a wrong key file is named at
/// start). Returns how many feeds it sealed.
pub fn seal_stored(store: &dyn Store, secrets: &SealKey) -> anyhow::Result<usize> {
    let mut sealed_now = 0;
    let mut unopened = None;
    for (k, v) in store.list_meta(PREFIX)? {
        let mut feed: Feed =
            serde_json::from_value(v.clone()).with_context(|| format!("meta key {k} is not a feed"))?;
        let clear = [&feed.password, &feed.token].into_iter().flatten().any(|v| !sealed::is_sealed(v));
        if !clear {
            if let Err(e) = credentials(&feed, secrets) {
                unopened.get_or_insert(e.context(format!("feed {}", feed.name)));
            }
            continue;
        }
        seal(&mut feed, secrets)?;
        if store.cas_meta(&k, Some(&v), Some(&serde_json::to_value(&feed)?))? {
            sealed_now += 1;
        }
    }
    match unopened {
        Some(e) => Err(e),
        None => Ok(sealed_now),
    }
}

pub fn remove(store: &dyn Store, name: &str) -> anyhow::Result<bool> {
    let existed = store.get_meta(&key(name))?.is_some();
    store.put_meta(&key(name), None)?;
    Ok(existed)
}

/// Polls every feed when its interval has passed, forever (until `stop` turns true), with `client`
/// (the node's outbound client, [`crate::outbound`]).
pub async fn run(
    store: Arc<dyn Store>,
    ingest: Ingest,
    collection: String,
    member: String,
    secrets: Arc<SealKey>,
    client: reqwest::Client,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut due: std::collections::HashMap<String, tokio::time::Instant> = Default::default();
    loop {
        let feeds = {
            let store = Arc::clone(&store);
            tokio::task::spawn_blocking(move || list(store.as_ref())).await
        };
        match feeds {
            Ok(Ok(feeds)) => {
                // A removed feed neither wakes the loop nor keeps its schedule.
                due.retain(|name, _| feeds.iter().any(|f| &f.name == name));
                for feed in feeds {
                    let now = tokio::time::Instant::now();
                    if due.get(&feed.name).is_some_and(|t| *t > now) {
                        continue;
                    }
                    due.insert(feed.name.clone(), now + Duration::from_secs(feed.interval_secs.max(1)));
                    let name = feed.name.clone();
                    match poll(&client, &store, &ingest, &collection, &member, &secrets, feed).await {
                        Ok(summary) => tracing::info!(feed = %name, %summary, "feed polled"),
                        Err(e) => tracing::warn!(feed = %name, error = %format!("{e:#}"), "feed poll failed"),
                    }
                }
            }
            Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "feeds: reading subscriptions"),
            Err(e) => tracing::error!(error = %e, "feeds: reading subscriptions"),
        }
        // Asleep until the next feed is due; the subscriptions are re-read at least every
        // `FEEDS_RELIST`, which is how one added or removed by `tandem feed add` is seen.
        let relist = tokio::time::Instant::now() + FEEDS_RELIST;
        let wake = due.values().copied().min().map_or(relist, |t| t.min(relist));
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The longest a new subscription waits for its first poll (`tandem feed add` writes it from
/// another process).
const FEEDS_RELIST: Duration = Duration::from_secs(10);

/// One round of one feed: pages until the cursor says done, each page stored, then the cursor
/// saved (compare-and-set on the meta key: a feed removed meanwhile stays removed).
pub async fn poll(
    client: &reqwest::Client,
    store: &Arc<dyn Store>,
    ingest: &Ingest,
    collection: &str,
    member: &str,
    secrets: &SealKey,
    mut feed: Feed,
) -> anyhow::Result<String> {
    let auth = credentials(&feed, secrets).with_context(|| format!("feed {}'s credentials", feed.name))?;
    let (mut stored, mut unchanged, mut rejected) = (0u64, 0u64, 0u64);
    let base = format!("{}/objects/", feed.collection_url.trim_end_matches('/'));
    let mut next: Option<String> = None;
    let mut round_after = feed.cursor.added_after.clone();
    let mut round = Round::default();
    let mut failure: Option<anyhow::Error> = None;
    for _ in 0..MAX_PAGES {
        let page = match fetch(client, &feed, &auth, &base, round_after.as_deref(), next.as_deref()).await {
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
    (password, token): &(Option<String>, Option<String>),
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
    rb = match (token, &feed.username) {
        (Some(t), _) => rb.bearer_auth(t),
        (None, Some(u)) => rb.basic_auth(u, password.as_deref()),
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use serde_json::json;
    use tandem_store::sealed::SealKey;
    use tandem_store::{SqliteStore, Store};

    use super::*;

    const PASSWORD: &str = "feeder-password-not-in-the-db";

    /// A loopback TAXII collection that answers only Basic `feeder:PASSWORD`, with one indicator.
    async fn server(seen: Arc<Mutex<Vec<Option<String>>>>) -> String {
        let expected = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("feeder:{PASSWORD}"))
        );
        let app = axum::Router::new().route(
            "/taxii/c1/collections/c1/objects/",
            axum::routing::get(move |headers: HeaderMap| {
                let (seen, expected) = (Arc::clone(&seen), expected.clone());
                async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
                    seen.lock().unwrap().push(auth.clone());
                    if auth.as_deref() != Some(expected.as_str()) {
                        return StatusCode::UNAUTHORIZED.into_response();
                    }
                    let t = "2025-06-01T00:00:00.000Z";
                    let body = json!({"more": false, "objects": [{
                        "type": "indicator", "spec_version": "2.1",
                        "id": "indicator--6b0b9c4e-7d1f-4a57-9d4b-7a2f3d1c9e01",
                        "created": t, "modified": t, "valid_from": t, "name": "from the feed",
                        "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix"}]});
                    ([("content-type", "application/taxii+json;version=2.1")], body.to_string()).into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/taxii/c1/collections/c1/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    /// The password is stored sealed (not in the database's bytes), opened to authenticate,
    /// after a restart (the key file read again) too; a clear one from before is sealed at start.
    #[tokio::test]
    async fn a_feed_password_is_sealed_at_rest_and_still_authenticates() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let url = server(Arc::clone(&seen)).await;
        let feed = Feed {
            name: "medallion".into(),
            collection_url: url,
            username: Some("feeder".into()),
            password: Some(PASSWORD.into()),
            token: None,
            markings: vec![],
            interval_secs: 60,
            cursor: Default::default(),
            last_round: None,
        };
        save(&*store, &SealKey::load_or_create(dir.path()).unwrap(), &feed).unwrap();
        let stored = list(&*store).unwrap().remove(0);
        assert!(stored.password.as_deref().is_some_and(sealed::is_sealed), "{stored:?}");
        // A restart: the key is read from its file again.
        let key = SealKey::load(dir.path()).unwrap();
        let client = reqwest::Client::new();
        let ingest = Ingest::new(Arc::clone(&store));
        let summary = poll(&client, &store, &ingest, "c-intel", "USA", &key, stored).await.unwrap();
        assert!(summary.starts_with("stored 1,"), "{summary}");
        assert_eq!(seen.lock().unwrap().len(), 1);
        // The round's cursor was saved; the password stays sealed, and no file but the key
        // holds it.
        let after = list(&*store).unwrap().remove(0);
        assert!(after.password.as_deref().is_some_and(sealed::is_sealed) && after.last_round.is_some());
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.ends_with(sealed::FILE) || !path.is_file() {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            assert!(!bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()), "{}", path.display());
        }

        // A clear password from an older version: sealed at start, and still authenticates.
        let mut clear = feed.clone();
        clear.name = "older".into();
        store.put_meta(&super::key("older"), Some(&serde_json::to_value(&clear).unwrap())).unwrap();
        assert_eq!(seal_stored(&*store, &key).unwrap(), 1);
        assert_eq!(seal_stored(&*store, &key).unwrap(), 0, "once");
        let older = list(&*store).unwrap().into_iter().find(|f| f.name == "older").unwrap();
        assert!(older.password.as_deref().is_some_and(sealed::is_sealed));
        poll(&client, &store, &ingest, "c-intel", "USA", &key, older.clone()).await.unwrap();
        assert_eq!(seen.lock().unwrap().len(), 2);

        // A wrong key file (lost and made anew): a clear error naming it, at start and at a poll.
        let other = tempfile::tempdir().unwrap();
        let wrong = SealKey::load_or_create(other.path()).unwrap();
        let err = format!("{:#}", seal_stored(&*store, &wrong).unwrap_err());
        assert!(err.contains(sealed::FILE), "{err}");
        let err = format!("{:#}", poll(&client, &store, &ingest, "c-intel", "USA", &wrong, older).await.unwrap_err());
        assert!(err.contains(sealed::FILE), "{err}");
        assert_eq!(seen.lock().unwrap().len(), 2, "nothing sent without the credentials");
    }
}
