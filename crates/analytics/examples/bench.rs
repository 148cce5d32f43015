//! Timing of trends, spikes, hot spots and correlation over synthetic incidents (not a test:
//! nothing asserts a speed). `bench/analytics.sh` runs it in release.
//!
//! `--pure N,N,...`: the pure computations over N incidents already in memory (the 2014-2025
//! activity pattern of `tandem-demo`, points at gazetteer places); `--store N`: N synthetic demo
//! incidents stored in SQLite and read back through `Store::list` as one viewer, to see what
//! reading costs beside computing.

use std::time::Instant;

use tandem_analytics::calendar::Interval;
use tandem_analytics::correlate::Index;
use tandem_analytics::dataset::{Fatalities, Precision};
use tandem_analytics::hotspots::{HotspotQuery, hotspots};
use tandem_analytics::spikes::{SpikeQuery, spikes};
use tandem_analytics::trends::{By, TrendQuery, trends};
use tandem_analytics::{Dataset, Incident, service};
use tandem_model::incident::Date;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const TYPES: [(&str, &str); 6] = [
    ("Battles", "Armed clash"),
    ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
    ("Explosions/Remote violence", "Air/drone strike"),
    ("Violence against civilians", "Attack"),
    ("Strategic developments", "Arrests"),
    ("Strategic developments", "Disrupted weapons use"),
];
const MEMBERS: [&str; 8] = ["USA", "IRQ", "SYR", "GBR", "FRA", "AUS", "JOR", "TUR"];

fn synthetic(n: usize, seed: u64) -> Vec<Incident> {
    let mut rng = Rng(seed);
    let places: Vec<_> = tandem_geo::Gazetteer::embedded().places().iter().filter(|p| p.population > 2000).collect();
    let first = Date { year: 2014, month: 1, day: 1 }.days();
    let span = Date { year: 2025, month: 11, day: 30 }.days() - first;
    (0..n)
        .map(|k| {
            let p = places[rng.below(places.len())];
            // More events early (2014-2017), as the demo's history, and a steady insurgency after.
            let u = rng.f();
            let shape = if rng.f() < 0.3 { u } else { 1.0 - (1.0 - u).sqrt() };
            let day = first + (shape * span as f64) as i64;
            let len = [0, 0, 0, 0, 0, 2, 6, 29][rng.below(8)];
            let precision = [
                Precision::Town,
                Precision::Town,
                Precision::Town,
                Precision::NearTown,
                Precision::Region,
                Precision::Admin,
            ][rng.below(6)];
            let (t, st) = TYPES[rng.below(TYPES.len())];
            let best = rng.below(5) as u64;
            let cell = format!("intrusion-set--{:036}", rng.below(n / 50 + 1));
            Incident {
                id: format!("incident--{k:036}"),
                member: MEMBERS[rng.below(MEMBERS.len())].to_string(),
                event_type: Some(t.into()),
                sub_event_type: Some(st.into()),
                start: Some(day - len),
                end: Some(day),
                admin1: Some(p.admin1.clone()),
                precision: Some(precision),
                point: (precision != Precision::Admin).then_some((p.lat, p.lon)),
                locations: vec![format!("location--{:036}", p.id)],
                cells: vec![cell.clone()],
                actors: vec![cell],
                fatalities: Fatalities { best, low: best, high: best + 1 },
                arrests: u64::from(st == "Arrests"),
                seizures: 0,
                sources: vec![],
                materiel: vec![],
            }
        })
        .collect()
}

fn time<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    let s = t.elapsed().as_secs_f64();
    println!("  {label:<52} {:>9.1} ms{}", s * 1000.0, if s >= 1.0 { "   (over 1 s)" } else { "" });
    out
}

fn pure(n: usize) {
    println!("{n} incidents in memory:");
    let ds = Dataset { incidents: synthetic(n, 12), duplicates: vec![], ..Default::default() };
    let d = |s: &str| Date::parse(s).map(|d| d.days());
    let year = (d("2024-12-01"), d("2025-11-30"));
    time("trends by admin1, month, all years", || {
        trends(&ds, &TrendQuery { by: By::Admin1, interval: Interval::Month, from: None, to: None, admin1: None })
    });
    time("trends by cell, week, all years", || {
        trends(&ds, &TrendQuery { by: By::Cell, interval: Interval::Week, from: None, to: None, admin1: None })
    });
    time("trends one governorate (SY-DY), one year, week", || {
        trends(
            &ds,
            &TrendQuery {
                by: By::SubEventType,
                interval: Interval::Week,
                from: year.0,
                to: year.1,
                admin1: Some("SY-DY".into()),
            },
        )
    });
    let s = time("spikes, every governorate, the last 52 weeks", || {
        spikes(&ds, &SpikeQuery { from: year.0, to: year.1, flagged_only: false })
    });
    println!("    ({} governorate-weeks, {} flagged)", s.len(), s.iter().filter(|w| w.any_flag()).count());
    let h = time("hot spots (Gi*, H3 res 5, FDR), the last year", || {
        hotspots(&ds, &HotspotQuery { from: year.0, to: year.1, ..Default::default() })
    });
    if let Ok(h) = h {
        println!("    ({} cells, {} significant, {} incidents)", h.cells, h.significant.len(), h.incidents);
    }
    let _ = time("hot spots (Gi*, H3 res 5, FDR), all years", || hotspots(&ds, &HotspotQuery::default()));
    let s = time("space-time permutation scan (res 4, 99 replicates), last year", || {
        tandem_analytics::scan::space_time_scan(
            &ds,
            &tandem_analytics::scan::ScanQuery { from: year.0, to: year.1, ..Default::default() },
        )
    });
    if let Ok(s) = s {
        println!(
            "    ({} cases, {} cells, {} weeks; top p {:?})",
            s.cases,
            s.cells,
            s.weeks,
            s.clusters.first().map(|c| c.p)
        );
    }
    // Correlation: the cost of one more incident once the index holds n.
    let mut index = Index::default();
    let t = Instant::now();
    let mut pairs = 0;
    for i in ds.incidents {
        pairs += index.insert(i).len();
    }
    let build = t.elapsed().as_secs_f64();
    let extra = synthetic(10_000, 99);
    let t = Instant::now();
    for i in extra {
        pairs += index.insert(i).len();
    }
    let per = t.elapsed().as_secs_f64() / 10_000.0;
    println!(
        "  correlation index: built in {:.1} s ({:.1} µs/incident), then {:.1} µs per new incident at {n}; {pairs} candidates",
        build,
        build * 1e6 / n as f64,
        per * 1e6
    );
}

fn stored(n: usize) -> anyhow_free::Result {
    use tandem_store::{Incoming, ObjectStore, SqliteStore, ViewContext};
    println!("{n} demo incidents stored in SQLite, read back through Store::list:");
    let dir = std::env::temp_dir().join(format!("tandem-analytics-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let store = SqliteStore::open(&dir).map_err(|e| e.to_string())?;
    let data = tandem_demo::demo_dataset(2014, n);
    let t = Instant::now();
    let mut stored = 0;
    let mut by: std::collections::BTreeMap<String, Vec<Incoming>> = Default::default();
    for o in data {
        if let Some(map) = o.object.as_object() {
            by.entry(o.originator.to_string())
                .or_default()
                .push(Incoming::new(tandem_model::StixObject::from_map_unchecked(map.clone())));
        }
    }
    for (member, objects) in by {
        let mut objects = objects;
        while !objects.is_empty() {
            let rest = objects.split_off(objects.len().min(1000));
            stored += objects.len();
            store.put(service_collection(), &member, objects).map_err(|e| e.to_string())?;
            objects = rest;
        }
    }
    println!("  stored {stored} objects in {:.1} s (setup, not measured further)", t.elapsed().as_secs_f64());
    let roster = std::sync::Arc::new(tandem_policy::Roster::new(
        tandem_demo::members::coalition_members().into_iter().map(|m| tandem_policy::Member {
            code: m.code.to_string(),
            name: m.name.to_string(),
            joined: None,
            status: tandem_policy::MemberStatus::Active,
            public_key: None,
        }),
        tandem_demo::coalition_groups().into_iter().map(|g| tandem_policy::Group {
            code: g.code.to_string(),
            name: g.name.to_string(),
            members: g.members.iter().map(|m| m.to_string()).collect(),
        }),
    ));
    let ctx = ViewContext {
        viewer: tandem_policy::Viewer { member: "USA".into(), clearance: tandem_policy::Classification::Secret },
        roster,
    };
    let records = time("Store::list of incidents, locations, relationships", || {
        service::viewer_records(&store, &ctx, service_collection())
    })
    .map_err(|e| e.to_string())?;
    let ds = time("building the dataset from the copies", || service::dataset_of(&records));
    println!("    ({} records, {} incidents visible to USA)", records.len(), ds.incidents.len());
    time("trends by admin1, month", || {
        trends(&ds, &TrendQuery { by: By::Admin1, interval: Interval::Month, from: None, to: None, admin1: None })
    });
    let agg = time("ObjectStore::aggregate (count by type), for comparison", || {
        store.aggregate(
            &ctx,
            service_collection(),
            &tandem_store::AggregateQuery {
                group_by: vec![tandem_store::PropertyPath::parse("type")],
                ..Default::default()
            },
        )
    });
    drop(agg);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn service_collection() -> &'static str {
    "9a6d6f62-4b9e-4a8e-8a0a-1c3c4f6e2b10"
}

mod anyhow_free {
    pub type Result = std::result::Result<(), String>;
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let list = |flag: &str, default: &str| -> Vec<usize> {
        let v = args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).map_or(default, String::as_str);
        v.split(',').filter(|s| !s.is_empty()).filter_map(|s| s.replace('_', "").parse().ok()).collect()
    };
    for n in list("--pure", "10000,100000,1000000") {
        pure(n);
    }
    for n in list("--store", "100000") {
        if let Err(e) = stored(n) {
            eprintln!("store benchmark failed: {e}");
        }
    }
}
