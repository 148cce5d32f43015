//! Storage of STIX object versions, statuses, accounts and small named state, behind one trait
//! in three parts ([`ObjectStore`], [`AccountStore`], [`MetaStore`]; [`Store`] is all three).
//!
//! Architecture invariant: the only way to read objects is through [`ObjectStore`] methods that
//! take a [`ViewContext`]; they ask `tandem-policy` for a decision per access label through the
//! backend-neutral [`access`] module and return only what it releases (redacted where it says
//! so). Aggregates ([`aggregate`]) are computed over exactly that, and full-text search
//! ([`text`]) is a filter of the same listing, re-checked on the reader's copy. Nothing else in
//! the workspace reads object rows, but [`transfer`]: the operator's copy of a whole store into
//! another backend for `tandem migrate`, which moves rows as stored, from one store of a node to
//! another store of the same node, and never answers a request.

pub mod access;
pub mod aggregate;
pub mod api;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod cursor;
pub mod prepare;
pub mod sealed;
pub mod sqlite;
pub mod text;
pub mod transfer;

pub use aggregate::{AggregateQuery, Counts, GroupKey, KeyPart, PropertyPath};
pub use api::*;
pub use prepare::NewVersion;
pub use sqlite::SqliteStore;
pub use text::{TextQuery, TextQueryError};
