//! The one error type of the TAXII server and its HTTP mapping.
//!
//! Every failure becomes a TAXII error message (`{"title", "description", "http_status"}`, the
//! status as a string as in the spec's example) with the TAXII content type. Internal failures
//! are logged here, where they are handled, and reach the client as a bare 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::media::TAXII_CONTENT_TYPE;

/// The `WWW-Authenticate` challenge sent with every 401.
pub const WWW_AUTHENTICATE: &str = "Basic realm=\"tandem\", Bearer";

/// The `Retry-After` sent with a 503 (busy storage clears within the store's busy timeout).
pub const RETRY_AFTER_SECS: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum TaxiiError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("not acceptable")]
    NotAcceptable,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// Over a rate limit; the client may try again after this many seconds (`Retry-After`).
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
    /// The storage is busy: 503 with `Retry-After`, the client may try again.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The node's storage is full: 507, nothing was stored, reads still work.
    #[error("insufficient storage")]
    InsufficientStorage,
    /// Any other status (used to wrap responses produced outside the handlers).
    #[error("http status {0}")]
    Other(StatusCode),
}

impl TaxiiError {
    pub fn status(&self) -> StatusCode {
        match self {
            TaxiiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            TaxiiError::Unauthorized => StatusCode::UNAUTHORIZED,
            TaxiiError::Forbidden(_) => StatusCode::FORBIDDEN,
            TaxiiError::NotFound => StatusCode::NOT_FOUND,
            TaxiiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            TaxiiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            TaxiiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            TaxiiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            TaxiiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            TaxiiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            TaxiiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            TaxiiError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            TaxiiError::Other(s) => *s,
        }
    }

    fn description(&self) -> String {
        match self {
            TaxiiError::BadRequest(d) => d.clone(),
            TaxiiError::Unauthorized => "valid credentials are required (HTTP Basic or a Bearer API token)".into(),
            TaxiiError::Forbidden(d) => d.clone(),
            TaxiiError::NotFound => "the requested resource was not found or is not accessible".into(),
            TaxiiError::MethodNotAllowed => "this method is not supported on this endpoint".into(),
            TaxiiError::NotAcceptable => "the Accept header must include application/taxii+json;version=2.1".into(),
            TaxiiError::PayloadTooLarge => "the request body exceeds max_content_length of the API root".into(),
            TaxiiError::UnsupportedMediaType => "the Content-Type must be application/taxii+json;version=2.1".into(),
            TaxiiError::TooManyRequests { .. } => "too many requests: try again after Retry-After seconds".into(),
            TaxiiError::Internal(_) => "the server could not complete the request".into(),
            TaxiiError::Unavailable(_) => "the server is busy: try again shortly".into(),
            TaxiiError::InsufficientStorage => {
                "the node's storage is full: nothing of this request was stored; try again later".into()
            }
            TaxiiError::Other(s) => s.canonical_reason().unwrap_or("error").to_string(),
        }
    }

    /// Logs a backend failure and returns the opaque error the client sees.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        TaxiiError::Internal(context.to_string())
    }
}

impl From<tandem_store::StoreError> for TaxiiError {
    fn from(e: tandem_store::StoreError) -> Self {
        match e {
            tandem_store::StoreError::BadCursor => TaxiiError::BadRequest("invalid next token".into()),
            // Busy storage is transient: the client retries, nothing is wrong with the request.
            e @ tandem_store::StoreError::Retryable { .. } => {
                tracing::warn!(error = %e, "storage busy: answering 503");
                TaxiiError::Unavailable("storage busy".into())
            }
            // A full disk refuses the write cleanly (rolled back); the operator is told.
            e @ tandem_store::StoreError::Full { .. } => {
                tracing::error!(error = %e, "storage full: refusing the write with 507");
                TaxiiError::InsufficientStorage
            }
            // Corrupt stored data on an access-control path denies the request and is logged.
            other => TaxiiError::internal("storage failure", other),
        }
    }
}

impl From<tokio::task::JoinError> for TaxiiError {
    fn from(e: tokio::task::JoinError) -> Self {
        TaxiiError::internal("worker task failed", e)
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match self {
            TaxiiError::TooManyRequests { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        };
        let body = json!({
            "title": status.canonical_reason().unwrap_or("Error"),
            "description": self.description(),
            "http_status": status.as_u16().to_string(),
        });
        let mut resp = (status, body.to_string()).into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_CONTENT_TYPE));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(WWW_AUTHENTICATE));
        }
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_by_kind() {
        use tandem_store::StoreError;
        let status = |e: StoreError| TaxiiError::from(e).into_response();
        let busy = status(StoreError::retryable("database is locked"));
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()), Some(&b"1"[..]));
        assert_eq!(status(StoreError::BadCursor).status(), StatusCode::BAD_REQUEST);
        for e in [StoreError::Corrupt("label".into()), StoreError::backend("disk"), StoreError::Conflict("x".into())] {
            let r = status(e);
            assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(r.headers().get(header::RETRY_AFTER).is_none());
        }
    }
}
