//! Unit and property tests of provenance: any redaction verifies, any change fails.

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tandem_policy::redact;

use super::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn sample() -> Map<String, Value> {
    json!({
        "type": "incident", "spec_version": "2.1",
        "id": "incident--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
        "name": "Attack on checkpoint", "description": "Source says four casualties",
        "labels": ["ied", "checkpoint", "mosul"],
        "external_references": [
            {"source_name": "secret-source", "description": "handler notes"},
            {"source_name": "open", "url": "https://example.org/a"}
        ],
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
        "granular_markings": [
            {"selectors": ["external_references.[0]"], "marking_ref": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"},
            {"selectors": ["description", "labels.[1]"], "marking_ref": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}
        ]
    })
    .as_object()
    .cloned()
    .unwrap()
}

#[test]
fn whole_object_verifies_and_round_trips() {
    let obj = sample();
    let p = sign(&obj, "USA", &key(1));
    p.verify(&obj, &key(1).verifying_key()).unwrap();
    let back = Provenance::from_value(&p.to_value()).unwrap();
    back.verify(&obj, &key(1).verifying_key()).unwrap();
}

#[test]
fn wrong_key_or_signer_fails() {
    let obj = sample();
    let p = sign(&obj, "USA", &key(1));
    assert_eq!(p.verify(&obj, &key(2).verifying_key()), Err(ProvenanceError::BadSignature));
    let mut other = p.clone();
    other.signer = "IRQ".into();
    assert!(other.verify(&obj, &key(1).verifying_key()).is_err());
}

#[test]
fn additions_and_changes_fail() {
    let obj = sample();
    let p = sign(&obj, "USA", &key(1));
    let vk = key(1).verifying_key();
    let mut added = obj.clone();
    added.insert("x_extra".into(), json!("sneaky"));
    assert!(p.verify(&added, &vk).is_err());
    let mut changed = obj.clone();
    changed.insert("name".into(), json!("Attack on market"));
    assert!(p.verify(&changed, &vk).is_err());
    let mut fewer = obj.clone();
    fewer.remove("description");
    assert!(p.verify(&fewer, &vk).is_err(), "silent removal must fail");
    let mut gm = obj.clone();
    gm.remove("granular_markings");
    assert!(p.verify(&gm, &vk).is_err(), "stripping markings must fail");
}

#[test]
fn redacted_copy_verifies_without_removed_salts() {
    let obj = sample();
    let p = sign(&obj, "USA", &key(1));
    let sel = vec!["external_references.[0]".to_string(), "description".to_string()];
    let copy = redact(&obj, &sel).unwrap();
    let q = p.for_copy(&copy, true).unwrap();
    q.verify(&copy, &key(1).verifying_key()).unwrap();
    // Neither the removed values nor their salts travel.
    let text = q.to_value().to_string();
    assert!(!text.contains("handler notes") && !text.contains("four casualties"));
    assert_eq!(q.removed.len(), 3);
    for k in q.leaves.keys() {
        assert!(!k.contains("description\"]") || k.contains("external"), "{k}");
    }
    // A redacted copy with a changed visible value fails.
    let mut bad = copy.clone();
    bad["external_references"][0]["url"] = json!("https://evil.example");
    assert!(q.verify(&bad, &key(1).verifying_key()).is_err());
    // Claiming more was redacted than the proof says fails.
    let more = redact(&obj, &["labels".to_string(), "description".into()]).unwrap();
    assert!(q.verify(&more, &key(1).verifying_key()).is_err());
}

fn plain() -> Map<String, Value> {
    let mut obj = sample();
    obj.remove("granular_markings");
    obj
}

#[test]
fn a_version_without_granular_markings_is_committed_whole() {
    let obj = plain();
    let vk = key(1).verifying_key();
    let p = sign(&obj, "USA", &key(1));
    assert!(p.salt.is_some() && p.leaves.is_empty());
    p.verify(&obj, &vk).unwrap();
    Provenance::from_value(&p.to_value()).unwrap().verify(&obj, &vk).unwrap();
    let mut changed = obj.clone();
    changed.insert("name".into(), json!("Attack on market"));
    assert!(p.verify(&changed, &vk).is_err());
    let mut added = obj.clone();
    added.insert("granular_markings".into(), json!([]));
    assert!(p.verify(&added, &vk).is_err());
    // Never redacted, so there is no proof for a redacted copy.
    assert!(matches!(p.for_copy(&obj, true), Err(ProvenanceError::Unsupported(_))));
    assert_eq!(p.for_copy(&obj, false).unwrap(), p);
    // The serialized proof is small: salt, slot, path and signature.
    assert!(p.to_value().to_string().len() < 700, "{}", p.to_value());
}

#[test]
fn a_batch_signs_once_and_every_version_verifies_alone() {
    let vk = key(3).verifying_key();
    let objects: Vec<Map<String, Value>> = (0..1500)
        .map(|i| {
            let mut o = if i % 3 == 0 { sample() } else { plain() };
            o.insert("name".into(), json!(format!("incident {i}")));
            o
        })
        .collect();
    let refs: Vec<&Map<String, Value>> = objects.iter().collect();
    let proofs = sign_batch(&refs, "USA", &key(3));
    assert_eq!(proofs.len(), objects.len());
    for (o, p) in objects.iter().zip(&proofs) {
        p.verify(o, &vk).unwrap();
    }
    // 1,500 versions make two batches of at most BATCH_SLOTS: two signatures.
    let sigs: std::collections::BTreeSet<&String> = proofs.iter().map(|p| &p.sig).collect();
    assert_eq!(sigs.len(), 2);
    assert_eq!(proofs[0].batch_root(&objects[0]).unwrap(), proofs[1].batch_root(&objects[1]).unwrap());
    // A proof belongs to its own version: not to a sibling of the same batch.
    assert!(proofs[1].verify(&objects[2], &vk).is_err());
    // Moving a version to another slot, or altering its path, breaks it.
    let mut moved = proofs[1].clone();
    moved.slot ^= 1;
    assert!(moved.verify(&objects[1], &vk).is_err());
    let mut bent = proofs[1].clone();
    let mut path = STANDARD.decode(&bent.path).unwrap();
    path[40] ^= 1;
    bent.path = STANDARD.encode(path);
    assert!(bent.verify(&objects[1], &vk).is_err());
    let mut short = proofs[1].clone();
    short.path = STANDARD.encode([0u8; 32]);
    assert!(matches!(short.verify(&objects[1], &vk), Err(ProvenanceError::Malformed(_))));
    // Nothing in a proof depends on the batch's size: a batch of one looks the same.
    let alone = sign(&objects[1], "USA", &key(3));
    assert_eq!(STANDARD.decode(&alone.path).unwrap().len(), STANDARD.decode(&proofs[1].path).unwrap().len());
}

#[test]
fn older_or_mixed_formats_are_refused() {
    let p = sign(&plain(), "USA", &key(1));
    let mut v1 = p.to_value();
    v1["v"] = json!(1);
    assert!(matches!(Provenance::from_value(&v1), Err(ProvenanceError::Malformed(_))));
    let mut both = p.to_value();
    both["leaves"] = json!({"[\"id\"]": {"s": "AA==", "h": "00"}});
    assert!(matches!(Provenance::from_value(&both), Err(ProvenanceError::Malformed(_))));
    let mut far = p.to_value();
    far["slot"] = json!(BATCH_SLOTS);
    assert!(matches!(Provenance::from_value(&far), Err(ProvenanceError::Malformed(_))));
}

fn arb_object() -> impl Strategy<Value = Map<String, Value>> {
    let scalar = prop_oneof![
        "[a-z ]{0,12}".prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ];
    let item = prop_oneof![
        scalar.clone(),
        prop::collection::btree_map("[a-z]{1,5}", scalar.clone(), 1..4)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
    ];
    let prop_value = prop_oneof![
        scalar,
        prop::collection::vec(item.clone(), 1..5).prop_map(Value::Array),
        prop::collection::btree_map("[a-z]{1,5}", item, 1..4).prop_map(|m| Value::Object(m.into_iter().collect())),
    ];
    prop::collection::btree_map("x_[a-z]{1,6}", prop_value, 1..6).prop_map(|props| {
        let mut m = json!({
            "type": "x-thing", "spec_version": "2.1",
            "id": "x-thing--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z"
        })
        .as_object()
        .cloned()
        .unwrap();
        m.extend(props);
        // Only versions with granular markings are committed leaf by leaf (and ever redacted).
        m.insert(
            "granular_markings".into(),
            json!([{"selectors": ["id"], "marking_ref": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}]),
        );
        m
    })
}

/// Every selector that names something in `obj` (properties, list items, nested keys).
fn selectors(obj: &Map<String, Value>) -> Vec<String> {
    fn walk(v: &Value, prefix: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    let p = format!("{prefix}.{k}");
                    out.push(p.clone());
                    walk(c, p, out);
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    let p = format!("{prefix}.[{i}]");
                    out.push(p.clone());
                    walk(c, p, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (k, v) in obj.iter().filter(|(k, _)| k.starts_with("x_")) {
        out.push(k.clone());
        walk(v, k.clone(), &mut out);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_redaction_verifies_and_any_change_fails(
        obj in arb_object(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        change in any::<prop::sample::Index>(),
    ) {
        let vk = key(7).verifying_key();
        let p = sign(&obj, "USA", &key(7));
        let all = selectors(&obj);
        let chosen: Vec<String> = if all.is_empty() { vec![] } else {
            picks.iter().map(|i| all[i.index(all.len())].clone()).collect()
        };
        let copy = if chosen.is_empty() { obj.clone() } else {
            match redact(&obj, &chosen) { Some(c) => c, None => return Ok(()) }
        };
        let q = p.for_copy(&copy, !chosen.is_empty()).unwrap();
        prop_assert_eq!(q.verify(&copy, &vk), Ok(()));
        // Change one visible leaf: verification fails.
        let visible: Vec<(Vec<Step>, Value)> = leaves(&base_of(&copy))
            .into_iter()
            .filter(|(p, _)| !matches!(&p[0], Step::Key(k) if k == "granular_markings"))
            .collect();
        let (path, old) = &visible[change.index(visible.len())];
        let mut bad = Value::Object(copy.clone());
        let mut cur = &mut bad;
        for s in path {
            cur = match s {
                Step::Key(k) => &mut cur[k.as_str()],
                Step::Index(i) => &mut cur[*i],
            };
        }
        *cur = if *old == json!("changed!") { json!("changed?") } else { json!("changed!") };
        prop_assert!(q.verify(bad.as_object().unwrap(), &vk).is_err());
    }
}

#[test]
fn tombstones_verify_only_for_their_originator() {
    let mut t = tandem_store::Tombstone {
        id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into(),
        version: Some(tandem_model::Timestamp::parse("2025-11-24T00:00:00.000Z").unwrap()),
        originator: "USA".into(),
        object_markings: vec![],
        added: tandem_model::Timestamp::from_micros(0),
        proof: None,
    };
    assert!(verify_tombstone(&t, &key(1).verifying_key()).is_err(), "unsigned");
    t.proof = Some(serde_json::to_value(sign_tombstone(&t, &key(1))).unwrap());
    verify_tombstone(&t, &key(1).verifying_key()).unwrap();
    assert!(verify_tombstone(&t, &key(2).verifying_key()).is_err(), "another key");
    let mut other = t.clone();
    other.id = "indicator--00000000-17d4-4cbf-938f-98ee46b3cd3f".into();
    assert!(verify_tombstone(&other, &key(1).verifying_key()).is_err(), "another id");
    let mut claimed = t.clone();
    claimed.originator = "IRQ".into();
    assert!(verify_tombstone(&claimed, &key(1).verifying_key()).is_err(), "another originator");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A copy redacted for one member and redacted again for the next still verifies, with the
    /// proof reduced at each hop; changing a visible value still fails.
    #[test]
    fn a_copy_redacted_twice_verifies(
        obj in arb_object(),
        first in prop::collection::vec(any::<prop::sample::Index>(), 1..3),
        second in prop::collection::vec(any::<prop::sample::Index>(), 1..3),
        change in any::<prop::sample::Index>(),
    ) {
        let vk = key(9).verifying_key();
        let p = sign(&obj, "USA", &key(9));
        let all = selectors(&obj);
        let s1: Vec<String> = first.iter().map(|i| all[i.index(all.len())].clone()).collect();
        let Some(copy1) = redact(&obj, &s1) else { return Ok(()) };
        let q1 = p.for_copy(&copy1, true).unwrap();
        prop_assert_eq!(q1.verify(&copy1, &vk), Ok(()));
        // The node holding copy1 stores q1 and serves copy1 unchanged to a member that may see it all.
        prop_assert_eq!(q1.for_copy(&copy1, false).unwrap(), q1.clone());
        let rest = selectors(&copy1);
        if rest.is_empty() {
            return Ok(());
        }
        let s2: Vec<String> = second.iter().map(|i| rest[i.index(rest.len())].clone()).collect();
        let Some(copy2) = redact(&copy1, &s2) else { return Ok(()) };
        let q2 = q1.for_copy(&copy2, true).unwrap();
        prop_assert_eq!(q2.verify(&copy2, &vk), Ok(()));
        prop_assert!(q2.removed.len() >= q1.removed.len());
        let visible: Vec<(Vec<Step>, Value)> = leaves(&base_of(&copy2))
            .into_iter()
            .filter(|(p, _)| !matches!(&p[0], Step::Key(k) if k == "granular_markings"))
            .collect();
        let (path, old) = &visible[change.index(visible.len())];
        let mut bad = Value::Object(copy2.clone());
        let mut cur = &mut bad;
        for s in path {
            cur = match s {
                Step::Key(k) => &mut cur[k.as_str()],
                Step::Index(i) => &mut cur[*i],
            };
        }
        *cur = if *old == json!("changed!") { json!("changed?") } else { json!("changed!") };
        prop_assert!(q2.verify(bad.as_object().unwrap(), &vk).is_err());
    }
}

/// Objects of the golden proofs: floats whose legacy and RFC 8785 forms differ (`36.0`, `1e-6`,
/// `-0.0`), escapes and non-ASCII, committed whole and leaf by leaf, and a redacted copy.
fn golden_cases(k: &SigningKey) -> Value {
    let whole = json!({
        "type": "location", "spec_version": "2.1",
        "id": "location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",
        "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
        "name": "Checkpoint \u{1f6a7} \"north\"\n", "latitude": 36.0, "longitude": 43.125,
        "precision": 1000.0, "x_tandem_ratio": 0.000001, "x_tandem_big": 1e21,
        "x_tandem_neg_zero": -0.0
    })
    .as_object()
    .cloned()
    .unwrap();
    let mut leafy = sample();
    leafy.insert("x_tandem_score".into(), json!(2.0));
    leafy.insert("x_tandem_weights".into(), json!([0.5, 100.0, 1e-7]));
    let ps = sign_batch(&[&whole, &leafy], "USA", k);
    let sel = vec!["external_references.[0]".to_string(), "description".to_string()];
    let copy = redact(&leafy, &sel).unwrap();
    let q = ps[1].for_copy(&copy, true).unwrap();
    json!({
        "public_key": public_key_string(&k.verifying_key()),
        "cases": [
            {"name": "whole version with floats", "object": Value::Object(whole), "proof": ps[0].to_value()},
            {"name": "leaf by leaf with floats", "object": Value::Object(leafy), "proof": ps[1].to_value()},
            {"name": "redacted copy", "object": Value::Object(copy), "proof": q.to_value()},
        ]
    })
}

/// A golden case: its name, the object (or redacted copy) and its proof.
type GoldenCase = (String, Map<String, Value>, Provenance);

fn golden(version: u32) -> (VerifyingKey, Vec<GoldenCase>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/provenance/golden-v{version}.json"));
    if version == FORMAT_VERSION && std::env::var_os("UPDATE_GOLDEN").is_some() {
        let text = serde_json::to_string_pretty(&golden_cases(&key(7))).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let g: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let key = parse_public_key(g["public_key"].as_str().unwrap()).unwrap();
    let cases: Vec<_> = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let proof = Provenance::from_value(&c["proof"]).unwrap();
            assert_eq!(proof.v, version);
            (c["name"].as_str().unwrap().to_string(), c["object"].as_object().cloned().unwrap(), proof)
        })
        .collect();
    assert_eq!(cases.len(), 3);
    (key, cases)
}

/// A format-2 proof (signed over the legacy canonical form, before RFC 8785) stored or received
/// anywhere must keep verifying.
#[test]
fn golden_format_2_proofs_still_verify() {
    let (vk, cases) = golden(LEGACY_FORMAT_VERSION);
    for (name, object, proof) in &cases {
        proof.verify(object, &vk).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Checked as format 3 (RFC 8785 numbers, v3 tags) the same proof must fail: the verifier
        // really uses the legacy form for it.
        let mut as_v3 = proof.clone();
        as_v3.v = FORMAT_VERSION;
        assert!(as_v3.verify(object, &vk).is_err(), "{name}: verified as format 3");
        let mut changed = object.clone();
        changed.insert("spec_version".into(), json!("2.0"));
        assert!(proof.verify(&changed, &vk).is_err(), "{name}: a changed copy verified");
    }
}

/// Format-3 proofs committed to the repository keep verifying, also on copies whose numbers a
/// client re-printed (`36.0` as `36`, `1000.0` as `1e3`).
#[test]
fn golden_format_3_proofs_verify_on_reprinted_copies() {
    let (vk, cases) = golden(FORMAT_VERSION);
    for (name, object, proof) in &cases {
        proof.verify(object, &vk).unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = serde_json::to_string(object).unwrap();
        let reprinted = text.replace("36.0", "36").replace("1000.0", "1e3").replace("2.0", "2").replace("-0.0", "0");
        assert_ne!(text, reprinted, "{name}: nothing to re-print");
        let copy: Map<String, Value> = serde_json::from_str(&reprinted).unwrap();
        proof.verify(&copy, &vk).unwrap_or_else(|e| panic!("{name}, re-printed: {e}"));
        let mut as_v2 = proof.clone();
        as_v2.v = LEGACY_FORMAT_VERSION;
        assert!(as_v2.verify(object, &vk).is_err(), "{name}: verified as format 2");
    }
}

#[test]
fn new_proofs_are_format_3() {
    assert_eq!(sign(&plain(), "USA", &key(1)).v, 3);
    assert_eq!(sign(&sample(), "USA", &key(1)).v, 3);
}
