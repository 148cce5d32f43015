//! Conversions between Tandem's STIX model and the formats members already use: ACLED-style CSV
//! ([`acled`]) and MISP event JSON ([`misp`]), and the streaming readers of the JSON documents
//! imports take ([`stream`]).
//!
//! Everything here is a function over values (a row, an event, a STIX object) returning values
//! and a [`Report`] of what could not be carried. Nothing here stores or reads the store: the CLI
//! and HTTP glue hand what is produced to the one ingest pipeline (`tandem_taxii::Ingest`) and
//! feed exports from `Store::list`, so no conversion can write around validation, signing or
//! the releasability chokepoint.

pub mod acled;
pub mod feed;
pub mod misp;
pub mod report;
pub mod stream;

pub use report::{Planned, Report};
