//! Zone matching on real gazetteer coordinates, one table per kind of zone; the index agrees
//! with a scan over every zone.

use tandem_geo::Gazetteer;
use tandem_model::incident::GeoPrecision::{self, *};

use super::geometry::haversine_km;
use super::*;

/// (lat, lon, admin1) of a gazetteer place by GeoNames id.
fn at(geonames_id: u64) -> (f64, f64, String) {
    let p = Gazetteer::embedded().place(geonames_id).expect("gazetteer place");
    (p.lat, p.lon, p.admin1.clone())
}

const TADMUR: u64 = 163808;
const DEIR_EZ_ZOR: u64 = 170794;
const MAYADIN: u64 = 173480;
const RAQQA: u64 = 172955;
const MOSUL: u64 = 99072;
const HASAKAH: u64 = 173811;
const DAMASCUS: u64 = 170654;
const HOMS: u64 = 169577;

fn place(id: u64, precision: GeoPrecision) -> IncidentPlace {
    let (lat, lon, admin1) = at(id);
    let point = (precision != Admin).then_some((lat, lon));
    IncidentPlace { point, precision, admin1 }
}

fn spec(f: impl FnOnce(&mut ZoneSpec)) -> Geometry {
    let mut s = ZoneSpec { name: "z".into(), ..ZoneSpec::default() };
    f(&mut s);
    s.resolve().expect("valid spec").0
}

fn check(zone: &Geometry, table: &[(u64, GeoPrecision, Match)]) {
    for (id, precision, want) in table {
        let p = place(*id, *precision);
        assert_eq!(zone.matches(&p, &governorate_box), *want, "{id} {precision:?} in {zone:?}");
    }
}

#[test]
fn haversine_on_known_distances() {
    let (d, _, _) = at(DAMASCUS);
    let (h, _, _) = at(HOMS);
    let km = haversine_km((d, at(DAMASCUS).1), (h, at(HOMS).1));
    assert!((130.0..150.0).contains(&km), "Damascus-Homs {km}");
    let km = haversine_km((at(DEIR_EZ_ZOR).0, at(DEIR_EZ_ZOR).1), (at(MAYADIN).0, at(MAYADIN).1));
    assert!((38.0..50.0).contains(&km), "Deir ez-Zor-Mayadin {km}");
}

#[test]
fn radius_around_a_place() {
    // 60 km around Deir ez-Zor: Mayadin (~44 km) inside, Raqqa (~125 km) outside.
    let z = spec(|s| {
        s.place = Some("Deir ez-Zor".into());
        s.radius_km = Some(60.0);
    });
    check(
        &z,
        &[
            (DEIR_EZ_ZOR, Town, Match::Inside),
            (MAYADIN, Town, Match::Inside),
            (MAYADIN, NearTown, Match::MayBeInside),
            (RAQQA, Town, Match::Outside),
            (RAQQA, NearTown, Match::Outside),
            (MOSUL, Region, Match::Outside),
            // Known only to Deir ez-Zor governorate: possibly inside.
            (MAYADIN, Admin, Match::MayBeInside),
            (DAMASCUS, Admin, Match::Outside),
        ],
    );
    // 40 km: Mayadin just outside exactly, but a near-town report of it may be inside.
    let z = spec(|s| {
        s.point = Some([at(DEIR_EZ_ZOR).0, at(DEIR_EZ_ZOR).1]);
        s.radius_km = Some(40.0);
    });
    check(&z, &[(MAYADIN, Town, Match::Outside), (MAYADIN, NearTown, Match::MayBeInside)]);
}

#[test]
fn drawn_polygon() {
    // A box around the Deir ez-Zor - Mayadin stretch of the Euphrates.
    let geometry = serde_json::json!({"type": "Polygon", "coordinates": [[[39.9, 35.5], [40.6, 35.5], [40.6, 34.9], [39.9, 34.9], [39.9, 35.5]]]});
    let z = spec(|s| s.geometry = Some(geometry));
    check(
        &z,
        &[
            (DEIR_EZ_ZOR, Town, Match::Inside),
            (MAYADIN, Town, Match::Inside),
            (MAYADIN, Region, Match::MayBeInside),
            (RAQQA, Town, Match::Outside),
            (HASAKAH, NearTown, Match::Outside),
            (DEIR_EZ_ZOR, Admin, Match::MayBeInside),
            (MOSUL, Admin, Match::Outside),
        ],
    );
}

#[test]
fn governorate_and_named_area() {
    let z = spec(|s| s.governorate = Some("sy-dy".into()));
    check(&z, &[(MAYADIN, Town, Match::Inside), (MAYADIN, Admin, Match::Inside), (RAQQA, Town, Match::Outside)]);
    let badia = spec(|s| s.area = Some("Palmyra Desert (Badia)".into()));
    assert!(matches!(&badia, Geometry::Area { id, .. } if id == "badia"));
    check(
        &badia,
        &[
            (TADMUR, Town, Match::Inside),
            (TADMUR, Admin, Match::MayBeInside),
            (MOSUL, Town, Match::Outside),
            (MOSUL, Admin, Match::Outside),
            (DAMASCUS, Town, Match::Outside),
        ],
    );
}

#[test]
fn bad_specs_say_why() {
    for (what, f) in [
        ("none", Box::new(|_: &mut ZoneSpec| {}) as Box<dyn Fn(&mut ZoneSpec)>),
        (
            "two",
            Box::new(|s: &mut ZoneSpec| {
                s.governorate = Some("SY-DY".into());
                s.area = Some("badia".into());
            }),
        ),
        ("no radius", Box::new(|s: &mut ZoneSpec| s.point = Some([35.0, 40.0]))),
        (
            "bad point",
            Box::new(|s: &mut ZoneSpec| {
                s.point = Some([135.0, 40.0]);
                s.radius_km = Some(5.0);
            }),
        ),
        (
            "unknown place",
            Box::new(|s: &mut ZoneSpec| {
                s.place = Some("Atlantis".into());
                s.radius_km = Some(5.0);
            }),
        ),
        ("unknown governorate", Box::new(|s: &mut ZoneSpec| s.governorate = Some("SY-XX".into()))),
        (
            "not a polygon",
            Box::new(|s: &mut ZoneSpec| {
                s.geometry = Some(serde_json::json!({"type": "Point", "coordinates": [40, 35]}))
            }),
        ),
    ] {
        let mut s = ZoneSpec { name: "z".into(), ..ZoneSpec::default() };
        f(&mut s);
        assert!(s.resolve().is_err(), "{what}");
    }
}

#[test]
fn the_index_agrees_with_a_scan() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let g = Gazetteer::embedded();
    let places = g.places();
    let mut zones = Vec::new();
    for i in 0..2000 {
        let p = &places[rng.gen_range(0..places.len())];
        zones.push(match i % 5 {
            0 => Geometry::Governorate { iso: p.admin1.clone() },
            1 => {
                let d = rng.gen_range(0.05..1.0);
                Geometry::Polygon { ring: vec![[p.lon - d, p.lat - d], [p.lon + d, p.lat - d], [p.lon, p.lat + d]] }
            }
            2 => {
                let a = &g.areas()[i % g.areas().len()];
                Geometry::Area { id: a.id.clone(), ring: a.polygon.clone(), admin1: a.admin1.clone() }
            }
            _ => Geometry::Radius { lat: p.lat, lon: p.lon, radius_km: rng.gen_range(1.0..80.0) },
        });
    }
    let ix = ZoneIndex::build(zones.clone());
    for _ in 0..500 {
        let p = &places[rng.gen_range(0..places.len())];
        let precision = [Town, NearTown, Region, Admin][rng.gen_range(0..4)];
        let place = IncidentPlace {
            point: (precision != Admin).then_some((p.lat, p.lon)),
            precision,
            admin1: p.admin1.clone(),
        };
        let scan: Vec<(usize, Match)> = zones
            .iter()
            .enumerate()
            .filter_map(|(i, z)| match z.matches(&place, &governorate_box) {
                Match::Outside => None,
                m => Some((i, m)),
            })
            .collect();
        assert_eq!(ix.matches(&place, &governorate_box), scan, "{place:?}");
    }
}
