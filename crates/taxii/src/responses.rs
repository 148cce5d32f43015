//! Building TAXII responses: JSON bodies with the TAXII content type, the
//! `X-TAXII-Date-Added-*` headers, and the last-chance rewrite of responses produced outside
//! the handlers (axum's 405s and rejections) into TAXII error messages.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use tandem_model::Timestamp;
use tandem_store::Record;

use crate::TaxiiError;
use crate::media::TAXII_CONTENT_TYPE;

pub const DATE_ADDED_FIRST: &str = "x-taxii-date-added-first";
pub const DATE_ADDED_LAST: &str = "x-taxii-date-added-last";

/// A JSON body with the TAXII content type.
pub fn taxii_json(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_CONTENT_TYPE));
    resp
}

/// A 200 page with the date-added headers.
pub fn page(body: &Value, first: Timestamp, last: Timestamp) -> Response {
    with_bounds(taxii_json(StatusCode::OK, body), first, last)
}

/// A 200 page of objects, `{"more", "next"?, "objects"?, <extra>...}`, written straight from the
/// records: a copy the store returned as its stored text ([`Record::stored_text`]) goes out as
/// those bytes, never parsed and re-serialised; a redacted copy from its value. The `objects`
/// list is omitted when empty (TAXII forbids empty lists).
pub fn objects_page(
    records: &[Record],
    next: Option<&str>,
    extra: &Map<String, Value>,
    first: Timestamp,
    last: Timestamp,
) -> Response {
    let size: usize = records.iter().map(|r| r.stored_text.as_ref().map_or(1024, String::len) + 1).sum();
    let mut out = Vec::with_capacity(size + 128);
    out.extend_from_slice(if next.is_some() { b"{\"more\":true" } else { b"{\"more\":false" });
    if let Some(n) = next {
        out.extend_from_slice(b",\"next\":");
        json_into(&mut out, &Value::String(n.to_string()));
    }
    if !records.is_empty() {
        out.extend_from_slice(b",\"objects\":[");
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match &r.stored_text {
                Some(text) => out.extend_from_slice(text.as_bytes()),
                None => json_into(&mut out, &r.object),
            }
        }
        out.push(b']');
    }
    for (k, v) in extra {
        out.push(b',');
        json_into(&mut out, &Value::String(k.clone()));
        out.push(b':');
        json_into(&mut out, v);
    }
    out.push(b'}');
    let mut resp = (StatusCode::OK, out).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_CONTENT_TYPE));
    with_bounds(resp, first, last)
}

/// Appends `v`'s JSON text (writing a `Value` into a `Vec` cannot fail).
fn json_into(out: &mut Vec<u8>, v: &Value) {
    let _ = serde_json::to_writer(&mut *out, v);
}

/// The `X-TAXII-Date-Added-First`/`-Last` headers.
fn with_bounds(mut resp: Response, first: Timestamp, last: Timestamp) -> Response {
    let headers = resp.headers_mut();
    for (name, ts) in [(DATE_ADDED_FIRST, first), (DATE_ADDED_LAST, last)] {
        if let Ok(v) = HeaderValue::from_str(&ts.to_taxii()) {
            headers.insert(name, v);
        }
    }
    resp
}

/// Middleware: every response carries the TAXII content type, and every error produced outside
/// a handler (405 from routing, a rejection) gets a TAXII error body. Headers such as `Allow`
/// and `WWW-Authenticate` are kept.
pub async fn taxii_envelope(resp: Response) -> Response {
    let is_taxii =
        resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == TAXII_CONTENT_TYPE.as_bytes());
    if is_taxii {
        return resp;
    }
    if resp.status().is_client_error() || resp.status().is_server_error() {
        return error_envelope(resp).await;
    }
    let (mut parts, body) = resp.into_parts();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_CONTENT_TYPE));
    Response::from_parts(parts, Body::new(body))
}

/// Middleware for routes outside TAXII negotiation (Tandem's own JSON endpoints): an error
/// produced outside a handler (an extractor's rejection, such as a body that is not UTF-8 or a
/// path segment that does not decode, or a 405 from routing) gets a TAXII error body like the
/// handlers' own errors, instead of axum's plain text. Successes and TAXII error bodies pass
/// unchanged; headers such as `Allow` and `WWW-Authenticate` are kept.
pub async fn error_envelope(resp: Response) -> Response {
    let status = resp.status();
    let is_taxii =
        resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == TAXII_CONTENT_TYPE.as_bytes());
    if is_taxii || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (mut parts, _) = resp.into_parts();
    let err = match status {
        StatusCode::METHOD_NOT_ALLOWED => TaxiiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => TaxiiError::PayloadTooLarge,
        StatusCode::NOT_FOUND => TaxiiError::NotFound,
        s => TaxiiError::Other(s),
    };
    let (fresh_parts, body) = err.into_response().into_parts();
    for (name, value) in fresh_parts.headers.iter() {
        parts.headers.insert(name.clone(), value.clone());
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body)
}
