//! Signed roster-change documents as `POST /tandem/roster/changes/` and pullers receive them:
//! parsed, verified against a fixed authority key (a forgery fails, never panics) and, whatever
//! the signature, applied to an empty and a one-member roster (application must refuse, not
//! panic, what does not apply).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_sync::roster_change::{SignedChange, apply, check_sequence, verify};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(signed) = SignedChange::from_value(&doc) else { return };
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
    let _ = verify(&signed, &key);
    let _ = check_sequence(signed.seq(), 0);
    let _ = signed.to_value();
    let mut empty = tandem_policy::Roster::default();
    let _ = apply(&mut empty, &signed.change.action);
});
