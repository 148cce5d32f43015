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

/// The one validation every entry point applies (TAXII POST, import, validate, sync): STIX 2.1
/// at the MUST level plus Tandem's own extensions against their schemas.
pub fn check_object(value: &serde_json::Value) -> Result<StixObject, Vec<validate::Violation>> {
    let object = validate::validate_object(value)?;
    let problems = incident::validate_extensions(value);
    if problems.is_empty() { Ok(object) } else { Err(problems) }
}
