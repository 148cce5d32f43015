//! The storage conformance suite: the same tests run against every backend.
//!
//! A backend's test module calls [`store_conformance_suite!`] with an expression that builds a
//! fresh, empty store and one that opens two handles on one fresh data directory (as the node
//! and `tandem import` beside it); each function here becomes one `#[test]`.

use std::sync::Arc;

use serde_json::{Value, json};
use tandem_model::{StixObject, Timestamp, tlp};
use tandem_policy::{Classification, Group, Member, MemberStatus, Roster, Viewer};

use crate::{
    AggregateQuery, Counts, DeleteOutcome, GroupKey, Incoming, KeyPart, ObjectQuery, PropertyPath, PutOutcome, Store,
    VersionFilter, ViewContext,
};

pub const COLL: &str = "9a6d6f62-4b9e-4a8e-8a0a-1c3c4f6e2b10";
const REL_IRQ: &str = "marking-definition--0b7c1f65-4a3c-4e58-9d3d-111111111111";
const REL_LVNT: &str = "marking-definition--0b7c1f65-4a3c-4e58-9d3d-222222222222";
const REL_SECRET: &str = "marking-definition--0b7c1f65-4a3c-4e58-9d3d-333333333333";

pub fn roster() -> Roster {
    Roster::new(["USA", "IRQ", "SYR", "JOR"].map(Member::active), [Group::new("LVNT", "Levant", &["IRQ", "JOR"])])
}

pub fn ctx_with(member: &str, roster: &Roster) -> ViewContext {
    ViewContext {
        viewer: Viewer { member: member.into(), clearance: Classification::Secret },
        roster: Arc::new(roster.clone()),
    }
}

pub fn ctx(member: &str) -> ViewContext {
    ctx_with(member, &roster())
}

/// `v` (a JSON object) as an incoming version without provenance.
pub fn incoming(v: Value) -> Incoming {
    Incoming { provenance: None, object: StixObject::from_map_unchecked(v.as_object().cloned().unwrap_or_default()) }
}

pub fn indicator(n: u32, modified: &str, markings: &[&str]) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
        "created": "2025-01-01T00:00:00.000Z", "modified": modified,
        "name": format!("indicator {n}"), "pattern": "[ipv4-addr:value = '10.0.0.1']",
        "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z",
        "object_marking_refs": markings, "x_unknown_property": {"kept": [1, 2.5, "three"]}
    })
}

fn rel(id: &str, rel_to: &[&str], classification: Option<&str>) -> Value {
    let mut ext = json!({"extension_type": "property-extension", "rel_to": rel_to});
    if let Some(c) = classification {
        ext["classification"] = json!(c);
    }
    json!({"type": "marking-definition", "spec_version": "2.1", "id": id, "created": "2025-11-13T00:00:00.000Z",
           "name": format!("REL TO {}", rel_to.join(", ")),
           "extensions": {tandem_policy::marking::RELEASABILITY_EXTENSION_ID: ext}})
}

fn put(store: &dyn Store, originator: &str, objects: Vec<Value>) -> Vec<PutOutcome> {
    store.put(COLL, originator, objects.into_iter().map(incoming).collect()).expect("put")
}

fn all(store: &dyn Store, ctx: &ViewContext, q: ObjectQuery) -> Vec<crate::Record> {
    let mut q = ObjectQuery { limit: if q.limit == 0 { 1000 } else { q.limit }, ..q };
    let mut out = Vec::new();
    loop {
        let page = store.list(ctx, COLL, &q).expect("list");
        out.extend(page.items);
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

fn ids(records: &[crate::Record]) -> Vec<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

pub fn round_trip_keeps_every_property(store: &dyn Store) {
    let o = indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]);
    assert!(matches!(put(store, "USA", vec![o.clone()])[0], PutOutcome::Added { .. }));
    let got = all(store, &ctx("USA"), ObjectQuery::default());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].object, o);
    assert_eq!(got[0].originator, "USA");
}

pub fn date_added_increases_and_paging_is_exact(store: &dyn Store) {
    let objects: Vec<Value> = (0..250).map(|n| indicator(n, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN])).collect();
    for chunk in objects.chunks(60) {
        put(store, "USA", chunk.to_vec());
    }
    let got = all(store, &ctx("IRQ"), ObjectQuery { limit: 7, ..Default::default() });
    assert_eq!(got.len(), 250);
    assert!(got.windows(2).all(|w| w[0].date_added < w[1].date_added));
    let mut seen = ids(&got);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 250);
    let mid = got[100].date_added;
    let after = all(store, &ctx("IRQ"), ObjectQuery { added_after: Some(mid), ..Default::default() });
    assert_eq!(after.len(), 149);
}

pub fn feed_position_follows_versions_and_deletions(store: &dyn Store) {
    assert_eq!(store.feed_position().unwrap(), None);
    put(store, "USA", vec![indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN])]);
    let first = store.feed_position().unwrap().expect("a position after a write");
    let got = all(store, &ctx("USA"), ObjectQuery::default());
    assert_eq!(got.last().map(|r| r.date_added), Some(first));
    put(store, "USA", vec![indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN])]);
    assert_eq!(store.feed_position().unwrap(), Some(first), "a duplicate hands out no position");
    let id1 = "indicator--00000000-0000-4000-8000-000000000001";
    assert_eq!(store.delete(&ctx("USA"), COLL, id1, &VersionFilter::All).unwrap(), DeleteOutcome::Deleted(1));
    assert!(store.feed_position().unwrap().is_some_and(|p| p > first), "a deletion moves it on");
}

pub fn provenance_is_replaced_only_for_the_originator(store: &dyn Store) {
    put(store, "USA", vec![indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN])]);
    put(store, "IRQ", vec![indicator(2, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN])]);
    let q = ObjectQuery { with_provenance: true, ..Default::default() };
    let got = all(store, &ctx("USA"), q.clone());
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r.provenance.is_none()));
    let proofs: Vec<(tandem_model::Timestamp, String, Value)> =
        got.iter().map(|r| (r.date_added, r.id.clone(), json!({"signed": r.id}))).collect();
    // Only USA's version is USA's to sign; a wrong id or position changes nothing.
    assert_eq!(store.set_provenance(COLL, "USA", proofs.clone()).unwrap(), 1);
    let wrong = vec![(got[1].date_added, got[0].id.clone(), json!({"signed": "x"}))];
    assert_eq!(store.set_provenance(COLL, "USA", wrong).unwrap(), 0);
    assert_eq!(store.set_provenance("no-such-collection", "USA", proofs).unwrap(), 0);
    let after = all(store, &ctx("USA"), q);
    let usa = after.iter().find(|r| r.originator == "USA").unwrap();
    let irq = after.iter().find(|r| r.originator == "IRQ").unwrap();
    assert_eq!(usa.provenance, Some(json!({"signed": usa.id})));
    assert_eq!(irq.provenance, None);
}

pub fn holds_versions_counts_stored_and_deleted_versions(store: &dyn Store) {
    put(
        store,
        "USA",
        vec![
            indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_RED]),
            indicator(2, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]),
        ],
    );
    let id = |n: u32| format!("indicator--00000000-0000-4000-8000-00000000000{n}");
    assert_eq!(store.delete(&ctx("USA"), COLL, &id(2), &VersionFilter::All).unwrap(), DeleteOutcome::Deleted(1));
    let at = |t: &str| Timestamp::parse(t).unwrap();
    let usa = |id: String, t: &str| (id, at(t), "USA".to_string());
    let asked = vec![
        usa(id(1), "2025-01-01T00:00:00Z"),
        usa(id(1), "2025-01-02T00:00:00.000Z"),
        usa(id(2), "2025-01-01T00:00:00.000Z"),
        usa(id(3), "2025-01-01T00:00:00.000Z"),
    ];
    // Held whatever its releasability (TLP:RED); a deleted version counts as held.
    assert_eq!(store.holds_versions(COLL, &asked).unwrap(), vec![true, false, true, false]);
    // Another member's claim under the same id and version is not held.
    let other = vec![(id(1), at("2025-01-01T00:00:00Z"), "JOR".to_string())];
    assert_eq!(store.holds_versions(COLL, &other).unwrap(), vec![false]);
    assert_eq!(store.holds_versions("no-such-collection", &asked).unwrap(), vec![false; 4]);
    assert_eq!(store.holds_versions(COLL, &[]).unwrap(), Vec::<bool>::new());
}

pub fn a_marking_referenced_before_it_arrived_is_found(store: &dyn Store) {
    let m = "marking-definition--3a4f1f7e-6d0c-4a59-9c51-1b2f0d3e4c5a";
    let early = put(store, "USA", vec![indicator(1, "2025-01-01T00:00:00.000Z", &[m])]);
    let PutOutcome::Added { date_added: early_at, .. } = early[0] else { panic!("{early:?}") };
    let def = put(store, "USA", vec![rel(m, &["IRQ"], None)]);
    let PutOutcome::Added { date_added: def_at, .. } = def[0] else { panic!("{def:?}") };
    assert!(store.referenced_before("USA", m, def_at).unwrap(), "stored before its definition");
    assert!(!store.referenced_before("USA", m, early_at).unwrap(), "nothing before the first reference");
    assert!(
        !store.referenced_before("USA", "marking-definition--00000000-0000-4000-8000-000000000000", def_at).unwrap()
    );
    // Only the owner's versions count: another member's definition of m releases nothing of USA's.
    assert!(!store.referenced_before("IRQ", m, def_at).unwrap());
}

pub fn duplicates_are_no_ops_and_conflicts_are_rejected(store: &dyn Store) {
    let o = indicator(1, "2025-01-01T00:00:00.000Z", &[]);
    put(store, "USA", vec![o.clone()]);
    assert!(matches!(put(store, "USA", vec![o.clone()])[0], PutOutcome::Duplicate { .. }));
    let mut changed = o.clone();
    changed["name"] = json!("changed");
    // Same instant spelled differently is the same version.
    changed["modified"] = json!("2025-01-01T00:00:00.000000Z");
    assert!(matches!(put(store, "USA", vec![changed])[0], PutOutcome::Rejected { .. }));
    assert_eq!(all(store, &ctx("USA"), ObjectQuery::default()).len(), 1);
}

/// The same JSON value printed by two clients (`36.0` and `36`, RFC 8785 numbers) is the same
/// content: a duplicate, not a conflict; a different number is still a conflict.
pub fn numbers_printed_differently_are_the_same_content(store: &dyn Store) {
    let text = r#"{"type": "location", "spec_version": "2.1",
        "id": "location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",
        "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z",
        "latitude": 36.0, "longitude": 43.125, "precision": 1000.0}"#;
    let parse = |t: &str| serde_json::from_str::<Value>(t).expect("object");
    assert!(matches!(put(store, "USA", vec![parse(text)])[0], PutOutcome::Added { .. }));
    for same in [text.replace("36.0", "36"), text.replace("36.0", "3.6e1").replace("1000.0", "1e3")] {
        let out = put(store, "USA", vec![parse(&same)]);
        assert!(matches!(out[0], PutOutcome::Duplicate { .. }), "{same}: {out:?}");
    }
    let other = put(store, "USA", vec![parse(&text.replace("36.0", "36.5"))]);
    assert!(matches!(other[0], PutOutcome::Rejected { .. }), "{other:?}");
    assert_eq!(all(store, &ctx("USA"), ObjectQuery::default()).len(), 1);
}

pub fn version_filters(store: &dyn Store) {
    let v = ["2025-01-01T00:00:00.000Z", "2025-02-01T00:00:00.000Z", "2025-03-01T00:00:00.000Z"];
    // Stored out of order on purpose.
    put(store, "USA", vec![indicator(1, v[1], &[]), indicator(1, v[0], &[]), indicator(1, v[2], &[])]);
    let get = |versions| all(store, &ctx("USA"), ObjectQuery { versions, ..Default::default() });
    let ts = |s: &str| Timestamp::parse(s).unwrap();
    assert_eq!(get(VersionFilter::Last).iter().map(|r| r.version).collect::<Vec<_>>(), vec![ts(v[2])]);
    assert_eq!(get(VersionFilter::First).iter().map(|r| r.version).collect::<Vec<_>>(), vec![ts(v[0])]);
    assert_eq!(get(VersionFilter::All).len(), 3);
    let some = get(VersionFilter::Some { exact: vec![ts("2025-02-01T00:00:00Z")], last: true, first: false });
    assert_eq!(some.len(), 2);
}

/// One batch is decided object by object, each seeing the batch's earlier versions as if they
/// had been stored alone: a repeat is a duplicate, a different content under a stored version a
/// conflict, a version after a revocation refused, an older version not the latest, and a claim
/// on another member's id contested.
pub fn a_batch_sees_its_own_earlier_versions(store: &dyn Store) {
    let (v1, v2, v3) = ("2025-01-01T00:00:00.000Z", "2025-02-01T00:00:00.000Z", "2025-03-01T00:00:00.000Z");
    put(store, "IRQ", vec![indicator(3, v1, &[tlp::TLP2_GREEN])]);
    let mut conflicting = indicator(1, v2, &[tlp::TLP2_GREEN]);
    conflicting["name"] = json!("another content");
    let mut revoked = indicator(2, v2, &[tlp::TLP2_GREEN]);
    revoked["revoked"] = json!(true);
    let out = put(
        store,
        "USA",
        vec![
            indicator(1, v2, &[tlp::TLP2_GREEN]),
            indicator(1, v2, &[tlp::TLP2_GREEN]),
            conflicting,
            indicator(1, v3, &[tlp::TLP2_GREEN]),
            indicator(1, v1, &[tlp::TLP2_GREEN]),
            revoked,
            indicator(2, v3, &[tlp::TLP2_GREEN]),
            indicator(3, v2, &[tlp::TLP2_GREEN]),
            indicator(3, v3, &[tlp::TLP2_GREEN]),
        ],
    );
    let kinds: Vec<&str> = out
        .iter()
        .map(|o| match o {
            PutOutcome::Added { contested: true, .. } => "contested",
            PutOutcome::Added { .. } => "added",
            PutOutcome::Duplicate { .. } => "duplicate",
            PutOutcome::Rejected { .. } => "rejected",
        })
        .collect();
    assert_eq!(
        kinds,
        ["added", "duplicate", "rejected", "added", "added", "added", "rejected", "contested", "added"],
        "{out:?}"
    );
    let added: Vec<Timestamp> = out
        .iter()
        .filter_map(|o| match o {
            PutOutcome::Added { date_added, .. } => Some(*date_added),
            _ => None,
        })
        .collect();
    assert!(added.windows(2).all(|w| w[0] < w[1]), "positions increase through the batch: {added:?}");
    let latest: Vec<(String, String)> = all(store, &ctx("USA"), ObjectQuery::default())
        .into_iter()
        .map(|r| (r.id, r.object["modified"].as_str().unwrap_or_default().to_string()))
        .collect();
    let id = |n: u32| format!("indicator--00000000-0000-4000-8000-{n:012}");
    assert_eq!(latest, vec![(id(1), v3.to_string()), (id(2), v2.to_string()), (id(3), v3.to_string())]);
    let every = all(store, &ctx("USA"), ObjectQuery { versions: VersionFilter::All, ..Default::default() });
    assert_eq!(every.iter().filter(|r| r.originator == "USA").count(), 6, "{every:?}");
    let contests = store.contested().unwrap();
    assert_eq!(contests.len(), 1);
    assert_eq!(contests[0].claimants, vec!["IRQ".to_string(), "USA".to_string()]);
}

pub fn only_the_originator_versions_and_revocation_is_final(store: &dyn Store) {
    put(store, "USA", vec![indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN])]);
    // Another member's version under USA's id goes into its own namespace: it is no successor of
    // USA's object for anyone, and USA's readers keep USA's.
    let other = put(store, "IRQ", vec![indicator(1, "2025-02-01T00:00:00.000Z", &[tlp::TLP2_GREEN])]);
    assert!(matches!(other[0], PutOutcome::Added { contested: true, .. }), "{other:?}");
    let latest = |member: &str| -> Vec<(String, String)> {
        all(store, &ctx(member), ObjectQuery::default())
            .into_iter()
            .map(|r| (r.originator, r.object["modified"].as_str().unwrap_or_default().to_string()))
            .collect()
    };
    assert_eq!(latest("USA"), vec![("USA".to_string(), "2025-01-01T00:00:00.000Z".to_string())]);
    assert_eq!(latest("IRQ"), vec![("IRQ".to_string(), "2025-02-01T00:00:00.000Z".to_string())]);
    // A third member that may see both claims, which differ, is served neither.
    assert!(latest("SYR").is_empty());
    let contests = store.contested().unwrap();
    assert_eq!(contests.len(), 1);
    assert_eq!(contests[0].claimants, vec!["IRQ".to_string(), "USA".to_string()]);
    let mut revoked = indicator(1, "2025-03-01T00:00:00.000Z", &[tlp::TLP2_GREEN]);
    revoked["revoked"] = json!(true);
    assert!(matches!(put(store, "USA", vec![revoked])[0], PutOutcome::Added { contested: false, .. }));
    assert!(matches!(
        put(store, "USA", vec![indicator(1, "2025-04-01T00:00:00.000Z", &[])])[0],
        PutOutcome::Rejected { .. }
    ));
    // Revocation is final in USA's namespace only.
    assert!(matches!(
        put(store, "IRQ", vec![indicator(1, "2025-04-01T00:00:00.000Z", &[])])[0],
        PutOutcome::Added { .. }
    ));
}

pub fn releasability_by_tlp_and_rel_to(store: &dyn Store) {
    put(
        store,
        "USA",
        vec![rel(REL_IRQ, &["IRQ"], None), rel(REL_LVNT, &["LVNT"], None), rel(REL_SECRET, &["IRQ"], Some("SECRET"))],
    );
    put(
        store,
        "USA",
        vec![
            indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]),
            indicator(2, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_AMBER]),
            indicator(3, "2025-01-01T00:00:00.000Z", &[]),
            indicator(4, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_AMBER, REL_IRQ]),
            indicator(5, "2025-01-01T00:00:00.000Z", &[REL_LVNT]),
            indicator(6, "2025-01-01T00:00:00.000Z", &[REL_LVNT, REL_IRQ]),
            indicator(
                7,
                "2025-01-01T00:00:00.000Z",
                &[tlp::TLP2_CLEAR, "marking-definition--00000000-0000-4000-8000-999999999999"],
            ),
            indicator(8, "2025-01-01T00:00:00.000Z", &[REL_SECRET]),
        ],
    );
    let visible = |member: &str| {
        all(store, &ctx(member), ObjectQuery { types: vec!["indicator".into()], ..Default::default() })
            .iter()
            .map(|r| r.id.chars().last().unwrap_or('?'))
            .collect::<String>()
    };
    assert_eq!(visible("USA"), "12345678");
    assert_eq!(visible("IRQ"), "14568");
    assert_eq!(visible("JOR"), "15");
    assert_eq!(visible("SYR"), "1");
    // Marking-definitions are visible to every member.
    let markings =
        all(store, &ctx("SYR"), ObjectQuery { types: vec!["marking-definition".into()], ..Default::default() });
    assert_eq!(markings.len(), 3);
    // Clearance must dominate classification.
    let mut low = ctx("IRQ");
    low.viewer.clearance = Classification::Confidential;
    let seen = all(store, &low, ObjectQuery { types: vec!["indicator".into()], ..Default::default() });
    assert_eq!(seen.len(), 4);
    // Roster changes apply at once: SYR joins the Levant group, JOR is suspended.
    let mut r = roster();
    r.upsert_group(Group {
        code: "LVNT".into(),
        name: "Levant".into(),
        members: ["IRQ", "JOR", "SYR"].map(String::from).into(),
    });
    r.set_status("JOR", MemberStatus::Suspended);
    assert_eq!(
        all(store, &ctx_with("SYR", &r), ObjectQuery { types: vec!["indicator".into()], ..Default::default() }).len(),
        2
    );
    assert!(all(store, &ctx_with("JOR", &r), ObjectQuery::default()).is_empty());
    // Unresolvable markings are reported.
    let unresolved = store.unresolved_markings().expect("doctor");
    assert_eq!(unresolved, vec![("marking-definition--00000000-0000-4000-8000-999999999999".to_string(), 1)]);
}

pub fn granular_markings_redact(store: &dyn Store) {
    put(store, "USA", vec![rel(REL_IRQ, &["IRQ"], None)]);
    let mut o = indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]);
    o["description"] = json!("source: agent X");
    o["granular_markings"] = json!([{"selectors": ["description"], "marking_ref": REL_IRQ}]);
    put(store, "USA", vec![o.clone()]);
    let irq = all(store, &ctx("IRQ"), ObjectQuery { types: vec!["indicator".into()], ..Default::default() });
    assert_eq!(irq[0].object, o);
    let syr = all(store, &ctx("SYR"), ObjectQuery { types: vec!["indicator".into()], ..Default::default() });
    assert!(syr[0].redacted);
    assert!(syr[0].object.get("description").is_none());
    assert!(syr[0].object.get("granular_markings").is_none());
    assert_eq!(syr[0].object["name"], o["name"]);
}

/// A listing that asks for whole copies as stored text ([`ObjectQuery::whole_as_stored`], what
/// TAXII pages use) releases exactly the same copies, in the same order, as one that parses them:
/// text only for copies released whole, values for redacted ones and for every text search.
pub fn whole_copies_as_stored_text_are_the_same_copies(store: &dyn Store) {
    put(store, "USA", vec![rel(REL_IRQ, &["IRQ"], None)]);
    let mut redacted = indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]);
    redacted["description"] = json!("source: agent X");
    redacted["granular_markings"] = json!([{"selectors": ["description"], "marking_ref": REL_IRQ}]);
    let whole = indicator(2, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]);
    let amber = indicator(3, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_AMBER]);
    put(store, "USA", vec![redacted, whole, amber]);
    for member in ["USA", "IRQ", "SYR", "JOR"] {
        for query in [
            ObjectQuery { types: vec!["indicator".into()], limit: 2, ..Default::default() },
            ObjectQuery { limit: 1, versions: VersionFilter::All, ..Default::default() },
        ] {
            let parsed = all(store, &ctx(member), query.clone());
            let as_text = all(store, &ctx(member), ObjectQuery { whole_as_stored: true, ..query });
            assert_eq!(ids(&as_text), ids(&parsed), "{member}");
            for (t, p) in as_text.iter().zip(&parsed) {
                assert_eq!((t.date_added, t.redacted, &t.originator), (p.date_added, p.redacted, &p.originator));
                match &t.stored_text {
                    Some(text) => {
                        assert!(!t.redacted && t.object.is_null(), "{member}: text only for a whole copy");
                        assert_eq!(&serde_json::from_str::<Value>(text).expect("JSON"), &p.object, "{member}");
                    }
                    None => {
                        assert!(t.redacted, "{member}: a whole copy {} asked as text came as a value", t.id);
                        assert_eq!(t.object, p.object);
                    }
                }
            }
        }
    }
    put(store, "USA", vec![text_object("incident", 9, "2025-01-01T00:00:00.000Z", "Raqqa attack", "a car bomb")]);
    let searched = all(
        store,
        &ctx("IRQ"),
        ObjectQuery {
            whole_as_stored: true,
            text: Some(crate::text::TextQuery::parse("raqqa").expect("query")),
            ..Default::default()
        },
    );
    assert_eq!(searched.len(), 1);
    assert!(
        searched[0].stored_text.is_none() && searched[0].object["name"] == "Raqqa attack",
        "a search reads the copy"
    );
}

pub fn delete_leaves_sticky_tombstones(store: &dyn Store) {
    put(
        store,
        "USA",
        vec![
            indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]),
            indicator(2, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_AMBER]),
        ],
    );
    let id1 = "indicator--00000000-0000-4000-8000-000000000001";
    let id2 = "indicator--00000000-0000-4000-8000-000000000002";
    assert_eq!(store.delete(&ctx("IRQ"), COLL, id1, &VersionFilter::All).unwrap(), DeleteOutcome::Forbidden);
    assert_eq!(store.delete(&ctx("IRQ"), COLL, id2, &VersionFilter::All).unwrap(), DeleteOutcome::NotFound);
    assert_eq!(store.delete(&ctx("USA"), COLL, id1, &VersionFilter::All).unwrap(), DeleteOutcome::Deleted(1));
    assert_eq!(ids(&all(store, &ctx("USA"), ObjectQuery::default())), vec![id2.to_string()]);
    assert!(matches!(
        put(store, "USA", vec![indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN])])[0],
        PutOutcome::Rejected { .. }
    ));
}

/// An incident or report (`n` names its id) with a name and a description, marked TLP:GREEN.
fn text_object(ty: &str, n: u32, modified: &str, name: &str, description: &str) -> Value {
    json!({
        "type": ty, "spec_version": "2.1", "id": format!("{ty}--00000000-0000-4000-8000-{n:012}"),
        "created": "2025-01-01T00:00:00.000Z", "modified": modified, "name": name, "description": description,
        "object_marking_refs": [tlp::TLP2_GREEN]
    })
}

fn search(store: &dyn Store, ctx: &ViewContext, text: &str, limit: usize, versions: VersionFilter) -> Vec<String> {
    let q = ObjectQuery {
        text: Some(crate::TextQuery::parse(text).expect("query")),
        limit,
        versions,
        ..Default::default()
    };
    all(store, ctx, q).iter().map(|r| format!("{}@{}", r.id, r.object["modified"].as_str().unwrap_or(""))).collect()
}

fn found(store: &dyn Store, text: &str) -> Vec<String> {
    let mut got = search(store, &ctx("USA"), text, 1000, VersionFilter::Last);
    for r in got.iter_mut() {
        // Just the id's number: `incident--...-000000000003@...` -> `incident 3`.
        let (ty, rest) = r.split_once("--").unwrap_or_default();
        let n: u32 =
            rest.split('@').next().and_then(|i| i.rsplit('-').next()).and_then(|d| d.parse().ok()).unwrap_or(0);
        *r = format!("{ty} {n}");
    }
    got
}

pub fn text_search_matches_words_phrases_and_spellings(store: &dyn Store) {
    let m = "2025-01-01T00:00:00.000Z";
    put(
        store,
        "USA",
        vec![
            text_object("incident", 1, m, "Shelling in ar-Raqqah", "Two killed near the clock tower"),
            text_object("incident", 2, m, "قصف في الرقة", "قتيلان قرب برج الساعة"),
            text_object("report", 3, m, "Weekly report", "Clashes in Raqqa and Deir ez-Zor"),
            text_object("incident", 4, m, "Arrests in Mosul", "الرقه: no link"),
            text_object("incident", 5, m, "Ambush near Dayr az Zawr", "Raqqa road"),
            // Not a searched type: never found, whatever it says.
            json!({"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-000000000009",
                   "created": m, "modified": m, "name": "Raqqa", "pattern": "[ipv4-addr:value = '10.0.0.1']",
                   "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z", "object_marking_refs": [tlp::TLP2_GREEN]}),
        ],
    );
    // Latin transliterations fold together, Arabic letter variants fold together.
    assert_eq!(found(store, "Raqqa"), ["incident 1", "report 3", "incident 5"]);
    assert_eq!(found(store, "raqqah"), found(store, "ar-Raqqa"));
    assert_eq!(found(store, "الرقة"), ["incident 2", "incident 4"]);
    assert_eq!(found(store, "الرقه"), ["incident 2", "incident 4"]);
    // Words are ANDed; a phrase needs its words in order; a prefix; a case that matches nothing.
    assert_eq!(found(store, "raqqa road"), ["incident 5"]);
    assert_eq!(found(store, "\"Deir ez-Zor\""), ["report 3", "incident 5"]);
    assert_eq!(found(store, "\"Dayr az Zawr\""), ["report 3", "incident 5"]);
    assert_eq!(found(store, "\"zor deir\""), Vec::<String>::new());
    assert_eq!(found(store, "clash*"), ["report 3"]);
    assert_eq!(found(store, "mosul killed"), Vec::<String>::new());
    // FTS syntax in the user's text is only text: no error, no operator.
    assert_eq!(found(store, "Raqqa OR Mosul"), Vec::<String>::new());
    assert_eq!(found(store, "(Raqqa) -road: ^"), ["incident 5"]);
}

pub fn text_search_pages_and_follows_versions_and_deletions(store: &dyn Store) {
    let (v1, v2) = ("2025-01-01T00:00:00.000Z", "2025-02-01T00:00:00.000Z");
    let batch: Vec<Value> =
        (1..=9).map(|n| text_object("incident", n, v1, &format!("Raid {n} in Hasakah"), "no casualties")).collect();
    put(store, "USA", batch);
    put(store, "USA", vec![text_object("incident", 20, v1, "Nothing to see", "quiet day")]);
    // Paging one at a time finds each once, in feed order.
    let paged = search(store, &ctx("IRQ"), "al-Hasakah", 2, VersionFilter::Last);
    let whole = search(store, &ctx("IRQ"), "hasaka", 1000, VersionFilter::Last);
    assert_eq!(paged.len(), 9);
    assert_eq!(paged, whole);
    // A later version that no longer says it: the latest version is what is searched.
    put(store, "USA", vec![text_object("incident", 1, v2, "Raid 1 near Qamishli", "no casualties")]);
    assert_eq!(found(store, "hasakah").len(), 8);
    assert_eq!(found(store, "qamishli"), ["incident 1"]);
    let id1 = "incident--00000000-0000-4000-8000-000000000001";
    assert_eq!(
        search(store, &ctx("USA"), "hasakah", 1000, VersionFilter::All).iter().filter(|r| r.starts_with(id1)).count(),
        1,
        "every version is searched when asked"
    );
    // Deleting the later version: the earlier one is the latest again, and found again.
    let later = VersionFilter::Some { exact: vec![Timestamp::parse(v2).unwrap()], last: false, first: false };
    assert_eq!(store.delete(&ctx("USA"), COLL, id1, &later).unwrap(), DeleteOutcome::Deleted(1));
    assert!(found(store, "qamishli").is_empty(), "a deleted version is not found");
    assert_eq!(found(store, "hasakah").len(), 9);
    // Deleting a whole object: not found by any of its words.
    let id2 = "incident--00000000-0000-4000-8000-000000000002";
    assert_eq!(store.delete(&ctx("USA"), COLL, id2, &VersionFilter::All).unwrap(), DeleteOutcome::Deleted(1));
    assert!(!found(store, "raid").contains(&"incident 2".to_string()));
    assert_eq!(found(store, "raid").len(), 8);
}

pub fn text_search_sees_only_the_viewers_copy(store: &dyn Store) {
    put(store, "USA", vec![rel(REL_IRQ, &["IRQ"], None)]);
    let m = "2025-01-01T00:00:00.000Z";
    // The word occurs only in the description, which only IRQ may see.
    let mut hidden = text_object("incident", 1, m, "Raid in Manbij", "informant in Tabqa");
    hidden["granular_markings"] = json!([{"selectors": ["description"], "marking_ref": REL_IRQ}]);
    let mut rel_irq = text_object("incident", 2, m, "Tabqa dam", "on the Euphrates");
    rel_irq["object_marking_refs"] = json!([REL_IRQ]);
    put(store, "USA", vec![hidden, rel_irq]);
    let hits = |member: &str, q: &str| search(store, &ctx(member), q, 1, VersionFilter::Last).len();
    assert_eq!(hits("IRQ", "tabqa"), 2);
    assert_eq!(hits("USA", "tabqa"), 2);
    assert_eq!(hits("SYR", "tabqa"), 0, "withheld text finds nothing");
    assert_eq!(hits("JOR", "informant"), 0);
    assert_eq!(hits("SYR", "manbij"), 1, "the visible name still finds it");
}

pub fn accounts_version_moves_with_every_account_change(store: &dyn Store) {
    let v0 = store.accounts_version().unwrap();
    assert_eq!(store.accounts_version().unwrap(), v0, "nothing changed");
    let user = crate::StoredUser {
        name: "alice".into(),
        member: "USA".into(),
        password_hash: "$argon2id$x".into(),
        clearance: "SECRET".into(),
        roles: vec![],
    };
    store.put_user(&user).unwrap();
    let v1 = store.accounts_version().unwrap();
    assert_ne!(v1, v0, "a user added");
    // The same user replaced with another password.
    store.put_user(&crate::StoredUser { password_hash: "$argon2id$y".into(), ..user }).unwrap();
    let v2 = store.accounts_version().unwrap();
    assert_ne!(v2, v1, "a user replaced");
    store
        .put_token(&crate::StoredToken {
            token_id: "t1".into(),
            user: "alice".into(),
            secret_hash: "$argon2id$z".into(),
            created: Timestamp::from_micros(0),
            label: None,
        })
        .unwrap();
    assert_ne!(store.accounts_version().unwrap(), v2, "a token added");
}

/// A value a client sent (a path's id, `match[id]`, a status id) may hold NUL, which
/// PostgreSQL's text cannot: it must match nothing, as on SQLite, never fail the request.
pub fn request_values_holding_nul_match_nothing(store: &dyn Store) {
    let o = indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]);
    put(store, "USA", vec![o.clone()]);
    let id = o["id"].as_str().expect("id").to_string();
    let nul = |s: &str| format!("{s}\0");
    let q = |ids: Vec<String>, types: Vec<String>| ObjectQuery { ids, types, ..Default::default() };
    assert!(all(store, &ctx("USA"), q(vec![nul(&id)], vec![])).is_empty());
    assert!(all(store, &ctx("USA"), q(vec![], vec![nul("indicator")])).is_empty());
    let spec = ObjectQuery { spec_versions: vec![nul("2.1")], ..Default::default() };
    assert!(all(store, &ctx("USA"), spec).is_empty());
    // Beside a value that can match, it changes nothing.
    assert_eq!(ids(&all(store, &ctx("USA"), q(vec![nul(&id), id.clone()], vec![]))), vec![id.clone()]);
    store.put_status("s1", "alice", &json!({"id": "s1"})).expect("status");
    assert_eq!(store.get_status(&nul("s1"), "alice").expect("status"), None);
    assert_eq!(store.get_status("s1", &nul("alice")).expect("status"), None);
    store.put_meta("k", Some(&json!(1))).expect("meta");
    assert_eq!(store.get_meta(&nul("k")).expect("meta"), None);
    assert_eq!(store.list_meta(&nul("k")).expect("meta"), vec![]);
}

pub fn statuses_belong_to_their_owner(store: &dyn Store) {
    let body = json!({"id": "s1", "status": "complete"});
    store.put_status("s1", "alice", &body).unwrap();
    assert_eq!(store.get_status("s1", "alice").unwrap(), Some(body));
    assert_eq!(store.get_status("s1", "bob").unwrap(), None);
}

pub fn a_status_is_stored_with_the_objects_it_reports(store: &dyn Store) {
    put(store, "USA", vec![indicator(1, "2025-01-01T00:00:00.000Z", &[])]);
    let mut changed = indicator(1, "2025-01-01T00:00:00.000Z", &[]);
    changed["name"] = json!("another content under the same version");
    let batch =
        vec![indicator(1, "2025-01-01T00:00:00.000Z", &[]), changed, indicator(2, "2025-01-01T00:00:00.000Z", &[])];
    let mut calls = Vec::new();
    let outcomes = store
        .put_with_status(COLL, "USA", batch.into_iter().map(incoming).collect(), &mut |outcomes| {
            let kinds: Vec<&str> = outcomes
                .iter()
                .map(|o| match o {
                    PutOutcome::Added { .. } => "added",
                    PutOutcome::Duplicate { .. } => "duplicate",
                    PutOutcome::Rejected { .. } => "rejected",
                })
                .collect();
            calls.push(kinds.join(","));
            Some(crate::NewStatus {
                id: "s-with".into(),
                owner: "alice".into(),
                body: json!({"kinds": kinds}).to_string(),
            })
        })
        .unwrap();
    assert_eq!(calls, vec!["duplicate,rejected,added".to_string()], "called once, with the outcomes in order");
    assert_eq!(outcomes.len(), 3);
    assert_eq!(
        store.get_status("s-with", "alice").unwrap(),
        Some(json!({"kinds": ["duplicate", "rejected", "added"]})),
        "the status is stored with the objects"
    );
    assert_eq!(store.get_status("s-with", "bob").unwrap(), None, "and only its owner reads it");
    assert_eq!(all(store, &ctx("USA"), ObjectQuery::default()).len(), 2, "the objects are stored too");
    // No status asked for: none is written.
    store
        .put_with_status(COLL, "USA", vec![incoming(indicator(3, "2025-01-01T00:00:00.000Z", &[]))], &mut |_| None)
        .unwrap();
    assert_eq!(all(store, &ctx("USA"), ObjectQuery::default()).len(), 3);
}

pub fn tombstone_feed_follows_releasability(store: &dyn Store) {
    put(
        store,
        "USA",
        vec![
            indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]),
            indicator(2, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_AMBER]),
        ],
    );
    for n in [1, 2] {
        let id = format!("indicator--00000000-0000-4000-8000-{n:012}");
        assert_eq!(store.delete(&ctx("USA"), COLL, &id, &VersionFilter::All).unwrap(), DeleteOutcome::Deleted(1));
    }
    let usa = store.list_tombstones(&ctx("USA"), COLL, None, 10).unwrap().items;
    assert_eq!(usa.len(), 2);
    assert!(usa[0].added < usa[1].added);
    assert_eq!(usa[0].originator, "USA");
    assert_eq!(usa[0].version, Some(Timestamp::parse("2025-01-01T00:00:00.000Z").unwrap()));
    // IRQ could see the GREEN version only, so it learns of that deletion only.
    let irq = store.list_tombstones(&ctx("IRQ"), COLL, None, 10).unwrap().items;
    assert_eq!(
        irq.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        vec!["indicator--00000000-0000-4000-8000-000000000001"]
    );
    // Paging by position.
    let first = store.list_tombstones(&ctx("USA"), COLL, None, 1).unwrap();
    assert_eq!(first.items.len(), 1);
    let rest = store.list_tombstones(&ctx("USA"), COLL, first.next.map(|c| c.after), 10).unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next.is_none());
}

pub fn replicated_tombstones_need_the_originator(store: &dyn Store) {
    put(store, "USA", vec![indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN])]);
    let id = "indicator--00000000-0000-4000-8000-000000000001".to_string();
    let version = Some(Timestamp::parse("2025-01-01T00:00:00.000Z").unwrap());
    let forged = crate::Tombstone {
        id: id.clone(),
        version,
        originator: "IRQ".into(),
        object_markings: vec![],
        added: Timestamp::from_micros(0),
        proof: None,
    };
    // IRQ's deletion acts in IRQ's namespace: USA's version stays.
    assert_eq!(store.apply_tombstones(COLL, vec![forged]).unwrap().len(), 1);
    assert_eq!(all(store, &ctx("USA"), ObjectQuery::default()).len(), 1);
    let honest = crate::Tombstone {
        id: id.clone(),
        version,
        originator: "USA".into(),
        object_markings: vec![tlp::TLP2_GREEN.into()],
        added: Timestamp::from_micros(0),
        proof: None,
    };
    assert_eq!(store.apply_tombstones(COLL, vec![honest.clone()]).unwrap().len(), 1);
    assert!(all(store, &ctx("USA"), ObjectQuery::default()).is_empty());
    // Applying it again is a no-op, and the version can never come back.
    assert!(store.apply_tombstones(COLL, vec![honest]).unwrap().is_empty());
    assert!(matches!(
        put(store, "USA", vec![indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN])])[0],
        PutOutcome::Rejected { .. }
    ));
    // A deletion of a version never seen here is recorded too, and served onward.
    let unseen = crate::Tombstone {
        id: "indicator--00000000-0000-4000-8000-000000000009".into(),
        version,
        originator: "USA".into(),
        object_markings: vec![tlp::TLP2_GREEN.into()],
        added: Timestamp::from_micros(0),
        proof: None,
    };
    assert_eq!(store.apply_tombstones(COLL, vec![unseen]).unwrap().len(), 1);
    // IRQ sees USA's two deletions and its own.
    assert_eq!(store.list_tombstones(&ctx("IRQ"), COLL, None, 10).unwrap().items.len(), 3);
    assert!(matches!(
        put(store, "USA", vec![indicator(9, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN])])[0],
        PutOutcome::Rejected { .. }
    ));
}

pub fn provenance_and_meta_round_trip(store: &dyn Store) {
    let o = indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]);
    let incoming = Incoming {
        object: StixObject::from_map_unchecked(o.as_object().cloned().unwrap_or_default()),
        provenance: Some(json!({"v": 1, "signer": "USA"})),
    };
    store.put(COLL, "USA", vec![incoming]).unwrap();
    let got = all(store, &ctx("IRQ"), ObjectQuery { with_provenance: true, ..Default::default() });
    assert_eq!(got[0].provenance, Some(json!({"v": 1, "signer": "USA"})));
    // Readers that do not ask do not pay for it.
    assert_eq!(all(store, &ctx("IRQ"), ObjectQuery::default())[0].provenance, None);
    assert_eq!(store.get_meta("sync/a").unwrap(), None);
    store.put_meta("sync/a", Some(&json!({"x": 1}))).unwrap();
    store.put_meta("sync/b", Some(&json!(2))).unwrap();
    store.put_meta("other", Some(&json!(3))).unwrap();
    store.put_meta("sync/a", Some(&json!({"x": 2}))).unwrap();
    assert_eq!(
        store.list_meta("sync/").unwrap(),
        vec![("sync/a".to_string(), json!({"x": 2})), ("sync/b".to_string(), json!(2))]
    );
    store.put_meta("sync/a", None).unwrap();
    assert_eq!(store.get_meta("sync/a").unwrap(), None);
}

pub fn aggregates_count_the_viewers_copies(store: &dyn Store) {
    put(store, "USA", vec![rel(REL_IRQ, &["IRQ"], None)]);
    let mut secret = indicator(1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]);
    secret["description"] = json!("source: agent X");
    secret["granular_markings"] = json!([{"selectors": ["description"], "marking_ref": REL_IRQ}]);
    let mut open = indicator(2, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]);
    open["description"] = json!("source: agent X");
    put(
        store,
        "USA",
        vec![
            secret,
            open,
            indicator(3, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_AMBER]),
            // A later version of 2: counted once, as its latest.
            indicator(2, "2025-02-01T00:00:00.000Z", &[tlp::TLP2_GREEN]),
        ],
    );
    let q = AggregateQuery {
        types: vec!["indicator".into()],
        group_by: vec![PropertyPath::parse("description")],
        ..Default::default()
    };
    let group = |v: Option<&str>| GroupKey(vec![v.map_or(KeyPart::Missing, |s| KeyPart::Str(s.into()))]);
    let n = |objects, redacted| Counts { objects, redacted };
    // SYR's copy of 1 has no description (redacted): it counts as missing, never under its value.
    assert_eq!(store.aggregate(&ctx("SYR"), COLL, &q).unwrap(), vec![(group(None), n(2, 1))]);
    assert_eq!(
        store.aggregate(&ctx("IRQ"), COLL, &q).unwrap(),
        vec![(group(None), n(1, 0)), (group(Some("source: agent X")), n(1, 0))]
    );
    // USA also sees its AMBER indicator 3.
    assert_eq!(
        store.aggregate(&ctx("USA"), COLL, &q).unwrap(),
        vec![(group(None), n(2, 0)), (group(Some("source: agent X")), n(1, 0))]
    );
    let by_type = AggregateQuery { group_by: vec![PropertyPath::parse("type")], ..Default::default() };
    let t = |s: &str| GroupKey(vec![KeyPart::Str(s.into())]);
    assert_eq!(
        store.aggregate(&ctx("SYR"), COLL, &by_type).unwrap(),
        vec![(t("indicator"), n(2, 1)), (t("marking-definition"), n(1, 0))]
    );
    // The window is on `date_added`, exclusive at both ends.
    let listed = all(store, &ctx("SYR"), ObjectQuery { types: vec!["indicator".into()], ..Default::default() });
    let window = AggregateQuery {
        added_after: Some(listed[0].date_added),
        added_before: Some(listed[1].date_added),
        ..by_type.clone()
    };
    assert!(store.aggregate(&ctx("SYR"), COLL, &window).unwrap().is_empty());
    let window = AggregateQuery { added_before: Some(listed[1].date_added), ..by_type };
    assert_eq!(
        store.aggregate(&ctx("SYR"), COLL, &window).unwrap(),
        vec![(t("indicator"), n(1, 1)), (t("marking-definition"), n(1, 0))]
    );
    // A suspended member counts nothing.
    let mut r = roster();
    r.set_status("SYR", MemberStatus::Suspended);
    assert!(store.aggregate(&ctx_with("SYR", &r), COLL, &AggregateQuery::default()).unwrap().is_empty());
}

pub fn cas_meta_replaces_only_the_expected_value(store: &dyn Store) {
    let (one, two) = (json!({"v": 1}), json!({"v": 2}));
    assert!(!store.cas_meta("k", Some(&one), Some(&two)).unwrap(), "absent is not {one}");
    assert!(store.cas_meta("k", None, Some(&one)).unwrap());
    assert!(!store.cas_meta("k", None, Some(&two)).unwrap(), "present is not absent");
    assert_eq!(store.get_meta("k").unwrap(), Some(one.clone()));
    assert!(!store.cas_meta("k", Some(&two), None).unwrap());
    assert!(store.cas_meta("k", Some(&one), Some(&two)).unwrap());
    assert_eq!(store.get_meta("k").unwrap(), Some(two.clone()));
    assert!(store.cas_meta("k", Some(&two), None).unwrap());
    assert_eq!(store.get_meta("k").unwrap(), None);
}

pub fn insert_meta_absent_inserts_only_absent_keys(store: &dyn Store) {
    assert_eq!(store.insert_meta_absent(&[]).unwrap(), Vec::<bool>::new());
    store.put_meta("batch/a", Some(&json!(1))).unwrap();
    let entries: Vec<(String, Value)> = [("batch/a", 2), ("batch/b", 3), ("batch/b", 4), ("batch/c", 5)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    assert_eq!(store.insert_meta_absent(&entries).unwrap(), vec![false, true, false, true]);
    let stored = store.list_meta("batch/").unwrap();
    assert_eq!(
        stored,
        vec![("batch/a".into(), json!(1)), ("batch/b".into(), json!(3)), ("batch/c".into(), json!(5))],
        "a present key keeps its value; a repeated key is inserted by its first occurrence"
    );
    assert_eq!(store.insert_meta_absent(&entries).unwrap(), vec![false; 4], "nothing is new the second time");
}

/// Two handles insert overlapping batches, in opposite key orders, at once (as two processes'
/// alerters raising the same alerts): each key is inserted by exactly one, with its value.
pub fn insert_meta_absent_gives_each_key_to_one_of_two_handles(a: &dyn Store, b: &dyn Store) {
    const KEYS: usize = 200;
    const BATCH: usize = 25;
    let run = |store: &dyn Store, who: &str, reverse: bool| -> Vec<String> {
        let mut keys: Vec<String> = (0..KEYS).map(|i| format!("race/{i:04}")).collect();
        if reverse {
            keys.reverse();
        }
        let mut won = Vec::new();
        for chunk in keys.chunks(BATCH) {
            let entries: Vec<(String, Value)> = chunk.iter().map(|k| (k.clone(), json!(who))).collect();
            for (k, new) in chunk.iter().zip(store.insert_meta_absent(&entries).unwrap()) {
                if new {
                    won.push(k.clone());
                }
            }
        }
        won
    };
    let (won_a, won_b) = std::thread::scope(|s| {
        let ta = s.spawn(|| run(a, "a", false));
        let tb = s.spawn(|| run(b, "b", true));
        (ta.join().expect("a"), tb.join().expect("b"))
    });
    assert_eq!(won_a.len() + won_b.len(), KEYS, "every key inserted exactly once");
    let stored = b.list_meta("race/").unwrap();
    assert_eq!(stored.len(), KEYS);
    for (key, who) in stored {
        let winner = if won_a.contains(&key) { "a" } else { "b" };
        assert!(won_a.contains(&key) != won_b.contains(&key), "{key} won by exactly one");
        assert_eq!(who, json!(winner), "{key} holds its winner's value");
    }
}

/// Two handles append to one log by compare-and-set, as two processes appending roster changes:
/// every sequence number is taken exactly once, and every append that succeeded is there.
pub fn cas_meta_lets_one_of_two_handles_take_each_key(a: &dyn Store, b: &dyn Store) {
    const APPENDS: usize = 40;
    let append = |store: &dyn Store, who: &str| -> Vec<usize> {
        let mut won = Vec::new();
        while won.len() < APPENDS {
            let next = store.list_meta("log/").unwrap().len() + 1;
            if store.cas_meta(&format!("log/{next:06}"), None, Some(&json!(who))).unwrap() {
                won.push(next);
            }
        }
        won
    };
    let (won_a, won_b) = std::thread::scope(|s| {
        let ta = s.spawn(|| append(a, "a"));
        let tb = s.spawn(|| append(b, "b"));
        (ta.join().expect("a"), tb.join().expect("b"))
    });
    let log = a.list_meta("log/").unwrap();
    assert_eq!(log.len(), 2 * APPENDS, "no append lost, none doubled");
    for (i, (key, who)) in log.iter().enumerate() {
        assert_eq!(key, &format!("log/{:06}", i + 1));
        let winner = if won_a.contains(&(i + 1)) { "a" } else { "b" };
        assert_eq!(who, &json!(winner), "{key} holds the value of the handle that won it");
        assert!(won_a.contains(&(i + 1)) != won_b.contains(&(i + 1)), "{key} won exactly once");
    }
}

/// A reader pages with `next` (and, between passes, `added_after` of what it last saw) through
/// one handle while another handle writes: every object arrives exactly once, in order.
pub fn paging_while_another_handle_writes_never_skips_or_repeats(a: &dyn Store, b: &dyn Store) {
    const OBJECTS: u32 = 300;
    let done = std::sync::atomic::AtomicBool::new(false);
    let seen = std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0;
            while n < OBJECTS {
                // Batches of 1 to 3 objects: several transactions per reader page.
                let batch: Vec<Value> = (n..(n + 1 + n % 3).min(OBJECTS))
                    .map(|i| indicator(i, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]))
                    .collect();
                n += batch.len() as u32;
                put(a, "USA", batch);
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut seen: Vec<crate::Record> = Vec::new();
        let mut after = None;
        loop {
            // Read `done` before the pass: a pass that starts after the last write sees it.
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let mut q = ObjectQuery { limit: 7, added_after: after, ..Default::default() };
            loop {
                let page = b.list(&ctx("IRQ"), COLL, &q).expect("list");
                if let Some(last) = page.items.last() {
                    after = Some(last.date_added);
                }
                seen.extend(page.items);
                match page.next {
                    Some(c) => q.cursor = Some(c),
                    None => break,
                }
            }
            if finished {
                return seen;
            }
        }
    });
    assert!(seen.windows(2).all(|w| w[0].date_added < w[1].date_added), "in feed order, none repeated");
    let mut got = ids(&seen);
    got.sort();
    got.dedup();
    assert_eq!(got.len(), seen.len(), "no object delivered twice");
    assert_eq!(got.len(), OBJECTS as usize, "no object skipped");
}

/// Two handles write at once: `date_added` stays unique and strictly increasing across both.
pub fn date_added_is_unique_across_two_handles_writing_at_once(a: &dyn Store, b: &dyn Store) {
    const EACH: u32 = 150;
    let write = |store: &dyn Store, member: &str, base: u32| -> Vec<Timestamp> {
        let mut added = Vec::new();
        for n in (base..base + EACH).step_by(2) {
            let batch = vec![
                indicator(n, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]),
                indicator(n + 1, "2025-01-01T00:00:00.000Z", &[tlp::TLP2_GREEN]),
            ];
            for outcome in put(store, member, batch) {
                let PutOutcome::Added { date_added, .. } = outcome else { panic!("{outcome:?}") };
                added.push(date_added);
            }
        }
        added
    };
    let (from_a, from_b) = std::thread::scope(|s| {
        let ta = s.spawn(|| write(a, "USA", 0));
        let tb = s.spawn(|| write(b, "IRQ", 10_000));
        (ta.join().expect("a"), tb.join().expect("b"))
    });
    for own in [&from_a, &from_b] {
        assert!(own.windows(2).all(|w| w[0] < w[1]), "each handle's positions increase");
    }
    let mut every: Vec<Timestamp> = from_a.iter().chain(&from_b).copied().collect();
    every.sort();
    every.dedup();
    assert_eq!(every.len(), 2 * EACH as usize, "no position handed out twice");
    for store in [a, b] {
        let listed = all(store, &ctx("USA"), ObjectQuery::default());
        assert_eq!(listed.iter().map(|r| r.date_added).collect::<Vec<_>>(), every, "the feed is that order");
    }
}

/// Generates one `#[test]` per conformance function for a backend.
#[macro_export]
macro_rules! store_conformance_suite {
    ($make:expr, twins: $twins:expr) => {
        $crate::store_conformance_suite!(@twins $twins;
            cas_meta_lets_one_of_two_handles_take_each_key,
            insert_meta_absent_gives_each_key_to_one_of_two_handles,
            paging_while_another_handle_writes_never_skips_or_repeats,
            date_added_is_unique_across_two_handles_writing_at_once
        );
        $crate::store_conformance_suite!(@tests $make;
            round_trip_keeps_every_property,
            date_added_increases_and_paging_is_exact,
            feed_position_follows_versions_and_deletions,
            provenance_is_replaced_only_for_the_originator,
            holds_versions_counts_stored_and_deleted_versions,
            a_marking_referenced_before_it_arrived_is_found,
            duplicates_are_no_ops_and_conflicts_are_rejected,
            numbers_printed_differently_are_the_same_content,
            version_filters,
            only_the_originator_versions_and_revocation_is_final,
            a_batch_sees_its_own_earlier_versions,
            releasability_by_tlp_and_rel_to,
            granular_markings_redact,
            whole_copies_as_stored_text_are_the_same_copies,
            delete_leaves_sticky_tombstones,
            statuses_belong_to_their_owner,
            a_status_is_stored_with_the_objects_it_reports,
            request_values_holding_nul_match_nothing,
            accounts_version_moves_with_every_account_change,
            tombstone_feed_follows_releasability,
            replicated_tombstones_need_the_originator,
            provenance_and_meta_round_trip,
            aggregates_count_the_viewers_copies,
            cas_meta_replaces_only_the_expected_value,
            insert_meta_absent_inserts_only_absent_keys,
            text_search_matches_words_phrases_and_spellings,
            text_search_pages_and_follows_versions_and_deletions,
            text_search_sees_only_the_viewers_copy
        );
    };
    (@tests $make:expr; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                let store = $make;
                $crate::conformance::$name(&*store);
            }
        )*
    };
    (@twins $twins:expr; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                let (first, second) = $twins;
                $crate::conformance::$name(&*first, &*second);
            }
        )*
    };
}
