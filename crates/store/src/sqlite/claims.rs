//! Several members' claims on one id, and which one a reader receives.
//!
//! Every member's versions (and tombstones) of an id live in that member's own namespace, so a
//! write never blocks, replaces or probes another member's. When more than one member claims an
//! id (the `contested` table lists such ids), a reader is served at most one claim, chosen only
//! from the claims it may see (so the choice reveals nothing hidden):
//! 1. its own member's claim, if it has one (a deleted one included: a deletion keeps its
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

use rusqlite::{Connection, params};
use tandem_model::Timestamp;
use tandem_model::object::{Family, family_of};

use super::SqliteStore;
use super::labels::Released;
use crate::{Contest, Result};

/// One member's claim on the id, as far as the reader may see it.
#[derive(Default)]
struct Claim {
    /// (version key, content hash); a tombstone has no hash.
    versions: BTreeSet<(String, Option<Vec<u8>>)>,
    signed: bool,
}

/// Which member's claim on `id` the reader of member `reader` receives; `None` when it receives
/// none (a conflict, or nothing visible).
pub(super) fn settle(
    conn: &Connection,
    coll: i64,
    id: &str,
    object_type: &str,
    reader: &str,
    released: &Released,
) -> Result<Option<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT originator, version, content_hash, label, provenance IS NOT NULL FROM objects
         WHERE collection = ?1 AND stix_id = ?2
         UNION ALL
         SELECT originator, version, NULL, label, proof IS NOT NULL FROM tombstones
         WHERE collection = ?1 AND stix_id = ?2",
    )?;
    let rows = stmt.query_map(params![coll, id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<Vec<u8>>>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    let mut claims: BTreeMap<String, Claim> = BTreeMap::new();
    for row in rows {
        let (originator, version, hash, label, signed) = row?;
        // A claim counts only where the reader may see it.
        if !label.is_some_and(|l| released.decisions.contains_key(&l)) {
            continue;
        }
        let claim = claims.entry(originator).or_default();
        claim.versions.insert((version, hash));
        claim.signed |= signed;
    }
    Ok(choose(claims, reader, family_of(object_type) == Family::Sco))
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

impl SqliteStore {
    pub(super) fn contested_impl(&self) -> Result<Vec<Contest>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare(
                "SELECT col.uuid, c.stix_id, c.first_seen,
                        (SELECT group_concat(originator, ',') FROM
                            (SELECT originator FROM objects o WHERE o.collection = c.collection AND o.stix_id = c.stix_id
                             UNION SELECT originator FROM tombstones t WHERE t.collection = c.collection AND t.stix_id = c.stix_id))
                 FROM contested c JOIN collections col ON col.id = c.collection
                 WHERE c.conflicting = 1
                 ORDER BY c.first_seen",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (collection, id, first_seen, claimants) = row?;
                let mut claimants: Vec<String> =
                    claimants.unwrap_or_default().split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
                claimants.sort();
                claimants.dedup();
                out.push(Contest { collection, id, claimants, first_seen: Timestamp::from_micros(first_seen) });
            }
            Ok(out)
        })
    }
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
