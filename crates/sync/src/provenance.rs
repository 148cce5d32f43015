//! Provenance: the originator's signature over a version, in a form that survives redaction and
//! costs one Ed25519 signature per batch of versions, not per version.
//!
//! **Commitment to one version.** A version without `granular_markings` is never redacted, so it
//! is committed whole: `H("tandem-object-v3" || salt || canonical(object))` with a random 16-byte
//! salt. A version with granular markings is cut into leaves: every JSON path to a scalar with its
//! value; `granular_markings` is one leaf holding the whole list, because redaction rewrites it.
//! Each leaf is hashed with its own random salt, `H("tandem-leaf-v3" || salt || path || 0 ||
//! canonical(value))`, and the commitment is the hash of the sorted leaf hashes. `canonical` is
//! RFC 8785 ([`tandem_model::canonical`]), so a copy re-printed by any conforming client (`36.0`
//! as `36`) still verifies.
//!
//! **Batch.** The versions signed together (one TAXII envelope, one import batch; at most
//! [`BATCH_SLOTS`]) take random slots of a binary Merkle tree with exactly [`BATCH_SLOTS`] leaves
//! (`H(0 || commitment)`; unused slots hold random bytes; inner nodes `H(1 || left || right)`),
//! and the originator's node signs `("tandem-provenance-v3", signer, tree root)` once. Each
//! version's proof carries its slot and the sibling hashes on the way to the root. The tree's
//! fixed size and random placement mean a proof reveals neither how many versions were signed
//! with it nor where it stood in the envelope, and the salted commitments mean a sibling hash
//! reveals nothing about a version the receiver may not see.
//!
//! **Redaction.** A proof for a redacted copy (see `tandem_policy::redact`) carries the salts of
//! the leaves still visible and only the hashes of the removed ones: the verifier recomputes the
//! visible hashes from the copy, adds the removed hashes, and checks the commitment, the path and
//! the signature. Salts of removed leaves never travel, so a receiver cannot test guesses of a
//! removed value against its hash. Changing any visible value, adding a property, or claiming a
//! leaf was redacted without shipping its honest hash makes the root differ.
//!
//! **Formats.** Version 3 (written) is the above. Version 2, written before canonical JSON was
//! RFC 8785, is the same with `-v2` in every domain tag and [`tandem_model::canonical::legacy`]
//! as `canonical` (numbers as serde_json prints them); proofs of that format stay stored and
//! travel between nodes, so the verifier still accepts them and checks them the old way.
//!
//! Wire and storage format (version 3; version 2 is the same with `"v": 2`), a JSON object:
//! `{"v": 3, "signer": "USA", "sig": <base64>, "slot": <0..1023>, "path": <base64 of 10 x 32
//!   bytes, leaf level first>, "salt": <base64>}` for a whole version, or instead of `salt`
//! `"leaves": {<path as JSON array>: {"s": <base64 salt>, "h": <hex hash>}}, "removed": [<hex
//! hash>...], "granular_markings": [...original list...], "redactions": [[<selectors of the first
//! redaction>], [<of the next>]...]`. `granular_markings` holds the originator's list so a
//! verifier can check the copy's rewritten list against it (it reveals marking ids and selectors,
//! which the redaction extension already lists, never values). `redactions` records each
//! redaction step in the coordinates of the copy it applied to, because a copy redacted again for
//! a further member (SYR's copy served to JOR) carries only the latest step in its extension; the
//! verifier replays the steps in order.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use rand::RngCore;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tandem_model::StixObject;
use tandem_model::canonical::{self, canonical_json, hex};
use tandem_policy::REDACTION_EXTENSION_ID;

/// The format new proofs are written in (RFC 8785 canonical JSON).
pub const FORMAT_VERSION: u32 = 3;
/// The format before RFC 8785: still verified, never written.
pub const LEGACY_FORMAT_VERSION: u32 = 2;

/// How a format version hashes: its domain tags and its canonical JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Format 2: [`canonical::legacy`].
    V2,
    /// Format 3: RFC 8785.
    V3,
}

impl Format {
    fn of(v: u32) -> Result<Format> {
        match v {
            FORMAT_VERSION => Ok(Format::V3),
            LEGACY_FORMAT_VERSION => Ok(Format::V2),
            other => Err(ProvenanceError::Malformed(format!("format version {other}"))),
        }
    }

    fn write(self, value: &Value, out: &mut Vec<u8>) {
        match self {
            Format::V2 => canonical::legacy::write_canonical(value, out),
            Format::V3 => canonical::write_canonical(value, out),
        }
    }

    fn map(self, map: &Map<String, Value>) -> Vec<u8> {
        match self {
            Format::V2 => canonical::legacy::canonical_map(map),
            Format::V3 => canonical::canonical_map(map),
        }
    }

    /// The domain tags (object, leaf, root, signed message), distinct per format so that a
    /// signature binds the format it was made in.
    fn tags(self) -> [&'static [u8]; 4] {
        match self {
            Format::V2 => [b"tandem-object-v2", b"tandem-leaf-v2", b"tandem-root-v2", b"tandem-provenance-v2\0"],
            Format::V3 => [b"tandem-object-v3", b"tandem-leaf-v3", b"tandem-root-v3", b"tandem-provenance-v3\0"],
        }
    }
}

/// Leaves of every batch tree; versions signed together are cut into batches of at most this many.
pub const BATCH_SLOTS: usize = 1 << BATCH_DEPTH;
const BATCH_DEPTH: usize = 10;

/// One leaf's salt (base64) and hash (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaf {
    pub s: String,
    pub h: String,
}

/// A signed commitment to one version, possibly reduced to a redacted copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    pub v: u32,
    /// The member whose node signed (the originator).
    pub signer: String,
    /// The signature of the batch root.
    pub sig: String,
    /// The version's slot in its batch tree.
    pub slot: u32,
    /// The sibling hashes from the slot up to the root, concatenated, base64.
    pub path: String,
    /// A whole version's salt (versions without granular markings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Visible leaves of a version committed leaf by leaf, keyed by the canonical JSON of their
    /// path in the original.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub leaves: BTreeMap<String, Leaf>,
    /// Hashes of withheld leaves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// The original `granular_markings`, when the object has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granular_markings: Option<Value>,
    /// The redactions already applied, in order, each as the redaction extension listed it (in
    /// the coordinates of the copy it was applied to): a copy redacted again for a further member
    /// carries only the latest list in its extension.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvenanceError {
    #[error("malformed provenance: {0}")]
    Malformed(String),
    #[error("the object does not match its provenance: {0}")]
    Mismatch(String),
    #[error("bad signature")]
    BadSignature,
    #[error("the copy cannot carry provenance: {0}")]
    Unsupported(String),
}

type Result<T> = std::result::Result<T, ProvenanceError>;

pub(crate) use tandem_policy::redact::{Removal, Step, parse_selector, render_selector};

fn path_key(path: &[Step]) -> String {
    let arr: Vec<Value> = path
        .iter()
        .map(|s| match s {
            Step::Key(k) => Value::String(k.clone()),
            Step::Index(i) => Value::from(*i),
        })
        .collect();
    canonical_json(&Value::Array(arr))
}

fn parse_path_key(key: &str) -> Result<Vec<Step>> {
    let v: Value = serde_json::from_str(key).map_err(|_| ProvenanceError::Malformed(format!("leaf path {key:?}")))?;
    let arr = v
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ProvenanceError::Malformed(format!("leaf path {key:?}")))?;
    arr.iter()
        .map(|s| match s {
            Value::String(k) => Ok(Step::Key(k.clone())),
            Value::Number(n) => n
                .as_u64()
                .map(|i| Step::Index(i as usize))
                .ok_or_else(|| ProvenanceError::Malformed(format!("leaf path {key:?}"))),
            _ => Err(ProvenanceError::Malformed(format!("leaf path {key:?}"))),
        })
        .collect()
}

const GRANULAR: &str = "granular_markings";

/// Every leaf of an object: paths to scalars; `granular_markings` whole; empty containers skipped.
pub(crate) fn leaves(object: &Map<String, Value>) -> Vec<(Vec<Step>, Value)> {
    fn walk(value: &Value, path: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, Value)>) {
        match value {
            Value::Object(m) => {
                for (k, v) in m {
                    path.push(Step::Key(k.clone()));
                    walk(v, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    path.push(Step::Index(i));
                    walk(v, path, out);
                    path.pop();
                }
            }
            scalar => out.push((path.clone(), scalar.clone())),
        }
    }
    let mut out = Vec::new();
    for (k, v) in object {
        if k == GRANULAR {
            out.push((vec![Step::Key(k.clone())], v.clone()));
            continue;
        }
        let mut path = vec![Step::Key(k.clone())];
        walk(v, &mut path, &mut out);
    }
    out
}

fn leaf_hash(format: Format, salt: &[u8], key: &str, value: &Value) -> [u8; 32] {
    let mut buf = Vec::with_capacity(64);
    format.write(value, &mut buf);
    let mut h = Sha256::new();
    h.update(format.tags()[1]);
    h.update((salt.len() as u32).to_be_bytes());
    h.update(salt);
    h.update(key.as_bytes());
    h.update([0u8]);
    h.update(&buf);
    h.finalize().into()
}

fn root_of(format: Format, mut hashes: Vec<[u8; 32]>) -> [u8; 32] {
    hashes.sort_unstable();
    let mut h = Sha256::new();
    h.update(format.tags()[2]);
    h.update((hashes.len() as u64).to_be_bytes());
    for leaf in &hashes {
        h.update(leaf);
    }
    h.finalize().into()
}

/// The commitment to a version without granular markings.
fn whole_commitment(format: Format, salt: &[u8], canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(format.tags()[0]);
    h.update((salt.len() as u32).to_be_bytes());
    h.update(salt);
    h.update(canonical);
    h.finalize().into()
}

fn slot_node(commitment: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(commitment);
    h.finalize().into()
}

fn inner_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

fn message(format: Format, signer: &str, root: &[u8; 32]) -> Vec<u8> {
    let mut m = format.tags()[3].to_vec();
    m.extend_from_slice(signer.as_bytes());
    m.push(0);
    m.extend_from_slice(root);
    m
}

fn unhex(s: &str) -> Result<[u8; 32]> {
    if s.len() != 64 {
        return Err(ProvenanceError::Malformed("hash length".into()));
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(chunk).map_err(|_| ProvenanceError::Malformed("hex".into()))?;
        out[i] = u8::from_str_radix(text, 16).map_err(|_| ProvenanceError::Malformed("hex".into()))?;
    }
    Ok(out)
}

/// A version's commitment and the part of its proof that is about the version alone.
struct Committed {
    commitment: [u8; 32],
    salt: Option<String>,
    leaves: BTreeMap<String, Leaf>,
    granular_markings: Option<Value>,
}

/// A version to sign: its map, and its canonical form (format 3), which a [`StixObject`] keeps
/// once computed, so that the store's content hash does not compute it again.
pub trait Signable: Sync {
    fn map(&self) -> &Map<String, Value>;
    fn canonical(&self) -> Cow<'_, [u8]>;
}

impl Signable for Map<String, Value> {
    fn map(&self) -> &Map<String, Value> {
        self
    }

    fn canonical(&self) -> Cow<'_, [u8]> {
        Cow::Owned(canonical::canonical_map(self))
    }
}

impl Signable for StixObject {
    fn map(&self) -> &Map<String, Value> {
        self.as_map()
    }

    fn canonical(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(StixObject::canonical(self))
    }
}

fn commit(version: &(impl Signable + ?Sized), rng: &mut impl RngCore) -> Committed {
    let object = version.map();
    let mut salt = [0u8; 16];
    if !object.contains_key(GRANULAR) {
        rng.fill_bytes(&mut salt);
        return Committed {
            commitment: whole_commitment(Format::V3, &salt, &version.canonical()),
            salt: Some(STANDARD.encode(salt)),
            leaves: BTreeMap::new(),
            granular_markings: None,
        };
    }
    let mut leaves_out = BTreeMap::new();
    let mut hashes = Vec::new();
    for (path, value) in leaves(object) {
        rng.fill_bytes(&mut salt);
        let key_text = path_key(&path);
        let h = leaf_hash(Format::V3, &salt, &key_text, &value);
        hashes.push(h);
        leaves_out.insert(key_text, Leaf { s: STANDARD.encode(salt), h: hex(&h) });
    }
    Committed {
        commitment: root_of(Format::V3, hashes),
        salt: None,
        leaves: leaves_out,
        granular_markings: object.get(GRANULAR).cloned(),
    }
}

/// Signs versions as their originator `signer`, one signature per [`BATCH_SLOTS`] versions;
/// the proofs come back in the order of `objects`.
pub fn sign_batch<O: Signable + ?Sized>(objects: &[&O], signer: &str, key: &SigningKey) -> Vec<Provenance> {
    // ThreadRng is a CSPRNG (ChaCha, reseeded from the OS): unpredictable salts and slots
    // without a system call each.
    // The commitments (canonical form and hashes of each version: most of the cost) over the
    // machine's cores, each thread with its own generator; the trees and signatures after.
    let mut all =
        tandem_model::parallel::map_with(objects.to_vec(), rand::thread_rng, |rng, o| commit(o, rng)).into_iter();
    let mut rng = rand::thread_rng();
    let mut out = Vec::with_capacity(objects.len());
    for chunk in objects.chunks(BATCH_SLOTS) {
        let committed: Vec<Committed> = all.by_ref().take(chunk.len()).collect();
        let mut slots: Vec<usize> = (0..BATCH_SLOTS).collect();
        slots.shuffle(&mut rng);
        let mut level: Vec<[u8; 32]> = (0..BATCH_SLOTS)
            .map(|_| {
                let mut filler = [0u8; 32];
                rng.fill_bytes(&mut filler);
                filler
            })
            .collect();
        for (c, &slot) in committed.iter().zip(&slots) {
            level[slot] = slot_node(&c.commitment);
        }
        let mut levels = vec![level];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = &levels[levels.len() - 1];
            let next: Vec<[u8; 32]> = below.chunks(2).map(|pair| inner_node(&pair[0], &pair[1])).collect();
            levels.push(next);
        }
        let root = levels[BATCH_DEPTH][0];
        let sig = STANDARD.encode(key.sign(&message(Format::V3, signer, &root)).to_bytes());
        for (c, &slot) in committed.into_iter().zip(&slots) {
            let mut path = Vec::with_capacity(32 * BATCH_DEPTH);
            for (depth, nodes) in levels.iter().take(BATCH_DEPTH).enumerate() {
                path.extend_from_slice(&nodes[(slot >> depth) ^ 1]);
            }
            out.push(Provenance {
                v: FORMAT_VERSION,
                signer: signer.to_string(),
                sig: sig.clone(),
                slot: slot as u32,
                path: STANDARD.encode(path),
                salt: c.salt,
                leaves: c.leaves,
                removed: Vec::new(),
                granular_markings: c.granular_markings,
                redactions: Vec::new(),
            });
        }
    }
    out
}

/// Signs one version as its originator `signer` (a batch of one).
pub fn sign(object: &Map<String, Value>, signer: &str, key: &SigningKey) -> Provenance {
    sign_batch(&[object], signer, key).pop().expect("one proof per object")
}

/// The selectors a copy's redaction extension lists (empty when it has none).
fn declared_list(copy: &Map<String, Value>) -> Result<Vec<String>> {
    let Some(ext) = copy.get("extensions").and_then(|e| e.get(REDACTION_EXTENSION_ID)) else {
        return Ok(Vec::new());
    };
    let list = ext
        .get("redacted")
        .and_then(Value::as_array)
        .ok_or_else(|| ProvenanceError::Mismatch("redaction extension without a list".into()))?;
    list.iter()
        .map(|s| s.as_str().map(str::to_string).ok_or_else(|| ProvenanceError::Mismatch(format!("bad selector {s}"))))
        .collect()
}

/// One redaction step as `redact` applied it.
fn reduce(list: &[String]) -> Result<Removal> {
    let mut removed = Vec::new();
    for s in list {
        removed.push(parse_selector(s).ok_or_else(|| ProvenanceError::Mismatch(format!("bad redacted selector {s}")))?);
    }
    Ok(Removal::new(removed))
}

/// Where a path of the original ends up after every redaction step, or `None` once removed.
fn remap_chain(path: &[Step], steps: &[Removal]) -> Option<Vec<Step>> {
    let mut cur = path.to_vec();
    for step in steps {
        cur = step.remap(&cur)?;
    }
    Some(cur)
}

/// The `granular_markings` a copy carries after every redaction step.
fn expected_granular_chain(original: &Value, steps: &[Removal]) -> Option<Value> {
    let mut cur = Some(original.clone());
    for step in steps {
        cur = step.rewrite_granular(&cur?);
    }
    cur
}

fn lookup<'a>(value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    let mut cur = value;
    for step in path {
        cur = match (step, cur) {
            (Step::Key(k), Value::Object(m)) => m.get(k)?,
            (Step::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The copy without what redaction added: the redaction extension and `granular_markings`.
fn base_of(copy: &Map<String, Value>) -> Map<String, Value> {
    let mut base = copy.clone();
    base.remove(GRANULAR);
    if let Some(Value::Object(exts)) = base.get_mut("extensions") {
        exts.remove(REDACTION_EXTENSION_ID);
        if exts.is_empty() {
            base.remove("extensions");
        }
    }
    base
}

impl Provenance {
    /// Parses a stored or received proof.
    pub fn from_value(value: &Value) -> Result<Provenance> {
        let p: Provenance =
            serde_json::from_value(value.clone()).map_err(|e| ProvenanceError::Malformed(e.to_string()))?;
        Format::of(p.v)?;
        if p.salt.is_some() != p.leaves.is_empty() {
            return Err(ProvenanceError::Malformed("a proof commits either a whole version or its leaves".into()));
        }
        if p.slot as usize >= BATCH_SLOTS {
            return Err(ProvenanceError::Malformed("slot out of range".into()));
        }
        Ok(p)
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The redaction steps that turned the original into `copy`, for verifying: those this
    /// proof was reduced for, else (a proof from before `redactions` were recorded, or an
    /// unreduced one) the copy's own list.
    fn steps_for(&self, copy: &Map<String, Value>) -> Result<Vec<Removal>> {
        let raw = if self.redactions.is_empty() {
            let ext = declared_list(copy)?;
            if ext.is_empty() { Vec::new() } else { vec![ext] }
        } else {
            self.redactions.clone()
        };
        raw.iter().map(|l| reduce(l)).collect()
    }

    /// The proof to ship with `copy`. `newly_redacted` says whether the serving store redacted
    /// the stored object for this reader (its redaction extension then lists this step's
    /// selectors, which may coincide with an earlier step's); if not, the stored proof fits as is.
    /// Leaves the new step removes travel as hashes only.
    pub fn for_copy(&self, copy: &Map<String, Value>, newly_redacted: bool) -> Result<Provenance> {
        if !newly_redacted {
            return Ok(self.clone());
        }
        if self.salt.is_some() {
            return Err(ProvenanceError::Unsupported("a version without granular markings is never redacted".into()));
        }
        let ext = declared_list(copy)?;
        if ext.is_empty() {
            return Err(ProvenanceError::Mismatch("a redacted copy without a redaction list".into()));
        }
        if self.redactions.is_empty() && !self.removed.is_empty() {
            return Err(ProvenanceError::Unsupported("a proof without its redaction steps".into()));
        }
        let mut out = self.clone();
        out.redactions.push(ext);
        let steps = out.redactions.iter().map(|l| reduce(l)).collect::<Result<Vec<_>>>()?;
        out.leaves.clear();
        for (key, leaf) in &self.leaves {
            let path = parse_path_key(key)?;
            let is_granular = path.len() == 1 && path[0] == Step::Key(GRANULAR.into());
            if is_granular || remap_chain(&path, &steps).is_some() {
                out.leaves.insert(key.clone(), leaf.clone());
            } else {
                out.removed.push(leaf.h.clone());
            }
        }
        out.removed.sort();
        Ok(out)
    }

    /// Checks that `copy` (whole or redacted) is what `self.signer` signed, with `key`.
    pub fn verify(&self, copy: &Map<String, Value>, key: &VerifyingKey) -> Result<()> {
        let root = self.batch_root(copy)?;
        self.check_signature(&root, key)
    }

    /// Checks that `copy` matches this proof and returns the batch root it leads to; the root
    /// is genuine once [`Provenance::check_signature`] accepts it (verifiers may remember roots
    /// they already checked, since every version of a batch leads to the same one).
    pub fn batch_root(&self, copy: &Map<String, Value>) -> Result<[u8; 32]> {
        let format = Format::of(self.v)?;
        let commitment = match &self.salt {
            Some(salt) => {
                if !self.leaves.is_empty() || !self.removed.is_empty() || self.granular_markings.is_some() {
                    return Err(ProvenanceError::Malformed("a whole-version proof with leaves".into()));
                }
                let salt = STANDARD.decode(salt).map_err(|_| ProvenanceError::Malformed("salt".into()))?;
                whole_commitment(format, &salt, &format.map(copy))
            }
            None => self.leaf_commitment(format, copy)?,
        };
        let path = STANDARD.decode(&self.path).map_err(|_| ProvenanceError::Malformed("path encoding".into()))?;
        if path.len() != 32 * BATCH_DEPTH || self.slot as usize >= BATCH_SLOTS {
            return Err(ProvenanceError::Malformed("batch path".into()));
        }
        let mut node = slot_node(&commitment);
        for (depth, sibling) in path.chunks_exact(32).enumerate() {
            let mut sib = [0u8; 32];
            sib.copy_from_slice(sibling);
            node = if (self.slot >> depth) & 1 == 0 { inner_node(&node, &sib) } else { inner_node(&sib, &node) };
        }
        Ok(node)
    }

    /// Checks the signature of a batch root.
    pub fn check_signature(&self, root: &[u8; 32], key: &VerifyingKey) -> Result<()> {
        let sig = self.signature()?;
        key.verify(&message(Format::of(self.v)?, &self.signer, root), &sig).map_err(|_| ProvenanceError::BadSignature)
    }

    /// The decoded signature.
    pub fn signature(&self) -> Result<Signature> {
        let sig_bytes =
            STANDARD.decode(&self.sig).map_err(|_| ProvenanceError::Malformed("signature encoding".into()))?;
        Signature::from_slice(&sig_bytes).map_err(|_| ProvenanceError::Malformed("signature length".into()))
    }

    /// The commitment of a version committed leaf by leaf, recomputed from a (redacted) copy.
    fn leaf_commitment(&self, format: Format, copy: &Map<String, Value>) -> Result<[u8; 32]> {
        let steps = self.steps_for(copy)?;
        let base = Value::Object(base_of(copy));
        // Granular markings: the copy's list must be the original's, as redaction rewrites it.
        match &self.granular_markings {
            Some(original) => {
                if expected_granular_chain(original, &steps) != copy.get(GRANULAR).cloned() {
                    return Err(ProvenanceError::Mismatch("granular_markings".into()));
                }
            }
            None => {
                if copy.contains_key(GRANULAR) {
                    return Err(ProvenanceError::Mismatch("unsigned granular_markings".into()));
                }
            }
        }
        let mut hashes = Vec::with_capacity(self.leaves.len() + self.removed.len());
        let mut covered: BTreeSet<Vec<Step>> = BTreeSet::new();
        let mut has_granular_leaf = false;
        for (key, leaf) in &self.leaves {
            let path = parse_path_key(key)?;
            let salt = STANDARD.decode(&leaf.s).map_err(|_| ProvenanceError::Malformed("salt".into()))?;
            let value = if path.len() == 1 && path[0] == Step::Key(GRANULAR.into()) {
                has_granular_leaf = true;
                self.granular_markings
                    .clone()
                    .ok_or_else(|| ProvenanceError::Mismatch("granular_markings leaf without the list".into()))?
            } else {
                let at = remap_chain(&path, &steps)
                    .ok_or_else(|| ProvenanceError::Mismatch(format!("a salt was sent for withheld leaf {key}")))?;
                let v = lookup(&base, &at).ok_or_else(|| ProvenanceError::Mismatch(format!("missing leaf {key}")))?;
                if !covered.insert(at) {
                    return Err(ProvenanceError::Mismatch(format!("leaf {key} twice")));
                }
                v.clone()
            };
            let h = leaf_hash(format, &salt, key, &value);
            if hex(&h) != leaf.h {
                return Err(ProvenanceError::Mismatch(format!("leaf {key}")));
            }
            hashes.push(h);
        }
        if self.granular_markings.is_some() != has_granular_leaf {
            return Err(ProvenanceError::Mismatch("granular_markings leaf".into()));
        }
        // Every leaf of the copy must be signed.
        let base_map = base.as_object().cloned().unwrap_or_default();
        for (path, _) in leaves(&base_map) {
            if !covered.contains(&path) {
                return Err(ProvenanceError::Mismatch(format!("unsigned property {}", render_selector(&path))));
            }
        }
        for h in &self.removed {
            hashes.push(unhex(h)?);
        }
        Ok(root_of(format, hashes))
    }
}

/// A deletion's signature: the originator's node signs `(originator, id, version)` when it serves
/// its own tombstones, and every node forwards the signature unchanged, so no peer can delete
/// what a member originated by claiming that member deleted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TombstoneProof {
    /// [`TOMBSTONE_FORMAT_VERSION`].
    pub v: u32,
    pub signer: String,
    pub sig: String,
}

pub const TOMBSTONE_FORMAT_VERSION: u32 = 1;

fn tombstone_message(t: &tandem_store::Tombstone) -> Vec<u8> {
    let mut m = b"tandem-tombstone-v1\0".to_vec();
    m.extend_from_slice(t.originator.as_bytes());
    m.push(0);
    m.extend_from_slice(t.id.as_bytes());
    m.push(0);
    m.extend_from_slice(t.version.map(|v| v.to_taxii()).unwrap_or_default().as_bytes());
    m
}

/// Signs a deletion of a version `t.originator` (this node's member) originated.
pub fn sign_tombstone(t: &tandem_store::Tombstone, key: &SigningKey) -> TombstoneProof {
    TombstoneProof {
        v: TOMBSTONE_FORMAT_VERSION,
        signer: t.originator.clone(),
        sig: STANDARD.encode(key.sign(&tombstone_message(t)).to_bytes()),
    }
}

/// Checks a deletion's signature with the originator's key.
pub fn verify_tombstone(t: &tandem_store::Tombstone, key: &VerifyingKey) -> Result<()> {
    let proof: TombstoneProof =
        serde_json::from_value(t.proof.clone().ok_or(ProvenanceError::Malformed("no proof".into()))?)
            .map_err(|e| ProvenanceError::Malformed(e.to_string()))?;
    if proof.v != TOMBSTONE_FORMAT_VERSION || proof.signer != t.originator {
        return Err(ProvenanceError::Mismatch("tombstone signer is not the originator".into()));
    }
    let bytes = STANDARD.decode(&proof.sig).map_err(|_| ProvenanceError::Malformed("signature encoding".into()))?;
    let sig = Signature::from_slice(&bytes).map_err(|_| ProvenanceError::Malformed("signature length".into()))?;
    key.verify(&tombstone_message(t), &sig).map_err(|_| ProvenanceError::BadSignature)
}

/// `ed25519:<base64>` -> a verifying key (the roster's `public_key` form).
pub fn parse_public_key(text: &str) -> Option<VerifyingKey> {
    tandem_audit::keys::parse_public_key(text).ok()
}

/// A verifying key as `ed25519:<base64>` (the node key of `tandem_audit::keys`).
pub fn public_key_string(key: &VerifyingKey) -> String {
    tandem_audit::keys::public_key_string(key)
}

#[cfg(test)]
mod tests;
