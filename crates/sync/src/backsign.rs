//! Signing what the node's member stored without a current proof: versions stored before the
//! node had a key or federation, or signed in a format this binary no longer reads. Format-2
//! proofs still verify (with the legacy canonical form) and are left alone: re-signing them would
//! move the release epoch and make every peer read the feed again for nothing. Only the
//! originator's node may sign a version, so this covers exactly the versions this node's member
//! originated; without it they would never replicate.

use std::sync::Arc;

use serde_json::Value;
use tandem_model::Timestamp;
use tandem_policy::{Classification, Roster, Viewer};
use tandem_store::{ObjectQuery, Store, VersionFilter, ViewContext};

use crate::provenance::Provenance;
use crate::signer::NodeSigner;

const PAGE: usize = 1000;

/// Signs every version of `collection` added after `after` that `signer`'s member originated and
/// that has no proof in a format this binary verifies. Returns how many versions were signed and the
/// position of the last version looked at (the next scan can start there: every version this
/// node stores later is signed as it is written).
pub fn sign_unsigned(
    store: &dyn Store,
    collection: &str,
    roster: Arc<Roster>,
    signer: &NodeSigner,
    after: Option<Timestamp>,
) -> tandem_store::Result<(usize, Option<Timestamp>)> {
    let ctx = ViewContext {
        viewer: Viewer { member: signer.member().to_string(), clearance: Classification::Secret },
        roster,
    };
    let mut query = ObjectQuery {
        versions: VersionFilter::All,
        limit: PAGE,
        with_provenance: true,
        added_after: after,
        ..Default::default()
    };
    let (mut signed, mut last) = (0, after);
    loop {
        let page = store.list(&ctx, collection, &query)?;
        last = page.items.last().map(|r| r.date_added).or(last);
        let unsigned: Vec<(Timestamp, String, Value)> = page
            .items
            .into_iter()
            .filter(|r| r.originator == signer.member() && !r.redacted)
            .filter(|r| r.provenance.as_ref().is_none_or(|p| Provenance::from_value(p).is_err()))
            .map(|r| (r.date_added, r.id, r.object))
            .collect();
        if !unsigned.is_empty() {
            let maps: Vec<&serde_json::Map<String, Value>> =
                unsigned.iter().filter_map(|(_, _, o)| o.as_object()).collect();
            let proofs = signer.sign_maps(&maps);
            let updates = unsigned.iter().zip(proofs).map(|((at, id, _), p)| (*at, id.clone(), p)).collect();
            signed += store.set_provenance(collection, signer.member(), updates)?;
        }
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => return Ok((signed, last)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use serde_json::json;
    use tandem_policy::{Member, MemberStatus};
    use tandem_store::{Incoming, ObjectStore, SqliteStore};

    use crate::signer::RosterKeys;

    fn member(code: &str, key: &SigningKey) -> Member {
        Member {
            code: code.into(),
            name: code.into(),
            joined: None,
            status: MemberStatus::Active,
            public_key: Some(crate::provenance::public_key_string(&key.verifying_key())),
        }
    }

    #[test]
    fn old_and_missing_proofs_of_own_versions_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let coll = "intel";
        let (usa, irq) = (SigningKey::from_bytes(&[1; 32]), SigningKey::from_bytes(&[2; 32]));
        let roster = Arc::new(Roster::new([member("USA", &usa), member("IRQ", &irq)], []));
        let obj = |n: u32| {
            let v = json!({"type": "indicator", "spec_version": "2.1", "id": format!("indicator--00000000-0000-4000-8000-00000000000{n}"),
                "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z", "pattern": "[ipv4-addr:value = '10.0.0.1']",
                "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z",
                "object_marking_refs": [tandem_model::tlp::TLP2_GREEN]});
            tandem_model::check_object(&v).unwrap()
        };
        let usa_signer = NodeSigner::new("USA", usa.clone());
        let mut current = vec![Incoming::new(obj(1))];
        usa_signer.sign_all(&mut current);
        let kept = current[0].provenance.clone();
        store.put(coll, "USA", current).unwrap();
        store.put(coll, "USA", vec![Incoming::new(obj(2))]).unwrap();
        store
            .put(coll, "USA", vec![Incoming { object: obj(3), provenance: Some(json!({"v": 1, "signer": "USA"})) }])
            .unwrap();
        store.put(coll, "IRQ", vec![Incoming::new(obj(4))]).unwrap();

        let (signed, last) = sign_unsigned(&store, coll, Arc::clone(&roster), &usa_signer, None).unwrap();
        assert_eq!(signed, 2);
        assert_eq!(sign_unsigned(&store, coll, Arc::clone(&roster), &usa_signer, None).unwrap().0, 0, "idempotent");
        assert_eq!(sign_unsigned(&store, coll, Arc::clone(&roster), &usa_signer, last).unwrap(), (0, last));

        let keys = RosterKeys::new(Arc::new(std::sync::RwLock::new(Arc::clone(&roster)))).snapshot();
        let ctx = ViewContext { viewer: Viewer { member: "USA".into(), clearance: Classification::Secret }, roster };
        let q = ObjectQuery { with_provenance: true, limit: 10, ..Default::default() };
        for r in store.list(&ctx, coll, &q).unwrap().items {
            match r.originator.as_str() {
                "USA" => {
                    keys.verify(&r.object, r.provenance.as_ref()).unwrap();
                }
                _ => assert_eq!(r.provenance, None, "another member's version is not ours to sign"),
            }
            if r.id.ends_with('1') {
                assert_eq!(r.provenance, kept, "a current proof is left alone");
            }
        }
    }

    /// A format-2 proof (made before RFC 8785 canonical JSON) read back from the store still
    /// verifies and is not re-signed.
    #[test]
    fn format_2_proofs_are_kept_and_verify_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let golden: Value = serde_json::from_str(include_str!("provenance/golden-v2.json")).unwrap();
        let usa = SigningKey::from_bytes(&[7; 32]);
        assert_eq!(golden["public_key"], json!(crate::provenance::public_key_string(&usa.verifying_key())));
        let roster = Arc::new(Roster::new([member("USA", &usa)], []));
        let case = &golden["cases"][0];
        let object = tandem_model::StixObject::from_map_unchecked(case["object"].as_object().cloned().unwrap());
        store.put("intel", "USA", vec![Incoming { object, provenance: Some(case["proof"].clone()) }]).unwrap();
        let signer = NodeSigner::new("USA", usa);
        assert_eq!(sign_unsigned(&store, "intel", Arc::clone(&roster), &signer, None).unwrap().0, 0);
        let keys = RosterKeys::new(Arc::new(std::sync::RwLock::new(Arc::clone(&roster)))).snapshot();
        let ctx = ViewContext { viewer: Viewer { member: "USA".into(), clearance: Classification::Secret }, roster };
        let q = ObjectQuery { with_provenance: true, limit: 10, ..Default::default() };
        let items = store.list(&ctx, "intel", &q).unwrap().items;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].provenance.as_ref(), Some(&case["proof"]), "the format-2 proof is kept");
        keys.verify(&items[0].object, items[0].provenance.as_ref()).unwrap();
    }
}
