//! `GET /ui/data/governorates.json` and `GET /ui/data/places.json`: the map's governorates and
//! labels, from the offline gazetteer (`tandem_geo`, GeoNames, CC BY 4.0).
//!
//! No package ships governorate polygons under a free licence, so they are derived: the convex
//! hull of each governorate's gazetteer places, each place first widened to a small circle
//! ([`BUFFER_KM`]) so that the hull has some body, or a circle around the governorate's centre
//! when it has fewer than three places, then clipped to the country outline (Natural Earth
//! 1:50m via world-atlas, the same `assets/data/countries.json` the map draws): the country's
//! ring clipped by the convex hull ([`crate::clip`]) is exactly country ∩ hull, so no outline
//! reaches over a border into the sea or a neighbour. They are **approximate** (every feature
//! says so): hulls of neighbouring governorates still overlap a little, and a governorate's
//! outline stays inside the convex span of its own places. Computed once per process (pure, over
//! the embedded gazetteer and the embedded outlines).

use std::sync::OnceLock;

use axum::response::Response;
use serde_json::{Value, json};
use tandem_geo::Gazetteer;
use tandem_taxii::TaxiiError;
use tandem_taxii::auth::ActiveCaller;

use axum::http::HeaderMap;

use crate::json_gz;

/// How far a governorate's outline reaches beyond its outermost places.
pub const BUFFER_KM: f64 = 15.0;
/// The radius of a governorate known by fewer than three places.
const SMALL_KM: f64 = 25.0;
const KM_PER_DEG_LAT: f64 = 111.32;

/// `(lon, lat)` points around `(lat, lon)` at `km`, every 30 degrees.
fn circle(lat: f64, lon: f64, km: f64) -> impl Iterator<Item = (f64, f64)> {
    let per_lon = KM_PER_DEG_LAT * lat.to_radians().cos().max(0.1);
    (0..12).map(move |i| {
        let a = (i as f64 * 30.0).to_radians();
        (lon + km * a.cos() / per_lon, lat + km * a.sin() / KM_PER_DEG_LAT)
    })
}

/// The convex hull of `(x, y)` points, counter-clockwise, not closed (Andrew's monotone chain).
pub fn convex_hull(mut pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let mut lower: Vec<(f64, f64)> = Vec::new();
    for &p in &pts {
        while lower.len() >= 2 && cross(lower[lower.len() - 2], lower[lower.len() - 1], p) <= 0.0 {
            lower.pop();
        }
        lower.push(p);
    }
    let mut upper: Vec<(f64, f64)> = Vec::new();
    for &p in pts.iter().rev() {
        while upper.len() >= 2 && cross(upper[upper.len() - 2], upper[upper.len() - 1], p) <= 0.0 {
            upper.pop();
        }
        upper.push(p);
    }
    lower.pop();
    upper.pop();
    lower.extend(upper);
    lower
}

/// The area of a `(lon, lat)` ring in km² (equirectangular around its mean latitude: small
/// areas, approximate anyway).
fn area_km2(ring: &[(f64, f64)]) -> f64 {
    if ring.len() < 3 {
        return 0.0;
    }
    let lat0 = ring.iter().map(|p| p.1).sum::<f64>() / ring.len() as f64;
    let kx = KM_PER_DEG_LAT * lat0.to_radians().cos();
    let twice: f64 = (0..ring.len())
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
            (a.0 * kx) * (b.1 * KM_PER_DEG_LAT) - (b.0 * kx) * (a.1 * KM_PER_DEG_LAT)
        })
        .sum();
    twice.abs() / 2.0
}

struct Outline {
    iso: String,
    /// The buffered convex hull of its places, counter-clockwise (kept for the tests, which
    /// compare the clipped outline with it).
    #[cfg_attr(not(test), allow(dead_code))]
    hull: Vec<(f64, f64)>,
    /// The hull clipped to the country outline; the hull itself when the country has no
    /// outline in the data (then the feature says it is not clipped).
    ring: Vec<(f64, f64)>,
    clipped: bool,
    radius_km: f64,
}

/// The outer ring of each country's polygons in `assets/data/countries.json` (holes are none in
/// this region's data), by ISO 3166-1 alpha-2 code.
type Rings = Vec<Vec<(f64, f64)>>;

fn countries() -> &'static std::collections::HashMap<String, Rings> {
    static COUNTRIES: OnceLock<std::collections::HashMap<String, Rings>> = OnceLock::new();
    COUNTRIES.get_or_init(|| {
        let fc: Value = serde_json::from_str(include_str!("../assets/data/countries.json")).unwrap_or(Value::Null);
        let ring = |r: &Value| -> Vec<(f64, f64)> {
            let mut pts: Vec<(f64, f64)> = r
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                .collect();
            if pts.len() > 1 && pts.first() == pts.last() {
                pts.pop();
            }
            pts
        };
        let mut out = std::collections::HashMap::new();
        for f in fc.get("features").and_then(Value::as_array).into_iter().flatten() {
            let (Some(code), Some(g)) = (f.get("id").and_then(Value::as_str), f.get("geometry")) else { continue };
            let coords = g.get("coordinates").cloned().unwrap_or(Value::Null);
            let polygons: Vec<Value> = match g.get("type").and_then(Value::as_str) {
                Some("Polygon") => vec![coords],
                Some("MultiPolygon") => coords.as_array().cloned().unwrap_or_default(),
                _ => Vec::new(),
            };
            let rings: Rings = polygons.iter().filter_map(|p| p.get(0)).map(ring).filter(|r| r.len() >= 3).collect();
            out.insert(code.to_string(), rings);
        }
        out
    })
}

/// The country outline (largest piece of it) clipped by `hull`, or `None` without an outline.
fn clip_to_country(country: &str, hull: &[(f64, f64)]) -> Option<Vec<(f64, f64)>> {
    let rings = countries().get(country).filter(|r| !r.is_empty())?;
    let pieces = rings.iter().map(|r| crate::clip::clip_by_convex(r, hull));
    Some(pieces.max_by(|a, b| area_km2(a).total_cmp(&area_km2(b))).unwrap_or_default())
}

fn outlines() -> &'static [Outline] {
    static OUTLINES: OnceLock<Vec<Outline>> = OnceLock::new();
    OUTLINES.get_or_init(|| {
        let g = Gazetteer::embedded();
        g.governorates()
            .iter()
            .map(|gov| {
                let places: Vec<_> = g.places().iter().filter(|p| p.admin1 == gov.iso).collect();
                let pts: Vec<(f64, f64)> = if places.len() >= 3 {
                    places.iter().flat_map(|p| circle(p.lat, p.lon, BUFFER_KM)).collect()
                } else {
                    circle(gov.lat, gov.lon, SMALL_KM).collect()
                };
                let hull = convex_hull(pts);
                let (ring, clipped) = match clip_to_country(&gov.country, &hull) {
                    Some(r) if r.len() >= 3 => (r, true),
                    // No outline, or a hull wholly outside it (data disagreeing): the hull.
                    _ => (hull.clone(), false),
                };
                let radius_km = (area_km2(&ring) / std::f64::consts::PI).sqrt();
                Outline { iso: gov.iso.clone(), hull, ring, clipped, radius_km }
            })
            .collect()
    })
}

/// The size of a governorate as a radius in km (the radius of a disc of its outline's area):
/// the place uncertainty of an incident known only to its governorate.
pub fn radius_km(iso: &str) -> Option<f64> {
    outlines().iter().find(|o| o.iso == iso).map(|o| o.radius_km)
}

fn round5(x: f64) -> f64 {
    (x * 1e5).round() / 1e5
}

/// The governorates as a GeoJSON FeatureCollection.
pub fn governorates() -> Value {
    let g = Gazetteer::embedded();
    let features: Vec<Value> = outlines()
        .iter()
        .filter_map(|o| {
            let gov = g.governorate(&o.iso)?;
            let mut ring: Vec<Value> = o.ring.iter().map(|p| json!([round5(p.0), round5(p.1)])).collect();
            ring.push(ring.first()?.clone());
            Some(json!({
                "type": "Feature",
                "properties": {
                    "code": gov.iso, "name_en": gov.name, "name_ar": gov.name_ar, "country": gov.country,
                    "approximate": true, "clipped_to_country": o.clipped,
                    "radius_km": (o.radius_km * 10.0).round() / 10.0,
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }))
        })
        .collect();
    json!({
        "type": "FeatureCollection",
        "approximate": true,
        "note": "Approximate outlines derived from the gazetteer's places (convex hulls clipped to the country outline), not official boundaries",
        "attribution": g.attribution(),
        "features": features,
    })
}

/// The gazetteer's places, for labels.
pub fn places() -> Value {
    let g = Gazetteer::embedded();
    Value::Array(
        g.places()
            .iter()
            .map(|p| {
                json!({
                    "name_en": p.name, "name_ar": p.arabic_names.first(), "lat": p.lat, "lon": p.lon,
                    "admin1": p.admin1, "kind": p.feature_code, "population": p.population,
                })
            })
            .collect(),
    )
}

pub async fn get_governorates(ActiveCaller(_): ActiveCaller, headers: HeaderMap) -> Result<Response, TaxiiError> {
    static BODY: OnceLock<Value> = OnceLock::new();
    json_gz(&headers, BODY.get_or_init(governorates))
}

pub async fn get_places(ActiveCaller(_): ActiveCaller, headers: HeaderMap) -> Result<Response, TaxiiError> {
    static BODY: OnceLock<Value> = OnceLock::new();
    json_gz(&headers, BODY.get_or_init(places))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_governorate_has_an_approximate_polygon_around_its_places() {
        let g = Gazetteer::embedded();
        let fc = governorates();
        let features = fc["features"].as_array().unwrap();
        assert_eq!(features.len(), g.governorates().len());
        for f in features {
            assert_eq!(f["properties"]["approximate"], true);
            let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
            assert!(ring.len() >= 4 && ring.first() == ring.last(), "a closed ring");
        }
        // Every place lies inside its governorate's hull (it was buffered around them).
        for o in outlines() {
            let inside = |(x, y): (f64, f64)| {
                (0..o.hull.len()).all(|i| {
                    let (a, b) = (o.hull[i], o.hull[(i + 1) % o.hull.len()]);
                    (b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0) >= -1e-9
                })
            };
            for p in g.places().iter().filter(|p| p.admin1 == o.iso) {
                assert!(inside((p.lon, p.lat)), "{} in {}", p.name, o.iso);
            }
            assert!(o.radius_km > 10.0 && o.radius_km < 500.0, "{}: {}", o.iso, o.radius_km);
        }
    }

    #[test]
    fn governorates_are_clipped_to_their_country_outline() {
        let g = Gazetteer::embedded();
        let mut cut = 0;
        for o in outlines() {
            let gov = g.governorate(&o.iso).unwrap();
            assert!(o.clipped, "{}: {} has an outline", o.iso, gov.country);
            let country = &countries()[&gov.country];
            // Every vertex inside the country (on its border where the hull was cut), within
            // a metre or so.
            for &p in &o.ring {
                assert!(
                    country.iter().any(|r| crate::clip::inside_or_on(r, p, 1e-5)),
                    "{}: vertex {p:?} outside {}",
                    o.iso,
                    gov.country
                );
            }
            let (clipped, hull) = (area_km2(&o.ring), area_km2(&o.hull));
            assert!(clipped <= hull * (1.0 + 1e-9) && clipped > 0.0, "{}: {clipped} of {hull}", o.iso);
            if clipped < hull * 0.99 {
                cut += 1;
            }
        }
        // The border governorates: Deir ez-Zor's hull reaches into Iraq, Anbar's into Syria,
        // Jordan and Saudi Arabia, Latakia's into the sea; each is cut there.
        for iso in ["SY-DY", "IQ-AN", "SY-LA"] {
            let o = outlines().iter().find(|o| o.iso == iso).unwrap();
            let hull_out = o
                .hull
                .iter()
                .filter(|&&p| !countries()[&iso[..2]].iter().any(|r| crate::clip::inside_or_on(r, p, 1e-5)));
            assert!(hull_out.count() > 0, "{iso}: the hull reaches over the border");
            assert!(area_km2(&o.ring) < area_km2(&o.hull), "{iso}: clipped is smaller");
        }
        assert!(cut >= 10, "many governorates lie on a border or the coast: {cut} cut");
    }

    #[test]
    fn hull_of_a_square_with_an_inner_point() {
        let h = convex_hull(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.5, 0.5)]);
        assert_eq!(h.len(), 4);
        assert!((area_km2(&[(0.0, 0.0), (0.1, 0.0), (0.1, 0.1), (0.0, 0.1)]) - 123.9).abs() < 1.0);
    }
}
