//! The embedded UI assets (`crates/web/assets/`, table written by `build.rs`), served under
//! `/ui/` with their content type and caching: `index.html` is revalidated at every load, files
//! under `vendor/` (pinned libraries) are cached long; text assets are sent gzip-encoded when
//! the browser accepts it (compressed once per process). Assets carry no data and need no login.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The bytes of the asset at `path` (relative to `assets/`), if embedded.
pub fn asset(path: &str) -> Option<&'static [u8]> {
    ASSETS.binary_search_by(|(p, _)| (*p).cmp(path)).ok().map(|i| ASSETS[i].1)
}

/// The content type of a file by its extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "geojson" | "topojson" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" | "md" => "text/plain; charset=utf-8",
        "map" => "application/json",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// How long a browser may keep `path` without asking again.
pub fn cache_control(path: &str) -> &'static str {
    if path.starts_with("vendor/") { "public, max-age=31536000, immutable" } else { "no-cache" }
}

/// Whether a type is worth compressing (text; images and fonts are compressed already).
fn compressible(path: &str) -> bool {
    let t = content_type(path);
    t.starts_with("text/") || t == "application/json" || t == "image/svg+xml" || t == "application/wasm"
}

/// The gzip form of asset `i`, compressed once per process on first request.
fn gzipped(i: usize) -> Option<&'static [u8]> {
    static GZ: std::sync::OnceLock<Vec<std::sync::OnceLock<Option<Vec<u8>>>>> = std::sync::OnceLock::new();
    let slots = GZ.get_or_init(|| ASSETS.iter().map(|_| std::sync::OnceLock::new()).collect());
    slots
        .get(i)?
        .get_or_init(|| {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(ASSETS[i].1).ok()?;
            enc.finish().ok()
        })
        .as_deref()
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Ok(i) = ASSETS.binary_search_by(|(p, _)| (*p).cmp(path)) else {
        return tandem_taxii::TaxiiError::NotFound.into_response();
    };
    let bytes = ASSETS[i].1;
    let gz = (bytes.len() > 1024 && compressible(path) && crate::accepts_gzip(headers)).then(|| gzipped(i)).flatten();
    let mut resp = match gz {
        Some(gz) => {
            let mut r = (StatusCode::OK, gz).into_response();
            r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        None => (StatusCode::OK, bytes).into_response(),
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(path)));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    resp
}

/// `GET /ui/`: the single-page app.
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /ui/<path>`: one asset (a directory path serves its `index.html`).
pub async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path.is_empty() || path.ends_with('/') {
        return serve(&format!("{path}index.html"), &headers);
    }
    serve(&path, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_holds_the_index() {
        assert!(ASSETS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(asset("index.html").is_some_and(|b| b.starts_with(b"<!doctype html>")));
        assert!(asset("../Cargo.toml").is_none() && asset("nope.js").is_none());
        assert_eq!(content_type("app/main.js"), "text/javascript; charset=utf-8");
        assert_eq!(cache_control("vendor/lib.js"), "public, max-age=31536000, immutable");
        assert_eq!(cache_control("index.html"), "no-cache");
    }

    #[test]
    fn gzip_forms_decode_to_the_asset() {
        use std::io::Read;
        for (i, (path, bytes)) in ASSETS.iter().enumerate().filter(|(_, (p, _))| compressible(p)) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(gzipped(i).unwrap()).read_to_end(&mut out).unwrap();
            assert_eq!(&out[..], *bytes, "{path}");
        }
        assert!(!compressible("vendor/font.woff2") && compressible("app/main.js"));
    }
}
