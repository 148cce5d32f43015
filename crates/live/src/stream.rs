//! `GET /api/tandem/stream/`: one task per connection reads the feed for its caller and fills a
//! bounded buffer that the SSE body drains (see the crate doc for the contract).

use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::json;
use tandem_model::Timestamp;
use tandem_policy::{Classification, Roster, Viewer};
use tandem_store::ViewContext;
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, Principal, TaxiiError};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::SendTimeoutError;

use crate::feed::read_batch;
use crate::{FeedSignal, LiveConfig, StreamFilter};

pub(crate) struct Shared {
    feed: FeedSignal,
    config: LiveConfig,
    zones: crate::alerts::ZoneCache,
    reads: ReadShare,
    /// Seals webhook secrets before a zone is stored.
    pub(crate) secrets: Arc<tandem_store::sealed::SealKey>,
}

/// Connections that would make the same read at the same time (same member, clearance,
/// roster snapshot, cursor, types) share it: a write wakes every connection at once, and most
/// are at the same cursor. A shared batch is exactly what each would have read (decided for
/// that viewer and roster snapshot, bounded by the feed position when it started).
#[derive(Default)]
struct ReadShare {
    inflight: std::sync::Mutex<std::collections::HashMap<ReadKey, SharedRead>>,
}

/// (member, clearance, roster snapshot, cursor, types, the feed signal the reader saw): a
/// connection woken by a write never joins a read that started before it (it would miss the
/// write and then sleep until the next poll).
type ReadKey = (String, Classification, usize, Option<Timestamp>, Vec<String>, Option<Timestamp>);
type SharedRead = Arc<tokio::sync::OnceCell<Result<Arc<ReadBatch>, String>>>;

/// A batch with each item's event data serialised once, for every connection sharing it (a
/// thousand connections woken by one write would otherwise serialise each object a thousand
/// times).
struct ReadBatch {
    batch: crate::Batch,
    data: Vec<String>,
    /// The release epoch ([`tandem_store::RELEASE_EPOCH_KEY`]) read just before the batch: the
    /// batch reflects at least what that epoch releases.
    release_epoch: Option<serde_json::Value>,
}

impl ReadShare {
    fn cell(&self, key: ReadKey) -> SharedRead {
        let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(key).or_default())
    }

    /// Forgets a finished read: only reads in flight at the same time are shared, so a read
    /// that starts after a write always sees it.
    fn forget(&self, key: &ReadKey, cell: &SharedRead) {
        let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(key).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            map.remove(key);
        }
    }
}

/// The stream's routes (with and without the trailing slash), to merge before the audit layer.
/// `secrets` is the node's secrets key (webhook secrets are stored sealed with it).
pub fn router(
    state: AppState,
    feed: FeedSignal,
    config: LiveConfig,
    secrets: Arc<tandem_store::sealed::SealKey>,
) -> Router {
    let root = format!("/{}/tandem", state.config.api_root.trim_matches('/'));
    let base = format!("{root}/stream");
    let zones = format!("{root}/watch-zones");
    let alerts = format!("{root}/alerts");
    Router::new()
        .route(&base, get(stream))
        .route(&format!("{base}/"), get(stream))
        .route(&zones, get(crate::http::list_zones).post(crate::http::create_zone))
        .route(&format!("{zones}/"), get(crate::http::list_zones).post(crate::http::create_zone))
        .route(
            &format!("{zones}/{{id}}"),
            axum::routing::delete(crate::http::delete_zone).patch(crate::http::update_zone),
        )
        .route(
            &format!("{zones}/{{id}}/"),
            axum::routing::delete(crate::http::delete_zone).patch(crate::http::update_zone),
        )
        .route(&format!("{root}/webhooks/deliveries"), get(crate::http::list_deliveries))
        .route(&format!("{root}/webhooks/deliveries/"), get(crate::http::list_deliveries))
        .route(&alerts, get(crate::http::list_alerts))
        .route(&format!("{alerts}/"), get(crate::http::list_alerts))
        .layer(Extension(Arc::new(Shared {
            feed,
            config,
            zones: Default::default(),
            reads: Default::default(),
            secrets,
        })))
        .with_state(state)
}

fn snapshot(roster: &RwLock<Arc<Roster>>) -> Arc<Roster> {
    match roster.read() {
        Ok(r) => Arc::clone(&r),
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    }
}

fn epoch() -> Timestamp {
    Timestamp::from_micros(0)
}

async fn stream(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Extension(shared): Extension<Arc<Shared>>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, TaxiiError> {
    let Query(pairs) = query.map_err(|_| TaxiiError::BadRequest("the query string does not parse".into()))?;
    let filter = StreamFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|k| TaxiiError::BadRequest(format!("unknown stream parameter {k:?}")))?;
    // Last-Event-ID wins: a browser reconnects with the URL it first used (and its old `after`).
    let given = match headers.get("last-event-id") {
        Some(v) => {
            Some(v.to_str().map_err(|_| TaxiiError::BadRequest("Last-Event-ID is not text".into()))?.to_string())
        }
        None => pairs.iter().find(|(k, _)| k == "after").map(|(_, v)| v.clone()),
    };
    let given = given
        .map(|s| Timestamp::parse(s.trim()))
        .transpose()
        .map_err(|_| TaxiiError::BadRequest("the cursor (Last-Event-ID or after) must be an event id".into()))?;
    let store = Arc::clone(&state.store);
    // The release epoch first: a change after it is a `reset` (the head may already show it).
    let (release_epoch, head) = tokio::task::spawn_blocking(move || -> Result<_, tandem_store::StoreError> {
        Ok((store.get_meta(tandem_store::RELEASE_EPOCH_KEY)?, store.feed_position()?))
    })
    .await?
    .map_err(TaxiiError::from)?;
    let head_or_epoch = head.unwrap_or_else(epoch);
    let (start, reset) = match given {
        Some(c) if c > head_or_epoch => (head_or_epoch, true),
        Some(c) => (c, false),
        None => (head_or_epoch, false),
    };
    tandem_taxii::audit::detail("after", start.to_string());
    let (tx, rx) = mpsc::channel::<Event>(shared.config.buffer.max(1));
    if reset {
        let data = json!({"reason": "cursor-ahead", "cursor": start});
        let _ = tx.try_send(Event::default().event("reset").id(start.to_string()).data(data.to_string()));
    }
    // The roster the connection was opened under: a change from it is a `reset`.
    let opened_under = snapshot(&state.roster);
    let opened = Opened { start, roster: opened_under, release_epoch };
    tokio::spawn(produce(state.clone(), Arc::clone(&shared), p.clone(), filter, opened, tx));
    let roster = Arc::clone(&state.roster);
    let member = p.member;
    // Checked as each event leaves: a member suspended after an event was buffered still
    // receives nothing more.
    let body = futures_util::stream::unfold(rx, move |mut rx| {
        let roster = Arc::clone(&roster);
        let member = member.clone();
        async move {
            let event = rx.recv().await?;
            if !snapshot(&roster).is_active(&member) {
                return None;
            }
            Some((Ok::<Event, Infallible>(event), rx))
        }
    });
    let keep_alive = KeepAlive::new().interval(shared.config.heartbeat).text("heartbeat");
    Ok(Sse::new(body).keep_alive(keep_alive).into_response())
}

/// Where a connection starts, and the roster and release epoch it was opened under (a change
/// from either is a `reset`).
struct Opened {
    start: Timestamp,
    roster: Arc<Roster>,
    release_epoch: Option<serde_json::Value>,
}

/// Why the producer stopped (logged only).
enum Stop {
    Gone,
    Slow,
    Inactive,
    Failed,
}

async fn send(tx: &mpsc::Sender<Event>, event: Event, grace: std::time::Duration) -> Result<(), Stop> {
    match tx.send_timeout(event, grace).await {
        Ok(()) => Ok(()),
        Err(SendTimeoutError::Timeout(_)) => Err(Stop::Slow),
        Err(SendTimeoutError::Closed(_)) => Err(Stop::Gone),
    }
}

async fn produce(
    state: AppState,
    shared: Arc<Shared>,
    p: Principal,
    filter: StreamFilter,
    opened: Opened,
    tx: mpsc::Sender<Event>,
) {
    let stop = run(&state, &shared, &p, &filter, opened, &tx).await;
    let why = match stop {
        Stop::Gone => "consumer gone",
        Stop::Slow => "slow consumer dropped (it resumes from its last event id)",
        Stop::Inactive => "member no longer active",
        Stop::Failed => "store read failed",
    };
    tracing::debug!(user = %p.user, member = %p.member, why, "stream closed");
}

async fn run(
    state: &AppState,
    shared: &Arc<Shared>,
    p: &Principal,
    filter: &StreamFilter,
    opened: Opened,
    tx: &mpsc::Sender<Event>,
) -> Stop {
    let Opened { start, roster: opened_under, release_epoch: mut last_epoch } = opened;
    let cfg = &shared.config;
    let mut feed = shared.feed.clone();
    let collections: Vec<String> =
        state.config.collections.iter().filter(|c| c.can_read).map(|c| c.id.clone()).collect();
    let types = filter.types.clone();
    let mut cursor = Some(start);
    let mut last_roster = opened_under;
    loop {
        // Marked seen before reading: a write landing during the read wakes the next round.
        let seen = *feed.borrow_and_update();
        let roster = snapshot(&state.roster);
        if !roster.is_active(&p.member) {
            return Stop::Inactive;
        }
        if !Arc::ptr_eq(&last_roster, &roster) && *last_roster != *roster {
            let at = cursor.unwrap_or_else(epoch);
            let data = json!({"reason": "roster-changed", "cursor": at});
            if let Err(s) =
                send(tx, Event::default().event("reset").id(at.to_string()).data(data.to_string()), cfg.slow_grace)
                    .await
            {
                return s;
            }
        }
        last_roster = Arc::clone(&roster);
        let ctx = ViewContext { viewer: Viewer { member: p.member.clone(), clearance: p.clearance }, roster };
        let key: ReadKey =
            (p.member.clone(), p.clearance, Arc::as_ptr(&ctx.roster) as usize, cursor, types.clone(), seen);
        let cell = shared.reads.cell(key.clone());
        let (store, c2, cols, tys, page) =
            (Arc::clone(&state.store), ctx.clone(), collections.clone(), types.clone(), cfg.page);
        let zones_of = Arc::clone(shared);
        let batch = cell
            .get_or_init(|| async move {
                let read = move || {
                    // Zones reloaded (if one changed) once per shared read, not per connection.
                    zones_of.zones.refresh(&*store)?;
                    let release_epoch = store.get_meta(tandem_store::RELEASE_EPOCH_KEY)?;
                    read_batch(&*store, &c2, &cols, cursor, &tys, page).map(|batch| {
                        let data = batch.items.iter().map(|i| i.to_json().to_string()).collect();
                        ReadBatch { batch, data, release_epoch }
                    })
                };
                match tokio::task::spawn_blocking(read).await {
                    Ok(Ok(b)) => Ok(Arc::new(b)),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            })
            .await
            .clone();
        shared.reads.forget(&key, &cell);
        let ready = match batch {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "stream read failed");
                return Stop::Failed;
            }
        };
        // The caller's own zones as the shared read refreshed them, evaluated in the caller's
        // own view: no store access and no blocking task for a user without zones.
        let set = shared.zones.cached_for_owner(&p.user);
        let store = Arc::clone(&state.store);
        let b2 = Arc::clone(&ready);
        let collections = collections.clone();
        let read = async move {
            if set.is_empty() {
                return Ok(Ok(vec![Vec::new(); b2.batch.items.len()]));
            }
            tokio::task::spawn_blocking(move || -> Result<_, tandem_store::StoreError> {
                let mut alerts = Vec::with_capacity(b2.batch.items.len());
                let mut history = crate::near_repeat::History::default();
                for item in &b2.batch.items {
                    let hits = match item {
                        crate::Item::Version { collection, record } => crate::alerts::evaluate(
                            &*store,
                            &ctx,
                            &collections,
                            collection,
                            record,
                            &set,
                            &mut history,
                        )?
                        .iter()
                        .map(|h| crate::alerts::alert_json(&set.zones[h.zone], h, collection, record))
                        .collect(),
                        crate::Item::Deletion { .. } => Vec::new(),
                    };
                    alerts.push(hits);
                }
                Ok(alerts)
            })
            .await
        };
        let alerts: Vec<Vec<serde_json::Value>> = match read.await {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "stream alert evaluation failed");
                return Stop::Failed;
            }
            Err(e) => {
                tracing::error!(error = %e, "stream alert evaluation task failed");
                return Stop::Failed;
            }
        };
        if ready.release_epoch != last_epoch {
            // A marking arrived late (or another release change without a new version): older
            // versions may now be released to this caller, as after a roster change.
            last_epoch = ready.release_epoch.clone();
            let at = cursor.unwrap_or_else(epoch);
            let data = json!({"reason": "release-changed", "cursor": at});
            if let Err(s) =
                send(tx, Event::default().event("reset").id(at.to_string()).data(data.to_string()), cfg.slow_grace)
                    .await
            {
                return s;
            }
        }
        let batch = &ready.batch;
        for ((item, data), hits) in batch.items.iter().zip(&ready.data).zip(&alerts) {
            let zone_ids: Vec<String> = hits.iter().filter_map(|h| h["zone"].as_str().map(String::from)).collect();
            if !filter.passes(item, &zone_ids) {
                continue;
            }
            // Alerts go first and carry no id (an SSE event without one leaves the resume
            // cursor where it was): a disconnect between an alert and its version repeats the
            // alert on resume, never loses it. An alert names (zone, incident, version) to
            // de-duplicate by.
            for h in hits {
                if let Err(s) = send(tx, Event::default().event("alert").data(h.to_string()), cfg.slow_grace).await {
                    return s;
                }
            }
            let event = Event::default().event(item.kind()).id(item.position().to_string()).data(data);
            if let Err(s) = send(tx, event, cfg.slow_grace).await {
                return s;
            }
        }
        cursor = batch.scanned;
        if batch.more {
            continue;
        }
        tokio::select! {
            changed = feed.changed() => {
                if changed.is_err() {
                    // No writer signals any more (shutting down): fall back to polling.
                    tokio::time::sleep(cfg.poll).await;
                }
            }
            _ = tokio::time::sleep(cfg.poll) => {}
            _ = tx.closed() => return Stop::Gone,
        }
    }
}
