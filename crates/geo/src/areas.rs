//! Named areas analysts use ("the Badia", "the Jazira") as hand-drawn polygons.
//!
//! These regions have no administrative boundary, yet reports locate events by them
//! ("ISIS cells in the Badia"). The polygons come from the generator and are coarse on
//! purpose: they answer "is this point in the Badia", not cadastral questions.

use serde::{Deserialize, Serialize};

/// A named region defined by one polygon ring of `[lon, lat]` points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedArea {
    /// Stable identifier, e.g. "badia".
    pub id: String,
    pub name: String,
    pub name_ar: String,
    pub aliases: Vec<String>,
    pub description: String,
    /// Governorates the area overlaps.
    pub admin1: Vec<String>,
    /// Outer ring, `[lon, lat]`, first point not repeated.
    pub polygon: Vec<[f64; 2]>,
}

impl NamedArea {
    /// Ray-casting point-in-polygon test (planar; fine at these sizes and latitudes).
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let ring = &self.polygon;
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

    /// Area-weighted centroid of the ring, as (lat, lon).
    pub fn centroid(&self) -> (f64, f64) {
        let ring = &self.polygon;
        let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
        for i in 0..ring.len() {
            let [x0, y0] = ring[i];
            let [x1, y1] = ring[(i + 1) % ring.len()];
            let cross = x0 * y1 - x1 * y0;
            a += cross;
            cx += (x0 + x1) * cross;
            cy += (y0 + y1) * cross;
        }
        if a.abs() < f64::EPSILON {
            let n = ring.len().max(1) as f64;
            let (sx, sy) = ring.iter().fold((0.0, 0.0), |(sx, sy), [x, y]| (sx + x, sy + y));
            return (sy / n, sx / n);
        }
        (cy / (3.0 * a), cx / (3.0 * a))
    }

    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        [self.name.as_str(), self.name_ar.as_str()].into_iter().chain(self.aliases.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_contains_and_centroid() {
        let a = NamedArea {
            id: "sq".into(),
            name: "Square".into(),
            name_ar: String::new(),
            aliases: vec![],
            description: String::new(),
            admin1: vec![],
            polygon: vec![[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]],
        };
        assert!(a.contains(1.0, 1.0));
        assert!(!a.contains(3.0, 1.0));
        let (lat, lon) = a.centroid();
        assert!((lat - 1.0).abs() < 1e-9 && (lon - 1.0).abs() < 1e-9);
    }
}
