//! The glue between `tandem_interop`'s pure conversions and the node: converted objects go to
//! the one ingest pipeline ([`Sink`]), exports read `Store::list` as the caller
//! ([`export_csv`]). Shared by `tandem import|export --format` and the HTTP import and export
//! routes, so both take the same path into and out of the store.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;

use serde_json::Value;
use tandem_interop::stream::{StreamError, for_each_misp_event, for_each_stix_object};
use tandem_interop::{Planned, Report, acled};
use tandem_store::{ObjectQuery, Store, VersionFilter, ViewContext};
use tandem_taxii::Ingest;
use tandem_taxii::ingest::Outcome;

/// Converted objects on their way into the store, a batch at a time (bounded memory), each
/// remembered with the line or index and key of the record it came from so a refusal by the
/// pipeline is reported against that record.
pub struct Sink {
    ingest: Ingest,
    collection: String,
    member: String,
    dry_run: bool,
    batch_size: usize,
    pending: Vec<(u64, String, Value)>,
    pub report: Report,
}

impl Sink {
    pub fn new(ingest: Ingest, collection: &str, member: &str, dry_run: bool, batch_size: usize) -> Sink {
        Sink {
            ingest,
            collection: collection.to_string(),
            member: member.to_string(),
            dry_run,
            batch_size: batch_size.max(1),
            pending: Vec::new(),
            report: Report::default(),
        }
    }

    /// Queues one converted object from the record at `at` with key `key`.
    pub fn push(&mut self, at: u64, key: &str, object: Value) -> tandem_store::Result<()> {
        self.pending.push((at, key.to_string(), object));
        if self.pending.len() >= self.batch_size { self.flush() } else { Ok(()) }
    }

    /// Validates (dry run) or stores what is queued. A storage failure is the only error.
    pub fn flush(&mut self) -> tandem_store::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        if self.dry_run {
            for (at, key, object) in pending {
                match tandem_model::check_object(&object) {
                    Ok(o) => {
                        self.report.count("would_store", 1);
                        let planned =
                            Planned { at, key, id: o.id().to_string(), object_type: o.object_type().to_string() };
                        self.report.planned.push(planned);
                    }
                    Err(v) => {
                        let reason = v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                        self.report.reject(at, &key, reason);
                    }
                }
            }
            return Ok(());
        }
        let (records, objects): (Vec<(u64, String)>, Vec<Value>) =
            pending.into_iter().map(|(at, key, o)| ((at, key), o)).unzip();
        let summary = self.ingest.submit(&self.collection, &self.member, objects)?;
        for entry in summary.entries {
            let (at, key) = &records[entry.index];
            match entry.outcome {
                Outcome::Accepted { .. } => self.report.count("stored", 1),
                Outcome::Duplicate { .. } => self.report.count("unchanged", 1),
                Outcome::Rejected { reason, .. } => self.report.reject(*at, key, format!("{}: {reason}", entry.id)),
            }
        }
        Ok(())
    }
}

/// Imports an ACLED-style CSV: every row converted and queued, every bad row reported with its
/// line; never stops at a bad row.
pub fn import_csv(reader: impl Read, opts: &acled::import::Options, sink: &mut Sink) -> tandem_store::Result<()> {
    for row in acled::rows(reader) {
        sink.report.count("rows", 1);
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                sink.report.reject(e.line, "", e.reason);
                continue;
            }
        };
        let key = row.get("event_id_cnty").to_string();
        let mut report = std::mem::take(&mut sink.report);
        let converted = acled::import::row_to_stix(&row, opts, &mut report);
        sink.report = report;
        match converted {
            Ok(objects) => {
                for o in objects {
                    sink.push(row.line, &key, o)?;
                }
            }
            Err(reason) => sink.report.reject(row.line, &key, reason),
        }
    }
    sink.flush()
}

/// Revokes the incidents an ACLED-style deletions file names, reading each one's current version
/// as `ctx` (the importer's own claim) and storing its revocation through the sink.
pub fn import_deletions(
    reader: impl Read,
    store: &Arc<dyn Store>,
    ctx: &ViewContext,
    sink: &mut Sink,
) -> tandem_store::Result<()> {
    // Imported rows queued before the deletions must be stored before they can be revoked.
    sink.flush()?;
    let mut batch: Vec<(u64, String, String, i64)> = Vec::new();
    let mut rows = acled::rows(reader).peekable();
    while let Some(row) = rows.next() {
        sink.report.count("deletion_rows", 1);
        match row.map_err(|e| (e.line, e.reason)).and_then(|r| {
            acled::import::deletion(&r)
                .map(|d| (r.line, r.get("event_id_cnty").to_string(), d))
                .map_err(|e| (r.line, e))
        }) {
            Ok((line, key, (id, ts))) => batch.push((line, key, id, ts)),
            Err((line, reason)) => sink.report.reject(line, "", reason),
        }
        if batch.len() >= 500 || (rows.peek().is_none() && !batch.is_empty()) {
            let ids: Vec<String> = batch.iter().map(|(_, _, id, _)| id.clone()).collect();
            // Only the importer's own incidents: a revocation of another member's would be a
            // claim on its id, not a deletion.
            let member = sink.member.clone();
            let latest = latest_versions_of(store, ctx, &sink.collection.clone(), ids, |r| r.originator == member)?;
            for (line, key, id, ts) in std::mem::take(&mut batch) {
                match latest.get(&id).map(|o| acled::import::revocation(o, ts)) {
                    Some(Ok(revoked)) => {
                        sink.report.count("revocations", 1);
                        sink.push(line, &key, revoked)?;
                    }
                    Some(Err(reason)) => sink.report.reject(line, &key, reason),
                    None => sink.report.reject(line, &key, format!("no incident {id} is stored for this member")),
                }
            }
        }
    }
    sink.flush()
}

/// The latest version of each id that `ctx` may see.
fn latest_versions(
    store: &Arc<dyn Store>,
    ctx: &ViewContext,
    collection: &str,
    ids: Vec<String>,
) -> tandem_store::Result<HashMap<String, Value>> {
    latest_versions_of(store, ctx, collection, ids, |_| true)
}

/// The latest version of each id that `ctx` may see, of the records `keep` accepts.
fn latest_versions_of(
    store: &Arc<dyn Store>,
    ctx: &ViewContext,
    collection: &str,
    ids: Vec<String>,
    keep: impl Fn(&tandem_store::Record) -> bool,
) -> tandem_store::Result<HashMap<String, Value>> {
    let mut out = HashMap::new();
    let mut query = ObjectQuery { ids, versions: VersionFilter::Last, limit: 1000, ..Default::default() };
    loop {
        let page = store.list(ctx, collection, &query)?;
        for r in page.items.into_iter().filter(|r| keep(r)) {
            out.insert(r.id, r.object);
        }
        match page.next {
            Some(c) => query.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Writes every incident `ctx` may see as an ACLED-style CSV row, with its first location when
/// `ctx` may see that too; everything a row cannot hold goes into the returned report.
pub fn export_csv(
    store: &Arc<dyn Store>,
    ctx: &ViewContext,
    collection: &str,
    out: impl Write,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut w = acled::writer(out)?;
    let mut query =
        ObjectQuery { types: vec!["incident".into()], versions: VersionFilter::Last, limit: 500, ..Default::default() };
    loop {
        let page = store.list(ctx, collection, &query)?;
        let refs: Vec<String> = page
            .items
            .iter()
            .filter_map(|r| {
                r.object.pointer(&format!(
                    "/extensions/{}/place/location_refs/0",
                    tandem_model::incident::INCIDENT_EXTENSION_ID
                ))
            })
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let locations = if refs.is_empty() { HashMap::new() } else { latest_versions(store, ctx, collection, refs)? };
        for record in &page.items {
            // The position in the export (incidents read so far), for the report.
            let index = report.get("incidents_read");
            report.count("incidents_read", 1);
            if record.object.get("revoked").and_then(Value::as_bool) == Some(true) {
                report.count("revoked_skipped", 1);
                continue;
            }
            let first_ref = record
                .object
                .pointer(&format!(
                    "/extensions/{}/place/location_refs/0",
                    tandem_model::incident::INCIDENT_EXTENSION_ID
                ))
                .and_then(Value::as_str);
            match acled::export::incident_to_row(&record.object, first_ref.and_then(|r| locations.get(r)), &mut report)
            {
                Ok(row) => {
                    w.write_record(&row)?;
                    report.count("rows", 1);
                }
                Err(reason) => report.reject(index, &record.id, reason),
            }
        }
        match page.next {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    w.flush()?;
    Ok(report)
}

/// Why a JSON import stopped: the caller's input (a 4xx) or the store (a 5xx).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("not {format} JSON: {detail}")]
    Malformed { format: &'static str, detail: String },
    #[error(transparent)]
    Store(#[from] tandem_store::StoreError),
}

impl ImportError {
    fn of(format: &'static str, e: StreamError<tandem_store::StoreError>) -> ImportError {
        match e {
            StreamError::Stopped(e) => ImportError::Store(e),
            malformed @ StreamError::Malformed { .. } => {
                ImportError::Malformed { format, detail: malformed.to_string() }
            }
        }
    }
}

/// Imports a MISP JSON document (restSearch's `{"response": [...]}`, a list of events, or one
/// `{"Event": …}`), read one event at a time (`tandem_interop::stream`): memory is bounded by
/// the largest event, not the file. A refused event or attribute is reported with the event's
/// index and its uuid; the rest goes on. Malformed JSON stops the read there (the events before
/// it are stored) and is the error.
pub fn import_misp(
    reader: impl Read,
    opts: &tandem_interop::misp::import::Options,
    sink: &mut Sink,
) -> Result<(), ImportError> {
    let read = for_each_misp_event(reader, |index, event| {
        sink.report.count("events", 1);
        let key = event.get("uuid").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut report = std::mem::take(&mut sink.report);
        let converted = tandem_interop::misp::import::event_to_stix(&event, index, opts, &mut report);
        sink.report = report;
        match converted {
            Ok(objects) => {
                for o in objects {
                    sink.push(index, &key, o)?;
                }
                Ok(())
            }
            Err(reason) => {
                sink.report.reject(index, &key, reason);
                Ok(())
            }
        }
    });
    sink.flush()?;
    read.map(drop).map_err(|e| ImportError::of("MISP", e))
}

/// Imports a STIX bundle, TAXII envelope, list of objects or single object, read one object at
/// a time. Malformed JSON stops the read there (the objects before it are stored) and is the
/// error.
pub fn import_stix(reader: impl Read, sink: &mut Sink) -> Result<(), ImportError> {
    let read = for_each_stix_object(reader, |index, object| {
        sink.report.count("objects", 1);
        let key = object.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        sink.push(index, &key, object)
    });
    sink.flush()?;
    read.map(drop).map_err(|e| ImportError::of("STIX", e))
}

/// What points at what among the reader's relationships, notes and sightings, by id only: the
/// MISP export's index for finding an incident's attributes without holding their objects.
/// About a hundred bytes per edge, whatever the objects' size; the objects themselves are read
/// a page of incidents at a time.
#[derive(Default)]
struct EdgeIndex {
    /// Incident id -> ids of the indicators that `indicates` it and the notes about it.
    attached: HashMap<String, Vec<String>>,
    /// Incident id -> the locations it is `located-at`.
    located_at: HashMap<String, Vec<String>>,
    /// Indicator or note id -> the sightings of it.
    sightings: HashMap<String, Vec<String>>,
    /// Source id -> `(relationship id, target id)` of every other relationship (ObjectReferences).
    others: HashMap<String, Vec<(String, String)>>,
}

impl EdgeIndex {
    fn build(store: &Arc<dyn Store>, ctx: &ViewContext, collection: &str) -> tandem_store::Result<EdgeIndex> {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let mut index = EdgeIndex::default();
        let mut query = ObjectQuery {
            types: vec!["relationship".into(), "note".into(), "sighting".into()],
            versions: VersionFilter::Last,
            limit: 1000,
            ..Default::default()
        };
        loop {
            let page = store.list(ctx, collection, &query)?;
            for r in page.items {
                let o = &r.object;
                match r.object_type.as_str() {
                    "relationship" => match o["relationship_type"].as_str() {
                        Some("indicates") if s(o, "source_ref").starts_with("indicator--") => {
                            index.attached.entry(s(o, "target_ref")).or_default().push(s(o, "source_ref"))
                        }
                        Some("indicates") => {}
                        Some("located-at") => {
                            index.located_at.entry(s(o, "source_ref")).or_default().push(s(o, "target_ref"));
                            index.others.entry(s(o, "source_ref")).or_default().push((r.id.clone(), s(o, "target_ref")))
                        }
                        _ => {
                            index.others.entry(s(o, "source_ref")).or_default().push((r.id.clone(), s(o, "target_ref")))
                        }
                    },
                    "note" => {
                        for target in o.get("object_refs").and_then(Value::as_array).into_iter().flatten() {
                            if let Some(t) = target.as_str() {
                                index.attached.entry(t.to_string()).or_default().push(r.id.clone());
                            }
                        }
                    }
                    "sighting" => index.sightings.entry(s(o, "sighting_of_ref")).or_default().push(r.id.clone()),
                    _ => {}
                }
            }
            match page.next {
                Some(c) => query.cursor = Some(c),
                None => return Ok(index),
            }
        }
    }
}

/// Incidents per page of the MISP export: the objects of one page's events are what it holds.
const MISP_EXPORT_PAGE: usize = 100;

/// The latest versions of `ids` that `ctx` may see, in look-ups of at most 500 ids.
fn fetch_ids(
    store: &Arc<dyn Store>,
    ctx: &ViewContext,
    collection: &str,
    ids: impl IntoIterator<Item = String>,
    into: &mut HashMap<String, Value>,
) -> tandem_store::Result<()> {
    let mut wanted: Vec<String> = ids.into_iter().filter(|id| !into.contains_key(id)).collect();
    wanted.sort();
    wanted.dedup();
    for chunk in wanted.chunks(500) {
        into.extend(latest_versions(store, ctx, collection, chunk.to_vec())?);
    }
    Ok(())
}

/// Every marking-definition id an object names (object and granular markings).
fn marking_ids(o: &Value) -> impl Iterator<Item = String> + '_ {
    let object = o.get("object_marking_refs").and_then(Value::as_array).into_iter().flatten();
    let granular =
        o.get("granular_markings").and_then(Value::as_array).into_iter().flatten().filter_map(|g| g.get("marking_ref"));
    object.chain(granular).filter_map(Value::as_str).map(str::to_string)
}

/// Writes every incident `ctx` may see as a MISP event, in restSearch's `{"response": [...]}`
/// shape, with the indicators, notes, sightings, locations and references `ctx` may also see.
///
/// Streamed a page of incidents at a time: first an index of the reader's relationships, notes
/// and sightings by id ([`EdgeIndex`]), then per page the objects its events need, read by id,
/// converted and written before the next page is read. Memory is one page of events plus the
/// id index (and the marking-definitions the events name), never the reader's whole view.
pub fn export_misp(
    store: &Arc<dyn Store>,
    ctx: &ViewContext,
    collection: &str,
    opts: &tandem_interop::misp::import::Options,
    mut out: impl Write,
) -> anyhow::Result<Report> {
    use tandem_interop::misp::export::{Related, incident_to_event};
    let mut report = Report::default();
    let edges = EdgeIndex::build(store, ctx, collection)?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let location_refs = |incident: &Value| -> Vec<String> {
        incident
            .pointer(&format!("/extensions/{}/place/location_refs", tandem_model::incident::INCIDENT_EXTENSION_ID))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let none: Vec<String> = Vec::new();
    // Marking-definitions named so far: a coalition has few, and every event needs them.
    let mut markings: HashMap<String, Value> = HashMap::new();
    out.write_all(b"{\"response\":[")?;
    let mut first = true;
    // The position of an incident in the export, for the report.
    let mut read = 0u64;
    let mut query = ObjectQuery {
        types: vec!["incident".into()],
        versions: VersionFilter::Last,
        limit: MISP_EXPORT_PAGE,
        ..Default::default()
    };
    loop {
        let page = store.list(ctx, collection, &query)?;
        // The ends of each event: its attributes and locations, then what hangs off them.
        let mut plans = Vec::with_capacity(page.items.len());
        let mut wanted: Vec<String> = Vec::new();
        for record in &page.items {
            let attributes = edges.attached.get(&record.id).unwrap_or(&none).clone();
            let mut locations = location_refs(&record.object);
            locations.extend(edges.located_at.get(&record.id).unwrap_or(&none).iter().cloned());
            locations.sort();
            locations.dedup();
            let sightings: Vec<String> =
                attributes.iter().flat_map(|a| edges.sightings.get(a).unwrap_or(&none).iter().cloned()).collect();
            wanted.extend(attributes.iter().chain(&locations).chain(&sightings).cloned());
            plans.push((attributes, locations, sightings));
        }
        let mut objects: HashMap<String, Value> = HashMap::new();
        fetch_ids(store, ctx, collection, wanted, &mut objects)?;
        // References between the ends that the reader may see (their ends may be unreleased).
        let mut references: Vec<Vec<String>> = Vec::with_capacity(plans.len());
        for (attributes, locations, _) in &plans {
            let ends: std::collections::HashSet<&String> =
                attributes.iter().chain(locations).filter(|e| objects.contains_key(*e)).collect();
            let refs = ends
                .iter()
                .flat_map(|e| edges.others.get(*e).into_iter().flatten())
                .filter(|(_, target)| ends.contains(target))
                .map(|(id, _)| id.clone())
                .collect();
            references.push(refs);
        }
        fetch_ids(store, ctx, collection, references.iter().flatten().cloned(), &mut objects)?;
        let named: Vec<String> =
            page.items.iter().map(|r| &r.object).chain(objects.values()).flat_map(marking_ids).collect();
        fetch_ids(store, ctx, collection, named, &mut markings)?;
        for ((record, (attributes, locations, sightings)), refs) in page.items.iter().zip(&plans).zip(&references) {
            let get = |ids: &[String]| -> Vec<&Value> { ids.iter().filter_map(|i| objects.get(i)).collect() };
            let attributes = get(attributes);
            let visible_attributes: Vec<String> = attributes.iter().map(|a| s(a, "id")).collect();
            let related = Related {
                // Sightings of attributes the reader may not see are not its event's.
                sightings: get(sightings)
                    .into_iter()
                    .filter(|o| visible_attributes.contains(&s(o, "sighting_of_ref")))
                    .collect(),
                relationships: get(refs),
                locations: get(locations),
                attributes,
                markings: &markings,
            };
            match incident_to_event(&record.object, &related, opts, &mut report) {
                Ok(event) => {
                    if !first {
                        out.write_all(b",")?;
                    }
                    first = false;
                    out.write_all(b"\n")?;
                    serde_json::to_writer(&mut out, &event)?;
                    report.count("events", 1);
                }
                Err(reason) => report.reject(read, &record.id, reason),
            }
            read += 1;
        }
        match page.next {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    out.write_all(b"\n]}\n")?;
    out.flush()?;
    Ok(report)
}
