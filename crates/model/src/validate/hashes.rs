//! `hashes` dictionaries: a hash of a known algorithm must have that algorithm's shape.
//!
//! Hashes are how peers deduplicate files and artifacts; a truncated SHA-256 silently breaks
//! matching, so the shape of each known algorithm's value is a MUST here.

use serde_json::Value;

use super::ctx::{Ctx, describe, join};

/// A description of a hash value's shape and a check of it.
type Shape = (&'static str, fn(&str) -> bool);

/// Known algorithm names and the shape of their values.
fn known(alg: &str) -> Option<Shape> {
    fn hex(n: usize) -> impl Fn(&str) -> bool {
        move |s: &str| s.len() == n && s.bytes().all(|c| c.is_ascii_hexdigit())
    }
    Some(match alg {
        "MD5" => ("32 hexadecimal characters", |s| hex(32)(s)),
        "SHA-1" => ("40 hexadecimal characters", |s| hex(40)(s)),
        "SHA-256" | "SHA3-256" => ("64 hexadecimal characters", |s| hex(64)(s)),
        "SHA-512" | "SHA3-512" => ("128 hexadecimal characters", |s| hex(128)(s)),
        "SSDEEP" => ("an SSDEEP digest (1-128 characters of a-z, A-Z, 0-9, /, +, :, .)", |s| {
            (1..=128).contains(&s.len())
                && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'+' | b':' | b'.'))
        }),
        "TLSH" => ("70 alphanumeric characters", |s| {
            // TLSH 4.x digests carry a "T1" version prefix (72 characters).
            let s = s.strip_prefix("T1").unwrap_or(s);
            s.len() == 70 && s.bytes().all(|c| c.is_ascii_alphanumeric())
        }),
        _ => return None,
    })
}

/// Checks a `hashes` dictionary at `path`.
pub(crate) fn check_hashes(cx: &mut Ctx<'_>, path: &str, v: &Value) {
    let Some(map) = v.as_object() else {
        cx.err(path, format!("must be a dictionary of hashes, found {}", describe(v)));
        return;
    };
    if map.is_empty() {
        cx.err(path, "hashes must contain at least one hash");
    }
    for (alg, value) in map {
        let p = join(path, alg);
        let Some(s) = value.as_str() else {
            cx.err(p, format!("hash value must be a string, found {}", describe(value)));
            continue;
        };
        if let Some((shape, ok)) = known(alg) {
            if !ok(s) {
                cx.err(p, format!("a {alg} hash must be {shape}"));
            }
        } else if !(3..=250).contains(&alg.len())
            || !alg.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            cx.err(p, "custom hash algorithm names must be 3-250 characters of a-z, A-Z, 0-9, - and _");
        }
    }
}
