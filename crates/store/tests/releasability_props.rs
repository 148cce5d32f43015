//! Property test of the access-control chokepoint through the real SQLite read path.
//!
//! Random rosters, groups, markings (object-level and granular), objects, viewers and roster
//! changes; every read path of the store (listing with and without filters, paging, single
//! object, versions, manifest projections) is compared with an oracle that computes release sets
//! explicitly from the rule in ARCHITECTURE.md. Zero objects or properties delivered that were
//! not released; zero released objects missing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Value, json};
use tandem_model::{StixObject, tlp};
use tandem_policy::{Classification, Group, Member, MemberStatus, Roster, Viewer};
use tandem_store::{Incoming, ObjectQuery, SqliteStore, Store, VersionFilter, ViewContext};

const COLL: &str = "c0ffee00-0000-4000-8000-000000000001";
const MEMBERS: [&str; 5] = ["USA", "IRQ", "SYR", "JOR", "GBR"];
const GROUPS: [&str; 2] = ["LVNT", "FVEY"];
const TLPS: [&str; 5] = [tlp::TLP2_CLEAR, tlp::TLP2_GREEN, tlp::TLP2_AMBER, tlp::TLP2_AMBER_STRICT, tlp::TLP2_RED];
const LEVELS: [Classification; 4] =
    [Classification::Unclassified, Classification::Restricted, Classification::Confidential, Classification::Secret];

#[derive(Debug, Clone)]
enum Mark {
    Tlp(usize),
    Rel(usize),
    Unknown,
}

#[derive(Debug, Clone)]
struct RelDef {
    codes: Vec<String>,
    classification: Option<usize>,
}

#[derive(Debug, Clone)]
struct Obj {
    originator: usize,
    markings: Vec<Mark>,
    /// Granular marking on `description`.
    granular: Option<Mark>,
}

#[derive(Debug, Clone)]
struct World {
    statuses: Vec<MemberStatus>,
    groups: Vec<BTreeSet<String>>,
    rels: Vec<RelDef>,
    objects: Vec<Obj>,
    viewer: usize,
    clearance: usize,
}

fn code() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..MEMBERS.len()).prop_map(|i| MEMBERS[i].to_string()),
        (0..GROUPS.len()).prop_map(|i| GROUPS[i].to_string()),
        Just("ZZZ".to_string()),
    ]
}

fn mark(n_rels: usize) -> impl Strategy<Value = Mark> {
    prop_oneof![
        4 => (0..TLPS.len()).prop_map(Mark::Tlp),
        4 => (0..n_rels).prop_map(Mark::Rel),
        1 => Just(Mark::Unknown),
    ]
}

fn world() -> impl Strategy<Value = World> {
    let status = prop_oneof![8 => Just(MemberStatus::Active), 1 => Just(MemberStatus::Suspended), 1 => Just(MemberStatus::Removed)];
    let group = proptest::collection::btree_set((0..MEMBERS.len()).prop_map(|i| MEMBERS[i].to_string()), 0..4);
    let rel = (proptest::collection::vec(code(), 1..3), proptest::option::of(0..4usize))
        .prop_map(|(codes, classification)| RelDef { codes, classification });
    (
        proptest::collection::vec(status, MEMBERS.len()),
        proptest::collection::vec(group, GROUPS.len()),
        proptest::collection::vec(rel, 1..4),
    )
        .prop_flat_map(|(statuses, groups, rels)| {
            let n = rels.len();
            let obj = (0..MEMBERS.len(), proptest::collection::vec(mark(n), 0..3), proptest::option::of(mark(n)))
                .prop_map(|(originator, markings, granular)| Obj { originator, markings, granular });
            (
                Just(statuses),
                Just(groups),
                Just(rels),
                proptest::collection::vec(obj, 1..25),
                0..MEMBERS.len(),
                0..4usize,
            )
        })
        .prop_map(|(statuses, groups, rels, objects, viewer, clearance)| World {
            statuses,
            groups,
            rels,
            objects,
            viewer,
            clearance,
        })
}

fn rel_id(i: usize) -> String {
    format!("marking-definition--aaaaaaaa-0000-4000-8000-{i:012}")
}

fn mark_id(m: &Mark) -> String {
    match m {
        Mark::Tlp(i) => TLPS[*i].to_string(),
        Mark::Rel(i) => rel_id(*i),
        Mark::Unknown => "marking-definition--bbbbbbbb-0000-4000-8000-000000000000".into(),
    }
}

fn object_id(n: usize) -> String {
    format!("incident--cccccccc-0000-4000-8000-{n:012}")
}

fn roster(w: &World) -> Roster {
    Roster::new(
        MEMBERS.iter().zip(&w.statuses).map(|(c, s)| Member {
            code: c.to_string(),
            name: c.to_string(),
            joined: None,
            status: *s,
            public_key: None,
        }),
        GROUPS.iter().zip(&w.groups).map(|(c, m)| Group {
            code: c.to_string(),
            name: c.to_string(),
            members: m.clone(),
        }),
    )
}

/// The oracle: the set of members a combination of markings releases to, computed as sets.
fn release_set(w: &World, marks: &[&Mark], clearance: usize) -> BTreeSet<String> {
    let active: BTreeSet<String> = MEMBERS
        .iter()
        .zip(&w.statuses)
        .filter(|(_, s)| **s == MemberStatus::Active)
        .map(|(c, _)| c.to_string())
        .collect();
    let expand = |code: &str| -> BTreeSet<String> {
        if let Some(i) = GROUPS.iter().position(|g| *g == code) {
            w.groups[i].clone()
        } else if MEMBERS.contains(&code) {
            [code.to_string()].into()
        } else {
            BTreeSet::new()
        }
    };
    let mut rel_sets = Vec::new();
    let mut worst_tlp: Option<usize> = None;
    for m in marks {
        match m {
            Mark::Unknown => return BTreeSet::new(),
            Mark::Tlp(i) => worst_tlp = Some(worst_tlp.map_or(*i, |t| t.max(*i))),
            Mark::Rel(i) => {
                let def = &w.rels[*i];
                if def.classification.is_some_and(|c| c > clearance) {
                    return BTreeSet::new();
                }
                rel_sets.push(def.codes.iter().flat_map(|c| expand(c)).collect::<BTreeSet<_>>());
            }
        }
    }
    let base = if !rel_sets.is_empty() {
        rel_sets.iter().skip(1).fold(rel_sets[0].clone(), |acc, s| acc.intersection(s).cloned().collect())
    } else if worst_tlp.is_some_and(|t| t <= 1) {
        active.clone()
    } else {
        BTreeSet::new()
    };
    base.intersection(&active).cloned().collect()
}

/// What the oracle says the viewer receives: object index -> whether `description` survives.
fn expected(w: &World) -> BTreeMap<usize, bool> {
    let viewer = MEMBERS[w.viewer];
    let mut out = BTreeMap::new();
    if w.statuses[w.viewer] != MemberStatus::Active {
        return out;
    }
    for (n, o) in w.objects.iter().enumerate() {
        if o.originator == w.viewer {
            out.insert(n, true);
            continue;
        }
        let object_level: Vec<&Mark> = o.markings.iter().collect();
        let any_unknown =
            object_level.iter().any(|m| matches!(m, Mark::Unknown)) || matches!(o.granular, Some(Mark::Unknown));
        if any_unknown || !release_set(w, &object_level, w.clearance).contains(viewer) {
            continue;
        }
        let description = match &o.granular {
            None => true,
            Some(g) => {
                let mut all = object_level.clone();
                all.push(g);
                release_set(w, &all, w.clearance).contains(viewer)
            }
        };
        out.insert(n, description);
    }
    out
}

fn build(w: &World) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let defs: Vec<Incoming> = w
        .rels
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut ext = json!({"extension_type": "property-extension", "rel_to": r.codes});
            if let Some(c) = r.classification {
                ext["classification"] = json!(["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"][c]);
            }
            incoming(json!({"type": "marking-definition", "spec_version": "2.1", "id": rel_id(i),
                "created": "2025-01-01T00:00:00.000Z", "name": "REL",
                "extensions": {tandem_policy::marking::RELEASABILITY_EXTENSION_ID: ext}}))
        })
        .collect();
    store.put(COLL, "USA", defs).expect("markings");
    for (n, o) in w.objects.iter().enumerate() {
        let mut v = json!({"type": "incident", "spec_version": "2.1", "id": object_id(n),
            "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
            "name": format!("incident {n}"), "description": "who reported it"});
        if !o.markings.is_empty() {
            v["object_marking_refs"] = json!(o.markings.iter().map(mark_id).collect::<Vec<_>>());
        }
        if let Some(g) = &o.granular {
            v["granular_markings"] = json!([{"selectors": ["description"], "marking_ref": mark_id(g)}]);
        }
        store.put(COLL, MEMBERS[o.originator], vec![incoming(v)]).expect("object");
    }
    (dir, store)
}

fn incoming(v: Value) -> Incoming {
    Incoming { object: StixObject::from_map_unchecked(v.as_object().cloned().unwrap_or_default()), provenance: None }
}

fn received(store: &SqliteStore, ctx: &ViewContext, query: ObjectQuery) -> BTreeMap<usize, bool> {
    let mut q = query;
    let mut out = BTreeMap::new();
    loop {
        let page = store.list(ctx, COLL, &q).expect("list");
        for r in page.items {
            if let Some(n) =
                r.id.strip_prefix("incident--cccccccc-0000-4000-8000-").and_then(|s| s.parse::<usize>().ok())
            {
                assert!(out.insert(n, r.object.get("description").is_some()).is_none(), "delivered twice");
            }
        }
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_read_path_delivers_exactly_what_is_released(w in world()) {
        let (_dir, store) = build(&w);
        let ctx = ViewContext {
            viewer: Viewer { member: MEMBERS[w.viewer].into(), clearance: LEVELS[w.clearance] },
            roster: Arc::new(roster(&w)),
        };
        let want = expected(&w);
        let paths = [
            ObjectQuery { limit: 1000, ..Default::default() },
            ObjectQuery { limit: 3, ..Default::default() },
            ObjectQuery { limit: 1, types: vec!["incident".into()], versions: VersionFilter::All, ..Default::default() },
            ObjectQuery { limit: 7, versions: VersionFilter::First, spec_versions: vec!["2.1".into()], ..Default::default() },
        ];
        for q in paths {
            prop_assert_eq!(&received(&store, &ctx, q), &want);
        }
        // Single-object reads: released ones found, others indistinguishable from missing.
        for n in 0..w.objects.len() + 1 {
            let q = ObjectQuery { limit: 10, ids: vec![object_id(n)], ..Default::default() };
            let got = received(&store, &ctx, q);
            prop_assert_eq!(got.get(&n), want.get(&n));
        }
    }

    #[test]
    fn roster_changes_apply_immediately(w in world(), joiner in 0..MEMBERS.len(), group in 0..GROUPS.len()) {
        let (_dir, store) = build(&w);
        // A member joins a group and becomes active: it sees what the group was released to,
        // including objects stored before it joined.
        let mut w2 = w.clone();
        w2.statuses[joiner] = MemberStatus::Active;
        w2.groups[group].insert(MEMBERS[joiner].to_string());
        w2.viewer = joiner;
        let ctx = ViewContext {
            viewer: Viewer { member: MEMBERS[joiner].into(), clearance: LEVELS[w2.clearance] },
            roster: Arc::new(roster(&w2)),
        };
        prop_assert_eq!(received(&store, &ctx, ObjectQuery { limit: 1000, ..Default::default() }), expected(&w2));
        // Suspended: nothing at all.
        let mut w3 = w2.clone();
        w3.statuses[joiner] = MemberStatus::Suspended;
        let ctx = ViewContext { viewer: ctx.viewer.clone(), roster: Arc::new(roster(&w3)) };
        let after_suspension = received(&store, &ctx, ObjectQuery { limit: 1000, ..Default::default() });
        prop_assert!(after_suspension.is_empty());
    }
}
