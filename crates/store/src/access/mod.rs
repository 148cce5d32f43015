//! Backend-neutral access control: what every storage backend applies between its rows and a
//! reader, so that SQLite, PostgreSQL and whatever comes next decide identically.
//!
//! A backend stores each version with the id of its *access label* (originator + markings) and
//! keeps a [`LabelCache`] of labels and of every owner's marking-definitions. A read then goes:
//! 1. [`LabelCache::released`]: policy decides once per label; the backend filters its rows by
//!    the released label ids (in SQL, or however it can);
//! 2. [`Claims`]: for an id several members claim, which claim (if any) this reader receives;
//! 3. [`release`]: each surviving row is turned into the reader's copy (whole or redacted; a
//!    redacted copy that would not be valid STIX is withheld); with a text search,
//!    [`release_matching`] then checks the match on that copy.
//!
//! The backend only fetches rows and keeps the cache loaded; it never decides.

mod claims;
mod labels;
mod release;

pub use claims::Claims;
pub use labels::{LabelCache, Released, label_key, marking_of, widened};
pub use release::{StoredRow, apply, release, release_matching};
