//! Authentication: HTTP Basic and `Bearer tdm_<token_id>_<secret>` API tokens, verified against
//! Argon2id hashes.
//!
//! Argon2 costs tens of milliseconds by design; a client paging through a large collection sends
//! the same credential on every request. Successful verifications are therefore cached in memory,
//! keyed by a SHA-256 of the presented `Authorization` value (never the secret itself), for a
//! bounded time and count. Failures are never cached, so guessing still pays Argon2 each time.
//! An unknown user name is verified against a dummy hash so that its timing matches a wrong
//! password.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tandem_policy::Classification;

use crate::{AppState, Principal, TaxiiError};

/// Why a request could not be authenticated. All of them are a 401 to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials presented")]
    Missing,
    #[error("malformed Authorization header")]
    Malformed,
    #[error("invalid credentials")]
    Invalid,
}

/// Turns an `Authorization` header value into a principal.
pub trait Authenticator: Send + Sync {
    fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError>;
}

/// A user account (from the config file or the database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub member: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    pub clearance: Classification,
    pub roles: Vec<String>,
    pub read_only: bool,
}

/// An API token: presented as `tdm_<token_id>_<secret>`, stored as the secret's Argon2 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub token_id: String,
    pub user: String,
    pub secret_hash: String,
}

const CACHE_TTL: Duration = Duration::from_secs(600);
const CACHE_MAX: usize = 10_000;

/// The accounts and tokens in force.
#[derive(Default)]
struct Entries {
    accounts: HashMap<String, Account>,
    tokens: HashMap<String, ApiToken>,
}

/// Accounts and tokens, with a cache of recent successful verifications. The running node
/// replaces the entries when `tandem user add` or `tandem token create` changed them
/// ([`UserDirectory::replace`]), so they take effect without a restart.
pub struct UserDirectory {
    entries: std::sync::RwLock<Entries>,
    cache: Mutex<HashMap<[u8; 32], (String, Instant)>>,
    /// Bumped by every [`UserDirectory::replace`]: a verification that started before a reload
    /// is not cached after it.
    generation: std::sync::atomic::AtomicU64,
}

impl UserDirectory {
    pub fn new(accounts: impl IntoIterator<Item = Account>, tokens: impl IntoIterator<Item = ApiToken>) -> Self {
        let d = UserDirectory { entries: Default::default(), cache: Mutex::new(HashMap::new()), generation: 0.into() };
        d.replace(accounts, tokens);
        d
    }

    /// Puts a new set of accounts and tokens in force. The verification cache is emptied: a
    /// removed token or a changed password must not keep authenticating from it.
    pub fn replace(&self, accounts: impl IntoIterator<Item = Account>, tokens: impl IntoIterator<Item = ApiToken>) {
        let fresh = Entries {
            accounts: accounts.into_iter().map(|a| (a.name.clone(), a)).collect(),
            tokens: tokens.into_iter().map(|t| (t.token_id.clone(), t)).collect(),
        };
        match self.entries.write() {
            Ok(mut e) => *e = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match self.cache.lock() {
            Ok(mut c) => c.clear(),
            Err(p) => p.into_inner().clear(),
        }
    }

    fn entries(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        match self.entries.read() {
            Ok(e) => e,
            Err(p) => p.into_inner(),
        }
    }

    fn principal(&self, user: &str) -> Result<Principal, AuthError> {
        let entries = self.entries();
        let a = entries.accounts.get(user).ok_or(AuthError::Invalid)?;
        Ok(Principal {
            user: a.name.clone(),
            member: a.member.clone(),
            clearance: a.clearance,
            roles: a.roles.clone(),
            read_only: a.read_only,
        })
    }

    fn cached(&self, key: &[u8; 32]) -> Option<String> {
        let cache = self.cache.lock().ok()?;
        cache.get(key).filter(|(_, at)| at.elapsed() < CACHE_TTL).map(|(u, _)| u.clone())
    }

    fn remember(&self, key: [u8; 32], user: &str, generation: u64) {
        if let Ok(mut cache) = self.cache.lock() {
            if self.generation.load(std::sync::atomic::Ordering::SeqCst) != generation {
                return;
            }
            if cache.len() >= CACHE_MAX {
                cache.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
                if cache.len() >= CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(key, (user.to_string(), Instant::now()));
        }
    }

    /// Checks the credential and returns the user name it authenticates.
    fn verify(&self, authorization: &str) -> Result<String, AuthError> {
        let (scheme, rest) = authorization.trim().split_once(' ').ok_or(AuthError::Malformed)?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = STANDARD.decode(rest).map_err(|_| AuthError::Malformed)?;
            let text = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
            let (user, password) = text.split_once(':').ok_or(AuthError::Malformed)?;
            // Cloned out so that Argon2 runs without holding the lock a reload waits for.
            let account = self.entries().accounts.get(user).cloned();
            match account {
                Some(a) if verify_secret(password, &a.password_hash) => Ok(a.name.clone()),
                Some(_) => Err(AuthError::Invalid),
                None => {
                    // Same cost as a wrong password: do not reveal which names exist.
                    let _ = verify_secret(password, dummy_hash());
                    Err(AuthError::Invalid)
                }
            }
        } else if scheme.eq_ignore_ascii_case("bearer") {
            let (token_id, secret) = parse_token(rest).ok_or(AuthError::Malformed)?;
            let token = self.entries().tokens.get(token_id).cloned();
            match token {
                Some(t) if verify_secret(secret, &t.secret_hash) => Ok(t.user.clone()),
                Some(_) => Err(AuthError::Invalid),
                None => {
                    let _ = verify_secret(secret, dummy_hash());
                    Err(AuthError::Invalid)
                }
            }
        } else {
            Err(AuthError::Malformed)
        }
    }
}

impl Authenticator for UserDirectory {
    fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let authorization = authorization.filter(|a| !a.trim().is_empty()).ok_or(AuthError::Missing)?;
        let key: [u8; 32] = Sha256::digest(authorization.as_bytes()).into();
        if let Some(user) = self.cached(&key) {
            return self.principal(&user);
        }
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        let user = self.verify(authorization)?;
        let principal = self.principal(&user)?;
        self.remember(key, &user, generation);
        Ok(principal)
    }
}

/// `tdm_<token_id>_<secret>` -> `(token_id, secret)`. Token ids are alphanumeric; the secret
/// (base64url) may itself contain `_`.
fn parse_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix("tdm_")?.split_once('_')?;
    (!id.is_empty() && id.bytes().all(|c| c.is_ascii_alphanumeric()) && !secret.is_empty()).then_some((id, secret))
}

fn verify_secret(plain: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(plain.as_bytes(), &parsed).is_ok(),
        Err(e) => {
            tracing::warn!(error = %e, "unparseable password hash in the user directory");
            false
        }
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_secret("tandem-dummy-password"))
}

/// Hashes a password or token secret: Argon2id with default parameters, as a PHC string.
pub fn hash_secret(plain: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    match Argon2::default().hash_password(plain.as_bytes(), &salt) {
        Ok(h) => h.to_string(),
        // Only fails for out-of-range parameters, which the defaults are not.
        Err(e) => unreachable!("argon2 with default parameters failed: {e}"),
    }
}

/// A fresh API token: `(token_string, token_id, secret_hash)`. Show the token string once; store
/// only the id and the hash.
pub fn new_token() -> (String, String, String) {
    let mut rng = rand::rngs::OsRng;
    let mut id = [0u8; 8];
    rng.fill_bytes(&mut id);
    let token_id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    let hash = hash_secret(&secret);
    (format!("tdm_{token_id}_{secret}"), token_id, hash)
}

/// The user name a credential claims, for auditing failures: the Basic user name, or
/// `token:<id>` for an API token. Never the secret; capped at 128 characters.
fn presented_name(authorization: Option<&str>) -> Option<String> {
    let (scheme, rest) = authorization?.trim().split_once(' ')?;
    let name = if scheme.eq_ignore_ascii_case("basic") {
        let text = String::from_utf8(STANDARD.decode(rest.trim()).ok()?).ok()?;
        text.split_once(':')?.0.to_string()
    } else if scheme.eq_ignore_ascii_case("bearer") {
        format!("token:{}", parse_token(rest.trim())?.0)
    } else {
        return None;
    };
    Some(name.chars().take(128).collect())
}

/// The role of the accounts peer nodes pull and notify with: only they get sync mode
/// (`X-Tandem-Sync: 1`) and may send notifications.
pub const PEER_ROLE: &str = "peer";

/// The authenticated caller of a request, checked against the roster. Every route of a node
/// authenticates through it (or [`ActiveCaller`]), so every request is audited with its "who".
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = TaxiiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| TaxiiError::Unauthorized)?.to_string()),
        };
        let auth = state.auth.clone();
        let presented = presented_name(header.as_deref());
        let result = tokio::task::spawn_blocking(move || auth.authenticate(header.as_deref())).await?;
        let principal = result.map_err(|e| {
            tracing::debug!(reason = %e, "authentication failed");
            crate::audit::failed(presented, &e.to_string());
            TaxiiError::Unauthorized
        })?;
        if state.roster().member(&principal.member).is_none() {
            tracing::warn!(user = %principal.user, member = %principal.member, "account's member is not in the roster");
            crate::audit::failed(Some(principal.user), "member not in the roster");
            return Err(TaxiiError::Unauthorized);
        }
        crate::audit::authenticated(&principal.user, &principal.member);
        Ok(Caller(principal))
    }
}

/// A [`Caller`] whose member is active in the roster. Used by Tandem's own endpoints: a user
/// of a suspended or removed member is refused (403) there. TAXII reads keep [`Caller`]: such a
/// user reads nothing (the store decides), and a suspended member's node still reaches
/// discovery and the roster changes, which is how it learns that it was reinstated.
pub struct ActiveCaller(pub Principal);

impl FromRequestParts<AppState> for ActiveCaller {
    type Rejection = TaxiiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(p) = Caller::from_request_parts(parts, state).await?;
        if !state.roster().is_active(&p.member) {
            return Err(TaxiiError::Forbidden("the member of this account is not active in the roster".into()));
        }
        Ok(ActiveCaller(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> (UserDirectory, String) {
        let (token, token_id, secret_hash) = new_token();
        let dir = UserDirectory::new(
            [Account {
                name: "alice".into(),
                member: "USA".into(),
                password_hash: hash_secret("s3cret"),
                clearance: Classification::Secret,
                roles: vec!["analyst".into()],
                read_only: false,
            }],
            [ApiToken { token_id, user: "alice".into(), secret_hash }],
        );
        (dir, token)
    }

    fn basic(user: &str, pass: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")))
    }

    #[test]
    fn basic_and_bearer() {
        let (dir, token) = directory();
        let p = dir.authenticate(Some(&basic("alice", "s3cret"))).unwrap();
        assert_eq!((p.user.as_str(), p.member.as_str()), ("alice", "USA"));
        // Second time comes from the cache.
        assert!(dir.authenticate(Some(&basic("alice", "s3cret"))).is_ok());
        assert_eq!(dir.authenticate(Some(&format!("Bearer {token}"))).unwrap().user, "alice");
        assert_eq!(dir.authenticate(Some(&format!("bearer {token}"))).unwrap().user, "alice");
    }

    #[test]
    fn refuses_bad_credentials() {
        let (dir, token) = directory();
        assert_eq!(dir.authenticate(None), Err(AuthError::Missing));
        assert_eq!(dir.authenticate(Some(&basic("alice", "wrong"))), Err(AuthError::Invalid));
        assert_eq!(dir.authenticate(Some(&basic("mallory", "s3cret"))), Err(AuthError::Invalid));
        assert_eq!(dir.authenticate(Some("Basic !!!")), Err(AuthError::Malformed));
        assert_eq!(dir.authenticate(Some("Digest abc")), Err(AuthError::Malformed));
        let forged = format!("{}x", token);
        assert_eq!(dir.authenticate(Some(&format!("Bearer {forged}"))), Err(AuthError::Invalid));
        assert_eq!(dir.authenticate(Some("Bearer tdm_nope")), Err(AuthError::Malformed));
    }

    #[test]
    fn replace_takes_effect_and_forgets_cached_verifications() {
        let (dir, token) = directory();
        let bearer = format!("Bearer {token}");
        assert!(dir.authenticate(Some(&bearer)).is_ok());
        let alice = dir.entries().accounts.get("alice").cloned().unwrap();
        let bob = Account { name: "bob".into(), password_hash: hash_secret("pw"), ..alice.clone() };
        // The token is gone: its cached verification must not keep it alive.
        dir.replace([alice, bob], []);
        assert_eq!(dir.authenticate(Some(&bearer)), Err(AuthError::Invalid));
        assert_eq!(dir.authenticate(Some(&basic("bob", "pw"))).unwrap().user, "bob");
    }

    #[test]
    fn token_format() {
        let (token, id, hash) = new_token();
        assert!(token.starts_with(&format!("tdm_{id}_")));
        assert!(hash.starts_with("$argon2id$"));
        let (pid, secret) = parse_token(&token).unwrap();
        assert_eq!(pid, id);
        assert!(verify_secret(secret, &hash));
    }
}
