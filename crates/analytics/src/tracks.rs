//! Cell tracks: a cell's incidents in time order, the distance and time between consecutive
//! ones, its area of operation (convex hull of its located incidents, and a kernel density on
//! H3 cells) and its links to other
//! cells through shared places, materiel, sources and reporting members.
//!
//! A cell is an `intrusion-set` named as perpetrator (see [`crate::dataset`]); incidents are the
//! merged ones (see [`crate::merge`]) the viewer may see, so a track never shows a hidden
//! incident or a withheld attribution.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::calendar::label;
use crate::dataset::{Dataset, Incident};

/// At most this many links are reported.
pub const LINKS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub incident: String,
    /// The day it counts on (the window's midpoint), `YYYY-MM-DD`.
    pub date: String,
    pub start: Option<String>,
    pub end: String,
    pub admin1: Option<String>,
    pub event_type: Option<String>,
    pub sub_event_type: Option<String>,
    pub locations: Vec<String>,
    /// `[lat, lon]` of its first visible location.
    pub point: Option<(f64, f64)>,
    /// Great-circle distance from the previous step with a point.
    pub km_from_previous: Option<f64>,
    /// Days from the previous step.
    pub days_from_previous: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub cell: String,
    pub shared_places: Vec<String>,
    pub shared_materiel: Vec<String>,
    pub shared_sources: Vec<String>,
    pub shared_members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Track {
    pub cell: String,
    pub steps: Vec<Step>,
    /// Incidents of the cell whose time the viewer may not see (not in `steps`).
    pub undated: usize,
    /// The convex hull of the located steps, `[lat, lon]` counter-clockwise.
    pub hull: Vec<(f64, f64)>,
    /// The hull's area in km² (0 for fewer than three distinct points).
    pub area_km2: f64,
    /// Kernel density of the located steps on H3 resolution-7 cells (about 5 km²), densest
    /// first, at most [`DENSITY_CELLS`]; the bandwidth in km.
    pub density: Vec<DensityCell>,
    pub bandwidth_km: f64,
    /// The strongest links, at most [`LINKS`].
    pub links: Vec<Link>,
}

/// At most this many density cells are reported.
pub const DENSITY_CELLS: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DensityCell {
    pub cell: String,
    pub lat: f64,
    pub lon: f64,
    /// Estimated share of the cell's activity per km² (the density integrates to 1).
    pub per_km2: f64,
}

/// A Gaussian kernel density of `points` (`[lat, lon]`) on H3 resolution-7 cells. The bandwidth
/// is Silverman's rule for two dimensions, `sigma * n^(-1/6)` (sigma the mean of the two
/// coordinates' standard deviations in km), at least 2 km so that a cell seen at one town is
/// not a spike; each point contributes to the cells within twice the bandwidth.
pub fn kernel_density(points: &[(f64, f64)]) -> (Vec<DensityCell>, f64) {
    use h3o::{LatLng, Resolution};
    if points.is_empty() {
        return (Vec::new(), 0.0);
    }
    let n = points.len() as f64;
    let mean_lat = points.iter().map(|p| p.0).sum::<f64>() / n;
    let kx = 111.32 * mean_lat.to_radians().cos();
    let sd = |f: &dyn Fn(&(f64, f64)) -> f64| {
        let m = points.iter().map(f).sum::<f64>() / n;
        (points.iter().map(|p| (f(p) - m).powi(2)).sum::<f64>() / n).sqrt()
    };
    let sigma = (sd(&|p| p.0 * 110.574) + sd(&|p| p.1 * kx)) / 2.0;
    let h = (sigma * n.powf(-1.0 / 6.0)).max(2.0);
    // Resolution-7 cells are about 2.4 km across (centre to centre).
    let k = ((2.0 * h / 2.4).ceil() as u32).min(20);
    let mut density: BTreeMap<h3o::CellIndex, f64> = BTreeMap::new();
    for p in points {
        let Ok(ll) = LatLng::new(p.0, p.1) else { continue };
        for c in ll.to_cell(Resolution::Seven).grid_disk::<Vec<_>>(k) {
            let centre = LatLng::from(c);
            let d = haversine_km(*p, (centre.lat(), centre.lng()));
            let v = (-(d * d) / (2.0 * h * h)).exp() / (2.0 * std::f64::consts::PI * h * h * n);
            *density.entry(c).or_insert(0.0) += v;
        }
    }
    let mut cells: Vec<DensityCell> = density
        .into_iter()
        .map(|(c, v)| {
            let ll = LatLng::from(c);
            DensityCell { cell: c.to_string(), lat: ll.lat(), lon: ll.lng(), per_km2: v }
        })
        .collect();
    cells.sort_by(|a, b| b.per_km2.total_cmp(&a.per_km2).then_with(|| a.cell.cmp(&b.cell)));
    cells.truncate(DENSITY_CELLS);
    (cells, h)
}

/// Great-circle distance in km (haversine, mean Earth radius).
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().asin()
}

/// The convex hull (Andrew's monotone chain) of `[lat, lon]` points and its area in km², on a
/// local equirectangular projection (exact enough at a cell's scale of tens of km).
pub fn hull_and_area(points: &[(f64, f64)]) -> (Vec<(f64, f64)>, f64) {
    let mut p: Vec<(f64, f64)> = points.to_vec();
    p.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)));
    p.dedup();
    if p.len() < 3 {
        return (p, 0.0);
    }
    let mean_lat = p.iter().map(|q| q.0).sum::<f64>() / p.len() as f64;
    let kx = 111.32 * mean_lat.to_radians().cos();
    let xy = |q: &(f64, f64)| (q.1 * kx, q.0 * 110.574);
    let cross = |o: &(f64, f64), a: &(f64, f64), b: &(f64, f64)| {
        let (o, a, b) = (xy(o), xy(a), xy(b));
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f64, f64)> = Vec::new();
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f64, f64)>> =
            if pass == 0 { Box::new(p.iter()) } else { Box::new(p.iter().rev()) };
        for q in iter {
            while hull.len() >= start + 2 && cross(&hull[hull.len() - 2], &hull[hull.len() - 1], q) <= 0.0 {
                hull.pop();
            }
            hull.push(*q);
        }
        hull.pop();
    }
    let area = hull
        .iter()
        .zip(hull.iter().cycle().skip(1))
        .map(|(a, b)| {
            let (a, b) = (xy(a), xy(b));
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f64>()
        .abs()
        / 2.0;
    (hull, area)
}

fn shared(a: &BTreeSet<String>, b: &BTreeSet<String>) -> Vec<String> {
    a.intersection(b).cloned().collect()
}

#[derive(Default)]
struct Profile {
    places: BTreeSet<String>,
    materiel: BTreeSet<String>,
    sources: BTreeSet<String>,
    members: BTreeSet<String>,
}

fn profiles<'a>(reps: impl Iterator<Item = &'a Incident>) -> BTreeMap<&'a str, Profile> {
    let mut out: BTreeMap<&str, Profile> = BTreeMap::new();
    for i in reps {
        for c in &i.cells {
            let p = out.entry(c.as_str()).or_default();
            p.places.extend(i.locations.iter().cloned());
            p.materiel.extend(i.materiel.iter().cloned());
            p.sources.extend(i.sources.iter().cloned());
            p.members.insert(i.member.clone());
        }
    }
    out
}

/// The track of `cell`; `None` when the viewer sees no incident attributed to it (a hidden
/// cell and an unknown one answer the same).
pub fn track(ds: &Dataset, cell: &str) -> Option<Track> {
    let reps = crate::merge::representatives(ds);
    let mut mine: Vec<&Incident> = reps.iter().copied().filter(|i| i.cells.iter().any(|c| c == cell)).collect();
    if mine.is_empty() {
        return None;
    }
    let undated = mine.iter().filter(|i| i.day().is_none()).count();
    mine.retain(|i| i.day().is_some());
    mine.sort_by(|a, b| (a.day(), &a.id).cmp(&(b.day(), &b.id)));
    let mut steps = Vec::new();
    let (mut last_point, mut last_day) = (None, None);
    for i in &mine {
        let (Some(day), Some(end)) = (i.day(), i.end) else { continue };
        steps.push(Step {
            incident: i.id.clone(),
            date: label(day),
            start: i.start.map(label),
            end: label(end),
            admin1: i.admin1.clone(),
            event_type: i.event_type.clone(),
            sub_event_type: i.sub_event_type.clone(),
            locations: i.locations.clone(),
            point: i.point,
            km_from_previous: match (last_point, i.point) {
                (Some(a), Some(b)) => Some(haversine_km(a, b)),
                _ => None,
            },
            days_from_previous: last_day.map(|d| day - d),
        });
        last_point = i.point.or(last_point);
        last_day = Some(day);
    }
    let points: Vec<(f64, f64)> = mine.iter().filter_map(|i| i.point).collect();
    let (hull, area_km2) = hull_and_area(&points);
    let (density, bandwidth_km) = kernel_density(&points);
    let all = profiles(reps.iter().copied());
    let links = match all.get(cell) {
        Some(me) => all
            .iter()
            .filter(|(c, _)| **c != cell)
            .map(|(c, p)| Link {
                cell: c.to_string(),
                shared_places: shared(&me.places, &p.places),
                shared_materiel: shared(&me.materiel, &p.materiel),
                shared_sources: shared(&me.sources, &p.sources),
                shared_members: shared(&me.members, &p.members),
            })
            .filter(|l| !(l.shared_places.is_empty() && l.shared_materiel.is_empty() && l.shared_sources.is_empty()))
            .collect(),
        None => Vec::new(),
    };
    // Strongest first: a shared place says most, shared materiel next, a shared source (often a
    // member's reporting desk) least; the first LINKS only.
    let mut links: Vec<Link> = links;
    let weight = |l: &Link| 3 * l.shared_places.len() + 2 * l.shared_materiel.len() + l.shared_sources.len();
    links.sort_by(|a, b| weight(b).cmp(&weight(a)).then_with(|| a.cell.cmp(&b.cell)));
    links.truncate(LINKS);
    Some(Track { cell: cell.to_string(), steps, undated, hull, area_km2, density, bandwidth_km, links })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(id: &str, cell: &str, day: i64, point: (f64, f64), loc: &str) -> Incident {
        Incident {
            id: id.into(),
            member: "USA".into(),
            event_type: Some("Battles".into()),
            sub_event_type: None,
            start: Some(day),
            end: Some(day),
            admin1: Some("SY-DY".into()),
            precision: None,
            point: Some(point),
            locations: vec![loc.into()],
            cells: vec![cell.into()],
            actors: vec![cell.into()],
            fatalities: Default::default(),
            arrests: 0,
            seizures: 0,
            sources: vec![],
            materiel: vec![],
        }
    }

    #[test]
    fn distances_hull_and_links() {
        // One degree of latitude is about 111.2 km on the sphere.
        assert!((haversine_km((35.0, 40.0), (36.0, 40.0)) - 111.195).abs() < 0.01);
        let (hull, area) = hull_and_area(&[(35.0, 40.0), (35.0, 40.1), (35.1, 40.1), (35.1, 40.0), (35.05, 40.05)]);
        assert_eq!(hull.len(), 4, "the interior point is not on the hull");
        let expected = 0.1 * 111.32 * 35.05f64.to_radians().cos() * 0.1 * 110.574;
        assert!((area - expected).abs() < 1e-6 * expected, "{area} vs {expected}");
        let ds = Dataset {
            incidents: vec![
                inc("b", "intrusion-set--a", 10, (35.1, 40.0), "location--2"),
                inc("a", "intrusion-set--a", 3, (35.0, 40.0), "location--1"),
                inc("c", "intrusion-set--z", 12, (35.1, 40.0), "location--2"),
            ],
            duplicates: vec![],
            ..Default::default()
        };
        let t = track(&ds, "intrusion-set--a").expect("track");
        let ids: Vec<&str> = t.steps.iter().map(|s| s.incident.as_str()).collect();
        assert_eq!(ids, vec!["a", "b"]);
        assert_eq!(t.steps[1].days_from_previous, Some(7));
        assert!((t.steps[1].km_from_previous.unwrap_or(0.0) - 11.12).abs() < 0.01);
        assert_eq!(t.links.len(), 1);
        assert_eq!(t.links[0].shared_places, vec!["location--2".to_string()]);
        assert!(track(&ds, "intrusion-set--hidden").is_none());
        // The density peaks where the steps are, and is a density: near 1 over the cells reported.
        let (cells, h) = kernel_density(&[(35.0, 40.0), (35.0, 40.0), (35.1, 40.0)]);
        // Silverman: latitude sd 0.1 * 110.574 * sqrt(2) / 3 km, longitude sd 0; sigma is their mean.
        let want = (0.1 * 110.574 * 2f64.sqrt() / 3.0) / 2.0 * 3f64.powf(-1.0 / 6.0);
        assert!((h - want).abs() < 1e-9, "{h} vs {want}");
        assert_eq!(kernel_density(&[(35.0, 40.0)]).1, 2.0, "one point: the floor");
        let top = &cells[0];
        assert!((top.lat - 35.0).abs() < 0.03 && (top.lon - 40.0).abs() < 0.03, "{top:?}");
        let mass: f64 = kernel_density(&[(35.0, 40.0)]).0.iter().map(|c| c.per_km2 * 5.16).sum();
        assert!(mass > 0.5 && mass < 1.1, "{mass}");
    }
}
