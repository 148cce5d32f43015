//! Point to governorate, nearest places and named areas.
//!
//! No governorate polygons ship offline, so the governorate of a point is voted by its
//! nearest gazetteer places: each of the [`VOTERS`] nearest places votes for its own
//! governorate with weight 1/(1 + d)², d in km. Close to a place this is that place's
//! governorate; between places the closer cluster wins. Limits: wrong within a few km
//! of a boundary, and less sure in empty desert (the Badia, western Anbar) where the
//! nearest place can be 50 km away. A point farther than [`MAX_ADMIN_KM`] from every
//! place gets no governorate (it is likely outside Syria and Iraq).

use std::collections::HashMap;

use serde::Serialize;

use crate::data::Place;

/// How many nearest places vote for the governorate.
pub const VOTERS: usize = 5;
/// Beyond this distance from the nearest place, no governorate is claimed.
pub const MAX_ADMIN_KM: f64 = 120.0;

/// A place and its distance from the query point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nearby<'a> {
    pub place: &'a Place,
    pub distance_km: f64,
}

/// Result of [`crate::Gazetteer::reverse`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reverse<'a> {
    /// Voted governorate (ISO 3166-2), if any place is within [`MAX_ADMIN_KM`].
    pub admin1: Option<String>,
    /// Country of that governorate.
    pub country: Option<String>,
    /// Share of the vote the winning governorate got (0..=1).
    pub admin1_confidence: f64,
    /// Nearest places, closest first.
    pub nearest: Vec<Nearby<'a>>,
    /// Ids of the named areas containing the point.
    pub areas: Vec<String>,
}

/// Great-circle distance in km (spherical Earth, R = 6371 km).
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().atan2((1.0 - a).sqrt())
}

/// Places sorted by distance from the point, with distances.
pub(crate) fn nearest(places: &[Place], lat: f64, lon: f64, n: usize) -> Vec<Nearby<'_>> {
    let mut all: Vec<Nearby<'_>> =
        places.iter().map(|p| Nearby { place: p, distance_km: haversine_km(lat, lon, p.lat, p.lon) }).collect();
    all.sort_by(|a, b| a.distance_km.total_cmp(&b.distance_km));
    all.truncate(n);
    all
}

/// Weighted vote of the nearest places: (admin1, country, share).
pub(crate) fn vote(near: &[Nearby<'_>]) -> Option<(String, String, f64)> {
    let first = near.first()?;
    if first.distance_km > MAX_ADMIN_KM {
        return None;
    }
    let mut tally: HashMap<&str, (f64, &str)> = HashMap::new();
    let mut total = 0.0;
    for nb in near.iter().take(VOTERS) {
        let w = 1.0 / (1.0 + nb.distance_km).powi(2);
        total += w;
        tally.entry(&nb.place.admin1).or_insert((0.0, &nb.place.country)).0 += w;
    }
    let (admin1, (w, country)) = tally.into_iter().max_by(|a, b| a.1.0.total_cmp(&b.1.0).then(b.0.cmp(a.0)))?;
    Some((admin1.to_string(), country.to_string(), w / total))
}
