//! Signing what this node's member originates, serving proofs, and verifying what peers send.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::Value;
use tandem_model::StixObject;
use tandem_policy::Roster;
use tandem_store::Record;

use crate::provenance::{self, Provenance, ProvenanceError};

/// Signs versions submitted by users of `member` on this node.
pub struct NodeSigner {
    member: String,
    key: SigningKey,
}

impl NodeSigner {
    pub fn new(member: &str, key: SigningKey) -> Self {
        NodeSigner { member: member.to_string(), key }
    }

    /// The provenance of a version this node's member originates.
    pub fn sign_object(&self, object: &StixObject) -> Value {
        provenance::sign(object.as_map(), &self.member, &self.key).to_value()
    }
}

impl tandem_taxii::Signer for NodeSigner {
    fn sign(&self, member: &str, object: &StixObject) -> Option<Value> {
        (member == self.member).then(|| self.sign_object(object))
    }

    fn tombstone_proof(&self, t: &tandem_store::Tombstone) -> Option<Value> {
        (t.originator == self.member)
            .then(|| serde_json::to_value(provenance::sign_tombstone(t, &self.key)).ok())
            .flatten()
    }

    fn proof_for(&self, record: &Record) -> Option<Value> {
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

/// Verifies proofs against the roster's public keys.
#[derive(Clone)]
pub struct RosterKeys {
    roster: Arc<RwLock<Arc<Roster>>>,
}

impl RosterKeys {
    pub fn new(roster: Arc<RwLock<Arc<Roster>>>) -> Self {
        RosterKeys { roster }
    }

    /// A digest of the current roster: when it changes, what peers release to this node may have
    /// changed too (a member joined a group, a member came back), so the pullers start over.
    pub fn roster_digest(&self) -> String {
        let roster = match self.roster.read() {
            Ok(r) => Arc::clone(&r),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        let text = serde_json::to_value(roster.as_ref())
            .map(|v| tandem_model::canonical::canonical_json(&v))
            .unwrap_or_default();
        tandem_model::canonical::hex(&<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()))
    }

    /// The current roster's keys (take one snapshot per page, not per object).
    pub fn snapshot(&self) -> KeySet {
        KeySet(self.keys())
    }

    fn keys(&self) -> HashMap<String, VerifyingKey> {
        let roster = match self.roster.read() {
            Ok(r) => Arc::clone(&r),
            Err(p) => Arc::clone(&p.into_inner()),
        };
        roster
            .members()
            .filter_map(|m| {
                let k = provenance::parse_public_key(m.public_key.as_deref()?)?;
                Some((m.code.clone(), k))
            })
            .collect()
    }
}

/// The members' verifying keys at one moment.
pub struct KeySet(HashMap<String, VerifyingKey>);

impl KeySet {
    /// Checks that a deletion was signed by the member that originated the deleted version.
    pub fn verify_tombstone(&self, t: &tandem_store::Tombstone) -> Result<(), Refusal> {
        let key = self.0.get(&t.originator).ok_or_else(|| Refusal::UnknownSigner(t.originator.clone()))?;
        provenance::verify_tombstone(t, key)?;
        Ok(())
    }

    /// Verifies `object` against `proof`; returns the parsed proof (its `signer` is the
    /// originator).
    pub fn verify(&self, object: &Value, proof: Option<&Value>) -> Result<Provenance, Refusal> {
        let proof = Provenance::from_value(proof.ok_or(Refusal::Missing)?)?;
        let key = self.0.get(&proof.signer).ok_or_else(|| Refusal::UnknownSigner(proof.signer.clone()))?;
        let map = object.as_object().ok_or(ProvenanceError::Malformed("not an object".into()))?;
        proof.verify(map, key)?;
        Ok(proof)
    }
}
