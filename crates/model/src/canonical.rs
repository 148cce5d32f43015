//! Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) and content hashes.
//!
//! The content hash identifies a version's exact content, so that re-sending the same version is
//! a no-op and sending a different content under an existing `(id, modified)` is a conflict. The
//! same canonical form is what federation signs (provenance format 3) and what the roster
//! authority signs. It must therefore not depend on how a client happened to print a number:
//! `"latitude": 36.0` and `"latitude": 36` are the same JSON value and get the same bytes here.
//!
//! What RFC 8785 asks, and how it is done:
//! - no insignificant whitespace;
//! - object keys sorted by their UTF-16 code units (§3.2.3);
//! - strings with only the mandatory escapes: `\"`, `\\`, `\b \t \n \f \r`, and `\u00xx` (lower-case
//!   hex) for the other controls below U+0020; everything else, `/` and non-ASCII included, as is
//!   (§3.2.2.2);
//! - numbers as ECMAScript's `Number.prototype.toString` prints the IEEE 754 double (§3.2.2.3):
//!   `36.0` is `36`, `1e21` is `1e+21`, `0.000001` stays `0.000001`, `-0` is `0` (the `ryu-js`
//!   crate, checked against the RFC's Appendix B vectors in the tests).
//!
//! **Integers beyond ±2^53.** serde_json keeps an integer token that fits `i64`/`u64` exactly,
//! and the store keeps the body exactly as parsed. RFC 8785 would print the nearest double
//! instead (`9007199254740993` as `9007199254740992`), so two different stored values would
//! share one hash and one signature would cover both. We print such integers exactly: identical
//! to RFC 8785 for every integer of magnitude up to 2^53 (all that I-JSON, RFC 7493 §2.2, lets
//! interoperate), and still injective beyond. A client that re-prints a larger integer through
//! doubles has changed the value, and a conflict is then the truth. Numbers serde_json parses as
//! floats (a fraction, an exponent, or an integer beyond `u64`) are doubles, printed by RFC 8785.
//!
//! [`legacy`] keeps the form used before (numbers as serde_json prints them) for verifying what
//! was signed with it.

pub mod legacy;

use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

/// Which canonical form to write: RFC 8785, or the pre-RFC 8785 form of [`legacy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Jcs,
    Legacy,
}

/// Writes `value` in canonical (RFC 8785) form.
pub fn canonical_json(value: &Value) -> String {
    to_string(value, Form::Jcs)
}

/// The canonical form of an object given as a map (no clone into a `Value` needed).
pub fn canonical_map(map: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_map(map, &mut out, Form::Jcs);
    out
}

/// Appends the canonical form of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    write_value(value, out, Form::Jcs);
}

/// SHA-256 of the canonical form.
pub fn content_hash(value: &Value) -> [u8; 32] {
    let mut out = Vec::with_capacity(512);
    write_canonical(value, &mut out);
    Sha256::digest(&out).into()
}

/// SHA-256 of an object's canonical form.
pub fn map_hash(map: &Map<String, Value>) -> [u8; 32] {
    Sha256::digest(canonical_map(map)).into()
}

pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn to_string(value: &Value, form: Form) -> String {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out, form);
    // Only UTF-8 from the value's own strings and ASCII was written.
    String::from_utf8(out).unwrap_or_default()
}

fn write_value(value: &Value, out: &mut Vec<u8>, form: Form) {
    match value {
        Value::Object(map) => write_map(map, out, form),
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(v, out, form);
            }
            out.push(b']');
        }
        Value::String(s) => write_string(s, out, form),
        Value::Number(n) => write_number(n, out, form),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Null => out.extend_from_slice(b"null"),
    }
}

/// The map's keys iterate in code point order; that is UTF-16 order unless a key holds a
/// character at or above U+E000 (UTF-8 lead byte 0xEE and up), which is then sorted explicitly.
fn write_map(map: &Map<String, Value>, out: &mut Vec<u8>, form: Form) {
    out.push(b'{');
    let put = |i: usize, k: &String, v: &Value, out: &mut Vec<u8>| {
        if i > 0 {
            out.push(b',');
        }
        write_string(k, out, form);
        out.push(b':');
        write_value(v, out, form);
    };
    if map.keys().all(|k| k.bytes().all(|b| b < 0xEE)) {
        for (i, (k, v)) in map.iter().enumerate() {
            put(i, k, v, out);
        }
    } else {
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
        for (i, k) in keys.into_iter().enumerate() {
            put(i, k, &map[k], out);
        }
    }
    out.push(b'}');
}

fn write_string(s: &str, out: &mut Vec<u8>, form: Form) {
    if form == Form::Legacy {
        // Writing a string into a Vec cannot fail.
        serde_json::to_writer(&mut *out, s).unwrap_or(());
        return;
    }
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        // Bytes of multi-byte UTF-8 sequences are all >= 0x80 and never need escaping.
        let escape = ESCAPE[b as usize];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if escape == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 15) as usize]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// For each byte: 0 when it is written as is, else the letter after the backslash (`u` for
/// `\u00xx`). RFC 8785 §3.2.2.2: `"`, `\\` and the controls below U+0020, with the five short forms.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

fn write_number(n: &Number, out: &mut Vec<u8>, form: Form) {
    if let Some(i) = n.as_i64() {
        out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    } else if let Some(u) = n.as_u64() {
        out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
    } else if let Some(f) = n.as_f64() {
        match form {
            // serde_json numbers are always finite.
            // An integral double below 10^15 is exact as an i64 and ECMAScript prints its digits
            // (`-0` as `0`); this skips the shortest-digits search for the common `36.0`.
            Form::Jcs if f.fract() == 0.0 && f.abs() < 1e15 => {
                out.extend_from_slice(itoa::Buffer::new().format(f as i64).as_bytes())
            }
            Form::Jcs => out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes()),
            Form::Legacy => serde_json::to_writer(&mut *out, n).unwrap_or(()),
        }
    }
}

#[cfg(test)]
mod tests;
