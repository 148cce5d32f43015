//! The storage trait and the types that cross it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_model::Timestamp;
use tandem_policy::{Roster, Viewer};

/// Why a store operation failed, by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The operation collides with what is stored (a uniqueness constraint): retrying the same
    /// request fails the same way.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The storage is busy (SQLite's `SQLITE_BUSY`/`SQLITE_LOCKED` after the busy timeout, or a
    /// poisoned lock held by a panicked writer): the same request may succeed later.
    #[error("storage busy: {source}")]
    Retryable {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Stored data does not parse or breaks an invariant. On access-control paths this is never
    /// turned into a default (an empty label, originator ""): the caller denies and logs.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("invalid paging token")]
    BadCursor,
    /// The storage cannot grow: the disk is full (`SQLITE_FULL`, `ENOSPC`) or the operating
    /// system refused a write (`SQLITE_IOERR_WRITE`: `EFBIG` past a file-size limit, a quota).
    /// The transaction was rolled back, nothing was stored; reads still work, and the same
    /// write succeeds once space returns.
    #[error("storage full: {source}")]
    Full {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Any other failure of the backend (I/O, a schema newer than this binary, ...).
    #[error("storage failure: {source}")]
    Backend {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// A backend failure from any error (or a message: `String` and `&str` convert too).
    pub fn backend(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Backend { source: source.into() }
    }

    /// A failure worth retrying.
    pub fn retryable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Retryable { source: source.into() }
    }

    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Retryable { .. })
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::retryable(e),
                ErrorCode::ConstraintViolation => StoreError::Conflict(e.to_string()),
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt(e.to_string()),
                ErrorCode::DiskFull => StoreError::Full { source: e.into() },
                ErrorCode::SystemIoFailure if f.extended_code == rusqlite::ffi::SQLITE_IOERR_WRITE => {
                    StoreError::Full { source: e.into() }
                }
                _ => StoreError::backend(e),
            },
            // A stored value of the wrong type or shape: the data, not the backend, is at fault.
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::backend(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Who is reading, with the roster snapshot to decide against.
#[derive(Debug, Clone)]
pub struct ViewContext {
    pub viewer: Viewer,
    pub roster: Arc<Roster>,
}

/// One object to store, already validated, with the member that originates it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub object: tandem_model::StixObject,
    /// The originator's signed provenance (see `tandem-sync`), stored with the version.
    pub provenance: Option<Value>,
}

impl Incoming {
    /// An object without provenance.
    pub fn new(object: tandem_model::StixObject) -> Self {
        Incoming { object, provenance: None }
    }
}

/// A deleted version, as the tombstone feed releases it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    pub id: String,
    /// The deleted version; `None` for an unversioned cyber-observable.
    pub version: Option<Timestamp>,
    /// The member that originated the deleted version.
    pub originator: String,
    /// The deleted version's `object_marking_refs`, so the deletion travels as far as the
    /// version could.
    #[serde(default)]
    pub object_markings: Vec<String>,
    /// The position in the serving node's feed (same clock as `date_added`).
    #[serde(default = "epoch")]
    pub added: Timestamp,
    /// The originator's signature of the deletion (see `tandem-sync`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Value>,
}

fn epoch() -> Timestamp {
    Timestamp::from_micros(0)
}

/// What happened to one incoming object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    Added {
        id: String,
        version: Timestamp,
        date_added: Timestamp,
        /// This write made the claims of several members on one id conflict (they no longer
        /// are the same versions with the same contents; an observable's never conflict):
        /// readers other than the claimants are served none of them (see `Store::list`), the
        /// writer's caller audits it and `tandem doctor` lists it. Never told to the writer's
        /// client.
        contested: bool,
    },
    /// The exact same version was already stored: a no-op, reported as a success.
    Duplicate {
        id: String,
        version: Timestamp,
        date_added: Timestamp,
    },
    Rejected {
        id: String,
        version: Option<Timestamp>,
        reason: String,
    },
}

/// An id claimed by more than one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contest {
    pub collection: String,
    pub id: String,
    /// The members holding versions or tombstones under the id, sorted.
    pub claimants: Vec<String>,
    pub first_seen: Timestamp,
}

/// `match[version]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VersionFilter {
    #[default]
    Last,
    First,
    All,
    /// Any of these versions (exact instants), possibly combined with `last`/`first`.
    Some {
        exact: Vec<Timestamp>,
        last: bool,
        first: bool,
    },
}

/// The filters a TAXII listing applies; fields are AND-ed, values within one are OR-ed.
#[derive(Debug, Clone, Default)]
pub struct ObjectQuery {
    pub added_after: Option<Timestamp>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub versions: VersionFilter,
    /// Empty means "latest spec version only" (Tandem stores 2.1 only, so: all).
    pub spec_versions: Vec<String>,
    pub limit: usize,
    /// Continue after this position (from a `next` token).
    pub cursor: Option<crate::cursor::Cursor>,
    /// Also return each version's stored provenance (federation asks; other readers need not
    /// pay for reading and parsing it).
    pub with_provenance: bool,
    /// Return every member's claim on an id that the viewer may see, instead of the one claim
    /// a reader is served (see [`ObjectStore::list`]). Federation asks, as a peer account: each claim
    /// then replicates into its own originator's namespace on the peer, verified against its
    /// own signer, and the peer settles what its own readers see.
    pub every_claim: bool,
    /// Only versions stored with their originator's provenance. A syncing peer verifies every
    /// version against its originator's key, so an unsigned one (posted here by another
    /// member's user, which this node cannot sign for) is not offered to it at all.
    pub signed_only: bool,
    /// Full-text search: only versions of the searched types ([`crate::text::INDEXED_TYPES`])
    /// whose copy *as this viewer receives it* matches. A backend's index proposes candidates;
    /// the match is checked again on the viewer's (possibly redacted) copy by
    /// [`crate::access::release_matching`], so withheld text never finds an object.
    pub text: Option<crate::text::TextQuery>,
    /// Return a copy released whole as the stored JSON text ([`Record::stored_text`], with
    /// `object` left `Value::Null`) instead of parsing it: for a reader that only writes copies
    /// out (TAXII pages), which then neither builds nor re-serialises a value tree per object.
    /// Redacted copies, and every copy of a text search, are values as always.
    pub whole_as_stored: bool,
    /// Federation after a roster change: only versions whose release to the viewer *widened*
    /// since this earlier roster (denied then and released now, or released now with fewer
    /// properties withheld), or whose originator's key changed since (a receiver may have
    /// refused them as unverifiable). The current roster in the `ViewContext` still decides
    /// what is served; this only leaves out what the viewer was already released
    /// ([`crate::access::LabelCache::released_widened`]).
    pub widened_since: Option<std::sync::Arc<tandem_policy::Roster>>,
}

/// One stored version as a viewer may receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub object_type: String,
    pub spec_version: String,
    /// The version timestamp (`modified`, else `created`), or `date_added` for unversioned SCOs.
    pub version: Timestamp,
    pub date_added: Timestamp,
    /// The object as this viewer may see it (redacted where policy says so); `Value::Null` when
    /// the copy is in `stored_text` instead.
    pub object: Value,
    /// The stored JSON text of a copy released whole, set (and `object` left null) only when the
    /// query asked for [`ObjectQuery::whole_as_stored`].
    pub stored_text: Option<String>,
    pub originator: String,
    pub redacted: bool,
    /// The stored provenance of the version (as stored: adjust it for a redacted `object`).
    pub provenance: Option<Value>,
}

/// A page of results in ascending `date_added`.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Set when more results follow; pass it back to continue.
    pub next: Option<crate::cursor::Cursor>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page { items: Vec::new(), next: None }
    }
}

/// What a delete did, from the deleter's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Nothing the viewer may see matched.
    NotFound,
    /// Visible, but the viewer's member did not originate it.
    Forbidden,
    Deleted(usize),
}

/// A user account stored in the database (config users live in the config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredUser {
    pub name: String,
    pub member: String,
    pub password_hash: String,
    pub clearance: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    pub token_id: String,
    pub user: String,
    pub secret_hash: String,
    pub created: Timestamp,
    pub label: Option<String>,
}

/// A status resource written with the objects it reports on ([`ObjectStore::put_with_status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStatus {
    pub id: String,
    /// The user who may read it.
    pub owner: String,
    /// Its JSON text.
    pub body: String,
}

/// Storage of object versions. All object reads take a [`ViewContext`] and return only what
/// policy releases to it; the methods without one serve the node's own federation machinery.
pub trait ObjectStore: Send + Sync {
    /// Stores versions originated by `originator` into `collection`, atomically per object: each
    /// object is either fully stored (and durable when this returns) or rejected with a reason.
    fn put(&self, collection: &str, originator: &str, objects: Vec<Incoming>) -> Result<Vec<PutOutcome>> {
        self.put_with_status(collection, originator, objects, &mut |_| None)
    }

    /// [`put`](Self::put), and the status resource that `status` makes of the outcomes stored in
    /// the same transaction: a TAXII POST's objects and its status are durable together, with one
    /// commit (one fsync) rather than two, and a status never names versions that a crash lost.
    /// `status` is called once, with the outcomes in submission order, before the commit.
    fn put_with_status(
        &self,
        collection: &str,
        originator: &str,
        objects: Vec<Incoming>,
        status: &mut (dyn FnMut(&[PutOutcome]) -> Option<NewStatus> + Send),
    ) -> Result<Vec<PutOutcome>>;

    /// Lists object versions in ascending `date_added`. This one method serves the objects,
    /// object, versions and manifest endpoints: `query.ids` narrows to one object,
    /// `query.versions` picks versions, and callers project what they need from each [`Record`].
    ///
    /// Every member's versions of an id live in that member's own namespace. When several
    /// members claim one id, a reader receives (unless `query.every_claim`): its own member's
    /// claim if it has one; else the one claim it may see; else, among claims it may see, the
    /// signed ones over claims a visiting user posted unsigned; and when that still leaves more
    /// than one member's claim, one of them (the lowest member code) only if they are the same
    /// content or the id is a cyber-observable's, and otherwise none (a conflict: withheld,
    /// listed by [`ObjectStore::contested`]). Claims the reader may not see play no part, so nothing
    /// it receives depends on them.
    fn list(&self, ctx: &ViewContext, collection: &str, query: &ObjectQuery) -> Result<Page<Record>>;

    /// Deletes the matching versions of one object. Only the originator's member may delete;
    /// a version the viewer may not see counts as absent. Deleted versions leave tombstones, so
    /// they can never be stored again (sync cannot resurrect them).
    fn delete(&self, ctx: &ViewContext, collection: &str, id: &str, versions: &VersionFilter) -> Result<DeleteOutcome>;

    /// Deletions in ascending feed position after `after`, released by the same policy as the
    /// versions they deleted.
    fn list_tombstones(
        &self,
        ctx: &ViewContext,
        collection: &str,
        after: Option<Timestamp>,
        limit: usize,
    ) -> Result<Page<Tombstone>>;

    /// Applies deletions learnt from a peer: records each tombstone (so the version can never be
    /// stored again) and deletes the stored version when its originator is the tombstone's.
    /// Returns the tombstones that were new.
    fn apply_tombstones(&self, collection: &str, tombstones: Vec<Tombstone>) -> Result<Vec<Tombstone>>;

    /// Marking ids referenced by stored objects that do not resolve to a known marking, with how
    /// many object versions each affects (for `tandem doctor`).
    fn unresolved_markings(&self) -> Result<Vec<(String, u64)>>;

    /// For each `(id, version, originator)`, whether this store holds that version in that
    /// originator's namespace, or a tombstone of it. Federation asks before fetching what a
    /// peer's manifest offers, so a version crosses each link once instead of once per path;
    /// another member's copy under the same id never counts. Says nothing about releasability:
    /// the answers go to this node's own puller only.
    fn holds_versions(&self, collection: &str, versions: &[(String, Timestamp, String)]) -> Result<Vec<bool>>;

    /// Whether a version `owner` stored before `before` (a `date_added`) references its marking
    /// `marking_id`, at object level or in a granular marking: such a version was withheld from
    /// peers while the marking was unknown and becomes servable now (federation then moves its
    /// release epoch).
    fn referenced_before(&self, owner: &str, marking_id: &str, before: Timestamp) -> Result<bool>;

    /// Ids whose claims by several members conflict, with the claimants and when they came to
    /// conflict, for `tandem doctor` (an operator's view: never served to a reader).
    fn contested(&self) -> Result<Vec<Contest>>;

    /// Replaces the provenance of versions already stored, each named by its `date_added` and
    /// id, where `originator` originated the version (a node signing what its member stored
    /// before it signed, or under an older proof format). Other versions are left alone.
    /// Returns how many versions were updated.
    fn set_provenance(
        &self,
        collection: &str,
        originator: &str,
        proofs: Vec<(Timestamp, String, Value)>,
    ) -> Result<usize>;

    /// The latest position handed out on the node's clock (a version's `date_added` or a
    /// tombstone's), whichever process wrote it; `None` for an empty store. Federation watches it
    /// to notice writes made outside the server (`tandem import`).
    fn feed_position(&self) -> Result<Option<Timestamp>>;

    /// Counts the objects `ctx` receives, grouped by properties of its copy of each (see
    /// [`crate::aggregate::AggregateQuery`]). The default pages through [`ObjectStore::list`] and computes in Rust,
    /// so it takes exactly the decision `list` takes (released rows only, the latest version of
    /// each claim, contested ids settled per reader, properties redacted for the viewer missing)
    /// and cannot diverge from it. A backend may override it for speed only with the same
    /// results (the conformance suite and the releasability property test compare them).
    fn aggregate(
        &self,
        ctx: &ViewContext,
        collection: &str,
        query: &crate::aggregate::AggregateQuery,
    ) -> Result<Vec<(crate::aggregate::GroupKey, crate::aggregate::Counts)>> {
        crate::aggregate::over_list(self, ctx, collection, query)
    }
}

/// Status resources and the accounts created with the CLI (config accounts live in the config).
pub trait AccountStore: Send + Sync {
    /// Status resources: stored as opaque JSON, owned by a user.
    fn put_status(&self, id: &str, owner: &str, body: &Value) -> Result<()>;
    fn get_status(&self, id: &str, owner: &str) -> Result<Option<Value>>;

    fn users(&self) -> Result<Vec<StoredUser>>;
    fn put_user(&self, user: &StoredUser) -> Result<()>;
    fn tokens(&self) -> Result<Vec<StoredToken>>;
    fn put_token(&self, token: &StoredToken) -> Result<()>;

    /// A value that changes whenever users or tokens change, whichever process wrote: a running
    /// node checks it once a second and reads the accounts only when it moved.
    fn accounts_version(&self) -> Result<Vec<i64>> {
        Ok(vec![self.users()?.len() as i64, self.tokens()?.len() as i64])
    }
}

/// Small named JSON values: federation state (peers, cursors, status), the roster log.
/// Meta key of the release epoch: a value federation replaces (with a random one) when what
/// stored versions release changed without a new version, as when a marking-definition arrives
/// after versions that reference it. Peers then re-read this node's feed, and live streams send
/// their clients a `reset`.
pub const RELEASE_EPOCH_KEY: &str = "sync/epoch";

/// The smallest string after every string that starts with `prefix` (`None`: there is none,
/// the prefix is empty or all `char::MAX`): backends list a prefix as the key range
/// `[prefix, prefix_end(prefix))`, which their key index answers without a scan. Byte order of
/// UTF-8 is code point order, so this is the right bound for a binary (`C`) collation.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next scalar value (surrogates are not chars: after U+D7FF comes U+E000).
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

pub trait MetaStore: Send + Sync {
    /// The value under `key`, if any.
    fn get_meta(&self, key: &str) -> Result<Option<Value>>;
    /// Stores `value` under `key`; `None` removes the key.
    fn put_meta(&self, key: &str, value: Option<&Value>) -> Result<()>;
    /// Every key starting with `prefix`, with its value, in key order.
    fn list_meta(&self, prefix: &str) -> Result<Vec<(String, Value)>>;

    /// Replaces the value under `key` with `new` (`None` removes it) only if it is `expected`
    /// now (`None`: absent), atomically, also against other handles and processes on the same
    /// data: of several writers that expect one value, exactly one succeeds. Returns whether it
    /// replaced the value.
    fn cas_meta(&self, key: &str, expected: Option<&Value>, new: Option<&Value>) -> Result<bool>;

    /// Stores each `(key, value)` whose key is absent now, all in ONE transaction (one commit,
    /// one fsync, however many entries), atomically also against other handles and processes:
    /// of several writers inserting one key, exactly one gets `true` for it. Present keys keep
    /// their value. Returns, per entry in order, whether it was inserted (a key repeated in
    /// `entries` is inserted by its first occurrence). Either every insert commits or none.
    fn insert_meta_absent(&self, entries: &[(String, Value)]) -> Result<Vec<bool>>;
}

/// A whole store: what callers hold (`Arc<dyn Store>`). Implemented for every type that
/// implements the three parts.
pub trait Store: ObjectStore + AccountStore + MetaStore {}

impl<T: ObjectStore + AccountStore + MetaStore + ?Sized> Store for T {}

#[cfg(test)]
mod tests {
    use super::{StoreError, prefix_end};

    #[test]
    fn a_prefix_range_holds_exactly_the_keys_that_start_with_it() {
        assert_eq!(prefix_end("live/outbox/").as_deref(), Some("live/outbox0"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        let keys =
            ["live/outbox", "live/outbox/", "live/outbox/a", "live/outbox/\u{10FFFF}x", "live/outbox0", "live/outboy"];
        for p in ["live/outbox/", "live/outbox", "live/", "z"] {
            let end = prefix_end(p).expect("bounded");
            for k in keys {
                // UTF-8 byte order is what a binary collation compares.
                let in_range = k.as_bytes() >= p.as_bytes() && k.as_bytes() < end.as_bytes();
                assert_eq!(in_range, k.starts_with(p), "{k:?} in [{p:?}, {end:?})");
            }
        }
    }

    #[test]
    fn sqlite_errors_map_to_kinds_and_keep_their_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.sqlite");
        let a = rusqlite::Connection::open(&path).expect("open");
        a.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (k TEXT PRIMARY KEY)").expect("schema");
        a.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let b = rusqlite::Connection::open(&path).expect("open");
        b.busy_timeout(std::time::Duration::ZERO).expect("timeout");
        let busy = StoreError::from(b.execute("INSERT INTO t VALUES ('x')", []).expect_err("locked"));
        assert!(busy.is_retryable(), "{busy:?}");
        assert!(busy.to_string().starts_with("storage busy: "), "{busy}");
        assert!(std::error::Error::source(&busy).is_some(), "the rusqlite error is kept");
        a.execute_batch("INSERT INTO t VALUES ('x'); COMMIT").expect("commit");
        let dup = StoreError::from(b.execute("INSERT INTO t VALUES ('x')", []).expect_err("duplicate"));
        assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");
        let wrong = b.query_row("SELECT k FROM t", [], |r| r.get::<_, i64>(0)).expect_err("text is no integer");
        assert!(matches!(StoreError::from(wrong), StoreError::Corrupt(_)));
        let other = StoreError::from(b.execute("SELECT nonsense FROM nowhere", []).expect_err("no table"));
        assert!(matches!(other, StoreError::Backend { .. }), "{other:?}");
    }
}
