//! Applying a decision to one stored version: the reader's copy, whole or redacted, or nothing.

use serde_json::Value;
use tandem_model::Timestamp;
use tandem_policy::{Decision, redact};

use super::Released;
use crate::{ObjectQuery, Record, Result, StoreError};

/// One stored version as a backend reads it, before any decision is applied.
#[derive(Debug, Clone)]
pub struct StoredRow {
    /// Microseconds on the node's clock.
    pub date_added: i64,
    pub id: String,
    pub object_type: String,
    pub spec_version: String,
    /// The version's sort key (`Timestamp::sort_key`), empty for an unversioned SCO.
    pub version: String,
    pub label: i64,
    /// The object as stored (JSON text).
    pub body: String,
    pub provenance: Option<String>,
    pub originator: String,
}

/// The reader's copy of `object` under `decision`, and whether it was redacted; `None` when the
/// decision withholds it (a deny, or a redacted copy that would not be valid STIX).
pub fn apply(decision: &Decision, id: &str, object: Value) -> Result<Option<(Value, bool)>> {
    match decision {
        Decision::Full => Ok(Some((object, false))),
        Decision::Redact(selectors) => {
            let Some(map) = object.as_object() else {
                return Err(StoreError::Corrupt(format!("object {id} is not a JSON object")));
            };
            Ok(redact(map, selectors).map(|copy| (Value::Object(copy), true)))
        }
        Decision::Deny => Ok(None),
    }
}

/// The viewer's copy of a row its backend's pre-filter let through, or `None` when the decision
/// withholds it after all.
pub fn release(row: StoredRow, released: &Released) -> Result<Option<Record>> {
    release_as(row, released, false)
}

/// [`release`]; with `whole_as_stored`, a copy released whole keeps the stored JSON text in
/// [`Record::stored_text`] instead of being parsed into [`Record::object`] (which stays
/// `Value::Null`). The text is still checked to be one well-formed JSON object, so a damaged row
/// is `Corrupt` on either path; only building the value tree is saved.
fn release_as(row: StoredRow, released: &Released, whole_as_stored: bool) -> Result<Option<Record>> {
    let Some(decision) = released.decision(row.label) else {
        return Ok(None);
    };
    if row.originator.is_empty() {
        return Err(StoreError::Corrupt(format!("object {} has no originator", row.id)));
    }
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("object {}: {e}", row.id));
    let (object, redacted, stored_text) = if whole_as_stored && matches!(decision, Decision::Full) {
        serde_json::from_str::<serde::de::IgnoredAny>(&row.body).map_err(corrupt)?;
        if !row.body.trim_start().starts_with('{') {
            return Err(StoreError::Corrupt(format!("object {} is not a JSON object", row.id)));
        }
        (Value::Null, false, Some(row.body))
    } else {
        let value: Value = serde_json::from_str(&row.body).map_err(corrupt)?;
        let Some((object, redacted)) = apply(decision, &row.id, value)? else {
            return Ok(None);
        };
        (object, redacted, None)
    };
    let date_added = Timestamp::from_micros(row.date_added);
    let version = if row.version.is_empty() {
        date_added
    } else {
        Timestamp::parse(&row.version).map_err(|e| StoreError::Corrupt(format!("object {}: {e}", row.id)))?
    };
    // A damaged proof only fails verification at the peer; it must not stop the listing.
    let provenance = row.provenance.and_then(|p| serde_json::from_str(&p).ok());
    Ok(Some(Record {
        id: row.id,
        object_type: row.object_type,
        spec_version: row.spec_version,
        version,
        date_added,
        object,
        stored_text,
        originator: row.originator,
        redacted,
        provenance,
    }))
}

/// [`release`] for a listing: the query's text filter checked on the copy the viewer receives
/// (the backend's index saw the stored version whole, so a row it proposed because of a property
/// withheld from this viewer is dropped here, as any withheld row is: the listing reads on), and
/// whole copies kept as stored text when the query asks ([`ObjectQuery::whole_as_stored`]; never
/// with a text filter, which reads the copy).
pub fn release_matching(row: StoredRow, released: &Released, query: &ObjectQuery) -> Result<Option<Record>> {
    let Some(record) = release_as(row, released, query.whole_as_stored && query.text.is_none())? else {
        return Ok(None);
    };
    Ok(match &query.text {
        Some(t) if !t.matches(&record.object) => None,
        _ => Some(record),
    })
}
