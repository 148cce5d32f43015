//! One Tandem node, assembled once.
//!
//! [`Node::builder`] takes a configuration and a store handle and builds everything a node
//! serves and runs: the TAXII state, every route ([`http::app`]: TAXII, Tandem's own,
//! federation, metrics) behind one authentication and the audit layer applied last,
//! federation's pullers and notifications, the follower of CLI-created users and tokens, the
//! roster reload on SIGHUP, and the feed-change signal ([`feed`]). `tandem serve`, `tandem
//! demo` and the test sandbox (`tandem-testkit`) all start nodes through it, so tests exercise
//! the wiring users run.

pub mod audit;
pub mod cert;
pub mod config;
pub mod federation;
pub mod feed;
pub mod feeds;
pub mod gazetteer;
pub mod http;
pub mod interop;
pub mod lease;
pub mod listen;
pub mod migrate;
mod node;
pub mod outbound;
pub mod wiring;

pub use config::Config;
pub use node::{Node, NodeBuilder};
