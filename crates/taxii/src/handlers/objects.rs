//! The object endpoints: get/add objects, get/delete one object, its versions, the manifest.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use tandem_model::Timestamp;
use tandem_store::{DeleteOutcome, NewStatus, ObjectQuery, Page, Record};

use super::{Pairs, blocking, can_write, collection, pairs, require_read, view};
use crate::auth::Caller;
use crate::ingest::{Outcome, Stage, Summary, raw_version};
use crate::media::{STIX_MEDIA_TYPE, is_taxii_content_type};
use crate::query::{self, Endpoint};
use crate::responses::{objects_page, page, taxii_json};
use crate::{AppState, CollectionConfig, Principal, TaxiiError};

/// Lists one page for a readable collection.
/// Whether a listing is for a syncing peer (larger pages), and whether it needs provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sync {
    No,
    Manifest,
    WithProvenance,
}

async fn list(
    state: &AppState,
    p: &Principal,
    coll: &str,
    q: Pairs,
    endpoint: Endpoint,
    object_id: Option<String>,
    sync: Sync,
) -> Result<(ObjectQuery, Page<Record>), TaxiiError> {
    let c = collection(state, coll)?;
    require_read(c)?;
    let cap = match sync {
        Sync::No => state.config.page_size_max,
        _ => state.config.page_size_max.max(state.config.sync_page_size_max),
    };
    let mut query = query::parse(&pairs(q)?, endpoint, cap)?;
    query.with_provenance = sync == Sync::WithProvenance;
    // A syncing peer receives every member's claim on an id, each in its own namespace.
    query.every_claim = sync != Sync::No;
    query.signed_only = sync != Sync::No;
    // Every endpoint here writes whole copies out as they are (or reads only their headers).
    query.whole_as_stored = true;
    if let Some(id) = object_id {
        query.ids = vec![id];
    }
    let ctx = view(state, p);
    let cid = c.id.clone();
    let q2 = query.clone();
    let page = {
        let _turn = pages_in_flight().acquire().await.map_err(|_| TaxiiError::Unavailable("listing closed".into()))?;
        blocking(state, move |s| s.list(&ctx, &cid, &q2)).await?
    };
    crate::audit::detail("collection", c.id.as_str());
    if let Some(id) = query.ids.first().filter(|_| query.ids.len() == 1) {
        crate::audit::detail("object", id.as_str());
    }
    crate::audit::detail("returned", page.items.len());
    Ok((query, page))
}

/// The listings being read and released at once, process-wide: a page of thousands of objects
/// is megabytes while it is built, and 64 clients asking at once must not hold 64 of them (the
/// peak under such a load was 1.2 GB). Past the cap a request waits its turn without holding
/// anything; the CPUs are the limit either way, so throughput does not change.
fn pages_in_flight() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new((2 * cores).max(4))
    })
}

/// The date-added headers of a page; an empty page carries the query's lower bound (or the
/// epoch), so resuming from `X-TAXII-Date-Added-Last` never skips anything.
fn bounds(query: &ObjectQuery, items: &[Record]) -> (Timestamp, Timestamp) {
    match (items.first(), items.last()) {
        (Some(f), Some(l)) => (f.date_added, l.date_added),
        _ => {
            let floor = query
                .cursor
                .map(|c| c.after)
                .into_iter()
                .chain(query.added_after)
                .max()
                .unwrap_or(Timestamp::from_parts(0, 0));
            (floor, floor)
        }
    }
}

/// `{"more", "next"?, <key>: [...]}` with the list omitted when empty (TAXII forbids empty lists).
fn envelope(key: &str, items: Vec<Value>, page_next: Option<tandem_store::cursor::Cursor>) -> Value {
    let mut m = Map::new();
    m.insert("more".into(), json!(page_next.is_some()));
    if let Some(n) = page_next {
        m.insert("next".into(), json!(n.encode()));
    }
    if !items.is_empty() {
        m.insert(key.into(), Value::Array(items));
    }
    Value::Object(m)
}

/// The request header by which a Tandem peer asks for provenance.
pub const SYNC_HEADER: &str = "x-tandem-sync";

/// Whether the request is served in sync mode (sync-sized pages, `tandem_epoch`,
/// `tandem_provenance`): only for a peer node's account (role `peer`) that asks for it, on a
/// node that signs. Anyone else sending the header gets a normal page: page sizes and epochs
/// are not for users to probe.
fn sync_mode(state: &AppState, p: &Principal, headers: &HeaderMap) -> bool {
    state.signer.is_some() && p.is_peer() && headers.get(SYNC_HEADER).is_some_and(|v| v.as_bytes() == b"1")
}

pub async fn get_objects(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(coll): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    q: Pairs,
) -> Result<Response, TaxiiError> {
    let sync = sync_mode(&state, &p, &headers);
    let mode = if sync { Sync::WithProvenance } else { Sync::No };
    let (query, pg) = list(&state, &p, &coll, q, Endpoint::Objects, None, mode).await?;
    let (first, last) = bounds(&query, &pg.items);
    let next = pg.next.map(|n| n.encode());
    let resp = match &state.signer {
        Some(signer) if sync => sync_objects_page(signer.as_ref(), &pg.items, next.as_deref(), first, last),
        _ => objects_page(&pg.items, next.as_deref(), &Map::new(), first, last),
    };
    Ok(answering(sync, &uri, resp))
}

/// A syncing peer's page of `items` (listed with provenance): the objects, `tandem_provenance`
/// (each version's proof under [`proof_key`], the n-th claim on one version under `#n`) and
/// `tandem_epoch`. Shared by the objects endpoint and federation's widened feed.
pub fn sync_objects_page(
    signer: &dyn crate::Signer,
    items: &[Record],
    next: Option<&str>,
    first: Timestamp,
    last: Timestamp,
) -> Response {
    let mut proofs = Map::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for r in items {
        // Two members' claims on one version may share a page: the n-th takes `#n`.
        let key = record_proof_key(r);
        let n = seen.entry(key.clone()).and_modify(|n| *n += 1).or_insert(1);
        if let Some(proof) = signer.proof_for(r) {
            proofs.insert(nth_proof_key(key, *n), proof);
        }
    }
    let mut extra = Map::new();
    if !proofs.is_empty() {
        extra.insert("tandem_provenance".into(), Value::Object(proofs));
    }
    if let Some(epoch) = signer.epoch() {
        extra.insert("tandem_epoch".into(), Value::String(epoch));
    }
    objects_page(items, next, &extra, first, last)
}

/// The header that names, for a syncing peer, the query a page answers: a page delivered for
/// another request (a stale or misrouted response from a cache or proxy) would otherwise move the
/// peer's cursor past versions it never received.
pub const ANSWERS_HEADER: &str = "x-tandem-answers";

/// Adds [`ANSWERS_HEADER`] (the request's query string) to a syncing peer's page.
fn answering(sync: bool, uri: &axum::http::Uri, mut resp: Response) -> Response {
    if sync && let Ok(v) = axum::http::HeaderValue::from_str(uri.query().unwrap_or_default()) {
        resp.headers_mut().insert(ANSWERS_HEADER, v);
    }
    resp
}

/// The key of a version in `tandem_provenance`: `<id>|<modified, else created, else empty>` as
/// the object spells them (an unversioned cyber-observable's version is node-local).
pub fn proof_key(object: &Value) -> String {
    let id = object.get("id").and_then(Value::as_str).unwrap_or_default();
    format!("{id}|{}", raw_version(object).unwrap_or_default())
}

/// [`proof_key`] of a listed copy, read from its stored text when it has one (only the id and
/// the version fields are decoded; anything unusual falls back to the whole value).
fn record_proof_key(r: &Record) -> String {
    #[derive(serde::Deserialize)]
    struct Spelled<'a> {
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        modified: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        created: Option<std::borrow::Cow<'a, str>>,
    }
    let Some(text) = &r.stored_text else {
        return proof_key(&r.object);
    };
    match serde_json::from_str::<Spelled>(text) {
        Ok(s) => format!("{}|{}", s.id.unwrap_or_default(), s.modified.or(s.created).unwrap_or_default()),
        Err(_) => serde_json::from_str::<Value>(text).map(|v| proof_key(&v)).unwrap_or_default(),
    }
}

/// The key of the `n`-th (from 1) version on a page whose [`proof_key`] is `key`: several
/// members' claims on one id and version travel on one page, each with its own proof.
pub fn nth_proof_key(key: String, n: usize) -> String {
    if n <= 1 { key } else { format!("{key}#{n}") }
}

/// Tandem extension: deletions the caller may learn of, in ascending feed position.
pub async fn tombstones(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(coll): Path<String>,
    uri: axum::http::Uri,
    q: Pairs,
) -> Result<Response, TaxiiError> {
    let c = collection(&state, &coll)?;
    require_read(c)?;
    let mut after: Option<Timestamp> = None;
    let mut limit = state.config.page_size_max;
    for (k, v) in pairs(q)? {
        match k.as_str() {
            "added_after" => {
                let t = Timestamp::parse(&v).map_err(|_| TaxiiError::BadRequest("invalid added_after".into()))?;
                after = Some(after.map_or(t, |a| a.max(t)));
            }
            "next" => {
                let c = tandem_store::cursor::Cursor::decode(&v)
                    .map_err(|_| TaxiiError::BadRequest("invalid next".into()))?;
                after = Some(after.map_or(c.after, |a| a.max(c.after)));
            }
            "limit" => {
                let n: usize =
                    v.parse().ok().filter(|n| *n > 0).ok_or_else(|| TaxiiError::BadRequest("invalid limit".into()))?;
                limit = n.min(state.config.page_size_max);
            }
            _ => {}
        }
    }
    let ctx = view(&state, &p);
    let cid = c.id.clone();
    let pg = blocking(&state, move |s| s.list_tombstones(&ctx, &cid, after, limit)).await?;
    let floor = after.unwrap_or(Timestamp::from_parts(0, 0));
    let first = pg.items.first().map_or(floor, |t| t.added);
    let last = pg.items.last().map_or(floor, |t| t.added);
    let items = pg
        .items
        .into_iter()
        .map(|mut t| {
            // Deletions this node's member made are signed as they are served.
            if t.proof.is_none()
                && let Some(signer) = &state.signer
            {
                t.proof = signer.tombstone_proof(&t);
            }
            serde_json::to_value(&t).unwrap_or(Value::Null)
        })
        .collect();
    // Every reader of the feed is a peer; it checks that the page answers its request.
    Ok(answering(true, &uri, page(&envelope("tombstones", items, pg.next), first, last)))
}

pub async fn get_object(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((coll, id)): Path<(String, String)>,
    q: Pairs,
) -> Result<Response, TaxiiError> {
    let (query, pg) = list(&state, &p, &coll, q, Endpoint::Object, Some(id), Sync::No).await?;
    if pg.items.is_empty() && query.cursor.is_none() {
        return Err(TaxiiError::NotFound);
    }
    let (first, last) = bounds(&query, &pg.items);
    let next = pg.next.map(|n| n.encode());
    Ok(objects_page(&pg.items, next.as_deref(), &Map::new(), first, last))
}

pub async fn versions(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((coll, id)): Path<(String, String)>,
    q: Pairs,
) -> Result<Response, TaxiiError> {
    let (query, pg) = list(&state, &p, &coll, q, Endpoint::Versions, Some(id), Sync::No).await?;
    if pg.items.is_empty() && query.cursor.is_none() {
        return Err(TaxiiError::NotFound);
    }
    let (first, last) = bounds(&query, &pg.items);
    let versions = pg.items.iter().map(|r| json!(r.version.to_taxii())).collect();
    Ok(page(&envelope("versions", versions, pg.next), first, last))
}

pub async fn manifest(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(coll): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    q: Pairs,
) -> Result<Response, TaxiiError> {
    let sync = sync_mode(&state, &p, &headers);
    let mode = if sync { Sync::Manifest } else { Sync::No };
    let (query, pg) = list(&state, &p, &coll, q, Endpoint::Objects, None, mode).await?;
    let (first, last) = bounds(&query, &pg.items);
    let records = pg
        .items
        .iter()
        .map(|r| {
            let mut entry = json!({
                "id": r.id,
                "date_added": r.date_added.to_taxii(),
                "version": r.version.to_taxii(),
                "media_type": STIX_MEDIA_TYPE,
            });
            // A syncing peer holds each member's claim apart (see `Store::holds_versions`).
            if sync && let Value::Object(e) = &mut entry {
                e.insert("tandem_originator".into(), Value::String(r.originator.clone()));
            }
            entry
        })
        .collect();
    let mut body = envelope("objects", records, pg.next);
    // A syncing peer that reads the manifest first learns the release epoch here too.
    if let (true, Some(epoch), Value::Object(b)) = (sync, state.signer.as_ref().and_then(|s| s.epoch()), &mut body) {
        b.insert("tandem_epoch".into(), Value::String(epoch));
    }
    Ok(answering(sync, &uri, page(&body, first, last)))
}

pub async fn delete_object(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path((coll, id)): Path<(String, String)>,
    q: Pairs,
) -> Result<Response, TaxiiError> {
    let c = collection(&state, &coll)?;
    match (c.can_read, can_write(c, &p)) {
        (true, true) => {}
        (false, false) => return Err(TaxiiError::NotFound),
        _ => {
            return Err(TaxiiError::Forbidden("deleting needs read and write access".into()));
        }
    }
    let query = query::parse(&pairs(q)?, Endpoint::Delete, state.config.page_size_max)?;
    // Tandem stores STIX 2.1 only: a spec_version filter without 2.1 matches nothing.
    if !query.spec_versions.is_empty() && !query.spec_versions.iter().any(|v| v == "2.1") {
        return Err(TaxiiError::NotFound);
    }
    let ctx = view(&state, &p);
    let (cid, oid, versions) = (c.id.clone(), id.clone(), query.versions.clone());
    let outcome = blocking(&state, move |s| s.delete(&ctx, &cid, &oid, &versions)).await?;
    match outcome {
        DeleteOutcome::NotFound => Err(TaxiiError::NotFound),
        DeleteOutcome::Forbidden => Err(TaxiiError::Forbidden("only the originating member may delete".into())),
        DeleteOutcome::Deleted(n) => {
            state.hooks.after_delete(&c.id, &p.member, &id, n);
            crate::audit::detail("collection", c.id.as_str());
            crate::audit::detail("object", id.as_str());
            crate::audit::detail("versions_deleted", n);
            let mut resp = Response::new(Body::empty());
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(crate::media::TAXII_CONTENT_TYPE));
            Ok(resp)
        }
    }
}

/// Checks that this principal may add objects to `c`.
fn check_writable(state: &AppState, c: &CollectionConfig, p: &Principal) -> Result<(), TaxiiError> {
    if !c.can_write {
        return Err(TaxiiError::Forbidden("this collection is read-only".into()));
    }
    if p.read_only {
        return Err(TaxiiError::Forbidden("this account is read-only".into()));
    }
    if !state.roster().is_active(&p.member) {
        return Err(TaxiiError::Forbidden("this account's member is not active".into()));
    }
    Ok(())
}

/// Reads the body, refusing more than `max` bytes (by `Content-Length` first, then while reading).
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<axum::body::Bytes, TaxiiError> {
    if let Some(len) = headers.get(header::CONTENT_LENGTH) {
        let len: u64 = len
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| TaxiiError::BadRequest("invalid Content-Length".into()))?;
        if len > max as u64 {
            return Err(TaxiiError::PayloadTooLarge);
        }
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(TaxiiError::PayloadTooLarge),
        Err(e) => Err(TaxiiError::BadRequest(format!("could not read the request body: {e}"))),
    }
}

/// The objects of a TAXII envelope or a STIX bundle.
///
/// The document is checked whole first (well-formed JSON, an object, `type` and `objects` right)
/// with each object kept as its raw text, then the objects are parsed over the machine's cores:
/// parsing 500 objects is a large part of a POST's CPU, and it would otherwise run on one core
/// while the other waits.
fn envelope_objects(bytes: &[u8]) -> Result<Vec<Value>, TaxiiError> {
    let malformed = |e: serde_json::Error| TaxiiError::BadRequest(format!("malformed JSON: {e}"));
    let mut map = match serde_json::from_slice::<std::collections::HashMap<String, &RawValue>>(bytes) {
        Ok(map) => map,
        // Malformed, or well-formed but not an object: a whole parse says which, exactly.
        Err(_) => {
            serde_json::from_slice::<Value>(bytes).map_err(malformed)?;
            return Err(TaxiiError::BadRequest("the body must be a TAXII envelope (a JSON object)".into()));
        }
    };
    if let Some(t) = map.get("type")
        && serde_json::from_str::<Value>(t.get()).map_err(malformed)?.as_str() != Some("bundle")
    {
        return Err(TaxiiError::BadRequest("the body must be a TAXII envelope or a STIX bundle".into()));
    }
    let Some(objects) = map.remove("objects") else { return Ok(Vec::new()) };
    let Ok(items) = serde_json::from_str::<Option<Vec<&RawValue>>>(objects.get()) else {
        return Err(TaxiiError::BadRequest("objects must be a list".into()));
    };
    let parsed = tandem_model::parallel::map(items.unwrap_or_default(), |raw| serde_json::from_str::<Value>(raw.get()));
    parsed.into_iter().collect::<Result<Vec<Value>, _>>().map_err(malformed)
}

fn detail(id: &str, version: Option<String>, message: Option<String>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    // `version` is required in status details; an object without one gets an empty string.
    m.insert("version".into(), json!(version.unwrap_or_default()));
    if let Some(msg) = message {
        m.insert("message".into(), json!(msg));
    }
    Value::Object(m)
}

pub async fn add_objects(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(coll): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TaxiiError> {
    let request_timestamp = Timestamp::now();
    let c = collection(&state, &coll)?;
    check_writable(&state, c, &p)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !is_taxii_content_type(content_type) {
        return Err(TaxiiError::UnsupportedMediaType);
    }
    let bytes = read_body(&headers, body, state.config.max_content_length).await?;

    // Parsing (over the machine's cores), validation, signing and the durable write of the
    // objects with their status resource in one transaction, all off the async threads.
    let (ingest, cid, member) = (state.ingest(), c.id.clone(), p.member.clone());
    let (status_id, user) = (uuid::Uuid::new_v4().to_string(), p.user.clone());
    let sid = status_id.clone();
    let (summary, status) = tokio::task::spawn_blocking(move || {
        let objects = envelope_objects(&bytes)?;
        drop(bytes);
        let total = objects.len();
        let mut resource = None;
        let summary = ingest.submit_reporting(&cid, &member, objects, |summary| {
            let status = status_resource(summary, &sid, request_timestamp, total);
            let body = status.to_string();
            resource = Some(status);
            Some(NewStatus { id: sid.clone(), owner: user, body })
        })?;
        Ok::<_, TaxiiError>((summary, resource))
    })
    .await??;
    let status = status.ok_or_else(|| TaxiiError::Internal("the write made no status resource".into()))?;
    audit_write(&c.id, &status_id, &summary, &status);
    Ok(taxii_json(StatusCode::ACCEPTED, &status))
}

/// The TAXII status resource of one POST: `complete`, with a success per stored or duplicate
/// object in submission order and a failure per rejected one (validation's first, then the
/// store's).
fn status_resource(summary: &Summary, status_id: &str, request_timestamp: Timestamp, total: usize) -> Value {
    let successes: Vec<Value> = summary
        .entries
        .iter()
        .filter_map(|e| match &e.outcome {
            Outcome::Accepted { version, .. } | Outcome::Duplicate { version, .. } => {
                Some(detail(&e.id, e.raw_version.clone().or_else(|| Some(version.to_taxii())), None))
            }
            Outcome::Rejected { .. } => None,
        })
        .collect();
    let failures: Vec<Value> = summary
        .rejected_at(Stage::Invalid)
        .chain(summary.rejected_at(Stage::Store))
        .filter_map(|e| match &e.outcome {
            Outcome::Rejected { version, reason, .. } => Some(detail(
                &e.id,
                e.raw_version.clone().or_else(|| version.map(|v| v.to_taxii())),
                Some(reason.clone()),
            )),
            _ => None,
        })
        .collect();
    debug_assert_eq!(successes.len() + failures.len(), total, "one status entry per submitted object");

    let mut status = Map::new();
    status.insert("id".into(), json!(status_id));
    status.insert("status".into(), json!("complete"));
    status.insert("request_timestamp".into(), json!(request_timestamp.to_taxii()));
    status.insert("total_count".into(), json!(total));
    status.insert("success_count".into(), json!(successes.len()));
    if !successes.is_empty() {
        status.insert("successes".into(), Value::Array(successes));
    }
    status.insert("failure_count".into(), json!(failures.len()));
    if !failures.is_empty() {
        status.insert("failures".into(), Value::Array(failures));
    }
    status.insert("pending_count".into(), json!(0));
    Value::Object(status)
}

/// Ids and counts of a write for the audit log (ids of the versions added only).
fn audit_write(collection: &str, status_id: &str, summary: &Summary, status: &Value) {
    let added: Vec<Value> = summary
        .entries
        .iter()
        .filter_map(|e| match &e.outcome {
            Outcome::Accepted { version, .. } => Some(json!([e.id, version.to_taxii()])),
            _ => None,
        })
        .collect();
    crate::audit::detail("collection", collection);
    crate::audit::detail("status_id", status_id);
    for key in ["total_count", "success_count", "failure_count"] {
        crate::audit::detail(key, status[key].clone());
    }
    crate::audit::detail("added", added);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> String {
        match envelope_objects(body.as_bytes()) {
            Err(TaxiiError::BadRequest(m)) => m,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn envelope_objects_come_back_in_order_whatever_their_spelling() {
        let objects: Vec<Value> = (0..300).map(|n| json!({"n": n, "s": "caf\u{e9} \"quoted\"", "f": 36.5})).collect();
        let body = json!({"more": false, "objects": objects}).to_string();
        assert_eq!(envelope_objects(body.as_bytes()).unwrap(), objects);
        let bundle = json!({"type": "bundle", "id": "bundle--x", "objects": [{"a": 1}]}).to_string();
        assert_eq!(envelope_objects(bundle.as_bytes()).unwrap(), vec![json!({"a": 1})]);
        // Escaped keys, a null or absent list, and the last of two keys, as a whole parse reads them.
        assert_eq!(envelope_objects(br#"{"obj\u0065cts": [1, "two"]}"#).unwrap(), vec![json!(1), json!("two")]);
        assert!(envelope_objects(br#"{"objects": null}"#).unwrap().is_empty());
        assert!(envelope_objects(b"{}").unwrap().is_empty());
        assert_eq!(envelope_objects(br#"{"objects": [1], "objects": [2]}"#).unwrap(), vec![json!(2)]);
    }

    #[test]
    fn bad_envelopes_get_the_messages_of_a_whole_parse() {
        assert!(message(r#"{"objects": [{"a": 1}"#).starts_with("malformed JSON: "));
        assert!(message("{\"objects\": [\"\u{1}\"]}").starts_with("malformed JSON: "));
        assert_eq!(message("[1, 2]"), "the body must be a TAXII envelope (a JSON object)");
        assert_eq!(
            message(r#"{"type": "report", "objects": []}"#),
            "the body must be a TAXII envelope or a STIX bundle"
        );
        assert_eq!(message(r#"{"type": 7}"#), "the body must be a TAXII envelope or a STIX bundle");
        assert_eq!(message(r#"{"objects": {"a": 1}}"#), "objects must be a list");
        assert_eq!(message(r#"{"objects": 3}"#), "objects must be a list");
        // Nesting deeper than the parser's limit, at the envelope and inside one object.
        let deep = format!("{{\"objects\": [{}{}]}}", "[".repeat(5000), "]".repeat(5000));
        assert!(message(&deep).starts_with("malformed JSON: "), "{}", message(&deep));
        let deep_object = format!("{{\"objects\": [{{\"a\": {}{}}}]}}", "[".repeat(200), "]".repeat(200));
        assert!(message(&deep_object).starts_with("malformed JSON: "));
    }
}
