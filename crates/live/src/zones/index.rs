//! A grid index over zones, so evaluating an incident costs the zones near it, not all of them.
//! Cells are a tenth of a degree (about 11 km); a zone is filed under every cell its box covers,
//! governorate zones under their code, and zones too large for the grid in a short list checked
//! every time. A query looks up the cells of the incident's point grown by its uncertainty (one
//! cell for a town-precision point), or of its governorate's extent when that is all it has.

use std::collections::HashMap;

use super::geometry::{BBox, Geometry, IncidentPlace, Match, uncertainty_km};

const CELL_DEG: f64 = 0.1;
/// A zone covering more cells than this is checked for every incident instead.
const MAX_CELLS: usize = 10_000;

/// Zones by position in the slice given to [`ZoneIndex::build`].
#[derive(Debug, Default)]
pub struct ZoneIndex {
    cells: HashMap<(i32, i32), Vec<usize>>,
    by_governorate: HashMap<String, Vec<usize>>,
    large: Vec<usize>,
    geometries: Vec<Geometry>,
}

fn cell(lat: f64, lon: f64) -> (i32, i32) {
    ((lat / CELL_DEG).floor() as i32, (lon / CELL_DEG).floor() as i32)
}

fn cells_of(b: &BBox) -> impl Iterator<Item = (i32, i32)> {
    let (a0, o0) = cell(b.min_lat, b.min_lon);
    let (a1, o1) = cell(b.max_lat, b.max_lon);
    (a0..=a1).flat_map(move |a| (o0..=o1).map(move |o| (a, o)))
}

impl ZoneIndex {
    pub fn build(geometries: Vec<Geometry>) -> ZoneIndex {
        let mut ix = ZoneIndex::default();
        for (i, g) in geometries.iter().enumerate() {
            match (g, g.bbox()) {
                (Geometry::Governorate { iso }, _) => {
                    ix.by_governorate.entry(iso.to_ascii_uppercase()).or_default().push(i)
                }
                (_, Some(b)) => {
                    let (a0, o0) = cell(b.min_lat, b.min_lon);
                    let (a1, o1) = cell(b.max_lat, b.max_lon);
                    let n = ((a1 - a0 + 1) as i64 * (o1 - o0 + 1) as i64) as usize;
                    if n > MAX_CELLS {
                        ix.large.push(i);
                    } else {
                        for c in cells_of(&b) {
                            ix.cells.entry(c).or_default().push(i);
                        }
                    }
                }
                (_, None) => ix.large.push(i),
            }
        }
        ix.geometries = geometries;
        ix
    }

    pub fn len(&self) -> usize {
        self.geometries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.geometries.is_empty()
    }

    /// The zones `place` is inside or may be inside, with the match, in zone order.
    pub fn matches(
        &self,
        place: &IncidentPlace,
        governorate_box: &dyn Fn(&str) -> Option<BBox>,
    ) -> Vec<(usize, Match)> {
        let mut candidates: Vec<usize> = self.large.clone();
        if let Some(v) = self.by_governorate.get(&place.admin1.to_ascii_uppercase()) {
            candidates.extend(v);
        }
        match (place.point, uncertainty_km(place.precision)) {
            (Some((lat, lon)), Some(r)) => {
                // A margin over the uncertainty: the box and the distance use different
                // approximations of the sphere.
                let b = BBox { min_lat: lat, min_lon: lon, max_lat: lat, max_lon: lon };
                let b = if r > 0.0 { b.grown(r * 1.1 + 1.0) } else { b };
                for c in cells_of(&b) {
                    if let Some(v) = self.cells.get(&c) {
                        candidates.extend(v);
                    }
                }
            }
            _ => {
                if let Some(g) = governorate_box(&place.admin1) {
                    for c in cells_of(&g) {
                        if let Some(v) = self.cells.get(&c) {
                            candidates.extend(v);
                        }
                    }
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .filter_map(|i| match self.geometries[i].matches(place, governorate_box) {
                Match::Outside => None,
                m => Some((i, m)),
            })
            .collect()
    }
}
