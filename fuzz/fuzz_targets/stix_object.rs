//! The STIX parser and validator: any bytes, parsed as JSON, through `check_object` (what TAXII
//! POST, import and replication all run), then canonical JSON and the content hash of what
//! passes. Nothing may panic, and what validates must hash the same after a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(object) = tandem_model::check_object(&value) {
        let text = tandem_model::canonical::canonical_json(&object.clone().into_value());
        let again: serde_json::Value = serde_json::from_str(&text).expect("canonical JSON parses");
        assert_eq!(
            tandem_model::canonical::content_hash(&again),
            tandem_model::canonical::map_hash(object.as_map()),
            "a valid object hashes the same after a canonical round trip"
        );
    }
});
