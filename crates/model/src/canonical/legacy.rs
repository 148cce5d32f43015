//! The canonical form Tandem used before RFC 8785: keys sorted by UTF-16 code units, but numbers
//! and strings as serde_json prints them (`36.0` stays `36.0`, `0.000001` is `1e-6`, `-0.0` stays `-0.0`).
//!
//! Kept, not used for anything new, because signatures were made over it: provenance format 2
//! (`tandem_sync::provenance`) verifies with it, so a format-2 proof stored or received anywhere
//! still verifies. Content hashes computed with it are recomputed at store open (store schema
//! version 5). For a value without floats the two forms are the same bytes (serde_json's string
//! escapes are RFC 8785's), which the tests check.

use serde_json::{Map, Value};

use super::{Form, to_string, write_map, write_value};

/// Writes `value` in the legacy canonical form.
pub fn canonical_json(value: &Value) -> String {
    to_string(value, Form::Legacy)
}

/// The legacy canonical form of an object given as a map.
pub fn canonical_map(map: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_map(map, &mut out, Form::Legacy);
    out
}

/// Appends the legacy canonical form of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    write_value(value, out, Form::Legacy);
}
