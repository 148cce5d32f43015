//! Alerts: an incident version matching a watch zone, decided in the zone owner's view.
//!
//! The stream raises `alert` events inline, right after the incident version they concern and
//! under the same event id (so a resume neither loses nor repeats one), for the caller's own
//! zones. The node's alerter ([`run_alerter`]) evaluates every zone against the feed in its
//! owner's view and persists one alert per (zone, incident version) under a meta key inserted
//! if absent (one transaction per pass, with the webhook outbox entries), so an alert is raised
//! once across restarts and processes,
//! for local and replicated writes alike (it reads the feed, which both fill). A stored alert
//! keeps only ids and the match; `GET /api/tandem/alerts/` re-reads the incident through
//! `Store::list` for the caller, so an alert never shows what its reader may not see now.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tandem_model::Timestamp;
use tandem_model::incident::{GeoPrecision, IncidentExt};
use tandem_policy::{Classification, Viewer};
use tandem_store::{ObjectQuery, Record, Store, StoreError, ViewContext};

use crate::near_repeat::{self, History, NearHit};
use crate::zones::{self, Geometry, IncidentPlace, Match, Zone, ZoneFilters, ZoneIndex};

/// Meta-key prefix of persisted alerts: `live/alert/<position>/<zone>`.
pub const PREFIX: &str = "live/alert/";
/// Meta key of the alerter's cursor: the feed position up to which alerts are stored.
pub const CURSOR_KEY: &str = "live/alerter/cursor";

/// Zones with their index.
#[derive(Debug, Default)]
pub struct ZoneSet {
    pub zones: Vec<Zone>,
    index: ZoneIndex,
}

impl ZoneSet {
    pub fn new(zones: Vec<Zone>) -> ZoneSet {
        let index = ZoneIndex::build(zones.iter().map(|z| z.geometry.clone()).collect());
        ZoneSet { zones, index }
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}

/// Every owner's zones with their index, and every view's (the zones of one member and
/// clearance, as the alerter evaluates them), reloaded only when [`zones::EPOCH_KEY`] moved: a
/// read costs one meta read, not a scan of every zone and a new index.
#[derive(Default)]
pub struct ZoneCache {
    inner: std::sync::Mutex<Option<(Option<Value>, Arc<Cached>)>>,
}

/// A zone owner's member and the clearance its zones are decided at.
type View = (String, Classification);

#[derive(Default)]
struct Cached {
    by_id: HashMap<String, Zone>,
    by_owner: HashMap<String, Arc<ZoneSet>>,
    by_view: Vec<(View, Arc<ZoneSet>)>,
}

impl ZoneCache {
    fn current(&self, store: &dyn Store) -> Result<Arc<Cached>, StoreError> {
        let epoch = store.get_meta(zones::EPOCH_KEY)?;
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((e, cached)) = &*guard
            && *e == epoch
        {
            return Ok(Arc::clone(cached));
        }
        let all = zones::list(store)?;
        let by_id = all.iter().map(|z| (z.id.clone(), z.clone())).collect();
        let mut by_owner: HashMap<String, Vec<Zone>> = HashMap::new();
        let mut by_view: HashMap<View, Vec<Zone>> = HashMap::new();
        for z in all {
            by_view.entry((z.member.clone(), z.clearance)).or_default().push(z.clone());
            by_owner.entry(z.owner.clone()).or_default().push(z);
        }
        let cached = Arc::new(Cached {
            by_id,
            by_owner: by_owner.into_iter().map(|(o, zs)| (o, Arc::new(ZoneSet::new(zs)))).collect(),
            by_view: by_view.into_iter().map(|(v, zs)| (v, Arc::new(ZoneSet::new(zs)))).collect(),
        });
        *guard = Some((epoch, Arc::clone(&cached)));
        Ok(cached)
    }

    /// `owner`'s zones (an empty set when it has none).
    pub fn for_owner(&self, store: &dyn Store, owner: &str) -> Result<Arc<ZoneSet>, StoreError> {
        Ok(self.current(store)?.by_owner.get(owner).cloned().unwrap_or_default())
    }

    /// `owner`'s zones as of the last read (no store access; empty before the first).
    pub fn cached_for_owner(&self, owner: &str) -> Arc<ZoneSet> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().and_then(|(_, c)| c.by_owner.get(owner).cloned()).unwrap_or_default()
    }

    /// Reloads the zones if one was created or removed since the last read.
    pub fn refresh(&self, store: &dyn Store) -> Result<(), StoreError> {
        self.current(store).map(|_| ())
    }

    /// The zone `id` as of the last read (no store access), if it exists.
    pub fn cached_zone(&self, id: &str) -> Option<Zone> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().and_then(|(_, c)| c.by_id.get(id).cloned())
    }

    /// Every view's zones.
    fn by_view(&self, store: &dyn Store) -> Result<Vec<(View, Arc<ZoneSet>)>, StoreError> {
        Ok(self.current(store)?.by_view.clone())
    }
}

/// The incident's place in `ctx`'s view: the point of its first location object the viewer may
/// see (a location withheld from it counts as absent: the place is then known to its
/// governorate only).
pub fn place_of(
    store: &dyn Store,
    ctx: &ViewContext,
    collection: &str,
    ext: &IncidentExt,
) -> Result<IncidentPlace, StoreError> {
    let mut point = None;
    if ext.place.precision != GeoPrecision::Admin && !ext.place.location_refs.is_empty() {
        let q = ObjectQuery { ids: ext.place.location_refs.clone(), limit: 10, ..ObjectQuery::default() };
        for r in store.list(ctx, collection, &q)?.items {
            let lat = r.object.get("latitude").and_then(Value::as_f64);
            let lon = r.object.get("longitude").and_then(Value::as_f64);
            if let (Some(lat), Some(lon)) = (lat, lon) {
                point = Some((lat, lon));
                break;
            }
        }
    }
    let precision = if point.is_some() { ext.place.precision } else { GeoPrecision::Admin };
    Ok(IncidentPlace { point, precision, admin1: ext.place.admin1.clone() })
}

/// Whether the incident passes a zone's filters.
pub fn passes(f: &ZoneFilters, ext: &IncidentExt) -> bool {
    if !f.event_types.is_empty() && !f.event_types.iter().any(|t| t.eq_ignore_ascii_case(&ext.event_type)) {
        return false;
    }
    if !f.cells.is_empty()
        && !ext.actors.iter().any(|a| {
            f.cells.iter().any(|c| {
                a.actor_ref.as_deref() == Some(c.as_str())
                    || a.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(c))
            })
        })
    {
        return false;
    }
    if let Some(min) = f.min_fatalities
        && ext.fatalities.as_ref().is_none_or(|c| c.best < min)
    {
        return false;
    }
    if let Some(g) = &f.min_grading {
        let mut chars = g.chars();
        let (Some(rel), Some(cred)) = (chars.next(), chars.next().and_then(|c| c.to_digit(10))) else {
            return false;
        };
        let rel = rel.to_ascii_uppercase();
        if !ext.sources.iter().any(|s| s.reliability.to_ascii_uppercase() <= rel && u32::from(s.credibility) <= cred) {
            return false;
        }
    }
    true
}

/// What an incident version raises for one zone: a zone match, or a near repeat of an earlier
/// incident (only for zones with the rule, and only when the incident matches the zone too).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index of the zone in its [`ZoneSet`].
    pub zone: usize,
    pub m: Match,
    pub near: Option<NearHit>,
}

impl Hit {
    /// The rule that raised it, as alerts name it.
    pub fn rule(&self) -> &'static str {
        if self.near.is_some() { "near-repeat" } else { "zone" }
    }
}

/// What the incident `record` (as `ctx` sees it) raises against the zones of `set`: each zone
/// it falls in or may fall in, and a near repeat for each such zone with the rule (`history`
/// holds the earlier incidents of the batch, read in the same view on first need).
pub fn evaluate(
    store: &dyn Store,
    ctx: &ViewContext,
    collections: &[String],
    collection: &str,
    record: &Record,
    set: &ZoneSet,
    history: &mut History,
) -> Result<Vec<Hit>, StoreError> {
    if set.is_empty() || record.object_type != "incident" {
        return Ok(Vec::new());
    }
    let Some(ext) = IncidentExt::from_object(&record.object) else { return Ok(Vec::new()) };
    let place = place_of(store, ctx, collection, &ext)?;
    let mut hits = Vec::new();
    let mut new = None;
    for (i, m) in set.index.matches(&place, &zones::governorate_box) {
        if !passes(&set.zones[i].filters, &ext) {
            continue;
        }
        hits.push(Hit { zone: i, m, near: None });
        let Some(rule) = &set.zones[i].near_repeat else { continue };
        let new = new.get_or_insert_with(|| near_repeat::occurrence(record, &ext, place.point));
        let Some(new) = new.as_ref() else { continue };
        let earlier = history.around(store, ctx, collections, record.date_added)?;
        if let Some(near) = near_repeat::nearest(new, earlier, rule) {
            hits.push(Hit { zone: i, m, near: Some(near) });
        }
    }
    Ok(hits)
}

/// The `alert` event data for a hit.
pub fn alert_json(zone: &Zone, hit: &Hit, collection: &str, record: &Record) -> Value {
    let mut v = json!({
        "zone": zone.id,
        "zone_name": zone.name,
        "rule": hit.rule(),
        "match": hit.m,
        "collection": collection,
        "incident": record.id,
        "version": record.version,
        "originator": record.originator,
        "position": record.date_added,
        "name": record.object.get("name"),
    });
    if let Some(near) = &hit.near {
        v["near"] = json!(near);
    }
    v
}

/// `live/alert/<position>/<zone>`, and `.../<zone>/near-repeat` for the zone's near repeat.
fn alert_key(position: Timestamp, zone: &str, hit: &Hit) -> String {
    match hit.near {
        None => format!("{PREFIX}{:020}/{zone}", position.as_micros()),
        Some(_) => format!("{PREFIX}{:020}/{zone}/near-repeat", position.as_micros()),
    }
}

/// One pass of the node's alerter: reads the feed after its persisted cursor in each zone
/// owner's view and persists new alerts. Returns the alerts it stored (their keys).
pub fn alert_pass(
    store: &dyn Store,
    roster: Arc<tandem_policy::Roster>,
    collections: &[String],
) -> Result<Vec<String>, StoreError> {
    alert_pass_with(store, roster, collections, &ZoneCache::default())
}

/// [`alert_pass`] with the zones (and their index) kept in `cache` between passes.
pub fn alert_pass_with(
    store: &dyn Store,
    roster: Arc<tandem_policy::Roster>,
    collections: &[String],
    cache: &ZoneCache,
) -> Result<Vec<String>, StoreError> {
    let cursor = store.get_meta(CURSOR_KEY)?;
    let after = cursor.as_ref().and_then(Value::as_str).and_then(|s| Timestamp::parse(s).ok());
    // One view per (member, clearance) of the zones' owners.
    let by_view = cache.by_view(store)?;
    // Every alert of the pass and its outbox entry, inserted if absent in one transaction.
    let mut writes: Vec<(String, Value)> = Vec::new();
    let mut is_alert: Vec<bool> = Vec::new();
    let mut next: Option<Timestamp> = None;
    let mut head = None;
    for ((member, clearance), set) in by_view {
        let ctx = ViewContext { viewer: Viewer { member, clearance }, roster: Arc::clone(&roster) };
        let b = crate::read_batch(store, &ctx, collections, after, &["incident".to_string()], 1000)?;
        head = b.head;
        let mut history = History::default();
        for item in &b.items {
            if let crate::Item::Version { collection, record } = item {
                for hit in evaluate(store, &ctx, collections, collection, record, &set, &mut history)? {
                    let zone = &set.zones[hit.zone];
                    let key = alert_key(record.date_added, &zone.id, &hit);
                    let mut v = json!({"zone": zone.id, "owner": zone.owner, "rule": hit.rule(), "match": hit.m,
                        "collection": collection, "incident": record.id, "version": record.version,
                        "originator": record.originator, "position": record.date_added, "raised": Timestamp::now()});
                    if let Some(near) = &hit.near {
                        v["near"] = json!(near);
                    }
                    if let Some(entry) = crate::webhooks::outbox_entry(&key, &v, zone) {
                        writes.push(entry);
                        is_alert.push(false);
                    }
                    writes.push((key, v));
                    is_alert.push(true);
                }
            }
        }
        next = match (next, b.scanned) {
            (Some(n), Some(s)) => Some(n.min(s)),
            (None, s) => s,
            (n, None) => n,
        };
    }
    // One commit for the whole pass (an fsync per alert was what dominated with many zones);
    // the cursor moves only after it, so a crash before redoes the pass and inserts nothing twice.
    let inserted = store.insert_meta_absent(&writes)?;
    let stored = writes
        .into_iter()
        .zip(inserted)
        .zip(is_alert)
        .filter(|((_, new), alert)| *new && *alert)
        .map(|(((key, _), _), _)| key)
        .collect();
    // With no zones, nothing can alert: move on to the head so zones created later alert on
    // what is new from then on.
    let next = next.or(if head.is_some() { head } else { store.feed_position()? });
    if let Some(n) = next
        && after.is_none_or(|a| n > a)
    {
        store.put_meta(CURSOR_KEY, Some(&Value::String(n.to_string())))?;
    }
    Ok(stored)
}

/// Runs [`alert_pass`] whenever the feed moves (and every `poll`), until `stop` is set; rings
/// `raised` after a pass stored alerts (the webhook worker delivers their outbox entries).
pub async fn run_alerter(
    state: tandem_taxii::AppState,
    mut feed: crate::FeedSignal,
    poll: std::time::Duration,
    raised: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let collections: Vec<String> =
        state.config.collections.iter().filter(|c| c.can_read).map(|c| c.id.clone()).collect();
    let cache = Arc::new(ZoneCache::default());
    loop {
        feed.borrow_and_update();
        let roster = match state.roster.read() {
            Ok(r) => Arc::clone(&r),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        let store = Arc::clone(&state.store);
        let cols = collections.clone();
        let cache = Arc::clone(&cache);
        match tokio::task::spawn_blocking(move || alert_pass_with(&*store, roster, &cols, &cache)).await {
            Ok(Ok(new)) if !new.is_empty() => {
                tracing::info!(alerts = new.len(), "watch-zone alerts raised");
                raised.notify_one();
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "alert pass failed"),
            Err(e) => tracing::error!(error = %e, "alert pass task failed"),
        }
        tokio::select! {
            _ = feed.changed() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// The caller's alerts, newest last, each with the incident as the caller may see it now;
/// alerts on an incident version it may no longer see are left out.
pub fn alerts_for(store: &dyn Store, ctx: &ViewContext, user: &str, limit: usize) -> Result<Vec<Value>, StoreError> {
    let mut out = Vec::new();
    for (_, a) in store.list_meta(PREFIX)? {
        if a.get("owner").and_then(Value::as_str) != Some(user) {
            continue;
        }
        let (Some(coll), Some(id), Some(version)) = (
            a.get("collection").and_then(Value::as_str),
            a.get("incident").and_then(Value::as_str),
            a.get("version").and_then(Value::as_str).and_then(|s| Timestamp::parse(s).ok()),
        ) else {
            continue;
        };
        let q = ObjectQuery {
            ids: vec![id.to_string()],
            versions: tandem_store::VersionFilter::Some { exact: vec![version], last: false, first: false },
            limit: 10,
            ..ObjectQuery::default()
        };
        let seen = store.list(ctx, coll, &q)?.items;
        if let Some(r) =
            seen.iter().find(|r| Some(r.originator.as_str()) == a.get("originator").and_then(Value::as_str))
        {
            let mut a = a.clone();
            a["incident_object"] = r.object.clone();
            out.push(a);
        }
    }
    let skip = out.len().saturating_sub(limit);
    Ok(out.split_off(skip))
}

/// Geometry of a zone for display (the stored ring of an area is the gazetteer's).
pub fn describe(g: &Geometry) -> &'static str {
    match g {
        Geometry::Polygon { .. } => "polygon",
        Geometry::Radius { .. } => "radius",
        Geometry::Governorate { .. } => "governorate",
        Geometry::Area { .. } => "area",
    }
}
