//! The hash chain: what an entry's hash covers and what a checkpoint signs.
//!
//! It exists so that the writer and the verifier share one definition. The hash covers every
//! stored column exactly as stored (the detail as its JSON text, the time as its TAXII string),
//! so no re-serialisation can make an intact entry look edited. Each field is length-prefixed,
//! so moving bytes from one field to the next changes the hash; the sequence number is covered,
//! so swapping two entries' contents breaks the chain.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Tag of the hashed format; bump it (and keep the old one verifiable) if the layout changes.
const ENTRY_TAG: &[u8] = b"tandem-audit-entry/1";
const CHECKPOINT_TAG: &[u8] = b"tandem-audit-checkpoint/1";

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audited event, before it has a place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// TAXII form (`YYYY-MM-DDTHH:MM:SS.ffffffZ`).
    pub ts: String,
    /// The authenticated user, or for a failed authentication the presented name, if any.
    pub actor_user: Option<String>,
    pub actor_member: Option<String>,
    /// `objects.read`, `objects.write`, `auth.failure`, ...
    pub action: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// Ids and counts; never object contents.
    pub detail: serde_json::Value,
}

/// An entry as stored: its place in the chain and its hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub ts: String,
    pub actor_user: Option<String>,
    pub actor_member: Option<String>,
    pub action: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The detail JSON text exactly as stored (and hashed).
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Record {
    /// Places `entry` after `prev_hash` at `seq` and computes its hash.
    ///
    /// Its text fields are recorded as every keeper can store them: a NUL (a client may present
    /// one in a Basic header's user name) becomes U+FFFD, since PostgreSQL's text holds no NUL,
    /// and a keeper that refused the record would hold the audit log's writer retrying it for
    /// ever. The hash covers the text as recorded, so it verifies whichever keeper holds it.
    pub fn chain(seq: u64, entry: &Entry, prev_hash: &str) -> Record {
        let text = |s: &str| if s.contains('\0') { s.replace('\0', "\u{FFFD}") } else { s.to_string() };
        let mut r = Record {
            seq,
            ts: text(&entry.ts),
            actor_user: entry.actor_user.as_deref().map(text),
            actor_member: entry.actor_member.as_deref().map(text),
            action: text(&entry.action),
            method: text(&entry.method),
            path: text(&entry.path),
            status: entry.status,
            detail: entry.detail.to_string(),
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        r.hash = r.compute_hash();
        r
    }

    /// SHA-256 of `prev_hash || canonical bytes`, in lower-case hex.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.prev_hash.as_bytes());
        h.update(ENTRY_TAG);
        h.update(self.seq.to_be_bytes());
        field(&mut h, Some(&self.ts));
        field(&mut h, self.actor_user.as_deref());
        field(&mut h, self.actor_member.as_deref());
        field(&mut h, Some(&self.action));
        field(&mut h, Some(&self.method));
        field(&mut h, Some(&self.path));
        h.update(self.status.to_be_bytes());
        field(&mut h, Some(&self.detail));
        hex(&h.finalize())
    }

    /// The entry as JSON for readers, with `detail` parsed back (kept as text if unparseable).
    pub fn to_json(&self) -> serde_json::Value {
        let detail =
            serde_json::from_str(&self.detail).unwrap_or_else(|_| serde_json::Value::String(self.detail.clone()));
        serde_json::json!({
            "seq": self.seq,
            "ts": self.ts,
            "actor_user": self.actor_user,
            "actor_member": self.actor_member,
            "action": self.action,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "detail": detail,
            "hash": self.hash,
        })
    }
}

/// A signed statement "the chain's entry `seq` has hash `hash`", made at `ts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: String,
    pub ts: String,
    /// Base64 Ed25519 signature of [`Checkpoint::message`].
    pub signature: String,
}

impl Checkpoint {
    /// The signed bytes.
    pub fn message(seq: u64, hash: &str, ts: &str) -> Vec<u8> {
        let mut m = Vec::with_capacity(128);
        m.extend_from_slice(CHECKPOINT_TAG);
        m.extend_from_slice(&seq.to_be_bytes());
        for f in [hash, ts] {
            m.extend_from_slice(&(f.len() as u64).to_be_bytes());
            m.extend_from_slice(f.as_bytes());
        }
        m
    }
}

/// A length-prefixed optional string: `0xff` for none, else `0x01`, u64 length, bytes.
fn field(h: &mut Sha256, value: Option<&str>) {
    match value {
        None => h.update([0xffu8]),
        Some(v) => {
            h.update([0x01u8]);
            h.update((v.len() as u64).to_be_bytes());
            h.update(v.as_bytes());
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(user: Option<&str>, path: &str) -> Entry {
        Entry {
            ts: "2026-01-01T00:00:00.000000Z".into(),
            actor_user: user.map(String::from),
            actor_member: None,
            action: "objects.read".into(),
            method: "GET".into(),
            path: path.into(),
            status: 200,
            detail: serde_json::json!({"returned": 3}),
        }
    }

    #[test]
    fn hash_covers_every_field_and_the_position() {
        let base = Record::chain(1, &entry(Some("alice"), "/a"), GENESIS);
        assert_eq!(base.hash.len(), 64);
        assert_eq!(base.compute_hash(), base.hash);
        let variants = [
            Record::chain(2, &entry(Some("alice"), "/a"), GENESIS),
            Record::chain(1, &entry(None, "/a"), GENESIS),
            Record::chain(1, &entry(Some(""), "/a"), GENESIS),
            Record::chain(1, &entry(Some("alice"), "/b"), GENESIS),
            Record::chain(1, &entry(Some("alice"), "/a"), &base.hash),
        ];
        for v in variants {
            assert_ne!(v.hash, base.hash, "{v:?}");
        }
        // A NUL is recorded as U+FFFD (storable by every keeper), and the hash covers that.
        let mut nul = entry(Some("us\0er"), "/a\0");
        nul.actor_member = Some("U\0SA".into());
        let r = Record::chain(1, &nul, GENESIS);
        assert_eq!(
            (r.actor_user.as_deref(), r.actor_member.as_deref(), r.path.as_str()),
            (Some("us\u{FFFD}er"), Some("U\u{FFFD}SA"), "/a\u{FFFD}")
        );
        assert_eq!(r.compute_hash(), r.hash);
        // Moving a byte between adjacent fields changes the hash.
        let mut a = entry(Some("ab"), "/a");
        a.actor_member = Some("c".into());
        let mut b = entry(Some("a"), "/a");
        b.actor_member = Some("bc".into());
        assert_ne!(Record::chain(1, &a, GENESIS).hash, Record::chain(1, &b, GENESIS).hash);
    }
}
