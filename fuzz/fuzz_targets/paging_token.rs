//! Paging tokens: a forged `next` is a 400 (`BadCursor`), never a panic; a token that decodes
//! re-encodes to one that decodes to the same position, and its position prints.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_store::cursor::Cursor;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    if let Ok(c) = Cursor::decode(token) {
        assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
        let _ = c.after.to_taxii();
    }
});
