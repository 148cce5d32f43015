//! Signed roster changes: the coalition's roster authority (an Ed25519 key that is no node's key)
//! signs numbered changes — `join`, `suspend`, `reinstate`, `leave`, `set-key`, `group` — and
//! every node applies them, strictly in sequence order, on top of the roster of its own config.
//! The signature is what lets a change replicate: no single node can invent a member.
//!
//! Pure: the document types, the signing message (a domain-separation prefix plus the RFC 8785
//! canonical JSON of the change), verification, and applying a change to a [`Roster`].
//! Persistence and replication live in [`crate::roster_log`].
//!
//! The document, as submitted and served:
//!
//! ```json
//! {"change": {"type": "tandem-roster-change", "version": 1, "authority": "ed25519:...",
//!             "seq": 1, "issued": "2025-11-13T09:00:00Z",
//!             "action": {"type": "join", "member": "SYR", "name": "Syria",
//!                        "public_key": "ed25519:...", "joined": "2025-11-13", "groups": ["LVNT"]}},
//!  "signature": "<base64 Ed25519 signature>"}
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_policy::{Group, Member, MemberStatus, Roster};

/// The `type` of every roster change document.
pub const DOCUMENT_TYPE: &str = "tandem-roster-change";
/// The format version this node reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Prepended to the canonical JSON before signing, so a roster change signature can never be
/// taken for a signature over anything else (and the reverse).
pub const SIGNING_DOMAIN: &[u8] = b"tandem roster change v1\n";

/// One roster change, as the authority signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterChange {
    /// Always [`DOCUMENT_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Always [`FORMAT_VERSION`] for now; other versions are refused.
    pub version: u32,
    /// The authority's public key, `ed25519:<base64>`.
    pub authority: String,
    /// 1, 2, 3… per authority, gap-free.
    pub seq: u64,
    /// When the authority issued it (RFC 3339).
    pub issued: String,
    pub action: Action,
}

/// What a change does to the roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    /// A new member (or one that left, coming back), active at once.
    Join {
        member: String,
        name: String,
        public_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        joined: Option<String>,
        /// Existing groups the member is added to.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        groups: Vec<String>,
    },
    Suspend {
        member: String,
    },
    Reinstate {
        member: String,
    },
    /// The member leaves: [`MemberStatus::Removed`], and out of every group.
    Leave {
        member: String,
    },
    /// Key rotation of a member's node.
    SetKey {
        member: String,
        public_key: String,
    },
    /// Sets a group's members (creating the group if needed).
    Group {
        group: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        members: Vec<String>,
    },
}

/// A change with the authority's signature over [`signing_message`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedChange {
    pub change: RosterChange,
    /// Standard base64 of the 64-byte Ed25519 signature.
    pub signature: String,
}

/// Why a change is refused. Callers branch on [`ChangeError::Stale`] (already applied).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("this node has no roster authority configured ([coalition] authority): it accepts no roster changes")]
    NoAuthority,
    #[error("not a roster change: {0}")]
    Malformed(String),
    #[error("roster change format version {0} is not supported (this node reads version {FORMAT_VERSION})")]
    UnsupportedVersion(u32),
    #[error("signed for authority {0}, which is not this coalition's roster authority")]
    WrongAuthority(String),
    #[error("the signature does not verify against the roster authority's key")]
    BadSignature,
    #[error("change {seq} is already applied (the latest applied change is {latest})")]
    Stale { seq: u64, latest: u64 },
    #[error("a different change {0} is already applied: the authority signed two changes with one number")]
    Conflict(u64),
    #[error("change {seq} is out of order: the next change must be {expected}")]
    Gap { seq: u64, expected: u64 },
    #[error("{0} is not a member")]
    UnknownMember(String),
    #[error("{0} is already a member (with another key)")]
    AlreadyMember(String),
    #[error("{member} is {status:?}, not {expected:?}")]
    WrongStatus { member: String, status: MemberStatus, expected: MemberStatus },
    #[error("{0} is not a group")]
    UnknownGroup(String),
    #[error("{0}")]
    Invalid(String),
}

impl SignedChange {
    /// Parses a submitted or replicated document.
    pub fn from_value(v: &Value) -> Result<SignedChange, ChangeError> {
        serde_json::from_value(v.clone()).map_err(|e| ChangeError::Malformed(e.to_string()))
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    pub fn seq(&self) -> u64 {
        self.change.seq
    }
}

/// The bytes the authority signs: [`SIGNING_DOMAIN`] then the change's canonical JSON.
pub fn signing_message(change: &RosterChange) -> Vec<u8> {
    let value = serde_json::to_value(change).unwrap_or(Value::Null);
    let mut msg = SIGNING_DOMAIN.to_vec();
    msg.extend_from_slice(tandem_model::canonical::canonical_json(&value).as_bytes());
    msg
}

/// A change to sign: `issued` now, `authority` from the key.
pub fn new_change(authority: &SigningKey, seq: u64, issued: &str, action: Action) -> RosterChange {
    RosterChange {
        kind: DOCUMENT_TYPE.into(),
        version: FORMAT_VERSION,
        authority: tandem_audit::keys::public_key_string(&authority.verifying_key()),
        seq,
        issued: issued.into(),
        action,
    }
}

/// Signs `change` with the authority's key.
pub fn sign(change: RosterChange, authority: &SigningKey) -> SignedChange {
    let signature = authority.sign(&signing_message(&change));
    SignedChange { change, signature: STANDARD.encode(signature.to_bytes()) }
}

/// Checks the document's form and that `authority` signed it.
pub fn verify(signed: &SignedChange, authority: &VerifyingKey) -> Result<(), ChangeError> {
    let c = &signed.change;
    if c.kind != DOCUMENT_TYPE {
        return Err(ChangeError::Malformed(format!("type is {:?}, not {DOCUMENT_TYPE:?}", c.kind)));
    }
    if c.version != FORMAT_VERSION {
        return Err(ChangeError::UnsupportedVersion(c.version));
    }
    if c.seq == 0 {
        return Err(ChangeError::Malformed("seq starts at 1".into()));
    }
    if tandem_model::Timestamp::parse(&c.issued).is_err() {
        return Err(ChangeError::Malformed(format!("issued {:?} is not an RFC 3339 timestamp", c.issued)));
    }
    match tandem_audit::keys::parse_public_key(&c.authority) {
        Ok(k) if k == *authority => {}
        _ => return Err(ChangeError::WrongAuthority(c.authority.clone())),
    }
    let bytes: [u8; 64] =
        STANDARD.decode(&signed.signature).ok().and_then(|b| b.try_into().ok()).ok_or(ChangeError::BadSignature)?;
    authority.verify(&signing_message(c), &Signature::from_bytes(&bytes)).map_err(|_| ChangeError::BadSignature)
}

/// Whether `seq` is the next change after `latest`.
pub fn check_sequence(seq: u64, latest: u64) -> Result<(), ChangeError> {
    if seq <= latest {
        Err(ChangeError::Stale { seq, latest })
    } else if seq != latest + 1 {
        Err(ChangeError::Gap { seq, expected: latest + 1 })
    } else {
        Ok(())
    }
}

/// The roster after `applied` (changes 1..=n, already verified and in order) on top of the
/// node's configured roster. A stored change that no longer applies (the config changed under
/// it) is skipped and reported, so the rest of the log still takes effect.
pub fn effective(bootstrap: &Roster, applied: &[SignedChange]) -> (Roster, Vec<(u64, ChangeError)>) {
    let mut roster = bootstrap.clone();
    let mut skipped = Vec::new();
    for c in applied {
        if let Err(e) = apply(&mut roster, &c.change.action) {
            skipped.push((c.seq(), e));
        }
    }
    (roster, skipped)
}

/// Everything a node checks before it stores a new change: form, authority, signature, sequence
/// (`latest` is the last applied seq) and that it applies to `current`. Returns the new roster.
pub fn accept(
    authority: Option<&VerifyingKey>,
    latest: u64,
    current: &Roster,
    signed: &SignedChange,
) -> Result<Roster, ChangeError> {
    let authority = authority.ok_or(ChangeError::NoAuthority)?;
    verify(signed, authority)?;
    check_sequence(signed.seq(), latest)?;
    let mut next = current.clone();
    apply(&mut next, &signed.change.action)?;
    Ok(next)
}

fn is_member_code(code: &str) -> bool {
    (code.len() == 3 || code.len() == 4) && code.bytes().all(|c| c.is_ascii_uppercase())
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn check_key(key: &str) -> Result<(), ChangeError> {
    tandem_audit::keys::parse_public_key(key).map(|_| ()).map_err(|e| ChangeError::Invalid(e.to_string()))
}

fn expect_status(roster: &Roster, member: &str, expected: MemberStatus) -> Result<(), ChangeError> {
    let m = roster.member(member).ok_or_else(|| ChangeError::UnknownMember(member.into()))?;
    if m.status != expected {
        return Err(ChangeError::WrongStatus { member: member.into(), status: m.status, expected });
    }
    Ok(())
}

/// Applies one action to `roster`, or leaves it untouched and says why not.
///
/// A `join` of a code already in the roster is accepted only when it confirms what the roster
/// says (the member left, or its entry has no key or the same key): a new member's own node
/// lists itself in its config before the join reaches it, but a join never replaces a member.
pub fn apply(roster: &mut Roster, action: &Action) -> Result<(), ChangeError> {
    match action {
        Action::Join { member, name, public_key, joined, groups } => {
            if !is_member_code(member) {
                return Err(ChangeError::Invalid(format!(
                    "member code {member:?} must be 3 capital letters (ISO alpha-3) or 4 (a body)"
                )));
            }
            check_key(public_key)?;
            if let Some(d) = joined
                && !is_date(d)
            {
                return Err(ChangeError::Invalid(format!("joined {d:?} is not a YYYY-MM-DD date")));
            }
            if let Some(existing) = roster.member(member)
                && existing.status != MemberStatus::Removed
                && existing.public_key.as_deref().is_some_and(|k| k != public_key)
            {
                return Err(ChangeError::AlreadyMember(member.clone()));
            }
            if roster.group(member).is_some() {
                return Err(ChangeError::Invalid(format!("{member} is a group code")));
            }
            let mut updated = Vec::new();
            for g in groups {
                let mut group = roster.group(g).cloned().ok_or_else(|| ChangeError::UnknownGroup(g.clone()))?;
                group.members.insert(member.clone());
                updated.push(group);
            }
            roster.upsert_member(Member {
                code: member.clone(),
                name: name.clone(),
                joined: joined.clone(),
                status: MemberStatus::Active,
                public_key: Some(public_key.clone()),
            });
            for g in updated {
                roster.upsert_group(g);
            }
        }
        Action::Suspend { member } => {
            expect_status(roster, member, MemberStatus::Active)?;
            roster.set_status(member, MemberStatus::Suspended);
        }
        Action::Reinstate { member } => {
            expect_status(roster, member, MemberStatus::Suspended)?;
            roster.set_status(member, MemberStatus::Active);
        }
        Action::Leave { member } => {
            let m = roster.member(member).ok_or_else(|| ChangeError::UnknownMember(member.clone()))?;
            if m.status == MemberStatus::Removed {
                return Err(ChangeError::WrongStatus {
                    member: member.clone(),
                    status: MemberStatus::Removed,
                    expected: MemberStatus::Active,
                });
            }
            let groups: Vec<Group> = roster.groups().filter(|g| g.members.contains(member)).cloned().collect();
            for mut g in groups {
                g.members.remove(member);
                roster.upsert_group(g);
            }
            roster.set_status(member, MemberStatus::Removed);
        }
        Action::SetKey { member, public_key } => {
            check_key(public_key)?;
            let mut m = roster.member(member).cloned().ok_or_else(|| ChangeError::UnknownMember(member.clone()))?;
            if m.status == MemberStatus::Removed {
                return Err(ChangeError::WrongStatus {
                    member: member.clone(),
                    status: MemberStatus::Removed,
                    expected: MemberStatus::Active,
                });
            }
            m.public_key = Some(public_key.clone());
            roster.upsert_member(m);
        }
        Action::Group { group, name, members } => {
            if group.len() != 4 || !group.bytes().all(|c| c.is_ascii_uppercase()) {
                return Err(ChangeError::Invalid(format!("group code {group:?} must be 4 capital letters")));
            }
            if roster.member(group).is_some() {
                return Err(ChangeError::Invalid(format!("{group} is a member code")));
            }
            if let Some(unknown) = members.iter().find(|m| roster.member(m).is_none()) {
                return Err(ChangeError::UnknownMember(unknown.clone()));
            }
            let name = name.clone().or_else(|| roster.group(group).map(|g| g.name.clone())).unwrap_or(group.clone());
            roster.upsert_group(Group { code: group.clone(), name, members: members.iter().cloned().collect() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
