//! Storage of STIX object versions, statuses and accounts, behind one trait.
//!
//! Architecture invariant: the only way to read objects is through [`Store`] methods that take a
//! [`ViewContext`]; they ask `tandem-policy` for a decision on every object and return only what
//! it releases (redacted where it says so). Nothing else in the workspace reads object rows.

pub mod api;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod cursor;
pub mod sqlite;

pub use api::*;
pub use sqlite::SqliteStore;
