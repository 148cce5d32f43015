//! Pure zone geometry: point in polygon, great-circle distance, and precision-aware matching of
//! an incident's place against a zone. An incident placed only approximately (near a town, in a
//! region, or only in its governorate) is a "may be inside" match, never an "inside" one, so an
//! analyst can tell a confirmed hit from a possible one.

use serde::{Deserialize, Serialize};
use tandem_model::incident::GeoPrecision;

const EARTH_KM: f64 = 6371.0088;

/// A zone's geometry, resolved at creation (a gazetteer place becomes its point).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Geometry {
    /// One outer ring of `[lon, lat]` points (GeoJSON order), first point not repeated.
    Polygon {
        ring: Vec<[f64; 2]>,
    },
    Radius {
        lat: f64,
        lon: f64,
        radius_km: f64,
    },
    /// A governorate (ISO 3166-2): matches by the incident's `admin1`, which every incident has.
    Governorate {
        iso: String,
    },
    /// A named area of the gazetteer: its polygon, and the governorates it overlaps.
    Area {
        id: String,
        ring: Vec<[f64; 2]>,
        admin1: Vec<String>,
    },
}

/// A latitude/longitude box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lat: f64,
    pub min_lon: f64,
    pub max_lat: f64,
    pub max_lon: f64,
}

impl BBox {
    pub fn of_ring(ring: &[[f64; 2]]) -> Option<BBox> {
        let first = ring.first()?;
        Some(ring.iter().fold(
            BBox { min_lat: first[1], min_lon: first[0], max_lat: first[1], max_lon: first[0] },
            |b, [lon, lat]| BBox {
                min_lat: b.min_lat.min(*lat),
                min_lon: b.min_lon.min(*lon),
                max_lat: b.max_lat.max(*lat),
                max_lon: b.max_lon.max(*lon),
            },
        ))
    }

    /// Grown by `km` on every side (degrees of longitude widened for the latitude).
    pub fn grown(&self, km: f64) -> BBox {
        let dlat = km / 111.2;
        let coslat = self.max_lat.abs().max(self.min_lat.abs()).to_radians().cos().max(0.1);
        let dlon = km / (111.2 * coslat);
        BBox {
            min_lat: self.min_lat - dlat,
            min_lon: self.min_lon - dlon,
            max_lat: self.max_lat + dlat,
            max_lon: self.max_lon + dlon,
        }
    }

    pub fn intersects(&self, o: &BBox) -> bool {
        self.min_lat <= o.max_lat && o.min_lat <= self.max_lat && self.min_lon <= o.max_lon && o.min_lon <= self.max_lon
    }
}

/// Where an incident is, as its report knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentPlace {
    /// The point of its first location, when it has one.
    pub point: Option<(f64, f64)>,
    pub precision: GeoPrecision,
    pub admin1: String,
}

/// How an incident relates to a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    Inside,
    /// The place is known too coarsely to tell (or its uncertainty straddles the edge).
    MayBeInside,
    Outside,
}

/// How far the true place may be from the reported point, by precision (ACLED: 1 the town
/// itself, 2 near a town or part of a region, 3 only a larger region).
pub fn uncertainty_km(p: GeoPrecision) -> Option<f64> {
    match p {
        GeoPrecision::Town => Some(0.0),
        GeoPrecision::NearTown => Some(10.0),
        GeoPrecision::Region => Some(50.0),
        GeoPrecision::Admin => None,
    }
}

/// Great-circle distance in km between two (lat, lon) points.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_KM * h.sqrt().min(1.0).asin()
}

/// Ray casting on `[lon, lat]` (planar: fine for zones of a few hundred km at these latitudes).
pub fn in_ring(ring: &[[f64; 2]], lat: f64, lon: f64) -> bool {
    let mut inside = false;
    let mut j = ring.len().wrapping_sub(1);
    for i in 0..ring.len() {
        let [xi, yi] = ring[i];
        let [xj, yj] = ring[j];
        if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Distance in km from a point to the ring's boundary (local equirectangular projection).
pub fn distance_to_ring_km(ring: &[[f64; 2]], lat: f64, lon: f64) -> f64 {
    let k = lat.to_radians().cos();
    let project = |[x, y]: [f64; 2]| ((x - lon) * k * 111.2, (y - lat) * 111.2);
    let mut best = f64::INFINITY;
    for i in 0..ring.len() {
        let (ax, ay) = project(ring[i]);
        let (bx, by) = project(ring[(i + 1) % ring.len()]);
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let t = if len2 == 0.0 { 0.0 } else { (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0) };
        let (px, py) = (ax + t * dx, ay + t * dy);
        best = best.min((px * px + py * py).sqrt());
    }
    best
}

impl Geometry {
    /// The box a point must fall in (grown by the largest uncertainty) to possibly match;
    /// `None` for a governorate, which matches by code.
    pub fn bbox(&self) -> Option<BBox> {
        match self {
            Geometry::Polygon { ring } | Geometry::Area { ring, .. } => BBox::of_ring(ring),
            Geometry::Radius { lat, lon, radius_km } => {
                Some(BBox { min_lat: *lat, min_lon: *lon, max_lat: *lat, max_lon: *lon }.grown(*radius_km))
            }
            Geometry::Governorate { .. } => None,
        }
    }

    /// Matches `place`; `governorate_box` gives the extent of a governorate's places (no
    /// governorate polygons exist offline), for incidents known only to their governorate.
    pub fn matches(&self, place: &IncidentPlace, governorate_box: &dyn Fn(&str) -> Option<BBox>) -> Match {
        if let Geometry::Governorate { iso } = self {
            return if place.admin1.eq_ignore_ascii_case(iso) { Match::Inside } else { Match::Outside };
        }
        let point = place.point.and_then(|p| uncertainty_km(place.precision).map(|r| (p, r)));
        let Some(((lat, lon), r)) = point else {
            // Only the governorate is known: possibly inside if the zone overlaps it.
            if let Geometry::Area { admin1, .. } = self
                && admin1.iter().any(|a| a.eq_ignore_ascii_case(&place.admin1))
            {
                return Match::MayBeInside;
            }
            let overlaps = match (self.bbox(), governorate_box(&place.admin1)) {
                (Some(z), Some(g)) => z.intersects(&g),
                _ => false,
            };
            return if overlaps { Match::MayBeInside } else { Match::Outside };
        };
        // An approximate place is at best "may be inside", even wholly within the zone: the
        // report does not say where exactly, and a reader must not take it for a located hit.
        let exact = r == 0.0;
        match self {
            Geometry::Radius { lat: zl, lon: zo, radius_km } => {
                let d = haversine_km((lat, lon), (*zl, *zo));
                if exact {
                    if d <= *radius_km { Match::Inside } else { Match::Outside }
                } else if d - r <= *radius_km {
                    Match::MayBeInside
                } else {
                    Match::Outside
                }
            }
            Geometry::Polygon { ring } | Geometry::Area { ring, .. } => {
                let inside = in_ring(ring, lat, lon);
                if exact {
                    return if inside { Match::Inside } else { Match::Outside };
                }
                if inside || distance_to_ring_km(ring, lat, lon) <= r { Match::MayBeInside } else { Match::Outside }
            }
            Geometry::Governorate { .. } => Match::Outside,
        }
    }
}
