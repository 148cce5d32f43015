//! `POST /ui/api/login`, `GET /ui/api/session`, `POST /ui/api/logout`: the browser's session
//! (`tandem_taxii::session` keeps the sessions, since the one `Caller` extractor reads them).

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tandem_taxii::auth::{ActiveCaller, Caller};
use tandem_taxii::session;
use tandem_taxii::{AppState, TaxiiError};

use crate::json;

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// The largest login body read (a user name and a password).
const MAX_LOGIN_BODY: usize = 16 * 1024;

/// A login must be `Content-Type: application/json`: a cross-site form cannot send that without
/// a CORS preflight (which this node never grants), so another site cannot log a browser in to
/// an account of its choosing (login CSRF).
pub async fn login(State(state): State<AppState>, req: Request<Body>) -> Result<Response, TaxiiError> {
    let json_body = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !json_body {
        return Err(TaxiiError::Other(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let client = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let bytes = axum::body::to_bytes(req.into_body(), MAX_LOGIN_BODY)
        .await
        .map_err(|_| TaxiiError::BadRequest("the body must be a small JSON object".into()))?;
    let creds: Credentials = serde_json::from_slice(&bytes)
        .map_err(|_| TaxiiError::BadRequest("the body must be JSON {\"username\", \"password\"}".into()))?;
    let done = session::login(&state, &creds.username, &creds.password, client).await?;
    let mut resp = json(&session::describe(&state, &done.principal, &done.session))?;
    let cookie = session::set_cookie(&done.id, session::secure(&state));
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| TaxiiError::internal("session cookie", e))?;
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

/// The caller's session; 401 without a login. A caller with HTTP Basic or a token (a script)
/// is told who it is, with `"csrf": null`: it has no session and needs no token.
pub async fn current(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, TaxiiError> {
    if headers.contains_key(header::AUTHORIZATION) {
        let name = state.roster.read().ok().and_then(|r| r.member(&p.member).map(|m| m.name.clone()));
        return json(&serde_json::json!({
            "user": p.user, "member": p.member, "member_name": name.unwrap_or_default(),
            "roles": p.roles, "csrf": null,
        }));
    }
    match session::current(&state, &headers).await? {
        Some(s) => json(&session::describe(&state, &p, &s)),
        None => Err(TaxiiError::Other(StatusCode::UNAUTHORIZED)),
    }
}

/// Ends the session server side (the cookie is cleared too). Authenticated like any change: the
/// cookie and its CSRF token.
pub async fn logout(
    Caller(_): Caller,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, TaxiiError> {
    session::logout(&state, &headers).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let cookie = HeaderValue::from_str(&session::clear_cookie(session::secure(&state)))
        .map_err(|e| TaxiiError::internal("session cookie", e))?;
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}
