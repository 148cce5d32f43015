//! The oracle: for random viewers, markings and redactions (with a hostile member writing
//! too), every analytics result over the service's dataset equals the same computation over
//! exactly what `Store::list` releases to that viewer, read independently (every type, small
//! pages), and nothing hidden from the viewer appears in any result.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};
use tandem_analytics::calendar::Interval;
use tandem_analytics::trends::{By, TrendQuery};
use tandem_analytics::{Dataset, correlate, hotspots, service, spikes, tracks, trends};
use tandem_model::StixObject;
use tandem_model::incident::INCIDENT_EXTENSION_ID;
use tandem_policy::{Classification, Group, Member, Roster, Viewer};
use tandem_store::{
    AggregateQuery, Incoming, KeyPart, ObjectQuery, ObjectStore, PropertyPath, Record, SqliteStore, VersionFilter,
    ViewContext,
};

const COLL: &str = "9a6d6f62-4b9e-4a8e-8a0a-1c3c4f6e2b10";
const GREEN: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
const AMBER: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
const CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
const REL_IRQ: &str = "marking-definition--0b7c1f65-4a3c-4e58-9d3d-111111111111";
const REL_LVNT: &str = "marking-definition--0b7c1f65-4a3c-4e58-9d3d-222222222222";
const REL_SECRET: &str = "marking-definition--0b7c1f65-4a3c-4e58-9d3d-333333333333";
const MEMBERS: [&str; 4] = ["USA", "IRQ", "SYR", "JOR"];
const ADMINS: [&str; 4] = ["SY-DY", "SY-HA", "IQ-AN", "IQ-NI"];
const TYPES: [(&str, &str); 4] = [
    ("Battles", "Armed clash"),
    ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
    ("Violence against civilians", "Attack"),
    ("Strategic developments", "Arrests"),
];

fn roster() -> Roster {
    Roster::new(MEMBERS.map(Member::active), [Group::new("LVNT", "Levant", &["IRQ", "JOR"])])
}

fn rel(id: &str, rel_to: &[&str], classification: Option<&str>) -> Value {
    let mut ext = json!({"extension_type": "property-extension", "rel_to": rel_to});
    if let Some(c) = classification {
        ext["classification"] = json!(c);
    }
    json!({"type": "marking-definition", "spec_version": "2.1", "id": id, "created": "2025-01-01T00:00:00.000Z",
           "name": format!("REL TO {}", rel_to.join(", ")),
           "extensions": {tandem_policy::marking::RELEASABILITY_EXTENSION_ID: ext}})
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

fn uuid(kind: &str, n: u64) -> String {
    format!("{kind}--00000000-0000-4000-8000-{n:012}")
}

/// A random incident by `member`, with random markings and granular redactions of its
/// analytics fields; `n` may repeat another member's id (a contested claim).
fn incident(rng: &mut Rng, n: u64, version: u64) -> Value {
    let choices: [&[&str]; 7] =
        [&[GREEN], &[AMBER], &[CLEAR], &[REL_IRQ], &[REL_LVNT], &[REL_SECRET], &[GREEN, REL_LVNT]];
    let markings = *rng.pick(&choices);
    let day = 20_000 + rng.below(400) as i64;
    let date = |d: i64| tandem_model::incident::Date::from_days(d).to_string();
    let (t, st) = *rng.pick(&TYPES);
    let best = rng.below(6);
    let mut ext = json!({
        "extension_type": "property-extension", "event_type": t, "sub_event_type": st,
        "time": {"start": date(day - rng.below(3) as i64), "end": date(day), "precision": "days"},
        "place": {"location_refs": [uuid("location", rng.below(30))], "precision": *rng.pick(&[json!(1), json!(2), json!(3), json!("admin")]), "admin1": *rng.pick(&ADMINS)},
        "actors": [{"actor_ref": uuid("intrusion-set", rng.below(5)), "role": "perpetrator"}],
        "fatalities": {"best": best, "low": best, "high": best + rng.below(3)},
    });
    if rng.below(4) == 0 {
        ext["arrested"] = json!({"best": 1 + rng.below(3)});
        ext["materiel"] = json!([{"item": "rifles", "action": "seized"}]);
    }
    let modified = format!("2025-01-01T00:00:{:02}.000Z", version);
    let mut o = json!({"type": "incident", "spec_version": "2.1", "id": uuid("incident", n),
        "created": "2025-01-01T00:00:00.000Z", "modified": modified, "name": format!("incident {n}"),
        "object_marking_refs": markings, "extensions": {INCIDENT_EXTENSION_ID: ext}});
    // Granular markings redact analytics fields for those they do not release to.
    let fields = ["fatalities", "event_type", "place.admin1", "time", "actors", "place.location_refs"];
    let mut granular = Vec::new();
    for f in fields {
        if rng.below(5) == 0 {
            let m = *rng.pick(&[REL_IRQ, REL_LVNT, REL_SECRET, AMBER]);
            granular.push(json!({"selectors": [format!("extensions.{INCIDENT_EXTENSION_ID}.{f}")], "marking_ref": m}));
        }
    }
    if !granular.is_empty() {
        o["granular_markings"] = json!(granular);
    }
    o
}

fn location(rng: &mut Rng, n: u64) -> Value {
    let choices: [&[&str]; 3] = [&[GREEN], &[AMBER], &[REL_IRQ]];
    let markings = *rng.pick(&choices);
    json!({"type": "location", "spec_version": "2.1", "id": uuid("location", n),
           "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
           "latitude": 33.0 + (rng.below(400) as f64) / 100.0, "longitude": 38.0 + (rng.below(500) as f64) / 100.0,
           "object_marking_refs": markings})
}

fn duplicate(rng: &mut Rng, n: u64, a: u64, b: u64) -> Value {
    let choices: [&[&str]; 3] = [&[GREEN], &[AMBER], &[REL_LVNT]];
    let markings = *rng.pick(&choices);
    let mut v = json!({"type": "relationship", "spec_version": "2.1", "id": uuid("relationship", n),
           "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
           "relationship_type": "duplicate-of", "source_ref": uuid("incident", a), "target_ref": uuid("incident", b),
           "object_marking_refs": markings});
    if rng.below(6) == 0 {
        v["revoked"] = json!(true);
    }
    v
}

fn put(store: &SqliteStore, member: &str, objects: Vec<Value>) {
    let incoming = objects
        .into_iter()
        .map(|o| Incoming::new(StixObject::from_map_unchecked(o.as_object().cloned().unwrap_or_default())))
        .collect();
    store.put(COLL, member, incoming).expect("put");
}

/// What `list` releases, read independently of the service: every type, pages of 7.
fn released(store: &SqliteStore, ctx: &ViewContext) -> Vec<Record> {
    let mut q = ObjectQuery { limit: 7, versions: VersionFilter::Last, ..Default::default() };
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

fn populate(store: &SqliteStore, seed: u64) {
    let mut rng = Rng(seed);
    for m in MEMBERS {
        // Each member defines the releasability markings in its own namespace; SYR (hostile)
        // defines REL_IRQ as releasable to itself, which must change nothing for USA's objects.
        let irq: &[&str] = if m == "SYR" { &["SYR", "USA", "IRQ", "JOR"] } else { &["IRQ"] };
        put(
            store,
            m,
            vec![
                rel(REL_IRQ, irq, None),
                rel(REL_LVNT, &["LVNT"], None),
                rel(REL_SECRET, &["USA", "IRQ", "JOR", "SYR"], Some("SECRET")),
            ],
        );
    }
    let mut n_rel = 0;
    for k in 0..240u64 {
        let member = *rng.pick(&MEMBERS);
        // The hostile member often reuses ids other members hold (contested claims).
        let n = if member == "SYR" && rng.below(2) == 0 { rng.below(240) } else { 1000 + k };
        let mut batch = vec![incident(&mut rng, n, 1)];
        if rng.below(5) == 0 {
            batch.push(incident(&mut rng, n, 2)); // a later version: only the latest counts
        }
        if rng.below(3) == 0 {
            n_rel += 1;
            let other = 1000 + rng.below(k + 1);
            batch.push(duplicate(&mut rng, n_rel, n, other));
        }
        put(store, member, batch);
    }
    for n in 0..30 {
        let member = *rng.pick(&MEMBERS);
        put(store, member, vec![location(&mut rng, n)]);
    }
    // Estimates beside the counts, under the same random markings.
    for n in 0..20 {
        let member = *rng.pick(&MEMBERS);
        let choices: [&[&str]; 4] = [&[GREEN], &[AMBER], &[REL_LVNT], &[REL_SECRET]];
        let markings = *rng.pick(&choices);
        let about = uuid("incident", 1000 + rng.below(240));
        put(
            store,
            member,
            vec![json!({"type": "note", "spec_version": "2.1", "id": uuid("note", n),
                "created": format!("2025-{:02}-10T00:00:00.000Z", 1 + rng.below(12)), "modified": "2025-12-01T00:00:00.000Z",
                "abstract": "estimate", "content": format!("about {} fighters", 100 * (1 + rng.below(30))),
                "confidence": rng.below(101), "object_refs": [about], "object_marking_refs": markings})],
        );
    }
}

/// Checks one viewer; returns how many incidents it sees, and how many of them redacted.
fn check(store: &SqliteStore, ctx: &ViewContext) -> (usize, usize) {
    let service_ds = service::load(store, ctx, COLL).expect("service");
    let records = released(store, ctx);
    let oracle = Dataset::from_objects(records.iter().map(|r| (r.originator.as_str(), &r.object)));
    let who = format!("{} at {:?}", ctx.viewer.member, ctx.viewer.clearance);
    assert_eq!(service_ds.incidents, oracle.incidents, "{who}");
    assert_eq!(service_ds.duplicates, oracle.duplicates, "{who}");
    assert_eq!(service_ds.estimates, oracle.estimates, "{who}");
    let notes: HashSet<&str> = records.iter().filter(|r| r.object_type == "note").map(|r| r.id.as_str()).collect();
    assert!(service_ds.estimates.iter().all(|e| notes.contains(e.id.as_str())), "{who}");
    // Nothing but what the viewer received: every incident id is one of its records, and a
    // withheld property is missing, never a value.
    let visible: HashSet<&str> =
        records.iter().filter(|r| r.object_type == "incident").map(|r| r.id.as_str()).collect();
    for i in &service_ds.incidents {
        assert!(visible.contains(i.id.as_str()), "{who}: {} not released", i.id);
        let r = records.iter().find(|r| r.id == i.id).expect("record");
        let ext = &r.object["extensions"][INCIDENT_EXTENSION_ID];
        assert_eq!(i.fatalities.best, ext["fatalities"]["best"].as_u64().unwrap_or(0), "{who}");
        assert_eq!(i.event_type.as_deref(), ext["event_type"].as_str(), "{who}");
        assert_eq!(i.admin1.as_deref(), ext["place"]["admin1"].as_str(), "{who}");
    }
    for by in [By::Admin1, By::EventType, By::SubEventType, By::Cell, By::Member] {
        for interval in [Interval::Week, Interval::Month] {
            let q = TrendQuery { by, interval, from: None, to: None, admin1: None };
            assert_eq!(trends::trends(&service_ds, &q), trends::trends(&oracle, &q), "{who}");
        }
    }
    let sq = spikes::SpikeQuery { from: Some(20_000), to: Some(20_400), flagged_only: false };
    assert_eq!(spikes::spikes(&service_ds, &sq), spikes::spikes(&oracle, &sq), "{who}");
    let hq = hotspots::HotspotQuery::default();
    assert_eq!(hotspots::hotspots(&service_ds, &hq), hotspots::hotspots(&oracle, &hq), "{who}");
    let sq = tandem_analytics::scan::ScanQuery { replicates: 9, ..Default::default() };
    assert_eq!(
        tandem_analytics::scan::space_time_scan(&service_ds, &sq),
        tandem_analytics::scan::space_time_scan(&oracle, &sq),
        "{who}"
    );
    let cands = correlate::candidates(&service_ds);
    assert_eq!(cands, correlate::candidates(&oracle), "{who}");
    for c in &cands {
        assert!(visible.contains(c.a.as_str()) && visible.contains(c.b.as_str()), "{who}");
    }
    for cell in 0..5 {
        let cell = uuid("intrusion-set", cell);
        let t = tracks::track(&service_ds, &cell);
        assert_eq!(t, tracks::track(&oracle, &cell), "{who}");
        for s in t.iter().flat_map(|t| &t.steps) {
            assert!(visible.contains(s.incident.as_str()), "{who}");
        }
    }
    // The node core's aggregate path counts the same incidents per governorate (before merging).
    let agg = store
        .aggregate(
            ctx,
            COLL,
            &AggregateQuery {
                types: vec!["incident".into()],
                group_by: vec![PropertyPath::parse(&format!("extensions.{INCIDENT_EXTENSION_ID}.place.admin1"))],
                ..Default::default()
            },
        )
        .expect("aggregate");
    let mut ours: BTreeMap<Option<String>, u64> = BTreeMap::new();
    for i in &service_ds.incidents {
        *ours.entry(i.admin1.clone()).or_default() += 1;
    }
    let theirs: BTreeMap<Option<String>, u64> = agg
        .into_iter()
        .map(|(k, c)| {
            let key = match &k.0[0] {
                KeyPart::Str(s) => Some(s.clone()),
                _ => None,
            };
            (key, c.objects)
        })
        .collect();
    assert_eq!(ours, theirs, "{who}");
    let redacted = records.iter().filter(|r| r.redacted && r.object_type == "incident").count();
    (service_ds.incidents.len(), redacted)
}

#[test]
fn every_result_equals_the_computation_over_what_list_releases() {
    for seed in [1u64, 2, 3] {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("store");
        populate(&store, seed);
        let roster = Arc::new(roster());
        let mut seen = BTreeMap::new();
        for member in MEMBERS {
            for clearance in [Classification::Unclassified, Classification::Secret] {
                let ctx =
                    ViewContext { viewer: Viewer { member: member.into(), clearance }, roster: Arc::clone(&roster) };
                seen.insert((member, format!("{clearance:?}")), check(&store, &ctx));
            }
        }
        println!("seed {seed}: (incidents, of them redacted) per viewer {seen:?}");
        // The viewers really see different things (the test would pass vacuously otherwise).
        let counts: HashSet<usize> = seen.values().map(|s| s.0).collect();
        assert!(counts.len() >= 3, "{seen:?}");
        assert!(seen.values().all(|s| s.0 > 0), "{seen:?}");
        assert!(seen.values().map(|s| s.1).sum::<usize>() > 50, "redactions are exercised: {seen:?}");
    }
}
