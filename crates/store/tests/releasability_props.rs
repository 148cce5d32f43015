//! Property test of the access-control chokepoint through the real SQLite read path.
//!
//! Random rosters, groups, markings (object-level and granular, each defined by the members
//! that own it), objects, viewers and roster changes; every read path of the store (listing
//! with and without filters, paging, single object, versions, manifest projections) is compared
//! with an oracle that computes release sets explicitly from the rule in ARCHITECTURE.md. Zero
//! objects or properties delivered that were not released; zero released objects missing.
//!
//! A hostile member writes first, whatever it can: marking-definitions under the ids the others
//! use (releasing to everyone), copies of their objects under their ids (the same content or
//! forged, the same version or a later one, under its own markings). The oracle says that no
//! viewer receives anything the genuine originator did not release to it, that the genuine
//! claim is what every reader who may see it receives, and the store must accept every genuine
//! version as if the hostile member had written nothing.
//!
//! Aggregates (`ObjectStore::aggregate`) are checked against the same oracle and against the
//! same counts computed over exactly what `list` releases. Full-text search (`ObjectQuery::text`)
//! is checked against the same oracle: objects carry a place name in one of its spellings in
//! their name or in their `description` (which a granular marking may withhold), the hostile
//! member's forged copies name it too, and a search must find exactly the received copies whose
//! *visible* properties name it in the searched script. Every property runs against every
//! backend in [`BACKENDS`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Value, json};
use tandem_model::{StixObject, tlp};
use tandem_policy::{Classification, Group, Member, MemberStatus, Roster, Viewer};
use tandem_store::{
    AggregateQuery, Counts, GroupKey, Incoming, KeyPart, ObjectQuery, PropertyPath, PutOutcome, SqliteStore, Store,
    TextQuery, VersionFilter, ViewContext,
};

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
    /// The members that define this marking (each its own copy of it); for anyone else's
    /// objects it is unknown.
    owners: BTreeSet<usize>,
}

/// What the hostile member writes before anybody else.
#[derive(Debug, Clone)]
enum Squat {
    /// Defines the marking `rel_id(i)` as releasing to every member.
    Marking(usize),
    /// Posts a version under object `n`'s id: at the same `modified` or a later one, with the
    /// genuine content or a forged one, under its own marking.
    Copy { n: usize, later: bool, forged: bool, mark: Mark },
}

#[derive(Debug, Clone)]
struct Obj {
    originator: usize,
    markings: Vec<Mark>,
    /// Granular marking on `description`.
    granular: Option<Mark>,
    /// A spelling of the place (an index into [`SPELLINGS`]), in the name or, when `true`, in
    /// the description.
    place: Option<(usize, bool)>,
}

/// Raqqa as reports spell it, with the script the spelling is in: the gazetteer's rules make
/// every spelling of one script the same word (and the two scripts different words).
const SPELLINGS: [(&str, Script); 7] = [
    ("Raqqa", Script::Latin),
    ("Raqqah", Script::Latin),
    ("ar-Raqqa", Script::Latin),
    ("RAQQA", Script::Latin),
    ("الرقة", Script::Arabic),
    ("الرقه", Script::Arabic),
    ("الرَّقَّة", Script::Arabic),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Arabic,
}

/// The searches, with the script whose spellings each must find.
const SEARCHES: [(&str, Script); 4] =
    [("raqqah", Script::Latin), ("Raqq*", Script::Latin), ("الرقه", Script::Arabic), ("رقة", Script::Arabic)];

/// The name of the hostile member's forged copies: it names the place too.
const FORGED: &str = "forged by the hostile member in Raqqa";

#[derive(Debug, Clone)]
struct World {
    statuses: Vec<MemberStatus>,
    groups: Vec<BTreeSet<String>>,
    rels: Vec<RelDef>,
    objects: Vec<Obj>,
    hostile: usize,
    squats: Vec<Squat>,
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
    let owners = proptest::collection::btree_set(0..MEMBERS.len(), 1..MEMBERS.len() + 1);
    let rel = (proptest::collection::vec(code(), 1..3), proptest::option::of(0..4usize), owners)
        .prop_map(|(codes, classification, owners)| RelDef { codes, classification, owners });
    (
        proptest::collection::vec(status, MEMBERS.len()),
        proptest::collection::vec(group, GROUPS.len()),
        proptest::collection::vec(rel, 1..4),
    )
        .prop_flat_map(|(statuses, groups, rels)| {
            let n = rels.len();
            let obj = (
                0..MEMBERS.len(),
                proptest::collection::vec(mark(n), 0..3),
                proptest::option::of(mark(n)),
                proptest::option::of((0..SPELLINGS.len(), any::<bool>())),
            )
                .prop_map(|(originator, markings, granular, place)| Obj {
                    originator,
                    markings,
                    granular,
                    place,
                });
            let squat =
                prop_oneof![
                    (0..n).prop_map(Squat::Marking),
                    (0..25usize, any::<bool>(), any::<bool>(), mark(n))
                        .prop_map(|(n, later, forged, mark)| Squat::Copy { n, later, forged, mark }),
                ];
            (
                Just(statuses),
                Just(groups),
                Just(rels),
                proptest::collection::vec(obj, 1..25),
                0..MEMBERS.len(),
                proptest::collection::vec(squat, 0..8),
                0..MEMBERS.len(),
                0..4usize,
            )
        })
        .prop_map(|(statuses, groups, rels, objects, hostile, squats, viewer, clearance)| World {
            statuses,
            groups,
            rels,
            objects,
            hostile,
            squats,
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

/// What a marking means for objects of `owner`: its own definition, the hostile member's squat
/// (for the hostile member's own objects only), or nothing.
#[derive(Debug, Clone, Copy)]
enum Meaning<'a> {
    Tlp(usize),
    Rel(&'a [String], Option<usize>),
    Everyone,
    Unknown,
}

fn meaning<'a>(w: &'a World, owner: usize, m: &Mark) -> Meaning<'a> {
    match m {
        Mark::Tlp(i) => Meaning::Tlp(*i),
        Mark::Unknown => Meaning::Unknown,
        Mark::Rel(i) => {
            let def = &w.rels[*i];
            if def.owners.contains(&owner) {
                Meaning::Rel(&def.codes, def.classification)
            } else if owner == w.hostile && squats_marking(w, *i) {
                Meaning::Everyone
            } else {
                Meaning::Unknown
            }
        }
    }
}

fn squats_marking(w: &World, i: usize) -> bool {
    !w.rels[i].owners.contains(&w.hostile) && w.squats.iter().any(|s| matches!(s, Squat::Marking(j) if *j == i))
}

/// The oracle: the set of members a combination of markings of `owner`'s releases to, computed
/// as sets.
fn release_set(w: &World, owner: usize, marks: &[&Mark], clearance: usize) -> BTreeSet<String> {
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
        match meaning(w, owner, m) {
            Meaning::Unknown => return BTreeSet::new(),
            Meaning::Tlp(i) => worst_tlp = Some(worst_tlp.map_or(i, |t| t.max(i))),
            Meaning::Everyone => rel_sets.push(MEMBERS.iter().map(|m| m.to_string()).collect()),
            Meaning::Rel(codes, classification) => {
                if classification.is_some_and(|c| c > clearance) {
                    return BTreeSet::new();
                }
                rel_sets.push(codes.iter().flat_map(|c| expand(c)).collect::<BTreeSet<_>>());
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

/// What the viewer receives of one claim (`owner`'s markings and optional granular marking on
/// `description`): `None` withheld, else whether `description` survives.
fn claim_for(w: &World, owner: usize, markings: &[Mark], granular: Option<&Mark>) -> Option<bool> {
    let viewer = MEMBERS[w.viewer];
    if w.statuses[w.viewer] != MemberStatus::Active {
        return None;
    }
    if owner == w.viewer {
        // Its own: whole, but never above the reader's clearance.
        let above = |m: &Mark| matches!(meaning(w, owner, m), Meaning::Rel(_, Some(c)) if c > w.clearance);
        if markings.iter().any(above) {
            return None;
        }
        return Some(!granular.is_some_and(above));
    }
    let object_level: Vec<&Mark> = markings.iter().collect();
    let unknown = |m: &Mark| matches!(meaning(w, owner, m), Meaning::Unknown);
    if markings.iter().any(unknown) || granular.is_some_and(unknown) {
        return None;
    }
    if !release_set(w, owner, &object_level, w.clearance).contains(viewer) {
        return None;
    }
    Some(match granular {
        None => true,
        Some(g) => {
            let mut all = object_level.clone();
            all.push(g);
            release_set(w, owner, &all, w.clearance).contains(viewer)
        }
    })
}

/// The hostile member's copy of object `n`, if it wrote one (only the first `Copy` of `n` is
/// written).
fn hostile_copy(w: &World, n: usize) -> Option<(bool, bool, &Mark)> {
    if w.objects[n].originator == w.hostile {
        return None;
    }
    w.squats.iter().find_map(|s| match s {
        Squat::Copy { n: m, later, forged, mark } if *m == n => Some((*later, *forged, mark)),
        _ => None,
    })
}

/// What the oracle says the viewer receives: (object index, originator, modified) -> whether
/// `description` survives. The genuine claim is signed and the hostile member's was posted
/// unsigned: a reader that may see the genuine one receives it alone, its own member's claim
/// comes first when it may see it, and a hostile copy reaches only readers that may not see the
/// genuine one.
fn expected(w: &World) -> BTreeMap<(usize, String, String), bool> {
    let mut out = BTreeMap::new();
    for (n, o) in w.objects.iter().enumerate() {
        let genuine = claim_for(w, o.originator, &o.markings, o.granular.as_ref());
        let copy = hostile_copy(w, n).map(|(later, forged, mark)| {
            let shown = claim_for(w, w.hostile, std::slice::from_ref(mark), None);
            (copy_modified(later), forged, shown)
        });
        let genuine_key = (n, MEMBERS[o.originator].to_string(), MODIFIED.to_string());
        // Its own member's claim first, when this reader may see it (not above its clearance);
        // else what it may see of the others.
        if w.viewer == o.originator
            && let Some(d) = genuine
        {
            out.insert(genuine_key, d);
            continue;
        }
        if let Some((modified, _, Some(d))) = &copy
            && w.viewer == w.hostile
        {
            out.insert((n, MEMBERS[w.hostile].to_string(), modified.to_string()), *d);
            continue;
        }
        match (genuine, copy) {
            (Some(d), _) => {
                out.insert(genuine_key, d);
            }
            (None, Some((modified, _, Some(d)))) => {
                out.insert((n, MEMBERS[w.hostile].to_string(), modified.to_string()), d);
            }
            _ => {}
        }
    }
    out
}

const MODIFIED: &str = "2025-01-01T00:00:00.000Z";

fn copy_modified(later: bool) -> &'static str {
    if later { "2025-06-01T00:00:00.000Z" } else { MODIFIED }
}

fn rel_def(i: usize, codes: &[String], classification: Option<usize>) -> Incoming {
    let mut ext = json!({"extension_type": "property-extension", "rel_to": codes});
    if let Some(c) = classification {
        ext["classification"] = json!(["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"][c]);
    }
    incoming(json!({"type": "marking-definition", "spec_version": "2.1", "id": rel_id(i),
        "created": "2025-01-01T00:00:00.000Z", "name": "REL",
        "extensions": {tandem_policy::marking::RELEASABILITY_EXTENSION_ID: ext}}))
}

fn genuine_name(n: usize, o: &Obj) -> String {
    match o.place {
        Some((s, false)) => format!("incident {n} in {}", SPELLINGS[s].0),
        _ => format!("incident {n}"),
    }
}

fn genuine_description(o: &Obj) -> String {
    match o.place {
        Some((s, true)) => format!("who reported it from {}", SPELLINGS[s].0),
        _ => "who reported it".to_string(),
    }
}

fn genuine_object(n: usize, o: &Obj) -> Value {
    let mut v = json!({"type": "incident", "spec_version": "2.1", "id": object_id(n),
        "created": "2025-01-01T00:00:00.000Z", "modified": MODIFIED,
        "name": genuine_name(n, o), "description": genuine_description(o)});
    if !o.markings.is_empty() {
        v["object_marking_refs"] = json!(o.markings.iter().map(mark_id).collect::<Vec<_>>());
    }
    if let Some(g) = &o.granular {
        v["granular_markings"] = json!([{"selectors": ["description"], "marking_ref": mark_id(g)}]);
    }
    v
}

/// Whether the copy the viewer receives under `key` (with its `description` when `shown`) names
/// the place in `script`, computed from the world: the copy's name (the forged name, or the
/// genuine one) and its description as the genuine object has it.
fn names_place(w: &World, key: &(usize, String, String), shown: bool, script: Script) -> bool {
    let (n, originator, _) = key;
    let o = &w.objects[*n];
    let copy = *originator == MEMBERS[w.hostile] && o.originator != w.hostile;
    let forged = copy && hostile_copy(w, *n).is_some_and(|(_, forged, _)| forged);
    let in_name = match o.place {
        _ if forged => script == Script::Latin,
        Some((s, false)) => SPELLINGS[s].1 == script,
        _ => false,
    };
    let in_description = shown && matches!(o.place, Some((s, true)) if SPELLINGS[s].1 == script);
    in_name || in_description
}

/// Opens a store on a fresh data directory: one entry per backend.
type Open = fn(&std::path::Path) -> Box<dyn Store>;

const BACKENDS: [(&str, Open); 2] = [
    ("sqlite", |dir| Box::new(SqliteStore::open(dir).expect("open"))),
    // A fresh schema on the test process's PostgreSQL server (the directory is unused).
    ("postgres", |_| {
        Box::new(tandem_store_postgres::PgStore::open(&tandem_store_postgres::testdb::fresh_url()).expect("open"))
    }),
];

fn build(w: &World, open: Open) -> (tempfile::TempDir, Box<dyn Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    // The hostile member writes first (one copy per object: the oracle's claims have one version).
    let mut copied = BTreeSet::new();
    for squat in &w.squats {
        let hostile = MEMBERS[w.hostile];
        match squat {
            Squat::Marking(i) => {
                if squats_marking(w, *i) {
                    let everyone: Vec<String> = MEMBERS.iter().map(|m| m.to_string()).collect();
                    store.put(COLL, hostile, vec![rel_def(*i, &everyone, None)]).expect("squat");
                }
            }
            Squat::Copy { n, later, forged, mark } => {
                let Some(o) = w.objects.get(*n) else { continue };
                if o.originator == w.hostile || !copied.insert(*n) {
                    continue;
                }
                let mut v = genuine_object(*n, o);
                v["modified"] = json!(copy_modified(*later));
                if *forged {
                    v["name"] = json!(FORGED);
                }
                v["object_marking_refs"] = json!([mark_id(mark)]);
                v.as_object_mut().map(|m| m.remove("granular_markings"));
                store.put(COLL, hostile, vec![incoming(v)]).expect("copy");
            }
        }
    }
    // Then every member defines its markings and writes its objects: every genuine version is
    // accepted whatever the hostile member wrote.
    for (i, r) in w.rels.iter().enumerate() {
        for owner in &r.owners {
            let out = store.put(COLL, MEMBERS[*owner], vec![rel_def(i, &r.codes, r.classification)]).expect("markings");
            assert!(matches!(out[0], PutOutcome::Added { .. }), "a genuine marking refused: {out:?}");
        }
    }
    for (n, o) in w.objects.iter().enumerate() {
        let signed = Incoming {
            provenance: Some(json!({"signed by": MEMBERS[o.originator]})),
            ..incoming(genuine_object(n, o))
        };
        let out = store.put(COLL, MEMBERS[o.originator], vec![signed]).expect("object");
        assert!(matches!(out[0], PutOutcome::Added { .. }), "a genuine version refused: {out:?}");
    }
    (dir, store)
}

fn incoming(v: Value) -> Incoming {
    Incoming { object: StixObject::from_map_unchecked(v.as_object().cloned().unwrap_or_default()), provenance: None }
}

/// Everything `ctx` receives for `query`, page by page; content forged by `hostile` may only
/// ever arrive under `hostile`'s own name.
fn received(
    store: &dyn Store,
    ctx: &ViewContext,
    hostile: &str,
    query: ObjectQuery,
) -> BTreeMap<(usize, String, String), bool> {
    let mut q = query;
    let mut out = BTreeMap::new();
    loop {
        let page = store.list(ctx, COLL, &q).expect("list");
        // A token is the position of the last version delivered, never of a withheld one.
        if let Some(next) = page.next {
            assert_eq!(
                page.items.last().map(|r| r.date_added),
                Some(next.after),
                "next points past what was delivered"
            );
        }
        for mut r in page.items {
            // A whole copy kept as stored text (what TAXII pages write out) is the same copy.
            if let Some(text) = r.stored_text.take() {
                assert!(
                    q.whole_as_stored && q.text.is_none() && !r.redacted,
                    "stored text only for whole copies asked for"
                );
                assert_eq!(r.object, Value::Null);
                r.object = serde_json::from_str(&text).expect("stored text is JSON");
            }
            if q.text.is_some() {
                assert_eq!(r.object_type, "incident", "a search finds incidents and reports only");
            }
            if let Some(n) =
                r.id.strip_prefix("incident--cccccccc-0000-4000-8000-").and_then(|s| s.parse::<usize>().ok())
            {
                let modified = r.object["modified"].as_str().unwrap_or_default().to_string();
                let forged = r.object["name"] == json!(FORGED);
                // Whatever a reader receives under a member's name is that member's content.
                assert!(!forged || r.originator == hostile, "forged content served as {}'s", r.originator);
                let key = (n, r.originator, modified);
                assert!(out.insert(key, r.object.get("description").is_some()).is_none(), "delivered twice");
            }
        }
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

/// Every record `ctx` receives, latest version per claim, page by page (what an aggregate counts).
fn listed(store: &dyn Store, ctx: &ViewContext, types: &[String]) -> Vec<tandem_store::Record> {
    let mut q = ObjectQuery { limit: 4, types: types.to_vec(), ..Default::default() };
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

/// The oracle for aggregates: the same counts computed over `records`, independently of the
/// store's own code (paths looked up with JSON pointers).
fn counted(
    records: &[tandem_store::Record],
    paths: &[&str],
    window: (Option<tandem_model::Timestamp>, Option<tandem_model::Timestamp>),
) -> Vec<(GroupKey, Counts)> {
    let mut groups: BTreeMap<GroupKey, Counts> = BTreeMap::new();
    for r in records {
        if window.0.is_some_and(|a| r.date_added <= a) || window.1.is_some_and(|b| r.date_added >= b) {
            continue;
        }
        let key = paths
            .iter()
            .map(|p| match r.object.pointer(&format!("/{}", p.replace('.', "/"))) {
                None => KeyPart::Missing,
                Some(Value::String(s)) => KeyPart::Str(s.clone()),
                Some(v) => KeyPart::Json(v.to_string()),
            })
            .collect();
        let c = groups.entry(GroupKey(key)).or_default();
        c.objects += 1;
        c.redacted += u64::from(r.redacted);
    }
    groups.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_read_path_delivers_exactly_what_is_released(w in world()) {
        for (backend, open) in BACKENDS {
        let (_dir, store) = build(&w, open);
        let store = store.as_ref();
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
            ObjectQuery { limit: 1000, whole_as_stored: true, ..Default::default() },
            ObjectQuery { limit: 2, versions: VersionFilter::All, whole_as_stored: true, ..Default::default() },
        ];
        for q in paths {
            prop_assert_eq!(&received(store, &ctx, MEMBERS[w.hostile], q), &want, "{}", backend);
        }
        // Single-object reads: released ones found, others indistinguishable from missing.
        for n in 0..w.objects.len() + 1 {
            let want_n: BTreeMap<_, _> = want.iter().filter(|(k, _)| k.0 == n).map(|(k, v)| (k.clone(), *v)).collect();
            for whole_as_stored in [false, true] {
                let q = ObjectQuery { limit: 10, ids: vec![object_id(n)], whole_as_stored, ..Default::default() };
                let got = received(store, &ctx, MEMBERS[w.hostile], q);
                prop_assert_eq!(&got, &want_n, "{}", backend);
            }
        }
        }
    }

    #[test]
    fn search_finds_exactly_the_copies_whose_visible_text_matches(w in world(), search in 0..SEARCHES.len(), limit in 1..5usize) {
        for (backend, open) in BACKENDS {
        let (_dir, store) = build(&w, open);
        let store = store.as_ref();
        let ctx = ViewContext {
            viewer: Viewer { member: MEMBERS[w.viewer].into(), clearance: LEVELS[w.clearance] },
            roster: Arc::new(roster(&w)),
        };
        let (text, script) = SEARCHES[search];
        let want: BTreeMap<_, _> =
            expected(&w).into_iter().filter(|(k, shown)| names_place(&w, k, *shown, script)).collect();
        let text = TextQuery::parse(text).expect("query");
        for q in [
            ObjectQuery { limit, text: Some(text.clone()), ..Default::default() },
            ObjectQuery { limit: 1000, types: vec!["incident".into()], text: Some(text.clone()), ..Default::default() },
        ] {
            prop_assert_eq!(&received(store, &ctx, MEMBERS[w.hostile], q), &want, "{} {:?}", backend, SEARCHES[search]);
        }
        }
    }

    #[test]
    fn roster_changes_apply_immediately(w in world(), joiner in 0..MEMBERS.len(), group in 0..GROUPS.len()) {
        for (backend, open) in BACKENDS {
        let (_dir, store) = build(&w, open);
        let store = store.as_ref();
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
        prop_assert_eq!(received(store, &ctx, MEMBERS[w.hostile], ObjectQuery { limit: 1000, ..Default::default() }), expected(&w2), "{}", backend);
        // Suspended: nothing at all.
        let mut w3 = w2.clone();
        w3.statuses[joiner] = MemberStatus::Suspended;
        let ctx = ViewContext { viewer: ctx.viewer.clone(), roster: Arc::new(roster(&w3)) };
        let after_suspension = received(store, &ctx, MEMBERS[w.hostile], ObjectQuery { limit: 1000, ..Default::default() });
        prop_assert!(after_suspension.is_empty(), "{}", backend);
        }
    }

    #[test]
    fn aggregates_count_exactly_what_list_releases(w in world(), types in 0..3usize, from in 0..40usize, to in 0..40usize) {
        for (backend, open) in BACKENDS {
        let (_dir, store) = build(&w, open);
        let store = store.as_ref();
        let ctx = ViewContext {
            viewer: Viewer { member: MEMBERS[w.viewer].into(), clearance: LEVELS[w.clearance] },
            roster: Arc::new(roster(&w)),
        };
        // Against the oracle: incidents by `description`, which a granular marking may redact for
        // the viewer; a redacted one counts as missing, never under its value.
        let want = expected(&w);
        let mut groups: BTreeMap<GroupKey, Counts> = BTreeMap::new();
        for ((n, _, _), shown) in &want {
            let (key, redacted) = if *shown {
                (KeyPart::Str(genuine_description(&w.objects[*n])), 0)
            } else {
                (KeyPart::Missing, 1)
            };
            let c = groups.entry(GroupKey(vec![key])).or_default();
            c.objects += 1;
            c.redacted += redacted;
        }
        let oracle: Vec<(GroupKey, Counts)> = groups.into_iter().collect();
        let by_description = AggregateQuery {
            types: vec!["incident".into()],
            group_by: vec![PropertyPath::parse("description")],
            ..Default::default()
        };
        prop_assert_eq!(store.aggregate(&ctx, COLL, &by_description).expect("aggregate"), oracle, "{}", backend);
        // Against `list`: any filter, window and grouping gives the counts of what it releases.
        let types: Vec<String> = match types {
            0 => vec![],
            1 => vec!["incident".into()],
            _ => vec!["marking-definition".into(), "incident".into()],
        };
        let records = listed(store, &ctx, &types);
        let at = |i: usize| records.get(i).map(|r| r.date_added);
        let window = (at(from), at(to));
        for paths in [
            vec![],
            vec!["type"],
            vec!["description", "name"],
            vec!["object_marking_refs.0", "granular_markings.0.marking_ref"],
            vec!["extensions.extension-definition--7d672761-f8ff-4c5e-9337-dc547165f993.rel_to"],
        ] {
            let q = AggregateQuery {
                types: types.clone(),
                added_after: window.0,
                added_before: window.1,
                group_by: paths.iter().map(|p| PropertyPath::parse(p)).collect(),
            };
            prop_assert_eq!(store.aggregate(&ctx, COLL, &q).expect("aggregate"), counted(&records, &paths, window), "{} {:?}", backend, paths);
        }
        }
    }
}
