//! Provenance documents as a peer sends them: `{"proof": ..., "copy": {...}}` through the
//! parser, the verifier (against a fixed key: a forged proof must fail, never panic) and the
//! reduction a serving node applies for a redacted copy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_sync::provenance::Provenance;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(proof) = Provenance::from_value(&doc["proof"]) else { return };
    let Some(copy) = doc["copy"].as_object() else { return };
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
    let _ = proof.verify(copy, &key);
    let _ = proof.batch_root(copy);
    if let Ok(reduced) = proof.for_copy(copy, true) {
        let _ = Provenance::from_value(&reduced.to_value());
    }
});
