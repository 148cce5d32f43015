//! Test support for Tandem, used only as a dev-dependency: one copy of each helper.
//!
//! - [`sandbox`]: N nodes in one process, each started through `tandem_node::Node` (the
//!   assembly `tandem serve` runs), with a chosen topology;
//! - [`proxy`]: the fault-injecting TCP proxy on every sandbox link (and for the examples);
//! - [`fixtures`]: STIX objects, markings and the TAXII media type the tests share;
//! - [`config`]: node configurations in TOML for the tests that drive the binary;
//! - [`front`]: a round-robin HTTP front for several processes of one node on PostgreSQL.
//!
//! The federation tests that need several nodes live in this crate's `tests/`; the federation
//! examples and benchmarks in its `examples/` (`bench/federation.sh` runs them).

pub mod config;
pub mod fixtures;
pub mod front;
mod http;
pub mod proxy;
pub mod sandbox;

pub use proxy::{Faults, LinkProxy, Stats};
pub use sandbox::{PASSWORD, Sandbox, SandboxBuilder};
