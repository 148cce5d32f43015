//! ACLED-style CSV: one incident per row, with ACLED's columns and conventions.
//!
//! [`import`] maps a row to an incident (and its location), [`export`] maps an incident back to a
//! row, [`read`] streams rows off any reader with their line numbers. The conventions, written
//! once here so both directions agree:
//!
//! - **Ids.** A row's incident id is `incident--UUIDv5(Tandem, "acled/" + event_id_cnty)`, so
//!   importing the same row twice is a no-op and a row with a newer `timestamp` is a new version
//!   of the same incident. An `event_id_cnty` that is itself a STIX incident id (what an export of
//!   a Tandem-made incident writes) is used as the id. The incident keeps `event_id_cnty` as an
//!   external reference with `source_name` `ACLED`.
//! - **Time.** `timestamp` (Unix seconds, ACLED's last-change time) is the version's `modified`.
//!   `time_precision` 1 is the day, 2 a week centred on `event_date`, 3 the month of
//!   `event_date`; for 2 and 3 the given `event_date` is kept as the window's `expression`, so
//!   an export writes back exactly the date it read.
//! - **Place.** `admin1` is a governorate name resolved to ISO 3166-2 through Tandem's gazetteer
//!   (or an ISO code as is); `latitude`/`longitude`/`location` become a `location` object, and
//!   `geo_precision` the place precision. A row without coordinates has an admin-only place.
//! - **Actors.** `actor1` is the perpetrator, `actor2` the target.
//! - **Sources.** `source` splits on `;` into sources graded `F6` (Admiralty: reliability and
//!   credibility cannot be judged), since ACLED does not grade.
//! - **Columns Tandem's model has no field for** (`inter1`, `inter2`, `admin2`, `admin3`,
//!   `source_scale`, each of `tags`, the `admin1` spelling, and any column not listed in
//!   [`COLUMNS`]) ride as incident labels `acled:<column>:<value>`, so nothing of a row is lost
//!   in Tandem, and an export writes them back.
//! - **Markings.** ACLED has no releasability column: an import applies the markings the caller
//!   names to every object (none: originator-only, Tandem's default deny), and an export drops
//!   markings, which its report says for every row.

pub mod export;
pub mod import;
mod read;

pub use read::{Row, RowError, rows};

/// The columns an export writes, in ACLED's order.
pub const COLUMNS: &[&str] = &[
    "event_id_cnty",
    "event_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "inter1",
    "actor2",
    "inter2",
    "civilian_targeting",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
];

/// The columns of a deletions file.
pub const DELETION_COLUMNS: &[&str] = &["event_id_cnty", "deleted_timestamp"];

/// Columns carried as `acled:<column>:<value>` labels (see the module doc).
pub(crate) const LABEL_COLUMNS: &[&str] = &["inter1", "inter2", "admin2", "admin3", "source_scale"];

/// The label prefix for columns carried as labels.
pub(crate) const LABEL_PREFIX: &str = "acled:";

/// A CSV writer for rows in [`COLUMNS`] order, the header already written.
pub fn writer<W: std::io::Write>(out: W) -> csv::Result<csv::Writer<W>> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    Ok(w)
}

#[cfg(test)]
mod tests;
