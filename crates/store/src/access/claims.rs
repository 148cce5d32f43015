//! Several members' claims on one id, and which one a reader receives (the settlement rule,
//! the same for every backend; the backend only gathers the claims).
//!
//! Every member's versions (and tombstones) of an id live in that member's own namespace, so a
//! write never blocks, replaces or probes another member's. When more than one member claims an
//! id (a backend records such ids), a reader is served at most one claim, chosen only
//! from the claims it may see (so the choice reveals nothing hidden):
//! 1. its own member's claim, if it has one it may see (a deleted one included: a deletion keeps its
//!    owner, so nobody takes the id over from its deleter's users);
//! 2. else the only claim it may see;
//! 3. else, signed claims (replicated versions verified against their originator's key, or
//!    signed deletions) outrank claims that a visiting user posted unsigned on this node, which
//!    is how a member pre-empts another's id without owning a node on the path;
//! 4. if several remain, the lowest member code's, but only when they are the same content
//!    (identical versions) or the id is a cyber-observable's (its id is derived from its value,
//!    so every member reporting it reports the same thing);
//! 5. otherwise none: a conflict between members, withheld from third parties, listed by
//!    `tandem doctor` and audited where it arose.

use std::collections::{BTreeMap, BTreeSet};

use tandem_model::object::{Family, family_of};

use super::Released;

/// One member's claim on the id, as far as the reader may see it.
#[derive(Default)]
struct Claim {
    /// (version key, content hash); a tombstone has no hash.
    versions: BTreeSet<(String, Option<Vec<u8>>)>,
    signed: bool,
}

/// Every member's claim on one id, gathered from a backend's versions and tombstones of it.
#[derive(Default)]
pub struct Claims {
    claims: BTreeMap<String, Claim>,
}

impl Claims {
    /// Adds one stored version (with its content hash) or tombstone (no hash) of the id, stored
    /// under `label` (a tombstone may have none) and `signed` when it carries its originator's
    /// proof. It counts only if the reader may see it.
    pub fn add(
        &mut self,
        released: &Released,
        originator: String,
        version: String,
        hash: Option<Vec<u8>>,
        label: Option<i64>,
        signed: bool,
    ) {
        if !label.is_some_and(|l| released.allows(l)) {
            return;
        }
        let claim = self.claims.entry(originator).or_default();
        claim.versions.insert((version, hash));
        claim.signed |= signed;
    }

    /// Which member's claim the reader of member `reader` receives; `None` when it receives none
    /// (a conflict, or nothing visible). `object_type` is the id's type.
    pub fn settle(self, reader: &str, object_type: &str) -> Option<String> {
        choose(self.claims, reader, family_of(object_type) == Family::Sco)
    }
}

/// The rule of the module doc over the claims the reader may see.
fn choose(mut claims: BTreeMap<String, Claim>, reader: &str, observable: bool) -> Option<String> {
    if claims.contains_key(reader) {
        return Some(reader.to_string());
    }
    if claims.values().any(|c| c.signed) {
        claims.retain(|_, c| c.signed);
    }
    let mut members = claims.iter();
    let (first, first_claim) = members.next()?;
    if observable || members.all(|(_, c)| c.versions == first_claim.versions) {
        return Some(first.clone());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(versions: &[(&str, Option<u8>)], signed: bool) -> Claim {
        Claim { versions: versions.iter().map(|(v, h)| (v.to_string(), h.map(|h| vec![h]))).collect(), signed }
    }

    fn check(claims: Vec<(&str, Claim)>, reader: &str, observable: bool, expected: Option<&str>) {
        let claims = claims.into_iter().map(|(m, c)| (m.to_string(), c)).collect();
        assert_eq!(choose(claims, reader, observable).as_deref(), expected);
    }

    #[test]
    fn the_reader_is_served_one_claim_or_none() {
        let v1 = [("v1", Some(1))];
        // Its own member's claim first, whatever else it may see.
        check(vec![("IRQ", claim(&v1, true)), ("USA", claim(&[("v1", Some(2))], false))], "USA", false, Some("USA"));
        // A deletion keeps its owner: the deleter's users are not served another's successor.
        check(
            vec![("JOR", claim(&[("v2", Some(3))], true)), ("USA", claim(&[("v1", None)], false))],
            "USA",
            false,
            Some("USA"),
        );
        // The only claim it may see.
        check(vec![("IRQ", claim(&v1, true))], "USA", false, Some("IRQ"));
        // Signed beats posted unsigned by a visiting user.
        check(vec![("IRQ", claim(&v1, true)), ("JOR", claim(&[("v1", Some(9))], false))], "USA", false, Some("IRQ"));
        // Two signed claims with different content: a conflict, withheld.
        check(vec![("IRQ", claim(&v1, true)), ("JOR", claim(&[("v1", Some(9))], true))], "USA", false, None);
        // A later version by another member is a different claim, not a successor.
        check(
            vec![("IRQ", claim(&v1, true)), ("JOR", claim(&[("v1", Some(1)), ("v2", Some(5))], true))],
            "USA",
            false,
            None,
        );
        // The same content from two members: served once, the lowest code's.
        check(vec![("JOR", claim(&v1, true)), ("IRQ", claim(&v1, true))], "USA", false, Some("IRQ"));
        // A cyber-observable reported by two members with their own markings.
        check(
            vec![("JOR", claim(&[("", Some(1))], true)), ("IRQ", claim(&[("", Some(2))], true))],
            "USA",
            true,
            Some("IRQ"),
        );
        check(vec![], "USA", false, None);
    }
}
