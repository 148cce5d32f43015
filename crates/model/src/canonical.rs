//! Canonical JSON (RFC 8785 style: sorted keys, no insignificant whitespace) and content hashes.
//!
//! The content hash identifies a version's exact content, so that re-sending the same version is
//! a no-op and sending a different content under an existing `(id, modified)` is a conflict. The
//! same canonical form is what federation signs.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Writes `value` in canonical form: object keys sorted by UTF-16 code units as RFC 8785 asks,
/// numbers and strings as serde_json prints them (integers exactly; finite floats shortest
/// round-trip).
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    // Only serde_json's own (UTF-8) output and ASCII punctuation were written.
    String::from_utf8(out).unwrap_or_default()
}

/// The canonical form of an object given as a map (no clone into a `Value` needed).
pub fn canonical_map(map: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_map(map, &mut out);
    out
}

/// Appends the canonical form of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => write_map(map, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        // Writing a scalar into a Vec cannot fail.
        scalar => serde_json::to_writer(&mut *out, scalar).unwrap_or(()),
    }
}

/// The map's keys iterate in code point order; that is UTF-16 order unless a key holds a
/// character at or above U+E000 (UTF-8 lead byte 0xEE and up), which is then sorted explicitly.
fn write_map(map: &Map<String, Value>, out: &mut Vec<u8>) {
    out.push(b'{');
    let put = |i: usize, k: &String, v: &Value, out: &mut Vec<u8>| {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, k).unwrap_or(());
        out.push(b':');
        write_canonical(v, out);
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
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": [1, {"y": "x", "x": true}]}"#).unwrap();
        let b = json!({"a": [1, {"x": true, "y": "x"}], "b": 1});
        assert_eq!(canonical_json(&a), r#"{"a":[1,{"x":true,"y":"x"}],"b":1}"#);
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_eq!(map_hash(a.as_object().unwrap()), content_hash(&b));
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+FF61 sorts before U+1F600 in code points but after it in UTF-16 (surrogate D83D).
        let v = json!({"\u{ff61}": 1, "\u{1f600}": 2, "a": "\u{e9}\"\n"});
        assert_eq!(canonical_json(&v), "{\"a\":\"\u{e9}\\\"\\n\",\"\u{1f600}\":2,\"\u{ff61}\":1}");
        assert_eq!(hex(&[0, 15, 16, 255]), "000f10ff");
    }
}
