//! The live side of a node: `GET /api/tandem/stream/`, a Server-Sent Events stream of every new
//! version, revocation and deletion the caller may see, in the node's `date_added` order.
//!
//! Architecture invariant: the stream is a *reader* of the store, never a log of its own. The
//! feed signal ([`FeedHooks`], a `tokio::sync::watch` of the store's feed position) only wakes
//! connections; every message is read back through `ObjectStore::list` /
//! `ObjectStore::list_tombstones` with the caller's [`tandem_store::ViewContext`] built from the
//! roster snapshot current at that read, so releasability, redaction and the settlement of
//! contested claims apply to every message exactly as they apply to TAXII, and are re-decided at
//! every read.
//!
//! The contract (also in ARCHITECTURE.md):
//! - Event ids are resume cursors: the `date_added` position (TAXII form, microseconds) of the
//!   version or deletion the event carries. Reconnecting with `Last-Event-ID: <id>` or
//!   `?after=<id>` delivers every event after it that the caller may see at the time of the
//!   read, once each. Without a cursor the stream starts at the node's current position (only
//!   what is new); `?after=1970-01-01T00:00:00.000000Z` replays the whole feed.
//! - Events: `version` and `revocation` (a new version, `revoked: true` for the latter; data:
//!   collection, id, type, version, date_added, originator, redacted, object as the caller may
//!   see it), `deletion` (collection, id, version, originator, position), `reset` (see below).
//!   Comment lines (`: heartbeat`) every 15 s keep proxies from closing an idle connection.
//! - `reset` (data: `reason`, `cursor`) is never silent: `cursor-ahead` when the given cursor is
//!   beyond the node's feed (a cursor from another node, or the data was restored from an older
//!   backup: the stream goes on from the node's current position); `roster-changed` when the
//!   roster changed while connected, since a member that joined a group may now see *older*
//!   objects, before the cursor: a client that wants them reconnects with an earlier cursor (or
//!   re-reads over TAXII); `release-changed` when the release epoch
//!   ([`tandem_store::RELEASE_EPOCH_KEY`]) moved while connected, as federation moves it when a
//!   marking-definition arrives after versions that reference it (they are older than the
//!   cursor and now released to whom the marking names), with the same remedy. The node never prunes its feed (deleted versions leave tombstones at
//!   a later position), so no cursor is too old to replay.
//! - A replay shows the feed as it is at the read: a version deleted since then appears only as
//!   its `deletion`.
//! - A member suspended (or removed) while connected receives nothing more from that instant:
//!   each event is checked against the live roster as it leaves, and the connection is closed.
//! - Filters: `type` (STIX types), `event_type`, `sub_event_type`, `cell` (an actor's id or name
//!   in the incident), `admin1` (governorate, ISO 3166-2); each takes comma-separated values or
//!   repeats (OR within one, AND across). The incident filters pass only incidents; a deletion,
//!   which carries no content, passes when its id's type passes `type` (and is an incident's
//!   when an incident filter is set).
//! - Slow consumers: each connection has a bounded buffer; a consumer that leaves it full for
//!   longer than the grace period is disconnected and resumes from its last event id without
//!   loss. Nothing a consumer does slows the node or other consumers (each connection reads the
//!   store on its own blocking task).

pub mod alerts;
mod feed;
mod filter;
mod hooks;
mod http;
pub mod near_repeat;
mod stream;
#[cfg(test)]
mod tests;
pub mod webhooks;
pub mod zones;

use std::time::Duration;

pub use feed::{Batch, Item, read_batch};
pub use filter::StreamFilter;
pub use hooks::FeedHooks;
pub use stream::router;

/// The store's feed position as last written by this process (`None`: nothing yet).
pub type FeedSignal = tokio::sync::watch::Receiver<Option<tandem_model::Timestamp>>;

/// Tunables of the live stream; the defaults are what a node runs with.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Events buffered per connection.
    pub buffer: usize,
    /// How long a full buffer may stay full before the consumer is dropped.
    pub slow_grace: Duration,
    /// Heartbeat comment interval.
    pub heartbeat: Duration,
    /// How often a connection reads the store without a signal: writes by other processes
    /// (`tandem import`) and roster changes are noticed this way.
    pub poll: Duration,
    /// Versions or deletions read per store call.
    pub page: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            buffer: 1024,
            slow_grace: Duration::from_secs(10),
            heartbeat: Duration::from_secs(15),
            poll: Duration::from_secs(1),
            page: 500,
        }
    }
}
