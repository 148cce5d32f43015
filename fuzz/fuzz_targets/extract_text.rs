//! The text-extraction input (`POST /api/tandem/extract`, `tandem extract`): any bytes as
//! UTF-8 text (up to the endpoint's cap), through the extractor with the built-in gazetteer.
//! Nothing may panic, and every evidence span is a slice of the text (byte offsets on
//! character boundaries, as the UI highlights them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_model::incident::Date;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.len() > tandem_extract::MAX_TEXT_BYTES {
        return;
    }
    let fallback = Date::parse("2025-11-12").expect("a date");
    let extraction = tandem_extract::extract(tandem_geo::Gazetteer::embedded(), text, None, fallback);
    for draft in &extraction.drafts {
        for span in &draft.evidence {
            assert!(
                text.get(span.start..span.end).is_some(),
                "span {}..{} is not a slice of the text",
                span.start,
                span.end
            );
        }
    }
});
