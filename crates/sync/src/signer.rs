//! Signing what this node's member originates, serving proofs, and verifying what peers send.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::Value;
use tandem_policy::Roster;
use tandem_store::{Incoming, Record};

use crate::provenance::{self, Provenance, ProvenanceError};

/// Signs versions submitted by users of `member` on this node.
pub struct NodeSigner {
    member: String,
    key: SigningKey,
    epoch: RwLock<Option<String>>,
}

/// Where the release epoch is kept (see [`tandem_taxii::Signer::epoch`]); the live stream
/// watches the same key ([`tandem_store::RELEASE_EPOCH_KEY`]).
pub const EPOCH_KEY: &str = tandem_store::RELEASE_EPOCH_KEY;

impl NodeSigner {
    pub fn new(member: &str, key: SigningKey) -> Self {
        NodeSigner { member: member.to_string(), key, epoch: RwLock::new(None) }
    }

    /// Sets the release epoch served to syncing peers.
    pub fn set_epoch(&self, epoch: Option<String>) {
        if let Ok(mut e) = self.epoch.write() {
            *e = epoch;
        }
    }

    /// The member this node signs for.
    pub fn member(&self) -> &str {
        &self.member
    }

    /// Proofs for objects this node's member originated, signed together, in order.
    pub fn sign_maps(&self, objects: &[&serde_json::Map<String, Value>]) -> Vec<Value> {
        provenance::sign_batch(objects, &self.member, &self.key).iter().map(Provenance::to_value).collect()
    }

    /// The provenance of one version this node's member originates (a batch of one).
    pub fn sign_object(&self, object: &tandem_model::StixObject) -> Value {
        provenance::sign(object.as_map(), &self.member, &self.key).to_value()
    }

    /// Sets the provenance of versions this node's member originates, signed together.
    pub fn sign_all(&self, batch: &mut [Incoming]) {
        let objects: Vec<&tandem_model::StixObject> = batch.iter().map(|i| &i.object).collect();
        let proofs = provenance::sign_batch(&objects, &self.member, &self.key);
        for (incoming, proof) in batch.iter_mut().zip(proofs) {
            incoming.provenance = Some(proof.to_value());
        }
    }
}

impl tandem_taxii::Signer for NodeSigner {
    fn member(&self) -> &str {
        &self.member
    }

    fn sign(&self, batch: &mut [Incoming]) {
        self.sign_all(batch);
    }

    fn epoch(&self) -> Option<String> {
        self.epoch.read().ok().and_then(|e| e.clone())
    }

    fn tombstone_proof(&self, t: &tandem_store::Tombstone) -> Option<Value> {
        (t.originator == self.member)
            .then(|| serde_json::to_value(provenance::sign_tombstone(t, &self.key)).ok())
            .flatten()
    }

    fn proof_for(&self, record: &Record) -> Option<Value> {
        if !record.redacted {
            // The stored proof fits the stored copy as it is (the receiver verifies it anyway).
            return record.provenance.clone();
        }
        let stored = Provenance::from_value(record.provenance.as_ref()?).ok()?;
        let copy = record.object.as_object()?;
        match stored.for_copy(copy, record.redacted) {
            Ok(p) => Some(p.to_value()),
            Err(e) => {
                tracing::debug!(id = %record.id, error = %e, "no proof for this copy");
                None
            }
        }
    }
}

/// Why a replicated version was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("no provenance")]
    Missing,
    #[error("{0}")]
    Provenance(#[from] ProvenanceError),
    #[error("no public key for signer {0} in the roster")]
    UnknownSigner(String),
}

/// A batch signature already checked: (signer, its key, batch root, signature).
type VerifiedBatch = (String, [u8; 32], [u8; 32], [u8; 64]);

/// Batch signatures remembered at most; the set starts over when full (a cache, never a
/// decision: a forgotten batch is simply verified again).
const VERIFIED_BATCHES: usize = 100_000;

/// A roster snapshot and the verifying keys parsed from it.
type ParsedKeys = (Arc<Roster>, Arc<HashMap<String, VerifyingKey>>);

/// Verifies proofs against the roster's public keys.
#[derive(Clone)]
pub struct RosterKeys {
    roster: Arc<RwLock<Arc<Roster>>>,
    verified: Arc<Mutex<HashSet<VerifiedBatch>>>,
    /// The keys parsed from the roster snapshot they came from (parsing a key decompresses a
    /// curve point: done once per roster, not once per page).
    parsed: Arc<Mutex<Option<ParsedKeys>>>,
}

impl RosterKeys {
    pub fn new(roster: Arc<RwLock<Arc<Roster>>>) -> Self {
        RosterKeys { roster, verified: Arc::default(), parsed: Arc::default() }
    }

    /// A digest of the current roster: when it changes, what peers release to this node may have
    /// changed too (a member joined a group, a member came back), so the pullers start over.
    pub fn roster_digest(&self) -> String {
        let roster = match self.roster.read() {
            Ok(r) => Arc::clone(&r),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        roster_digest(&roster)
    }

    /// The current roster's keys (take one snapshot per page, not per object).
    pub fn snapshot(&self) -> KeySet {
        KeySet { keys: self.keys(), verified: Arc::clone(&self.verified) }
    }

    fn keys(&self) -> Arc<HashMap<String, VerifyingKey>> {
        let roster = match self.roster.read() {
            Ok(r) => Arc::clone(&r),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        let mut parsed = match self.parsed.lock() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        if let Some((from, keys)) = parsed.as_ref()
            && Arc::ptr_eq(from, &roster)
        {
            return Arc::clone(keys);
        }
        let keys: Arc<HashMap<String, VerifyingKey>> = Arc::new(
            roster
                .members()
                .filter_map(|m| {
                    let k = provenance::parse_public_key(m.public_key.as_deref()?)?;
                    Some((m.code.clone(), k))
                })
                .collect(),
        );
        *parsed = Some((roster, Arc::clone(&keys)));
        keys
    }
}

/// The digest of a roster (SHA-256 of its canonical JSON, hex): names one roster exactly, so a
/// peer can tell whether the roster a puller was served under is one it can rebuild.
pub fn roster_digest(roster: &Roster) -> String {
    let text = serde_json::to_value(roster).map(|v| tandem_model::canonical::canonical_json(&v)).unwrap_or_default();
    tandem_model::canonical::hex(&<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()))
}

/// The members' verifying keys at one moment, and the batch signatures already checked.
pub struct KeySet {
    keys: Arc<HashMap<String, VerifyingKey>>,
    verified: Arc<Mutex<HashSet<VerifiedBatch>>>,
}

impl KeySet {
    /// Checks that a deletion was signed by the member that originated the deleted version.
    pub fn verify_tombstone(&self, t: &tandem_store::Tombstone) -> Result<(), Refusal> {
        let key = self.keys.get(&t.originator).ok_or_else(|| Refusal::UnknownSigner(t.originator.clone()))?;
        provenance::verify_tombstone(t, key)?;
        Ok(())
    }

    /// Verifies `object` against `proof`; returns the parsed proof (its `signer` is the
    /// originator).
    pub fn verify(&self, object: &Value, proof: Option<&Value>) -> Result<Provenance, Refusal> {
        let proof = Provenance::from_value(proof.ok_or(Refusal::Missing)?)?;
        let key = self.keys.get(&proof.signer).ok_or_else(|| Refusal::UnknownSigner(proof.signer.clone()))?;
        let map = object.as_object().ok_or(ProvenanceError::Malformed("not an object".into()))?;
        let root = proof.batch_root(map)?;
        // The versions of one batch share its root and signature: check the signature once.
        let entry = (proof.signer.clone(), key.to_bytes(), root, proof.signature()?.to_bytes());
        let seen = |set: &HashSet<VerifiedBatch>| set.contains(&entry);
        if !self.verified.lock().map(|set| seen(&set)).unwrap_or(false) {
            proof.check_signature(&root, key)?;
            if let Ok(mut set) = self.verified.lock() {
                if set.len() >= VERIFIED_BATCHES {
                    set.clear();
                }
                set.insert(entry);
            }
        }
        Ok(proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tandem_policy::roster::{Member, MemberStatus};

    fn keys_for(usa: &SigningKey) -> RosterKeys {
        let member = Member {
            code: "USA".into(),
            name: "United States".into(),
            joined: None,
            status: MemberStatus::Active,
            public_key: Some(provenance::public_key_string(&usa.verifying_key())),
        };
        RosterKeys::new(Arc::new(RwLock::new(Arc::new(Roster::new([member], [])))))
    }

    #[test]
    fn a_remembered_batch_never_excuses_another_signature() {
        let usa = SigningKey::from_bytes(&[5; 32]);
        let keys = keys_for(&usa).snapshot();
        let objects: Vec<Value> = (0..3)
            .map(|i| {
                json!({"type": "indicator", "spec_version": "2.1", "id": format!("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3{i}"),
                       "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z"})
            })
            .collect();
        let maps: Vec<&serde_json::Map<String, Value>> = objects.iter().filter_map(Value::as_object).collect();
        let proofs: Vec<Value> = provenance::sign_batch(&maps, "USA", &usa).iter().map(Provenance::to_value).collect();
        keys.verify(&objects[0], Some(&proofs[0])).unwrap();
        // Same batch root (remembered), but a signature that is not the one checked.
        let mut forged = proofs[1].clone();
        forged["sig"] = json!(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 64]));
        assert!(matches!(keys.verify(&objects[1], Some(&forged)), Err(Refusal::Provenance(_))));
        // Same root and signature, claimed by another member.
        let mut claimed = proofs[1].clone();
        claimed["signer"] = json!("IRQ");
        assert!(matches!(keys.verify(&objects[1], Some(&claimed)), Err(Refusal::UnknownSigner(_))));
        keys.verify(&objects[2], Some(&proofs[2])).unwrap();
        assert!(keys.verify(&objects[2], Some(&proofs[1])).is_err(), "a sibling's proof");
    }
}
