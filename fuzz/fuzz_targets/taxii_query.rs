//! TAXII query strings: any bytes as a URL query (`a=b&c=d`, percent-decoded as the server
//! does), through the filter parser for every endpoint. A malformed query is a 400, never a
//! panic, and a parsed `limit` never exceeds the page size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_taxii::query::{Endpoint, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let pairs: Vec<(String, String)> = text
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect();
    for endpoint in [Endpoint::Objects, Endpoint::Object, Endpoint::Versions, Endpoint::Delete] {
        if let Ok(q) = parse(&pairs, endpoint, 1000) {
            assert!(q.limit >= 1 && q.limit <= 1000, "limit {} out of bounds", q.limit);
        }
    }
});

/// `application/x-www-form-urlencoded` decoding (`+` is a space), lossy on bad UTF-8.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
