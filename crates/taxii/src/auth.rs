//! Authentication: HTTP Basic and `Bearer tdm_<token_id>_<secret>` API tokens, verified against
//! Argon2id hashes.
//!
//! Argon2 costs tens of milliseconds by design; a client paging through a large collection sends
//! the same credential on every request. Successful verifications are therefore cached in memory,
//! keyed by a SHA-256 of the presented `Authorization` value (never the secret itself), for a
//! bounded time and count. Failures are never cached, so guessing still pays Argon2 each time.
//! An unknown user name is verified against a dummy hash so that its timing matches a wrong
//! password.
//!
//! Guessing is bounded three ways (each Argon2 verification holds about 19 MiB and tens of
//! milliseconds of a core): at most [`MAX_CONCURRENT_VERIFICATIONS`] run at once, whoever asks
//! (100 clients sending wrong passwords once took a node from 173 MiB to 4.2 GiB); after
//! [`FREE_FAILURES`] consecutive failures for one name from one client address, further attempts
//! for it from there are refused with 429 without running Argon2, for a delay that doubles with
//! each failure up to [`MAX_LOCKOUT`]; a whole address is slowed (at most
//! [`MAX_ADDRESS_LOCKOUT`]) after [`FREE_ADDRESS_FAILURES`], since many users may share one behind
//! a proxy; and one name is throttled from everywhere only after [`FREE_NAME_FAILURES`], for at
//! most a minute, so that guessing one account from many addresses is slowed while nobody can
//! lock a peer account out for long (a credential that already verified is served from the
//! cache and never throttled). A success clears the name's
//! records; a run of failures is forgotten after a quarter of an hour without one.
//!
//! Without an `Authorization` header, [`Caller`] accepts the web UI's session cookie
//! ([`crate::session`]: CSRF token required on unsafe methods) on every route.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tandem_policy::Classification;

use crate::{AppState, Principal, TaxiiError};

/// Why a request could not be authenticated. All but `Throttled` are a 401 to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials presented")]
    Missing,
    #[error("malformed Authorization header")]
    Malformed,
    #[error("invalid credentials")]
    Invalid,
    /// Too many recent failures for this name or address: 429, retry after this many seconds.
    #[error("too many failed attempts: retry in {0} s")]
    Throttled(u64),
}

/// Argon2 verifications that may run at once (each holds about 19 MiB).
pub const MAX_CONCURRENT_VERIFICATIONS: usize = 4;
/// Consecutive failures from one address (or for one name from one address) before its attempts
/// are delayed.
pub const FREE_FAILURES: u32 = 5;
/// The longest delay for an address.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(300);
/// Consecutive failures from one address, for any names, before all its attempts are delayed
/// (briefly: many users may share an address behind a proxy).
pub const FREE_ADDRESS_FAILURES: u32 = 20;
/// The longest delay for a whole address.
pub const MAX_ADDRESS_LOCKOUT: Duration = Duration::from_secs(5);
/// Consecutive failures for one name, from anywhere, before its attempts are delayed.
pub const FREE_NAME_FAILURES: u32 = 50;
/// The longest delay for a name from everywhere.
pub const MAX_NAME_LOCKOUT: Duration = Duration::from_secs(60);
/// A run of failures ends after this long without one.
const FORGET_AFTER: Duration = Duration::from_secs(900);
/// Names and addresses whose failures are remembered at once (a bound on memory).
const MAX_FAILURE_RECORDS: usize = 100_000;

/// Failures per presented name or client address.
#[derive(Default)]
struct Failures {
    by_key: HashMap<String, (u32, Instant)>,
}

impl Failures {
    /// `Err(seconds)` while `key` is locked out under `rule` (free failures, longest delay).
    fn check(&self, key: &str, rule: (u32, Duration), now: Instant) -> Result<(), u64> {
        match self.by_key.get(key) {
            Some((n, last)) if *n >= rule.0 => {
                let wait = lockout(*n, rule);
                let elapsed = now.saturating_duration_since(*last);
                if elapsed < wait { Err((wait - elapsed).as_secs().max(1)) } else { Ok(()) }
            }
            _ => Ok(()),
        }
    }

    fn fail(&mut self, key: &str, now: Instant) {
        if self.by_key.len() >= MAX_FAILURE_RECORDS && !self.by_key.contains_key(key) {
            self.by_key.retain(|_, (n, last)| {
                now.saturating_duration_since(*last) < lockout(*n, (FREE_FAILURES, MAX_LOCKOUT))
            });
            if self.by_key.len() >= MAX_FAILURE_RECORDS {
                self.by_key.clear();
            }
        }
        let entry = self.by_key.entry(key.to_string()).or_insert((0, now));
        // Failures a quarter of an hour apart are not a run.
        if now.saturating_duration_since(entry.1) > FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
    }

    fn clear(&mut self, key: &str) {
        self.by_key.remove(key);
    }
}

/// The delay after `n` consecutive failures under `(free, longest)`: one second at the first
/// failure over the free ones, doubling, at most `longest`.
fn lockout(n: u32, (free, longest): (u32, Duration)) -> Duration {
    let over = n.saturating_sub(free).min(16);
    Duration::from_secs(1u64 << over).min(longest)
}

/// A few threads of their own that run every Argon2 verification, one at a time each. Limiting
/// how many run at once is not enough: the allocator keeps each thread's freed 19 MiB for that
/// thread, so verifications spread over a hundred blocking threads kept 2 GiB resident (measured
/// by `tests/hostile_auth.rs`). On these threads only, the memory stays bounded.
struct Slots {
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
}

type Job = Box<dyn FnOnce() + Send>;

impl Slots {
    fn new(n: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..n {
            let rx = std::sync::Arc::clone(&rx);
            let spawned = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || {
                loop {
                    let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        // The directory is gone.
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password verification thread");
            }
        }
        Slots { jobs: Mutex::new(tx) }
    }

    /// Runs `f` on one of the threads and waits for it; `None` if no thread could run it.
    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (done, result) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).send(job).ok()?;
        result.recv().ok()
    }

    /// Verifies `plain` against `phc` on the verification threads (false if none could).
    fn verify(&self, plain: &str, phc: &str) -> bool {
        let (plain, phc) = (plain.to_string(), phc.to_string());
        self.run(move || verify_secret(&plain, &phc)).unwrap_or(false)
    }
}

thread_local! {
    /// A verification thread's Argon2 working memory, allocated once and reused.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Verifies `plain` against an Argon2 PHC string, computing the hash in this thread's reused
/// working memory (run it on the verification threads).
fn verify_secret(plain: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        tracing::warn!("unparseable password hash in the user directory");
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let argon = (|| -> Result<Argon2<'static>, argon2::password_hash::Error> {
        let algorithm = argon2::Algorithm::try_from(parsed.algorithm)?;
        let version = parsed.version.map(argon2::Version::try_from).transpose()?.unwrap_or_default();
        let params = argon2::Params::try_from(&parsed)?;
        Ok(Argon2::new(algorithm, version, params))
    })();
    let Ok(argon) = argon else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut out = vec![0u8; expected.len()];
    let blocks = argon.params().block_count();
    let hashed = BLOCKS.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() != blocks {
            b.clear();
            b.resize(blocks, argon2::Block::default());
        }
        argon.hash_password_into_with_memory(plain.as_bytes(), salt, &mut out, &mut b[..])
    });
    // `Output`'s equality is constant-time.
    hashed.is_ok() && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// Turns an `Authorization` header value into a principal.
pub trait Authenticator: Send + Sync {
    fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError>;

    /// [`Authenticator::authenticate`] for a request from `client` (its address), so that
    /// failures can be throttled per address too.
    fn authenticate_from(
        &self,
        authorization: Option<&str>,
        _client: Option<std::net::IpAddr>,
    ) -> Result<Principal, AuthError> {
        self.authenticate(authorization)
    }

    /// The principal of the user named `user`, if it exists now (a browser session names a user
    /// and takes its roles and member from here at every request). `None` by default.
    fn principal_of(&self, _user: &str) -> Option<Principal> {
        None
    }
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
    failures: Mutex<Failures>,
    slots: Slots,
    /// Bumped by every [`UserDirectory::replace`]: a verification that started before a reload
    /// is not cached after it.
    generation: std::sync::atomic::AtomicU64,
}

impl UserDirectory {
    pub fn new(accounts: impl IntoIterator<Item = Account>, tokens: impl IntoIterator<Item = ApiToken>) -> Self {
        let d = UserDirectory {
            entries: Default::default(),
            cache: Mutex::new(HashMap::new()),
            failures: Mutex::new(Failures::default()),
            slots: Slots::new(MAX_CONCURRENT_VERIFICATIONS),
            generation: 0.into(),
        };
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
        match parse_authorization(authorization).ok_or(AuthError::Malformed)? {
            Credential::Basic { user, password } => {
                // Cloned out so that Argon2 runs without holding the lock a reload waits for.
                let account = self.entries().accounts.get(&user).cloned();
                match account {
                    Some(a) if self.slots.verify(&password, &a.password_hash) => Ok(a.name.clone()),
                    Some(_) => Err(AuthError::Invalid),
                    None => {
                        // Same cost as a wrong password: do not reveal which names exist.
                        let _ = self.slots.verify(&password, dummy_hash());
                        Err(AuthError::Invalid)
                    }
                }
            }
            Credential::Bearer { token_id, secret } => {
                let token = self.entries().tokens.get(token_id).cloned();
                match token {
                    Some(t) if self.slots.verify(secret, &t.secret_hash) => Ok(t.user.clone()),
                    Some(_) => Err(AuthError::Invalid),
                    None => {
                        let _ = self.slots.verify(secret, dummy_hash());
                        Err(AuthError::Invalid)
                    }
                }
            }
        }
    }
}

/// A credential as an `Authorization` header presents it, before any verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential<'a> {
    /// `Basic base64(user:password)`: the password may contain `:`, the user may not.
    Basic { user: String, password: String },
    /// `Bearer tdm_<token_id>_<secret>`.
    Bearer { token_id: &'a str, secret: &'a str },
}

/// Parses an `Authorization` header value (scheme case-insensitive, whitespace around the
/// value tolerated); `None` for anything malformed. The one parser of the header: verification
/// and the audit's presented name both read it here (and the `taxii_headers` fuzz target).
pub fn parse_authorization(authorization: &str) -> Option<Credential<'_>> {
    let (scheme, rest) = authorization.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let text = String::from_utf8(STANDARD.decode(rest).ok()?).ok()?;
        let (user, password) = text.split_once(':')?;
        Some(Credential::Basic { user: user.to_string(), password: password.to_string() })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        let (token_id, secret) = parse_token(rest)?;
        Some(Credential::Bearer { token_id, secret })
    } else {
        None
    }
}

impl Authenticator for UserDirectory {
    fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        self.authenticate_from(authorization, None)
    }

    fn principal_of(&self, user: &str) -> Option<Principal> {
        self.principal(user).ok()
    }

    fn authenticate_from(
        &self,
        authorization: Option<&str>,
        client: Option<std::net::IpAddr>,
    ) -> Result<Principal, AuthError> {
        let authorization = authorization.filter(|a| !a.trim().is_empty()).ok_or(AuthError::Missing)?;
        let key: [u8; 32] = Sha256::digest(authorization.as_bytes()).into();
        if let Some(user) = self.cached(&key) {
            return self.principal(&user);
        }
        // Throttled by address, by name at an address, and (more leniently) by name, before
        // any Argon2 work.
        let name = presented_name(Some(authorization)).unwrap_or_default();
        let strict = (FREE_FAILURES, MAX_LOCKOUT);
        let mut keys: Vec<(String, (u32, Duration))> =
            vec![(format!("name:{name}"), (FREE_NAME_FAILURES, MAX_NAME_LOCKOUT))];
        if let Some(ip) = client {
            keys.push((format!("pair:{ip}/{name}"), strict));
            keys.push((format!("addr:{ip}"), (FREE_ADDRESS_FAILURES, MAX_ADDRESS_LOCKOUT)));
        }
        let now = Instant::now();
        {
            let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(wait) = keys.iter().filter_map(|(k, rule)| failures.check(k, *rule, now).err()).max() {
                return Err(AuthError::Throttled(wait));
            }
        }
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        let verified = self.verify(authorization).and_then(|user| Ok((self.principal(&user)?, user)));
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match verified {
            Ok((principal, user)) => {
                // The name's records; an address's run of failures is not forgiven by a success
                // for one (possibly the guesser's own) account.
                for (k, _) in keys.iter().filter(|(k, _)| !k.starts_with("addr:")) {
                    failures.clear(k);
                }
                drop(failures);
                self.remember(key, &user, generation);
                Ok(principal)
            }
            Err(e) => {
                for (k, _) in &keys {
                    failures.fail(k, Instant::now());
                }
                Err(e)
            }
        }
    }
}

/// `tdm_<token_id>_<secret>` -> `(token_id, secret)`. Token ids are alphanumeric; the secret
/// (base64url) may itself contain `_`.
fn parse_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix("tdm_")?.split_once('_')?;
    (!id.is_empty() && id.bytes().all(|c| c.is_ascii_alphanumeric()) && !secret.is_empty()).then_some((id, secret))
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
    let name = match parse_authorization(authorization?)? {
        Credential::Basic { user, .. } => user,
        Credential::Bearer { token_id, .. } => format!("token:{token_id}"),
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
        // A browser session, when no credential is presented (an `Authorization` header wins:
        // a script holding a token is not a browser).
        if header.is_none()
            && let Some(id) = crate::session::cookie_id(&parts.headers)
        {
            let principal = crate::session::authenticate(state, parts, id).await?;
            return admit(state, parts, principal);
        }
        let auth = state.auth.clone();
        let presented = presented_name(header.as_deref());
        let client = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let result = tokio::task::spawn_blocking(move || auth.authenticate_from(header.as_deref(), client)).await?;
        let principal = result.map_err(|e| {
            tracing::debug!(reason = %e, "authentication failed");
            crate::audit::failed(presented, &e.to_string());
            match e {
                AuthError::Throttled(secs) => TaxiiError::TooManyRequests { retry_after_secs: secs },
                _ => TaxiiError::Unauthorized,
            }
        })?;
        admit(state, parts, principal)
    }
}

/// The roster check every authenticated caller passes, however it authenticated.
fn admit(state: &AppState, parts: &Parts, principal: Principal) -> Result<Caller, TaxiiError> {
    if state.roster().member(&principal.member).is_none() {
        tracing::warn!(user = %principal.user, member = %principal.member, "account's member is not in the roster");
        crate::audit::failed(Some(principal.user), "member not in the roster");
        return Err(TaxiiError::Unauthorized);
    }
    if principal.is_peer() {
        let transport = crate::transport::Transport::of(&parts.extensions);
        if let Some(reason) = crate::transport::peer_refusal(transport, &state.roster(), &principal.member) {
            tracing::warn!(user = %principal.user, member = %principal.member, reason, "peer refused");
            crate::audit::failed(Some(principal.user), reason);
            return Err(TaxiiError::Forbidden(reason.into()));
        }
    }
    crate::audit::authenticated(&principal.user, &principal.member);
    Ok(Caller(principal))
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
    fn authorization_headers_parse_without_verifying() {
        let basic_of = |user: &str, password: &str| Credential::Basic { user: user.into(), password: password.into() };
        assert_eq!(parse_authorization(&basic("alice", "s3:cret")), Some(basic_of("alice", "s3:cret")));
        assert_eq!(parse_authorization("  bAsIc   YWxpY2U6  "), Some(basic_of("alice", "")));
        assert_eq!(
            parse_authorization("Bearer tdm_0a1b_se_cret"),
            Some(Credential::Bearer { token_id: "0a1b", secret: "se_cret" })
        );
        for bad in
            ["", "Basic", "Basic ", "Basic !!!", "Basic YWxpY2U=", "Basic /w==", "Bearer tdm__x", "Bearer tdm_a-b_x"]
        {
            assert_eq!(parse_authorization(bad), None, "{bad:?}");
        }
        assert_eq!(presented_name(Some("Bearer tdm_0a1b_x")).as_deref(), Some("token:0a1b"));
        assert_eq!(presented_name(Some(&basic(&"n".repeat(300), "p"))).map(|n| n.len()), Some(128));
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

    #[test]
    fn repeated_failures_from_one_address_are_throttled_without_argon2() {
        let (dir, _) = directory();
        let attacker: std::net::IpAddr = "198.51.100.7".parse().unwrap();
        let other: std::net::IpAddr = "198.51.100.8".parse().unwrap();
        let wrong = basic("alice", "guess");
        for _ in 0..FREE_FAILURES {
            assert_eq!(dir.authenticate_from(Some(&wrong), Some(attacker)), Err(AuthError::Invalid));
        }
        // Locked for that name from there, even with the right password (the check comes before
        // any verification); another name from there is still verified.
        assert!(matches!(dir.authenticate_from(Some(&wrong), Some(attacker)), Err(AuthError::Throttled(_))));
        assert!(matches!(
            dir.authenticate_from(Some(&basic("alice", "s3cret")), Some(attacker)),
            Err(AuthError::Throttled(_))
        ));
        assert_eq!(dir.authenticate_from(Some(&basic("bob", "x")), Some(attacker)), Err(AuthError::Invalid));
        // Enough failures for any names slow the whole address, briefly.
        for n in 0..FREE_ADDRESS_FAILURES {
            let _ = dir.authenticate_from(Some(&basic(&format!("user{n}"), "x")), Some(attacker));
        }
        assert!(
            matches!(dir.authenticate_from(Some(&basic("carol", "x")), Some(attacker)), Err(AuthError::Throttled(s)) if s <= 5)
        );
        // The account itself still works from elsewhere.
        assert_eq!(dir.authenticate_from(Some(&basic("alice", "s3cret")), Some(other)).unwrap().user, "alice");
    }

    #[test]
    fn lockouts_double_up_to_a_bound_and_runs_end() {
        let strict = (FREE_FAILURES, MAX_LOCKOUT);
        assert_eq!(lockout(FREE_FAILURES, strict), Duration::from_secs(1));
        assert_eq!(lockout(FREE_FAILURES + 3, strict), Duration::from_secs(8));
        assert_eq!(lockout(FREE_FAILURES + 30, strict), MAX_LOCKOUT);
        assert_eq!(lockout(FREE_NAME_FAILURES + 30, (FREE_NAME_FAILURES, MAX_NAME_LOCKOUT)), MAX_NAME_LOCKOUT);
        let mut f = Failures::default();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            f.fail("addr:x", t0);
        }
        assert_eq!(f.check("addr:x", strict, t0), Err(1));
        assert_eq!(f.check("addr:x", strict, t0 + Duration::from_secs(2)), Ok(()));
        // A failure a quarter of an hour later starts a new run.
        f.fail("addr:x", t0 + FORGET_AFTER + Duration::from_secs(1));
        assert_eq!(f.check("addr:x", strict, t0 + FORGET_AFTER + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn one_name_is_throttled_from_everywhere_only_after_many_failures() {
        let (dir, _) = directory();
        let wrong = basic("alice", "guess");
        for i in 0..FREE_NAME_FAILURES {
            let ip = std::net::IpAddr::from([203, 0, 113, (i % 250) as u8]);
            assert_eq!(dir.authenticate_from(Some(&wrong), Some(ip)), Err(AuthError::Invalid), "attempt {i}");
        }
        let fresh = std::net::IpAddr::from([192, 0, 2, 1]);
        assert!(matches!(dir.authenticate_from(Some(&wrong), Some(fresh)), Err(AuthError::Throttled(s)) if s <= 60));
    }

    #[test]
    fn verifications_run_a_bounded_number_at_once() {
        let slots = std::sync::Arc::new(Slots::new(2));
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (slots, running, most) = (slots.clone(), running.clone(), most.clone());
                std::thread::spawn(move || {
                    slots.run(move || {
                        let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        std::thread::current().name().map(str::to_string)
                    })
                })
            })
            .collect();
        for t in threads {
            let name = t.join().unwrap().flatten();
            assert!(name.is_some_and(|n| n.starts_with("argon2-")), "ran on the verification threads");
        }
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
