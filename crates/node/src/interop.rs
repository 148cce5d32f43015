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
            let latest = latest_versions(store, ctx, &sink.collection.clone(), ids)?;
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
    let mut out = HashMap::new();
    let mut query = ObjectQuery { ids, versions: VersionFilter::Last, limit: 1000, ..Default::default() };
    loop {
        let page = store.list(ctx, collection, &query)?;
        for r in page.items {
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

/// Every object of `types` that `ctx` may see (latest versions).
fn visible(
    store: &Arc<dyn Store>,
    ctx: &ViewContext,
    collection: &str,
    types: &[&str],
) -> tandem_store::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut query = ObjectQuery {
        types: types.iter().map(|t| t.to_string()).collect(),
        versions: VersionFilter::Last,
        limit: 1000,
        ..Default::default()
    };
    loop {
        let page = store.list(ctx, collection, &query)?;
        out.extend(page.items.into_iter().map(|r| r.object));
        match page.next {
            Some(c) => query.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Writes every incident `ctx` may see as a MISP event, in restSearch's `{"response": [...]}`
/// shape, with the indicators, notes, sightings, locations and references `ctx` may also see.
///
/// Unlike the CSV export this holds the reader's whole view of those types in memory (an
/// event needs everything that points at its incident).
pub fn export_misp(
    store: &Arc<dyn Store>,
    ctx: &ViewContext,
    collection: &str,
    opts: &tandem_interop::misp::import::Options,
    mut out: impl Write,
) -> anyhow::Result<Report> {
    use tandem_interop::misp::export::{Related, incident_to_event};
    let mut report = Report::default();
    let all = visible(
        store,
        ctx,
        collection,
        &["incident", "location", "indicator", "note", "sighting", "relationship", "marking-definition"],
    )?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let by_id: HashMap<String, &Value> = all.iter().map(|o| (s(o, "id"), o)).collect();
    let markings: HashMap<String, Value> =
        all.iter().filter(|o| o["type"] == "marking-definition").map(|o| (s(o, "id"), o.clone())).collect();
    // incident id -> its attribute objects (indicators that indicate it, notes about it).
    let mut attached: HashMap<String, Vec<&Value>> = HashMap::new();
    let mut located_at: HashMap<String, Vec<String>> = HashMap::new();
    for o in &all {
        if o["type"] == "relationship" && o["relationship_type"] == "located-at" {
            located_at.entry(s(o, "source_ref")).or_default().push(s(o, "target_ref"));
        }
        if o["type"] == "relationship" && o["relationship_type"] == "indicates" {
            if let Some(ind) = by_id.get(&s(o, "source_ref")) {
                attached.entry(s(o, "target_ref")).or_default().push(ind);
            }
        } else if o["type"] == "note" {
            for r in o.get("object_refs").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                attached.entry(r.to_string()).or_default().push(o);
            }
        }
    }
    out.write_all(b"{\"response\":[")?;
    let mut first = true;
    for incident in all.iter().filter(|o| o["type"] == "incident") {
        let id = s(incident, "id");
        let attributes = attached.get(&id).cloned().unwrap_or_default();
        let attribute_ids: Vec<String> = attributes.iter().map(|a| s(a, "id")).collect();
        let mut location_ids: Vec<String> = incident
            .pointer(&format!("/extensions/{}/place/location_refs", tandem_model::incident::INCIDENT_EXTENSION_ID))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        location_ids.extend(located_at.get(&id).cloned().unwrap_or_default());
        location_ids.sort();
        location_ids.dedup();
        let locations: Vec<&Value> = location_ids.iter().filter_map(|r| by_id.get(r).copied()).collect();
        let ends: Vec<String> = attribute_ids.iter().cloned().chain(locations.iter().map(|l| s(l, "id"))).collect();
        let related = Related {
            sightings: all
                .iter()
                .filter(|o| o["type"] == "sighting" && attribute_ids.contains(&s(o, "sighting_of_ref")))
                .collect(),
            relationships: all
                .iter()
                .filter(|o| {
                    o["type"] == "relationship"
                        && o["relationship_type"] != "indicates"
                        && ends.contains(&s(o, "source_ref"))
                        && ends.contains(&s(o, "target_ref"))
                })
                .collect(),
            locations,
            attributes,
            markings: &markings,
        };
        match incident_to_event(incident, &related, opts, &mut report) {
            Ok(event) => {
                if !first {
                    out.write_all(b",")?;
                }
                first = false;
                out.write_all(b"\n")?;
                serde_json::to_writer(&mut out, &event)?;
                report.count("events", 1);
            }
            Err(reason) => report.reject(0, &id, reason),
        }
    }
    out.write_all(b"\n]}\n")?;
    out.flush()?;
    Ok(report)
}
