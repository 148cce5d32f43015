//! Content negotiation: the `Accept` and `Content-Type` headers (TAXII 2.1 §1.6.8).
//!
//! Accepted: `application/taxii+json` with `version=2.1` or no version, any other parameter
//! (such as `charset`) ignored, whitespace tolerated around `;` and `=`; also `*/*` and
//! `application/*`. A media range with `q=0` is a refusal. Anything else, a missing `Accept`
//! header and `version=2.0` included, is 406; a POST body of any other type is 415.

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::TaxiiError;

pub const TAXII_CONTENT_TYPE: &str = "application/taxii+json;version=2.1";
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// One parsed media range: lower-cased `type/subtype` and its parameters.
struct MediaRange {
    essence: String,
    params: Vec<(String, String)>,
}

impl MediaRange {
    fn parse(s: &str) -> Option<MediaRange> {
        let mut parts = s.split(';');
        let essence = parts.next()?.trim().to_ascii_lowercase();
        if essence.is_empty() || !essence.contains('/') {
            return None;
        }
        let mut params = Vec::new();
        for p in parts {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let (k, v) = p.split_once('=')?;
            params.push((k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_string()));
        }
        Some(MediaRange { essence, params })
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A TAXII 2.1 type: `application/taxii+json` with version 2.1 or none.
    fn is_taxii21(&self) -> bool {
        self.essence == "application/taxii+json" && self.param("version").is_none_or(|v| v == "2.1")
    }

    fn refused(&self) -> bool {
        self.param("q").and_then(|q| q.parse::<f32>().ok()).is_some_and(|q| q <= 0.0)
    }
}

/// Whether an `Accept` header value admits a TAXII 2.1 response.
pub fn accepts_taxii(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    accept
        .split(',')
        .filter_map(MediaRange::parse)
        .any(|r| !r.refused() && (r.is_taxii21() || r.essence == "*/*" || r.essence == "application/*"))
}

/// Whether a request `Content-Type` is a TAXII 2.1 body.
pub fn is_taxii_content_type(content_type: Option<&str>) -> bool {
    content_type.and_then(MediaRange::parse).is_some_and(|r| r.is_taxii21())
}

/// Middleware: refuses requests whose `Accept` header admits no TAXII 2.1 response.
pub async fn negotiate(req: Request, next: Next) -> Response {
    let values: Vec<&str> = req.headers().get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
    let joined = if values.is_empty() { None } else { Some(values.join(",")) };
    if !accepts_taxii(joined.as_deref()) {
        return TaxiiError::NotAcceptable.into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_variants() {
        for ok in [
            "application/taxii+json;version=2.1",
            "application/taxii+json; version=2.1",
            "application/taxii+json ; version = 2.1",
            "application/taxii+json",
            "Application/TAXII+json;version=2.1;charset=utf-8",
            "application/taxii+json;charset=utf-8",
            "*/*",
            "application/*",
            "text/html, application/taxii+json;version=2.1;q=0.9",
            "application/taxii+json;version=2.1,application/stix+json;version=2.1",
        ] {
            assert!(accepts_taxii(Some(ok)), "{ok}");
        }
        for bad in [
            "application/taxii+json;version=2.0",
            "application/json",
            "application/stix+json;version=2.1",
            "text/*",
            "",
            "garbage",
            "application/taxii+json;q=0",
        ] {
            assert!(!accepts_taxii(Some(bad)), "{bad}");
        }
        assert!(!accepts_taxii(None));
    }

    #[test]
    fn content_type_variants() {
        assert!(is_taxii_content_type(Some("application/taxii+json;version=2.1")));
        assert!(is_taxii_content_type(Some("application/taxii+json")));
        assert!(is_taxii_content_type(Some("application/taxii+json; charset=utf-8; version=2.1")));
        assert!(!is_taxii_content_type(Some("application/taxii+json;version=2.0")));
        assert!(!is_taxii_content_type(Some("application/json")));
        assert!(!is_taxii_content_type(Some("*/*")));
        assert!(!is_taxii_content_type(None));
    }
}
