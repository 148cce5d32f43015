//! Golden content hashes: a few objects as different clients print them, their RFC 8785 canonical
//! form and its SHA-256. A change here changes every stored content hash and every signature, so
//! it must be deliberate: a new canonical form needs a store migration (see
//! `tandem_store::sqlite::migrate`) and a new provenance format. `UPDATE_GOLDEN=1` rewrites the
//! expected values from the inputs.

use std::path::PathBuf;

use serde_json::Value;
use tandem_model::canonical::{canonical_json, content_hash, hex, map_hash};

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/canonical-v1.json")
}

#[test]
fn golden_canonical_forms_and_content_hashes() {
    let path = golden_path();
    let text = std::fs::read_to_string(&path).expect("golden file");
    let mut golden: Value = serde_json::from_str(&text).expect("golden file parses");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let cases = golden["cases"].as_array_mut().expect("cases");
    assert!(cases.len() >= 4, "the golden file lost its cases");
    let mut wrong = Vec::new();
    for case in cases.iter_mut() {
        let name = case["name"].as_str().unwrap_or("?").to_string();
        let inputs = case["inputs"].as_array().expect("inputs").clone();
        assert!(!inputs.is_empty(), "{name}: no inputs");
        for (i, input) in inputs.iter().enumerate() {
            let value: Value = serde_json::from_str(input.as_str().expect("input text")).expect("input parses");
            let canonical = canonical_json(&value);
            let hash = hex(&content_hash(&value));
            if let Some(map) = value.as_object() {
                assert_eq!(hex(&map_hash(map)), hash, "{name}: map_hash and content_hash differ");
            }
            if update && i == 0 {
                case["canonical"] = Value::String(canonical.clone());
                case["sha256"] = Value::String(hash.clone());
            }
            if case["canonical"] != canonical.as_str() || case["sha256"] != hash.as_str() {
                wrong.push(format!("{name} input {i}: got {canonical} {hash}"));
            }
        }
    }
    if update {
        std::fs::write(&path, serde_json::to_string_pretty(&golden).expect("json") + "\n").expect("write golden");
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
