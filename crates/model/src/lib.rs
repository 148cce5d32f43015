//! The STIX 2.1 model Tandem stores and serves.
//!
//! Objects are kept as JSON maps so that every property a client sends, known or not, comes back
//! out unchanged; typed accessors and the validator give the guarantees the rest of the system
//! relies on. Nothing here does I/O.

pub mod canonical;
pub mod id;
pub mod incident;
pub mod object;
pub mod timestamp;
pub mod tlp;
pub mod validate;

pub use id::StixId;
pub use object::{GranularMarking, StixObject};
pub use timestamp::Timestamp;
