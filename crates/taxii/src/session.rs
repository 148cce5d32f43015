//! Browser sessions for the web UI: a `tandem_session` cookie that the one [`crate::auth::Caller`]
//! extractor accepts on every route when a request carries no `Authorization` header.
//!
//! It lives here, not in `tandem-web`, because the extractor must read it and this crate cannot
//! depend on the web crate (which depends on this one). The web crate only calls [`login`] and
//! [`logout`].
//!
//! Design:
//! - A session id is 256 random bits. The store keeps only its SHA-256 (meta key
//!   `web/session/<hex>`), so a copy of the database does not hand out live sessions. Sessions
//!   go through the `Store` trait's meta keys, so every process on one data directory shares them.
//! - Expiry: [`IDLE`] after the last use, [`ABSOLUTE`] after the login, whichever comes first.
//!   The last use is written at most once a [`TOUCH_EVERY`] so reads do not each cost a write.
//! - A session names a user, never a principal: roles, clearance and the member are looked up in
//!   the user directory at every request ([`crate::Authenticator::principal_of`]), so a removed
//!   user or a changed role takes effect at once, and the roster check of the extractor applies.
//! - CSRF: every session has a random token, returned at login; any method but GET, HEAD and
//!   OPTIONS authenticated by the cookie must carry it in [`CSRF_HEADER`] (the cookie is also
//!   `SameSite=Strict`; the header is what a cross-site form cannot set).
//! - Passwords are checked by the same `Authenticator` as HTTP Basic (one Argon2 pool, one
//!   throttle and lock-out per name and address), by presenting them as a Basic credential.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tandem_store::{MetaStore, StoreError};

use crate::auth::AuthError;
use crate::{AppState, Principal, TaxiiError};

/// The cookie's name.
pub const COOKIE: &str = "tandem_session";
/// The header that carries the session's CSRF token on unsafe methods.
pub const CSRF_HEADER: &str = "x-tandem-csrf";
/// A session ends this long after its last use.
pub const IDLE: Duration = Duration::from_secs(8 * 3600);
/// A session ends this long after its login, however much it is used.
pub const ABSOLUTE: Duration = Duration::from_secs(24 * 3600);
/// The last use is recorded at most this often.
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// The meta key prefix of sessions.
pub const META_PREFIX: &str = "web/session/";

/// One stored session (format 1), keyed by the hash of its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub format: u32,
    pub user: String,
    /// The member the user belonged to at login: a user moved to another member logs in again.
    pub member: String,
    pub csrf: String,
    /// Unix seconds.
    pub created: u64,
    pub last_seen: u64,
}

impl Session {
    fn expired(&self, now: u64) -> bool {
        now.saturating_sub(self.created) >= ABSOLUTE.as_secs() || now.saturating_sub(self.last_seen) >= IDLE.as_secs()
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The meta key of a session id: its SHA-256, never the id.
pub fn meta_key(id: &str) -> String {
    let h = Sha256::digest(id.as_bytes());
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    format!("{META_PREFIX}{hex}")
}

/// Creates a session for `user` of `member`: `(id, session)`. The id is shown once, in the cookie.
pub fn create(store: &dyn MetaStore, user: &str, member: &str) -> Result<(String, Session), StoreError> {
    let id = random_token();
    let now = now_secs();
    let s = Session {
        format: 1,
        user: user.to_string(),
        member: member.to_string(),
        csrf: random_token(),
        created: now,
        last_seen: now,
    };
    let v = serde_json::to_value(&s).map_err(StoreError::backend)?;
    store.put_meta(&meta_key(&id), Some(&v))?;
    Ok((id, s))
}

/// The live session of `id`, touching its last use; an expired one is removed and `None`.
pub fn find(store: &dyn MetaStore, id: &str) -> Result<Option<Session>, StoreError> {
    let key = meta_key(id);
    let Some(v) = store.get_meta(&key)? else { return Ok(None) };
    let Ok(mut s) = serde_json::from_value::<Session>(v) else {
        // Not a session this binary wrote: refuse it rather than guess.
        tracing::warn!("unreadable web session record: refused and removed");
        store.put_meta(&key, None)?;
        return Ok(None);
    };
    let now = now_secs();
    if s.expired(now) {
        store.put_meta(&key, None)?;
        return Ok(None);
    }
    if now.saturating_sub(s.last_seen) >= TOUCH_EVERY.as_secs() {
        s.last_seen = now;
        let v = serde_json::to_value(&s).map_err(StoreError::backend)?;
        store.put_meta(&key, Some(&v))?;
    }
    Ok(Some(s))
}

/// Removes the session `id` (logout).
pub fn remove(store: &dyn MetaStore, id: &str) -> Result<(), StoreError> {
    store.put_meta(&meta_key(id), None)
}

/// Removes every expired session (housekeeping; returns how many).
pub fn sweep(store: &dyn MetaStore) -> Result<usize, StoreError> {
    let now = now_secs();
    let mut n = 0;
    for (key, v) in store.list_meta(META_PREFIX)? {
        let dead = serde_json::from_value::<Session>(v).map_or(true, |s| s.expired(now));
        if dead {
            store.put_meta(&key, None)?;
            n += 1;
        }
    }
    Ok(n)
}

/// The session id in a request's `Cookie` headers, if any.
pub fn cookie_id(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Constant-time equality of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `Set-Cookie` value of a new session; `secure` adds `Secure` (https).
pub fn set_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/{secure}")
}

/// The `Set-Cookie` value that clears the cookie in the browser.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

/// Whether cookies must be `Secure`: the node is reached over https.
pub fn secure(state: &AppState) -> bool {
    state.config.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
}

/// A successful login.
pub struct LoggedIn {
    pub id: String,
    pub session: Session,
    pub principal: Principal,
}

/// Checks `username`/`password` with the node's authenticator (the throttle and lock-out of HTTP
/// Basic apply, per name and `client` address), and opens a session. Audited as the request's
/// caller on success, as `auth.failure` otherwise. A user of a member that is not active is
/// refused (403): it could read nothing.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    client: Option<std::net::IpAddr>,
) -> Result<LoggedIn, TaxiiError> {
    let presented: String = username.chars().take(128).collect();
    if username.is_empty() || username.contains(':') || username.len() > 256 || password.len() > 4096 {
        crate::audit::failed(Some(presented), "malformed login");
        return Err(TaxiiError::Unauthorized);
    }
    let header = format!("Basic {}", STANDARD.encode(format!("{username}:{password}")));
    let auth = state.auth.clone();
    let result = tokio::task::spawn_blocking(move || auth.authenticate_from(Some(&header), client)).await?;
    let principal = result.map_err(|e| {
        crate::audit::failed(Some(presented.clone()), &e.to_string());
        match e {
            AuthError::Throttled(secs) => TaxiiError::TooManyRequests { retry_after_secs: secs },
            _ => TaxiiError::Unauthorized,
        }
    })?;
    let roster = state.roster();
    if roster.member(&principal.member).is_none() {
        crate::audit::failed(Some(principal.user), "member not in the roster");
        return Err(TaxiiError::Unauthorized);
    }
    crate::audit::authenticated(&principal.user, &principal.member);
    if !roster.is_active(&principal.member) {
        return Err(TaxiiError::Forbidden("the member of this account is not active in the roster".into()));
    }
    let store = state.store.clone();
    let (user, member) = (principal.user.clone(), principal.member.clone());
    let (id, session) = tokio::task::spawn_blocking(move || {
        // Housekeeping at each login keeps the table to the sessions alive.
        if let Err(e) = sweep(store.as_ref()) {
            tracing::warn!(error = %e, "cannot sweep expired web sessions");
        }
        create(store.as_ref(), &user, &member)
    })
    .await??;
    Ok(LoggedIn { id, session, principal })
}

/// Ends the session of the request's cookie, server side.
pub async fn logout(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), TaxiiError> {
    if let Some(id) = cookie_id(headers) {
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || remove(store.as_ref(), &id)).await??;
    }
    Ok(())
}

/// The principal of a session cookie, for the `Caller` extractor; the CSRF token is checked
/// for unsafe methods. Errors are the client's answer (401 without a Basic challenge, so a
/// browser shows no password dialog; 403 for a missing or wrong CSRF token).
pub(crate) async fn authenticate(
    state: &AppState,
    parts: &axum::http::request::Parts,
    id: String,
) -> Result<Principal, TaxiiError> {
    let store = state.store.clone();
    let found = tokio::task::spawn_blocking(move || find(store.as_ref(), &id)).await??;
    let unauthorized = TaxiiError::Other(axum::http::StatusCode::UNAUTHORIZED);
    let Some(s) = found else {
        crate::audit::failed(None, "invalid or expired session");
        return Err(unauthorized);
    };
    let principal = match state.auth.principal_of(&s.user) {
        Some(p) if p.member == s.member => p,
        _ => {
            crate::audit::failed(Some(s.user), "the session's user no longer exists or changed member");
            return Err(unauthorized);
        }
    };
    use axum::http::Method;
    let safe = [Method::GET, Method::HEAD, Method::OPTIONS].contains(&parts.method);
    if !safe {
        let token = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !same_token(token, &s.csrf) {
            crate::audit::authenticated(&principal.user, &principal.member);
            crate::audit::detail("csrf", "missing or wrong");
            return Err(TaxiiError::Forbidden("a cookie-authenticated change needs the X-Tandem-CSRF header".into()));
        }
    }
    Ok(principal)
}

/// A session's JSON for the UI (login and `GET /ui/api/session`).
pub fn describe(state: &AppState, p: &Principal, s: &Session) -> Value {
    let name = state.roster().member(&p.member).map(|m| m.name.clone()).unwrap_or_default();
    serde_json::json!({
        "user": p.user,
        "member": p.member,
        "member_name": name,
        "roles": p.roles,
        "csrf": s.csrf,
    })
}

/// The session of the request's cookie without touching it (for `GET /ui/api/session`).
pub async fn current(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Option<Session>, TaxiiError> {
    let Some(id) = cookie_id(headers) else { return Ok(None) };
    let store = state.store.clone();
    Ok(tokio::task::spawn_blocking(move || find(store.as_ref(), &id)).await??)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Meta(std::sync::Mutex<std::collections::BTreeMap<String, Value>>);

    impl MetaStore for Meta {
        fn get_meta(&self, key: &str) -> tandem_store::Result<Option<Value>> {
            Ok(self.0.lock().unwrap().get(key).cloned())
        }
        fn put_meta(&self, key: &str, value: Option<&Value>) -> tandem_store::Result<()> {
            let mut m = self.0.lock().unwrap();
            match value {
                Some(v) => m.insert(key.to_string(), v.clone()),
                None => m.remove(key),
            };
            Ok(())
        }
        fn list_meta(&self, prefix: &str) -> tandem_store::Result<Vec<(String, Value)>> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect())
        }
        fn cas_meta(&self, _: &str, _: Option<&Value>, _: Option<&Value>) -> tandem_store::Result<bool> {
            Ok(false)
        }
        fn insert_meta_absent(&self, entries: &[(String, Value)]) -> tandem_store::Result<Vec<bool>> {
            let mut m = self.0.lock().unwrap();
            Ok(entries
                .iter()
                .map(|(k, v)| match m.entry(k.clone()) {
                    std::collections::btree_map::Entry::Occupied(_) => false,
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(v.clone());
                        true
                    }
                })
                .collect())
        }
    }

    #[test]
    fn stored_under_the_hash_only_and_removed_at_logout() {
        let m = Meta::default();
        let (id, s) = create(&m, "alice", "USA").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&id).unwrap().len(), 32, "256 random bits");
        let keys: Vec<String> = m.list_meta("").unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![meta_key(&id)]);
        assert!(!keys[0].contains(&id) && !m.list_meta("").unwrap()[0].1.to_string().contains(&id));
        assert_eq!(find(&m, &id).unwrap(), Some(s));
        assert_eq!(find(&m, "forged").unwrap(), None);
        remove(&m, &id).unwrap();
        assert_eq!(find(&m, &id).unwrap(), None);
    }

    #[test]
    fn idle_and_absolute_expiry() {
        let m = Meta::default();
        let (id, mut s) = create(&m, "alice", "USA").unwrap();
        let now = now_secs();
        s.last_seen = now - IDLE.as_secs();
        m.put_meta(&meta_key(&id), Some(&serde_json::to_value(&s).unwrap())).unwrap();
        assert_eq!(find(&m, &id).unwrap(), None, "idle too long");
        assert!(m.list_meta(META_PREFIX).unwrap().is_empty(), "and removed");
        let (id, mut s) = create(&m, "alice", "USA").unwrap();
        s.created = now - ABSOLUTE.as_secs();
        s.last_seen = now;
        m.put_meta(&meta_key(&id), Some(&serde_json::to_value(&s).unwrap())).unwrap();
        assert_eq!(find(&m, &id).unwrap(), None, "older than the absolute bound, though in use");
        let (id, mut s) = create(&m, "alice", "USA").unwrap();
        s.last_seen = now - TOUCH_EVERY.as_secs() - 1;
        m.put_meta(&meta_key(&id), Some(&serde_json::to_value(&s).unwrap())).unwrap();
        assert!(find(&m, &id).unwrap().unwrap().last_seen >= now, "a use is recorded");
        let (_, mut s) = create(&m, "bob", "USA").unwrap();
        s.created = 0;
        m.put_meta(&format!("{META_PREFIX}old"), Some(&serde_json::to_value(&s).unwrap())).unwrap();
        assert_eq!(sweep(&m).unwrap(), 1);
    }

    #[test]
    fn cookies() {
        let mut h = axum::http::HeaderMap::new();
        h.append(axum::http::header::COOKIE, "a=b; tandem_session=xyz; c=d".parse().unwrap());
        assert_eq!(cookie_id(&h).as_deref(), Some("xyz"));
        assert_eq!(cookie_id(&axum::http::HeaderMap::new()), None);
        let c = set_cookie("xyz", true);
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure") && c.contains("Path=/")
        );
        assert!(!set_cookie("xyz", false).contains("Secure"));
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }
}
