//! Webhooks per zone: every alert of a zone with a webhook is put in a durable outbox (meta keys
//! `live/outbox/<alert>`, inserted if absent in the same transaction as the alert itself, so
//! a crash neither loses nor doubles a delivery) and POSTed by the
//! delivery worker, signed with HMAC-SHA256 over `<timestamp>.<body>` in
//! `X-Tandem-Signature: sha256=<hex>` (the timestamp, Unix seconds, in `X-Tandem-Timestamp`),
//! retried with exponential backoff, and dead-lettered after the last attempt. Each entry keeps
//! its delivery log (attempts, status, last error), served at
//! `GET /api/tandem/webhooks/deliveries/` and by `tandem watch deliveries`.
//!
//! The body is the alert with the incident re-read in the zone owner's view at delivery time:
//! an incident the owner may no longer see is not sent (status `withheld`).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tandem_model::Timestamp;
use tandem_policy::Viewer;
use tandem_store::sealed::{self, SealError, SealKey};
use tandem_store::{ObjectQuery, Store, StoreError, VersionFilter, ViewContext};

/// Meta-key prefix of the outbox.
pub const PREFIX: &str = "live/outbox/";

/// Where a zone's alerts are POSTed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    /// The shared secret of the signature, stored sealed ([`seal`]; never served back:
    /// listings show `"***"`).
    pub secret: String,
}

/// Retry schedule.
#[derive(Debug, Clone)]
pub struct Retry {
    pub attempts: u32,
    pub base: Duration,
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { attempts: 8, base: Duration::from_secs(2), timeout: Duration::from_secs(10) }
    }
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.iter().map(|b| b ^ 0x36).collect::<Vec<u8>>());
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.iter().map(|b| b ^ 0x5c).collect::<Vec<u8>>());
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The `X-Tandem-Signature` value for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mac = hmac_sha256(secret.as_bytes(), format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", mac.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// An alert's delivery as an outbox entry (key, value), keyed by the alert, or `None` when
/// the zone has no webhook. The alerter inserts it if absent in the same transaction as the
/// alert itself, so the entry is durable as soon as the alert is visible, and once.
pub fn outbox_entry(alert_key: &str, alert: &Value, zone: &crate::zones::Zone) -> Option<(String, Value)> {
    let hook = zone.webhook.as_ref()?;
    let suffix = alert_key.trim_start_matches(crate::alerts::PREFIX);
    let entry = json!({
        "alert": alert, "zone": zone.id, "owner": zone.owner, "member": zone.member, "clearance": zone.clearance,
        "url": hook.url, "status": "pending", "attempts": 0, "next_at": Timestamp::now(),
        "last_status": null, "last_error": null, "log": [],
    });
    Some((format!("{PREFIX}{suffix}"), entry))
}

/// The associated data a zone's webhook secret is sealed with: a sealed secret opens only in
/// the zone it was sealed for.
fn seal_context(zone_id: &str) -> String {
    format!("{}{zone_id}/webhook", crate::zones::PREFIX)
}

/// Seals the zone's webhook secret (if it is not sealed yet) before the zone is stored.
pub fn seal(zone: &mut crate::zones::Zone, key: &SealKey) -> Result<(), SealError> {
    if let Some(w) = &mut zone.webhook
        && !sealed::is_sealed(&w.secret)
    {
        w.secret = key.seal(&seal_context(&zone.id), &w.secret)?;
    }
    Ok(())
}

/// The zone's webhook secret in clear (`None`: no webhook).
pub fn secret(zone: &crate::zones::Zone, key: &SealKey) -> Result<Option<String>, SealError> {
    zone.webhook.as_ref().map(|w| key.open(&seal_context(&zone.id), &w.secret)).transpose()
}

/// Seals every webhook secret still stored in clear (by a version before sealing), each by
/// compare-and-set of its zone; returns how many. A node runs it at start.
/// Every secret sealed already is opened too, so a wrong key file is named at start (after
/// the clear ones were sealed).
pub fn seal_stored(store: &dyn Store, key: &SealKey) -> Result<usize, SealedStoreError> {
    let mut sealed_now = 0;
    let mut unopened = None;
    for (k, v) in store.list_meta(crate::zones::PREFIX)? {
        let mut zone: crate::zones::Zone =
            serde_json::from_value(v.clone()).map_err(|e| StoreError::Corrupt(format!("{k}: {e}")))?;
        if zone.webhook.as_ref().is_none_or(|w| sealed::is_sealed(&w.secret)) {
            if let Err(e) = secret(&zone, key) {
                unopened.get_or_insert(e);
            }
            continue;
        }
        seal(&mut zone, key)?;
        let next = serde_json::to_value(&zone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // A zone changed meanwhile is sealed at the next start (or was sealed by its writer).
        if store.cas_meta(&k, Some(&v), Some(&next))? {
            sealed_now += 1;
        }
    }
    match unopened {
        Some(e) => Err(e.into()),
        None => Ok(sealed_now),
    }
}

/// A store error or a secret that does not open.
#[derive(Debug, thiserror::Error)]
pub enum SealedStoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// One delivery attempt's body, or `None` when the owner may no longer see the incident.
fn body_for(
    store: &dyn Store,
    roster: Arc<tandem_policy::Roster>,
    entry: &Value,
) -> Result<Option<String>, StoreError> {
    let a = &entry["alert"];
    let clearance = serde_json::from_value(entry["clearance"].clone()).unwrap_or_default();
    let ctx = ViewContext {
        viewer: Viewer { member: entry["member"].as_str().unwrap_or_default().into(), clearance },
        roster,
    };
    let (Some(coll), Some(id), Some(version)) = (
        a["collection"].as_str(),
        a["incident"].as_str(),
        a["version"].as_str().and_then(|s| Timestamp::parse(s).ok()),
    ) else {
        return Ok(None);
    };
    let q = ObjectQuery {
        ids: vec![id.to_string()],
        versions: VersionFilter::Some { exact: vec![version], last: false, first: false },
        limit: 10,
        ..ObjectQuery::default()
    };
    let items = store.list(&ctx, coll, &q)?.items;
    let Some(r) = items.iter().find(|r| Some(r.originator.as_str()) == a["originator"].as_str()) else {
        return Ok(None);
    };
    let mut body = a.clone();
    body["incident_object"] = r.object.clone();
    Ok(Some(body.to_string()))
}

/// What one delivery pass did, and when the next one has work.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pass {
    /// Entries attempted (delivered, failed, withheld or dead-lettered).
    pub attempted: usize,
    /// The earliest retry time of the entries still pending, if any.
    pub next_due: Option<Timestamp>,
}

/// Delivers what is due, once.
pub async fn deliver_due(
    store: Arc<dyn Store>,
    roster: Arc<std::sync::RwLock<Arc<tandem_policy::Roster>>>,
    secrets: &(dyn Fn(&str) -> Result<Option<String>, String> + Sync),
    client: &reqwest::Client,
    retry: &Retry,
) -> Result<Pass, StoreError> {
    let s = Arc::clone(&store);
    let entries = tokio::task::spawn_blocking(move || s.list_meta(PREFIX))
        .await
        .map_err(|e| StoreError::Corrupt(e.to_string()))??;
    let now = Timestamp::now();
    let mut pass = Pass::default();
    for (key, entry) in entries {
        if entry["status"] != "pending" {
            continue;
        }
        if let Some(later) = entry["next_at"].as_str().and_then(|t| Timestamp::parse(t).ok()).filter(|t| *t > now) {
            pass.next_due = Some(pass.next_due.map_or(later, |n| n.min(later)));
            continue;
        }
        pass.attempted += 1;
        let snapshot = match roster.read() {
            Ok(r) => Arc::clone(&r),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        let (s, e) = (Arc::clone(&store), entry.clone());
        let body = tokio::task::spawn_blocking(move || body_for(&*s, snapshot, &e))
            .await
            .map_err(|e| StoreError::Corrupt(e.to_string()))??;
        let mut next = entry.clone();
        let attempts = entry["attempts"].as_u64().unwrap_or(0) + 1;
        next["attempts"] = json!(attempts);
        let (status, error): (Option<u16>, Option<String>) =
            match (body, secrets(entry["zone"].as_str().unwrap_or_default())) {
                (None, _) => {
                    next["status"] = json!("withheld");
                    (None, Some("the zone's owner may no longer see the incident".into()))
                }
                // The secret does not open (wrong or missing key file): retried, then dead.
                (_, Err(why)) => (None, Some(why)),
                (_, Ok(None)) => {
                    next["status"] = json!("dead");
                    (None, Some("the zone or its webhook was removed".into()))
                }
                (Some(body), Ok(Some(secret))) => {
                    let ts = now.as_micros() / 1_000_000;
                    let sent = client
                        .post(entry["url"].as_str().unwrap_or_default())
                        .timeout(retry.timeout)
                        .header("content-type", "application/json")
                        .header("x-tandem-timestamp", ts.to_string())
                        .header("x-tandem-signature", signature(&secret, ts, &body))
                        .body(body)
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => {
                            next["status"] = json!("delivered");
                            (Some(r.status().as_u16()), None)
                        }
                        Ok(r) => (Some(r.status().as_u16()), Some(format!("HTTP {}", r.status().as_u16()))),
                        Err(e) => (None, Some(error_chain(&e))),
                    }
                }
            };
        if next["status"] == "pending" {
            if attempts >= u64::from(retry.attempts) {
                next["status"] = json!("dead");
            } else {
                let backoff = retry.base.saturating_mul(1u32 << (attempts.min(16) as u32 - 1));
                let at = Timestamp::from_micros(now.as_micros() + backoff.as_micros() as i64);
                next["next_at"] = json!(at);
                pass.next_due = Some(pass.next_due.map_or(at, |n| n.min(at)));
            }
        }
        next["last_status"] = json!(status);
        next["last_error"] = json!(error);
        if let Some(log) = next["log"].as_array_mut() {
            log.push(json!({"at": now, "status": status, "error": error}));
        }
        let s = Arc::clone(&store);
        tokio::task::spawn_blocking(move || s.cas_meta(&key, Some(&entry), Some(&next)))
            .await
            .map_err(|e| StoreError::Corrupt(e.to_string()))??;
    }
    Ok(pass)
}

/// An error with its causes (`error sending request: ... invalid peer certificate: UnknownIssuer`):
/// the delivery log must say why, and reqwest's own message names only the URL.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// The delivery worker: delivers what is due until `stop` is set, with `client` (the node's
/// outbound client: its TLS roots decide which `https://` receivers are trusted). It sleeps
/// until the earliest retry is due, or `raised` rings (the alerter stored alerts, and their
/// outbox entries with them), and at most `idle` between passes: an idle node does no
/// webhook work at all.
#[allow(clippy::too_many_arguments)] // each is one independent input of the worker
pub async fn run_worker(
    store: Arc<dyn Store>,
    roster: Arc<std::sync::RwLock<Arc<tandem_policy::Roster>>>,
    key: Arc<SealKey>,
    client: reqwest::Client,
    retry: Retry,
    raised: Arc<tokio::sync::Notify>,
    idle: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // Zones are re-read only when one was created or removed (a node may hold many).
    let cache = Arc::new(crate::alerts::ZoneCache::default());
    loop {
        let (s, c) = (Arc::clone(&store), Arc::clone(&cache));
        let refreshed = tokio::task::spawn_blocking(move || c.refresh(&*s)).await;
        if !matches!(refreshed, Ok(Ok(()))) {
            tracing::error!("webhook worker could not read the zones");
        }
        let secrets = |zone: &str| {
            // Served from the cache just refreshed: no store read on the async thread.
            match cache.cached_zone(zone) {
                Some(z) => secret(&z, &key).map_err(|e| e.to_string()),
                None => Ok(None),
            }
        };
        let wait = match deliver_due(Arc::clone(&store), Arc::clone(&roster), &secrets, &client, &retry).await {
            Ok(Pass { next_due: Some(at), .. }) => until(at).min(idle),
            Ok(Pass { next_due: None, .. }) => idle,
            Err(e) => {
                tracing::error!(error = %e, "webhook delivery pass failed");
                FAILED_PASS_RETRY.min(idle)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            // A ring while the pass ran is kept (one permit), so no new entry waits for `idle`.
            _ = raised.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

/// How soon a pass that could not read the outbox is tried again.
const FAILED_PASS_RETRY: Duration = Duration::from_secs(1);

/// The time from now until `at` (zero when it has passed).
fn until(at: Timestamp) -> Duration {
    Duration::from_micros(u64::try_from(at.as_micros() - Timestamp::now().as_micros()).unwrap_or(0))
}

/// The outbox entries of `owner`'s zones (without the alert body), oldest first.
pub fn deliveries(store: &dyn Store, owner: Option<&str>) -> Result<Vec<Value>, StoreError> {
    Ok(store
        .list_meta(PREFIX)?
        .into_iter()
        .filter(|(_, e)| owner.is_none_or(|o| e["owner"].as_str() == Some(o)))
        .map(|(k, mut e)| {
            if let Some(m) = e.as_object_mut() {
                m.remove("alert");
                m.remove("clearance");
                m.insert("id".into(), json!(k.trim_start_matches(PREFIX)));
            }
            e
        })
        .collect())
}
