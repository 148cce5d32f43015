//! Live-side figures (`bench/live.sh`): alert-evaluation cost per incident at 100 to 100,000
//! zones (grid index, and a scan for comparison), and write-to-alert latency with N stream
//! clients connected in-process (the app's router driven without sockets; the write goes
//! through the ingest pipeline a TAXII POST uses). Figures only: nothing here asserts a time.
//!
//! `cargo run -p tandem-live --example live_bench -- [CLIENTS] [ZONES] [INCIDENTS] [--same-owner] [--latency-only]`

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use http_body_util::BodyExt;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tandem_geo::Gazetteer;
use tandem_live::zones::{self, Geometry, IncidentPlace, Match, Zone, ZoneFilters};
use tandem_model::incident::GeoPrecision;
use tandem_policy::{Classification, Member, MemberStatus, Roster};
use tandem_store::{SqliteStore, Store};
use tandem_taxii::auth::{Account, hash_secret};
use tandem_taxii::{AppState, CollectionConfig, NoHooks, TaxiiConfig, UserDirectory, WriteHooks};
use tower::ServiceExt;

const COLL: &str = "365fed99-08fa-4fdc-a1b3-fb247eb41d01";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";

fn random_geometry(rng: &mut impl Rng, i: usize) -> Geometry {
    let g = Gazetteer::embedded();
    let p = &g.places()[rng.gen_range(0..g.places().len())];
    // Mostly small drawn zones and radii (a town, a district: 1 to 5 km), a governorate zone
    // now and then.
    match i % 10 {
        0 if i.is_multiple_of(1000) => Geometry::Governorate { iso: p.admin1.clone() },
        1..=3 => {
            let d = rng.gen_range(0.01..0.05);
            Geometry::Polygon {
                ring: vec![
                    [p.lon - d, p.lat - d],
                    [p.lon + d, p.lat - d],
                    [p.lon + d, p.lat + d],
                    [p.lon - d, p.lat + d],
                ],
            }
        }
        _ => Geometry::Radius { lat: p.lat, lon: p.lon, radius_km: rng.gen_range(1.0..5.0) },
    }
}

fn random_place(rng: &mut impl Rng) -> IncidentPlace {
    let g = Gazetteer::embedded();
    let p = &g.places()[rng.gen_range(0..g.places().len())];
    let precision =
        [GeoPrecision::Town, GeoPrecision::Town, GeoPrecision::NearTown, GeoPrecision::Region, GeoPrecision::Admin]
            [rng.gen_range(0..5)];
    IncidentPlace {
        point: (precision != GeoPrecision::Admin).then_some((p.lat, p.lon)),
        precision,
        admin1: p.admin1.clone(),
    }
}

fn evaluation_cost() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mixed: Vec<IncidentPlace> = (0..2000).map(|_| random_place(&mut rng)).collect();
    let towns: Vec<IncidentPlace> = mixed.iter().filter(|p| p.precision == GeoPrecision::Town).cloned().collect();
    for (what, places) in [("town-precision incidents", towns), ("all precisions (a fifth governorate-only)", mixed)] {
        println!("alert evaluation per incident, {what} ({}), index vs scan", places.len());
        evaluation_cost_of(&mut rng, &places);
    }
}

fn evaluation_cost_of(rng: &mut impl Rng, places: &[IncidentPlace]) {
    for n in [100usize, 1_000, 10_000, 100_000] {
        let geoms: Vec<Geometry> = (0..n).map(|i| random_geometry(rng, i)).collect();
        let ix = zones::ZoneIndex::build(geoms.clone());
        let t = Instant::now();
        let mut hits = 0;
        for p in places {
            hits += ix.matches(p, &zones::governorate_box).len();
        }
        let per_index = t.elapsed().as_secs_f64() * 1e6 / places.len() as f64;
        let sample = &places[..200];
        let t = Instant::now();
        let mut scan_hits = 0;
        for p in sample {
            scan_hits += geoms.iter().filter(|g| g.matches(p, &zones::governorate_box) != Match::Outside).count();
        }
        let per_scan = t.elapsed().as_secs_f64() * 1e6 / sample.len() as f64;
        println!(
            "  {n:>7} zones: index {per_index:>9.1} us/incident ({:.1} matches avg)   scan {per_scan:>10.1} us/incident ({:.1})",
            hits as f64 / places.len() as f64,
            scan_hits as f64 / sample.len() as f64
        );
    }
}

fn incident(i: usize, admin1: &str) -> Value {
    use tandem_model::incident::*;
    let ext = IncidentExt::new(
        "Battles",
        "Armed clash",
        TimeWindow::day(Date::parse("2025-06-22").unwrap()),
        Place::admin(admin1),
    );
    let mut obj = json!({"type": "incident", "spec_version": "2.1", "id": deterministic_id("incident", &format!("bench-{i}")),
        "created": "2025-06-22T12:00:00.000Z", "modified": "2025-06-22T12:00:00.000Z", "name": format!("bench {i}"),
        "object_marking_refs": [GREEN]});
    ext.attach(&mut obj);
    obj
}

async fn latency(clients: usize, n_zones: usize, incidents: usize, same_owner: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let (hooks, feed) = tandem_live::FeedHooks::new(Arc::clone(&store), Arc::new(NoHooks));
    let hooks: Arc<dyn WriteHooks> = Arc::new(hooks);
    let reader = Account {
        name: "reader".into(),
        member: "USA".into(),
        password_hash: hash_secret("bench"),
        clearance: Classification::Secret,
        roles: vec![],
        read_only: false,
    };
    let account = Account {
        name: "watcher".into(),
        member: "USA".into(),
        password_hash: hash_secret("bench"),
        clearance: Classification::Secret,
        roles: vec![],
        read_only: false,
    };
    let roster = Roster::new(
        [Member {
            code: "USA".into(),
            name: "USA".into(),
            joined: None,
            status: MemberStatus::Active,
            public_key: None,
        }],
        [],
    );
    let config = TaxiiConfig {
        collections: vec![CollectionConfig {
            id: COLL.into(),
            alias: None,
            title: "intel".into(),
            description: None,
            can_read: true,
            can_write: true,
        }],
        ..TaxiiConfig::default()
    };
    let state = AppState {
        store: Arc::clone(&store),
        auth: Arc::new(UserDirectory::new([account, reader], [])),
        config: Arc::new(config),
        roster: Arc::new(RwLock::new(Arc::new(roster))),
        hooks,
        audit: Arc::new(tandem_taxii::NoAudit),
        signer: None,
    };
    // The watcher's zones: one on Deir ez-Zor governorate (the incidents' place), the rest random.
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    for i in 0..n_zones {
        let geometry =
            if i == 0 { Geometry::Governorate { iso: "SY-DY".into() } } else { random_geometry(&mut rng, i) };
        let z = Zone {
            format: 1,
            id: format!("zone--bench-{i}"),
            name: format!("z{i}"),
            owner: "watcher".into(),
            member: "USA".into(),
            clearance: Classification::Secret,
            geometry,
            place: None,
            filters: ZoneFilters::default(),
            created: tandem_model::Timestamp::now(),
            webhook: None,
            near_repeat: None,
        };
        zones::create(&*store, &z).unwrap();
    }
    let secrets = std::sync::Arc::new(tandem_store::sealed::SealKey::load_or_create(dir.path()).unwrap());
    let app = tandem_live::router(state.clone(), feed, tandem_live::LiveConfig::default(), secrets);
    // The timed client is the zones' owner; the others read the same stream as another user
    // (each connection evaluates its own user's zones only).
    let basic = |u: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:bench")));
    let mut bodies = Vec::new();
    for c in 0..clients {
        let auth = basic(if c == 0 || same_owner { "watcher" } else { "reader" });
        let req = Request::get("/api/tandem/stream/").header("authorization", &auth).body(Body::empty()).unwrap();
        bodies.push(app.clone().oneshot(req).await.unwrap().into_body());
    }
    // Every client but the first is drained in the background; the first is timed.
    let mut timed = bodies.remove(0);
    for mut b in bodies {
        tokio::spawn(async move { while let Some(Ok(_)) = b.frame().await {} });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lat = Vec::new();
    let mut buf = String::new();
    for i in 0..incidents {
        let obj = incident(i, "SY-DY");
        let t0 = Instant::now();
        let ingest = state.ingest();
        tokio::task::spawn_blocking(move || ingest.submit(COLL, "USA", vec![obj])).await.unwrap().unwrap();
        let want =
            format!("\"incident\":\"{}\"", tandem_model::incident::deterministic_id("incident", &format!("bench-{i}")));
        loop {
            if let Some(pos) = buf.find("\n\n") {
                let block: String = buf.drain(..pos + 2).collect();
                if block.contains("event: alert") && block.contains(&want) {
                    lat.push(t0.elapsed());
                    break;
                }
                continue;
            }
            match tokio::time::timeout(Duration::from_secs(60), timed.frame()).await {
                Ok(Some(Ok(f))) => {
                    if let Ok(d) = f.into_data() {
                        buf.push_str(&String::from_utf8_lossy(&d));
                    }
                }
                _ => panic!("no alert within 60 s"),
            }
        }
    }
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "write-to-alert latency, {clients} stream clients ({}), {n_zones} zones, {incidents} incidents: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        if same_owner { "all the zones' owner" } else { "one the zones' owner, the others another user" },
        ms(lat[lat.len() / 2]),
        ms(lat[(lat.len() * 99 / 100).min(lat.len() - 1)]),
        ms(lat[lat.len() - 1])
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let clients = args.first().copied().unwrap_or(1000);
    let n_zones = args.get(1).copied().unwrap_or(10_000);
    let incidents = args.get(2).copied().unwrap_or(200);
    let same_owner = std::env::args().any(|a| a == "--same-owner");
    if !std::env::args().any(|a| a == "--latency-only") {
        evaluation_cost();
    }
    latency(clients, n_zones, incidents, same_owner).await;
}
