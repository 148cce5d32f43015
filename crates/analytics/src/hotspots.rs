//! Hot spots: Getis-Ord Gi* over an H3 grid, with Benjamini-Hochberg FDR correction.
//!
//! Each incident in the window contributes a total weight of 1, spread by its place precision
//! so that an imprecise report is never a point: a town-precision incident falls in the cell of
//! its location; near a town (ACLED 2) over that cell and its ring (7 cells); a region (ACLED 3)
//! over the disk of radius 3 (37 cells); a governorate-precision incident (or one whose
//! location the viewer may not see) over the cells of every gazetteer place in its governorate
//! (the populated part of the governorate: no governorate polygons are available offline), each
//! cell its share. The study area is every cell that holds gazetteer places or weight.
//! Neighbourhoods are binary: a cell and its immediate ring (k = 1), self included as Gi* asks.

use std::collections::{BTreeMap, HashMap, HashSet};

use h3o::{CellIndex, LatLng, Resolution};
use serde::Serialize;

use crate::dataset::{Dataset, Incident, Precision};

/// The default H3 resolution (5: cells of about 250 km², edges about 9 km).
pub const DEFAULT_RESOLUTION: u8 = 5;
/// The false discovery rate the correction controls.
pub const FDR_Q: f64 = 0.05;

/// Gi* z-scores for values over a graph: `neighbours[i]` lists the cells in `i`'s
/// neighbourhood, `i` itself included, all binary weights.
pub fn gi_star(values: &[f64], neighbours: &[Vec<usize>]) -> Vec<f64> {
    let n = values.len() as f64;
    if values.len() < 2 {
        return vec![0.0; values.len()];
    }
    let mean = values.iter().sum::<f64>() / n;
    let s = (values.iter().map(|x| x * x).sum::<f64>() / n - mean * mean).max(0.0).sqrt();
    neighbours
        .iter()
        .map(|nb| {
            let w = nb.len() as f64;
            let local: f64 = nb.iter().map(|&j| values[j]).sum();
            let denom = s * ((n * w - w * w) / (n - 1.0)).max(0.0).sqrt();
            if denom > 0.0 { (local - mean * w) / denom } else { 0.0 }
        })
        .collect()
}

/// The standard normal upper tail `P(Z > z)` (erfc after Numerical Recipes, |error| < 1.2e-7).
pub fn normal_upper_tail(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let y = t
        * (-x * x - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    let erfc = if x >= 0.0 { y } else { 2.0 - y };
    erfc / 2.0
}

/// Benjamini-Hochberg: which of `p` are discoveries at false discovery rate `q`.
pub fn benjamini_hochberg(p: &[f64], q: f64) -> Vec<bool> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = p.len() as f64;
    let cutoff =
        order.iter().enumerate().filter(|&(k, &i)| p[i] <= (k as f64 + 1.0) / m * q).map(|(k, _)| k).next_back();
    let mut out = vec![false; p.len()];
    if let Some(c) = cutoff {
        for &i in &order[..=c] {
            out[i] = true;
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotCell {
    /// The H3 cell index.
    pub cell: String,
    pub lat: f64,
    pub lon: f64,
    /// The precision-weighted incident count in the cell.
    pub weight: f64,
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// `hot` for z > 0, `cold` otherwise.
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hotspots {
    pub resolution: u8,
    pub cells: usize,
    pub incidents: usize,
    /// Significant cells after FDR correction, hottest first.
    pub significant: Vec<HotCell>,
}

/// The hot-spot request: counting days `from..=to` and the H3 resolution.
#[derive(Debug, Clone)]
pub struct HotspotQuery {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub resolution: u8,
    /// Only political-violence events (see [`crate::spikes`]).
    pub violent_only: bool,
}

impl Default for HotspotQuery {
    fn default() -> Self {
        HotspotQuery { from: None, to: None, resolution: DEFAULT_RESOLUTION, violent_only: false }
    }
}

/// The cells a governorate spreads over: those of its gazetteer places, at `res`.
pub(crate) fn governorate_cells(res: Resolution) -> HashMap<String, Vec<CellIndex>> {
    let mut out: HashMap<String, HashSet<CellIndex>> = HashMap::new();
    for p in tandem_geo::Gazetteer::embedded().places() {
        if let Ok(ll) = LatLng::new(p.lat, p.lon) {
            out.entry(p.admin1.clone()).or_default().insert(ll.to_cell(res));
        }
    }
    out.into_iter()
        .map(|(k, v)| {
            let mut v: Vec<CellIndex> = v.into_iter().collect();
            v.sort_unstable();
            (k, v)
        })
        .collect()
}

/// Where an incident is spread: a disk of cells around its point, or its governorate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Spread<'a> {
    Disk(CellIndex, u32),
    Admin(&'a str),
}

fn spread_key<'a>(i: &'a Incident, res: Resolution, gov: &HashMap<String, Vec<CellIndex>>) -> Option<Spread<'a>> {
    let ring = match i.precision {
        Some(Precision::Town) => Some(0),
        Some(Precision::NearTown) => Some(1),
        Some(Precision::Region) => Some(3),
        Some(Precision::Admin) | None => None,
    };
    match (ring, i.point.and_then(|(lat, lon)| LatLng::new(lat, lon).ok())) {
        (Some(k), Some(ll)) => Some(Spread::Disk(ll.to_cell(res), k)),
        _ => i.admin1.as_deref().filter(|a| gov.contains_key(*a)).map(Spread::Admin),
    }
}

/// The cells an incident is spread over, each taking an equal share (see the module doc).
pub(crate) fn spread(i: &Incident, res: Resolution, gov: &HashMap<String, Vec<CellIndex>>) -> Option<Vec<CellIndex>> {
    match spread_key(i, res, gov)? {
        Spread::Disk(c, k) => Some(c.grid_disk::<Vec<_>>(k)),
        Spread::Admin(a) => gov.get(a).cloned(),
    }
}

pub fn hotspots(ds: &Dataset, q: &HotspotQuery) -> Result<Hotspots, String> {
    let res = Resolution::try_from(q.resolution).map_err(|_| format!("resolution {} is not 0..=15", q.resolution))?;
    let gov = governorate_cells(res);
    let mut weights: BTreeMap<CellIndex, f64> = BTreeMap::new();
    for cells in gov.values() {
        for c in cells {
            weights.entry(*c).or_insert(0.0);
        }
    }
    // Counted by spread first (a point's cell and ring, or a governorate), expanded once: a
    // million incidents fall on a few thousand spreads.
    let mut by_spread: HashMap<Spread<'_>, f64> = HashMap::new();
    let mut counted = 0;
    for i in crate::merge::representatives(ds) {
        let Some(day) = i.day() else { continue };
        if q.from.is_some_and(|f| day < f)
            || q.to.is_some_and(|t| day > t)
            || (q.violent_only && !i.is_political_violence())
        {
            continue;
        }
        // Neither a point nor a known governorate: nowhere to put it.
        let Some(s) = spread_key(i, res, &gov) else { continue };
        *by_spread.entry(s).or_insert(0.0) += 1.0;
        counted += 1;
    }
    let mut spreads: Vec<(Spread<'_>, f64)> = by_spread.into_iter().collect();
    // A fixed order, so that float sums do not depend on hash order.
    spreads.sort_by(|a, b| a.0.cmp(&b.0));
    for (s, n) in spreads {
        let cells = match s {
            Spread::Disk(c, k) => c.grid_disk::<Vec<_>>(k),
            Spread::Admin(a) => gov.get(a).cloned().unwrap_or_default(),
        };
        let share = n / cells.len().max(1) as f64;
        for c in cells {
            *weights.entry(c).or_insert(0.0) += share;
        }
    }
    let cells: Vec<CellIndex> = weights.keys().copied().collect();
    let index: HashMap<CellIndex, usize> = cells.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let values: Vec<f64> = weights.values().copied().collect();
    let neighbours: Vec<Vec<usize>> = cells
        .iter()
        .map(|c| c.grid_disk::<Vec<_>>(1).into_iter().filter_map(|n| index.get(&n).copied()).collect())
        .collect();
    let z = gi_star(&values, &neighbours);
    let p: Vec<f64> = z.iter().map(|z| (2.0 * normal_upper_tail(z.abs())).min(1.0)).collect();
    let keep = benjamini_hochberg(&p, FDR_Q);
    let mut significant: Vec<HotCell> = (0..cells.len())
        .filter(|&i| keep[i])
        .map(|i| {
            let ll = LatLng::from(cells[i]);
            HotCell {
                cell: cells[i].to_string(),
                lat: ll.lat(),
                lon: ll.lng(),
                weight: values[i],
                z: z[i],
                p: p[i],
                kind: if z[i] > 0.0 { "hot" } else { "cold" },
            }
        })
        .collect();
    significant.sort_by(|a, b| b.z.total_cmp(&a.z));
    Ok(Hotspots { resolution: q.resolution, cells: cells.len(), incidents: counted, significant })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gi_star_matches_a_hand_computed_line_of_cells() {
        // Five cells in a line, neighbourhoods i-1..=i+1. n = 5, mean 1, S = sqrt(17/5 - 1) =
        // sqrt(2.4). Cell 4: sum 4 over 2 cells, z = (4 - 2) / (S sqrt((10 - 4) / 4)) =
        // 2 / sqrt(3.6). Cell 2: sum 0 over 3 cells, z = -3 / (S sqrt((15 - 9) / 4)) = -3 / sqrt(3.6).
        let values = [1.0, 0.0, 0.0, 0.0, 4.0];
        let nb: Vec<Vec<usize>> = (0..5usize).map(|i| (i.saturating_sub(1)..=(i + 1).min(4)).collect()).collect();
        let z = gi_star(&values, &nb);
        assert!((z[4] - 2.0 / 3.6f64.sqrt()).abs() < 1e-12, "{z:?}");
        assert!((z[2] + 3.0 / 3.6f64.sqrt()).abs() < 1e-12, "{z:?}");
        // Cell 0: sum 1 over 2 cells: (1 - 2) / sqrt(3.6).
        assert!((z[0] + 1.0 / 3.6f64.sqrt()).abs() < 1e-12, "{z:?}");
    }

    #[test]
    fn normal_tail_and_fdr() {
        assert!((normal_upper_tail(1.959964) - 0.025).abs() < 1e-6);
        assert!((normal_upper_tail(0.0) - 0.5).abs() < 1e-7);
        // m = 4, q = 0.05: thresholds 0.0125, 0.025, 0.0375, 0.05 for the sorted p 0.001, 0.03,
        // 0.04, 0.045; the largest k with p(k) <= k q / m is 4, so all four are discoveries
        // although 0.03 and 0.04 exceed their own thresholds (the step-up).
        assert_eq!(benjamini_hochberg(&[0.04, 0.001, 0.03, 0.045], 0.05), vec![true; 4]);
        assert_eq!(benjamini_hochberg(&[0.03, 0.001, 0.02, 0.5], 0.05), vec![true, true, true, false]);
        assert_eq!(benjamini_hochberg(&[0.2, 0.3], 0.05), vec![false, false]);
    }

    fn incident(n: usize, precision: Precision, point: Option<(f64, f64)>) -> crate::Incident {
        crate::Incident {
            id: format!("incident--{n}"),
            member: "USA".into(),
            event_type: Some("Battles".into()),
            sub_event_type: None,
            start: Some(20_000),
            end: Some(20_000),
            admin1: Some("SY-DY".into()),
            precision: Some(precision),
            point,
            locations: vec![],
            cells: vec![],
            actors: vec![],
            fatalities: Default::default(),
            arrests: 0,
            seizures: 0,
            sources: vec![],
            materiel: vec![],
        }
    }

    #[test]
    fn a_cluster_is_hot_and_imprecise_reports_are_spread() {
        let mayadin = (35.0198, 40.4509);
        let mut incidents: Vec<_> = (0..30).map(|n| incident(n, Precision::Town, Some(mayadin))).collect();
        incidents.push(incident(100, Precision::Admin, None));
        incidents.push(incident(101, Precision::NearTown, Some((36.2, 37.15))));
        let ds = Dataset { incidents, duplicates: vec![], ..Default::default() };
        let h = hotspots(&ds, &HotspotQuery::default()).expect("hotspots");
        assert_eq!(h.incidents, 32);
        let home = LatLng::new(mayadin.0, mayadin.1).expect("point").to_cell(Resolution::Five).to_string();
        // Gi* scores a neighbourhood: the cell and its ring around the cluster are all hot.
        let top = h.significant.iter().find(|c| c.cell == home).expect("the cluster's cell is significant");
        assert_eq!(top.kind, "hot");
        assert!(h.significant.iter().all(|c| c.kind == "hot" && c.z > 3.0), "{:?}", h.significant);
        // The governorate-precision report adds a fraction to many cells, never 1 to its centre;
        // the near-town report one seventh to each of 7 cells.
        assert!(top.weight > 30.0 && top.weight < 31.0, "{}", top.weight);
        let total: f64 = h.significant.iter().map(|c| c.weight).sum();
        assert!(total < 32.0);
    }
}
