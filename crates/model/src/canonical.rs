//! Canonical JSON (RFC 8785 style: sorted keys, no insignificant whitespace) and content hashes.
//!
//! The content hash identifies a version's exact content, so that re-sending the same version is
//! a no-op and sending a different content under an existing `(id, modified)` is a conflict. The
//! same canonical form is what federation signs.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Writes `value` in canonical form: object keys sorted by UTF-16 code units as RFC 8785 asks,
/// numbers and strings as serde_json prints them (integers exactly; finite floats shortest
/// round-trip).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// SHA-256 of the canonical form.
pub fn content_hash(value: &Value) -> [u8; 32] {
    Sha256::digest(canonical_json(value).as_bytes()).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    }
}
