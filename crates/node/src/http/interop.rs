//! The web UI's upload and download: `POST /api/tandem/import?format=csv|misp|stix[&dry_run=true]
//! [&markings=ID,ID][&misp_mapping=JSON][&deletions=true]` (the body is the file; the answer is
//! the conversion report as JSON) and `GET /api/tandem/export?format=csv|misp|stix
//! [&misp_mapping=JSON]` (the caller's view of the incidents, or a STIX bundle of everything it
//! may see, filtered by `type`, `added_after`, `since`, `until`, `all_versions` as `tandem
//! export` is), each with an optional `collection` (default `intel`). The parameters are the
//! CLI's: whatever `tandem import|export` can say, the web UI can.
//!
//! Both go the way the CLI goes (`crate::interop`): an import through the one ingest pipeline as
//! the caller's member (so a user of another member writes in its own namespace, unsigned, like
//! a TAXII POST), an export through `Store::list` with the caller's `ViewContext`. Audited as
//! `interop.import` and `interop.export`. MISP distributions map with the `misp_mapping` given,
//! else the default (only distribution 0, the caller's own member; other levels are refused).
//!
//! Neither holds a file in memory. An upload is spooled to `<data_dir>/spool/` as it arrives
//! (refused with 413 once it passes `[interop] max_upload_mib`), a JSON upload's syntax is
//! checked there before anything is stored (malformed JSON is a 400 with nothing written), and
//! the importer reads it from the spool a record at a time; the spool file is deleted when the
//! request ends, and leftovers of a crash when the node starts. An export is written by the
//! blocking exporter into a bounded channel the response body drains, so a download's memory
//! is a few chunks whatever its size. The export's audit entry is written when the download
//! ends (`tandem_taxii::audit::at_body_end`), with the `returned` count the exporter reached
//! and whether the download was `complete`.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use tandem_store::{ObjectQuery, Store, VersionFilter, ViewContext};
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, Principal, TaxiiError};

use crate::config::Config;
use crate::interop::{self as glue, Sink};

pub fn routes(api_root: &str, uploads: Uploads) -> Router<AppState> {
    let base = format!("/{}/tandem", api_root.trim_matches('/'));
    let uploads = Arc::new(uploads);
    let mut r = Router::new();
    for suffix in ["", "/"] {
        let uploads = Arc::clone(&uploads);
        r = r
            .route(
                &format!("{base}/import{suffix}"),
                // The cap is enforced while spooling; axum's 2 MB default would cut a CSV short.
                post(move |caller: ActiveCaller, state: State<AppState>, query: Query<Params>, body: Body| {
                    import(caller, state, query, body, Arc::clone(&uploads))
                })
                .layer(DefaultBodyLimit::disable()),
            )
            .route(&format!("{base}/export{suffix}"), get(export));
    }
    r
}

/// Where the web UI's uploads are spooled and how large one may be.
#[derive(Debug, Clone)]
pub struct Uploads {
    pub spool_dir: PathBuf,
    pub max_bytes: u64,
}

impl Uploads {
    /// The node's: `<data_dir>/spool/`, `[interop] max_upload_mib`. Removes the spool files a
    /// crashed node left behind (an upload in progress belongs to a request of this process).
    pub fn of(config: &Config) -> Uploads {
        let spool_dir = config.node.data_dir.join("spool");
        if let Ok(entries) = std::fs::read_dir(&spool_dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(SPOOL_PREFIX)
                    && let Err(error) = std::fs::remove_file(e.path())
                {
                    tracing::warn!(path = %e.path().display(), %error, "cannot remove a stale upload spool file");
                }
            }
        }
        Uploads { spool_dir, max_bytes: config.interop.max_upload_mib.saturating_mul(1024 * 1024) }
    }
}

const SPOOL_PREFIX: &str = "upload-";

/// A spooled upload, deleted when dropped (the request ended, however it ended).
struct Spooled {
    path: PathBuf,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_file(&self.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %error, "cannot remove an upload spool file");
        }
    }
}

/// Writes the request body to a new spool file as it arrives; 413 past `max_bytes` (or when
/// `Content-Length` already says so), with the partial file deleted.
async fn spool(body: Body, uploads: &Uploads) -> Result<Spooled, TaxiiError> {
    if http_body::Body::size_hint(&body).lower() > uploads.max_bytes {
        return Err(TaxiiError::PayloadTooLarge);
    }
    std::fs::create_dir_all(&uploads.spool_dir).map_err(|e| TaxiiError::Internal(format!("spool directory: {e}")))?;
    let spooled = Spooled { path: uploads.spool_dir.join(format!("{SPOOL_PREFIX}{}", uuid::Uuid::new_v4())) };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let path = spooled.path.clone();
    // Disk writes off the async threads; the channel bounds what waits for the disk.
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        while let Some(chunk) = rx.blocking_recv() {
            file.write_all(&chunk)?;
        }
        file.flush()
    });
    let mut body = body;
    let mut received: u64 = 0;
    let mut over = false;
    let mut read_error = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        };
        let Ok(chunk) = frame.into_data() else { continue };
        received += chunk.len() as u64;
        if received > uploads.max_bytes {
            over = true;
            break;
        }
        if tx.send(chunk).await.is_err() {
            break; // the writer failed: its error is reported below
        }
    }
    drop(tx);
    let written = writer.await?;
    if over {
        return Err(TaxiiError::PayloadTooLarge);
    }
    if let Some(e) = read_error {
        return Err(TaxiiError::BadRequest(format!("the upload was cut short: {e}")));
    }
    written.map_err(|e| match e.raw_os_error() {
        Some(28) => TaxiiError::InsufficientStorage, // ENOSPC
        _ => TaxiiError::Internal(format!("spooling the upload: {e}")),
    })?;
    Ok(spooled)
}

/// Malformed JSON is refused before anything is stored: one pass over the spooled file with
/// `IgnoredAny` (constant memory), then the import's own pass.
fn check_json_syntax(path: &std::path::Path, format: &str) -> Result<(), TaxiiError> {
    use serde::Deserialize;
    let file = std::fs::File::open(path).map_err(|e| TaxiiError::Internal(format!("reading the spool: {e}")))?;
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(file));
    serde::de::IgnoredAny::deserialize(&mut de)
        .and_then(|_| de.end())
        .map_err(|e| TaxiiError::BadRequest(format!("the body must be {format} JSON: {e}")))
}

type Params = HashMap<String, String>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Misp,
    Stix,
}

fn format(q: &Params) -> Result<Format, TaxiiError> {
    match q.get("format").map(String::as_str) {
        Some("csv") => Ok(Format::Csv),
        Some("misp") => Ok(Format::Misp),
        Some("stix") | None => Ok(Format::Stix),
        Some(other) => Err(TaxiiError::BadRequest(format!("format {other:?} is not csv, misp or stix"))),
    }
}

fn collection(state: &AppState, q: &Params, write: bool) -> Result<String, TaxiiError> {
    let key = q.get("collection").map_or("intel", String::as_str);
    let c = state
        .config
        .collections
        .iter()
        .find(|c| c.id == key || c.alias.as_deref() == Some(key))
        .ok_or(TaxiiError::NotFound)?;
    if (write && !c.can_write) || (!write && !c.can_read) {
        return Err(TaxiiError::Forbidden(format!(
            "this collection cannot be {}",
            if write { "written" } else { "read" }
        )));
    }
    Ok(c.id.clone())
}

fn view(state: &AppState, p: &Principal) -> ViewContext {
    state.view(p)
}

/// The MISP distribution mapping: `misp_mapping` (the JSON of `tandem import --misp-mapping`'s
/// TOML: `community`, `connected`, `all` as code lists, `sharing_groups` of key to codes), else
/// the default (only distribution 0, the caller's own member). It can only say who the
/// caller's own member releases to, like the markings of a TAXII POST.
fn misp_options(p: &Principal, q: &Params) -> Result<tandem_interop::misp::import::Options, TaxiiError> {
    let mapping = match q.get("misp_mapping").map(String::as_str) {
        None | Some("") => Default::default(),
        Some(json) => serde_json::from_str(json)
            .map_err(|e| TaxiiError::BadRequest(format!("misp_mapping is not a MISP distribution mapping: {e}")))?,
    };
    Ok(tandem_interop::misp::import::Options { member: p.member.clone(), mapping })
}

/// `true` or `false` (absent: `false`).
fn flag(q: &Params, name: &str) -> Result<bool, TaxiiError> {
    match q.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        _ => Err(TaxiiError::BadRequest(format!("{name} must be true or false"))),
    }
}

/// The STIX export's filters, as `tandem export` takes them: `type` (comma-separated),
/// `added_after`, `since`, `until` (RFC 3339) and `all_versions`.
struct StixFilters {
    types: Vec<String>,
    added_after: Option<tandem_model::Timestamp>,
    since: Option<tandem_model::Timestamp>,
    until: Option<tandem_model::Timestamp>,
    all_versions: bool,
}

impl StixFilters {
    fn of(q: &Params, fmt: Format) -> Result<StixFilters, TaxiiError> {
        let time = |name: &str| {
            q.get(name)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    tandem_model::Timestamp::parse(v)
                        .map_err(|e| TaxiiError::BadRequest(format!("{name} is not an RFC 3339 timestamp: {e}")))
                })
                .transpose()
        };
        let f = StixFilters {
            types: q
                .get("type")
                .map(|t| t.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect())
                .unwrap_or_default(),
            added_after: time("added_after")?,
            since: time("since")?,
            until: time("until")?,
            all_versions: flag(q, "all_versions")?,
        };
        let any =
            !f.types.is_empty() || f.added_after.is_some() || f.since.is_some() || f.until.is_some() || f.all_versions;
        if any && fmt != Format::Stix {
            return Err(TaxiiError::BadRequest(
                "type, added_after, since, until and all_versions apply to format=stix only".into(),
            ));
        }
        Ok(f)
    }
}

async fn import(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Query(q): Query<Params>,
    body: Body,
    uploads: Arc<Uploads>,
) -> Result<Response, TaxiiError> {
    let fmt = format(&q)?;
    let dry_run = flag(&q, "dry_run")?;
    // The body is an ACLED-style deletions file (`event_id_cnty`, `deleted_timestamp`): it
    // revokes the caller's member's incidents it names.
    let deletions = flag(&q, "deletions")?;
    if deletions && fmt != Format::Csv {
        return Err(TaxiiError::BadRequest("deletions=true takes format=csv".into()));
    }
    let coll = collection(&state, &q, true)?;
    if p.read_only && !dry_run {
        return Err(TaxiiError::Forbidden("this account cannot write".into()));
    }
    let (ingest, member) = (state.ingest(), p.member.clone());
    let opts = misp_options(&p, &q)?;
    let (store, ctx) = (Arc::clone(&state.store), view(&state, &p));
    // CSV rows carry no releasability: `markings=ID,ID` sets marking-definitions on every object.
    let csv_opts = tandem_interop::acled::import::Options {
        markings: q
            .get("markings")
            .map(|m| m.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default(),
    };
    let spooled = spool(body, &uploads).await?;
    let report = tokio::task::spawn_blocking(move || -> Result<tandem_interop::Report, TaxiiError> {
        let open = || {
            std::fs::File::open(&spooled.path)
                .map(std::io::BufReader::new)
                .map_err(|e| TaxiiError::Internal(format!("reading the spool: {e}")))
        };
        let mut sink = Sink::new(ingest, &coll, &member, dry_run, 500);
        match fmt {
            Format::Csv if deletions => glue::import_deletions(open()?, &store, &ctx, &mut sink)?,
            Format::Csv => glue::import_csv(open()?, &csv_opts, &mut sink)?,
            Format::Misp => {
                check_json_syntax(&spooled.path, "MISP")?;
                glue::import_misp(open()?, &opts, &mut sink).map_err(import_error)?
            }
            Format::Stix => {
                check_json_syntax(&spooled.path, "STIX")?;
                glue::import_stix(open()?, &mut sink).map_err(import_error)?
            }
        }
        drop(spooled);
        Ok(sink.report)
    })
    .await??;
    tandem_taxii::audit::detail("stored", report.get("stored"));
    tandem_taxii::audit::detail("rejected", report.rejected.len());
    let text = serde_json::to_string(&report).map_err(|e| TaxiiError::Internal(e.to_string()))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], text).into_response())
}

/// A document of the wrong shape (syntax was checked first) is the caller's 400; the store's
/// failure keeps its own status.
fn import_error(e: glue::ImportError) -> TaxiiError {
    match e {
        malformed @ glue::ImportError::Malformed { .. } => TaxiiError::BadRequest(malformed.to_string()),
        glue::ImportError::Store(e) => e.into(),
    }
}

async fn export(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Query(q): Query<Params>,
) -> Result<Response, TaxiiError> {
    let fmt = format(&q)?;
    let filters = StixFilters::of(&q, fmt)?;
    let coll = collection(&state, &q, false)?;
    let ctx = view(&state, &p);
    let store: Arc<dyn Store> = Arc::clone(&state.store);
    let opts = misp_options(&p, &q)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(EXPORT_CHUNKS_IN_FLIGHT);
    // The count is known once the exporter is done, after the first chunks are out.
    let late = tandem_taxii::audit::at_body_end();
    let exporter = tokio::task::spawn_blocking(move || -> Result<u64, TaxiiError> {
        let sent = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let channel = ChannelWriter { tx: tx.clone(), sent: Arc::clone(&sent) };
        let mut out = std::io::BufWriter::with_capacity(EXPORT_CHUNK, channel);
        let internal = |e: anyhow::Error| TaxiiError::Internal(e.to_string());
        let result = match fmt {
            Format::Csv => glue::export_csv(&store, &ctx, &coll, &mut out).map(|r| r.get("rows")).map_err(internal),
            Format::Misp => {
                glue::export_misp(&store, &ctx, &coll, &opts, &mut out).map(|r| r.get("events")).map_err(internal)
            }
            Format::Stix => export_bundle(&store, &ctx, &coll, &filters, &mut out),
        }
        .and_then(|count| out.flush().map(|()| count).map_err(|e| TaxiiError::Internal(e.to_string())));
        // Before the channel closes (this closure's end), so the body's end finds it.
        if let Ok(count) = &result {
            late.set("returned", *count);
        }
        if let Err(e) = &result
            && sent.load(std::sync::atomic::Ordering::Relaxed)
        {
            // Bytes are out: the failure can only cut the download short. The body ends with
            // an error, so the client sees a broken transfer rather than a short file.
            tracing::warn!(error = %e, "export failed after its first bytes were sent");
            let _ = tx.blocking_send(Err(std::io::Error::other("the export failed")));
        }
        result
    });
    // Nothing is answered before the first chunk or the exporter's end: a failure before any
    // byte is out (most are: the first page read) is still a proper error answer.
    let first = rx.recv().await;
    if first.is_none() {
        exporter.await??;
    }
    let content_type = match fmt {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Misp | Format::Stix => "application/json",
    };
    let body = Body::new(ChannelBody { first, rest: rx });
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// Bytes per chunk of a streamed export, and chunks waiting for the client at most.
const EXPORT_CHUNK: usize = 64 * 1024;
const EXPORT_CHUNKS_IN_FLIGHT: usize = 4;

/// A STIX bundle of everything `ctx` may see in `collection` that passes `filters` (latest
/// versions unless all are asked for), written one page at a time. Returns how many objects.
fn export_bundle(
    store: &Arc<dyn Store>,
    ctx: &ViewContext,
    collection: &str,
    filters: &StixFilters,
    out: &mut impl Write,
) -> Result<u64, TaxiiError> {
    let io = |e: std::io::Error| TaxiiError::Internal(e.to_string());
    let mut n = 0u64;
    write!(out, "{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[", uuid::Uuid::new_v4()).map_err(io)?;
    let mut query = ObjectQuery {
        types: filters.types.clone(),
        added_after: filters.added_after,
        versions: if filters.all_versions { VersionFilter::All } else { VersionFilter::Last },
        limit: 1000,
        ..Default::default()
    };
    loop {
        let page = store.list(ctx, collection, &query)?;
        let (since, until) = (filters.since, filters.until);
        for r in page
            .items
            .into_iter()
            .filter(|r| since.is_none_or(|s| r.version >= s) && until.is_none_or(|u| r.version <= u))
        {
            if n > 0 {
                out.write_all(b",").map_err(io)?;
            }
            serde_json::to_writer(&mut *out, &r.object).map_err(|e| TaxiiError::Internal(e.to_string()))?;
            n += 1;
        }
        match page.next {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    out.write_all(b"]}").map_err(io)?;
    Ok(n)
}

/// The exporter's side of the download channel: each write is one chunk (a `BufWriter` in
/// front makes them `EXPORT_CHUNK` bytes). A client that went away is a broken pipe, which
/// stops the export.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    /// Whether any chunk went out (after which an error can no longer be an error answer).
    sent: Arc<std::sync::atomic::AtomicBool>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sent.store(true, std::sync::atomic::Ordering::Relaxed);
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The response side: the chunk already received, then the channel until the exporter ends.
struct ChannelBody {
    first: Option<std::io::Result<Bytes>>,
    rest: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if let Some(first) = self.first.take() {
            return std::task::Poll::Ready(Some(first.map(http_body::Frame::data)));
        }
        self.rest.poll_recv(cx).map(|chunk| chunk.map(|r| r.map(http_body::Frame::data)))
    }
}
