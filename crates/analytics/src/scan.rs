//! Space-time clusters: Kulldorff's space-time permutation scan (Kulldorff et al. 2005), with
//! Monte Carlo p-values.
//!
//! Cases are the merged incidents in the window, each spread over H3 cells by its place
//! precision exactly as the hot spots spread it (see [`crate::hotspots`]), in the week of its
//! window's midpoint. Zones are cylinders: a cell and its rings up to `max_ring`, over runs of
//! 1 to `max_weeks` consecutive weeks. The expected count of a zone conditions on both
//! marginals, `mu = C(cells) * C(weeks) / C`, so no population at risk is needed and a region
//! that is always busy is not a cluster; the score is the Poisson generalized likelihood ratio
//! of zones with more cases than expected. The null distribution permutes the weeks among the
//! cases (keeping every case's spatial spread), which keeps both marginals; a zone's p-value is
//! the rank of its score among the replicates' maxima (SaTScan's rule, conservative for
//! secondary clusters). Reported: the most likely cluster and secondary ones sharing no cell
//! with a better one.

use std::collections::{BTreeMap, HashMap};

use h3o::{CellIndex, LatLng, Resolution};
use serde::Serialize;

use crate::calendar::{label, week_start};
use crate::dataset::Dataset;
use crate::hotspots::spread;

#[derive(Debug, Clone)]
pub struct ScanQuery {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub resolution: u8,
    pub max_ring: u32,
    pub max_weeks: usize,
    /// Monte Carlo replicates (99 gives p-values in steps of 0.01).
    pub replicates: usize,
    pub seed: u64,
    /// At most this many clusters reported.
    pub limit: usize,
}

impl Default for ScanQuery {
    fn default() -> Self {
        ScanQuery { from: None, to: None, resolution: 4, max_ring: 2, max_weeks: 4, replicates: 99, seed: 1, limit: 5 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// The centre cell and the ring radius.
    pub centre: String,
    pub ring: u32,
    pub cells: Vec<String>,
    pub lat: f64,
    pub lon: f64,
    /// First week's Monday and last week's Monday.
    pub first_week: String,
    pub last_week: String,
    pub observed: f64,
    pub expected: f64,
    /// The log-likelihood ratio.
    pub llr: f64,
    pub p: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scan {
    pub cases: usize,
    pub weeks: usize,
    pub cells: usize,
    pub replicates: usize,
    pub clusters: Vec<Cluster>,
}

/// The Poisson GLR of a zone with `c` cases of `total`, `mu` expected; 0 unless `c > mu`.
pub fn llr(c: f64, mu: f64, total: f64) -> f64 {
    if c <= mu || mu <= 0.0 {
        return 0.0;
    }
    let rest = total - c;
    let rest_mu = total - mu;
    let inside = c * (c / mu).ln();
    let outside = if rest > 0.0 && rest_mu > 0.0 { rest * (rest / rest_mu).ln() } else { 0.0 };
    inside + outside
}

struct Zone {
    centre: usize,
    ring: u32,
    /// Cells, by index.
    cells: Vec<usize>,
}

/// The best zone of one configuration: `(llr, zone index, first week, last week)`.
fn best(
    counts: &[Vec<f64>],
    zones: &[Zone],
    cell_tot: &[f64],
    week_tot: &[f64],
    total: f64,
    max_weeks: usize,
    mut keep: impl FnMut(f64, usize, usize, usize, f64, f64),
) -> f64 {
    let weeks = week_tot.len();
    let mut week_prefix = vec![0.0; weeks + 1];
    for w in 0..weeks {
        week_prefix[w + 1] = week_prefix[w] + week_tot[w];
    }
    let mut top = 0.0f64;
    let mut series = vec![0.0; weeks];
    let mut prefix = vec![0.0; weeks + 1];
    for (zi, z) in zones.iter().enumerate() {
        series.iter_mut().for_each(|s| *s = 0.0);
        let mut space = 0.0;
        for &c in &z.cells {
            space += cell_tot[c];
            for (s, v) in series.iter_mut().zip(&counts[c]) {
                *s += v;
            }
        }
        for w in 0..weeks {
            prefix[w + 1] = prefix[w] + series[w];
        }
        for w1 in 0..weeks {
            for w2 in w1..weeks.min(w1 + max_weeks) {
                let c = prefix[w2 + 1] - prefix[w1];
                let mu = space * (week_prefix[w2 + 1] - week_prefix[w1]) / total;
                let l = llr(c, mu, total);
                if l > 0.0 {
                    top = top.max(l);
                    keep(l, zi, w1, w2, c, mu);
                }
            }
        }
    }
    top
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

pub fn space_time_scan(ds: &Dataset, q: &ScanQuery) -> Result<Scan, String> {
    let res = Resolution::try_from(q.resolution).map_err(|_| format!("resolution {} is not 0..=15", q.resolution))?;
    let gov = crate::hotspots::governorate_cells(res);
    // Cases: (week, spread over cells).
    let mut raw: Vec<(i64, Vec<CellIndex>)> = Vec::new();
    for i in crate::merge::representatives(ds) {
        let Some(day) = i.day() else { continue };
        if q.from.is_some_and(|f| day < f) || q.to.is_some_and(|t| day > t) {
            continue;
        }
        if let Some(cells) = spread(i, res, &gov) {
            raw.push((week_start(day), cells));
        }
    }
    let empty = Scan { cases: raw.len(), weeks: 0, cells: 0, replicates: q.replicates, clusters: vec![] };
    let (Some(first), Some(last)) = (raw.iter().map(|r| r.0).min(), raw.iter().map(|r| r.0).max()) else {
        return Ok(empty);
    };
    let weeks = ((last - first) / 7 + 1) as usize;
    let mut index: BTreeMap<CellIndex, usize> = BTreeMap::new();
    for (_, cells) in &raw {
        for c in cells {
            let n = index.len();
            index.entry(*c).or_insert(n);
        }
    }
    let cell_list: Vec<CellIndex> = {
        let mut v: Vec<Option<CellIndex>> = vec![None; index.len()];
        for (c, i) in &index {
            v[*i] = Some(*c);
        }
        v.into_iter().flatten().collect()
    };
    let cases: Vec<(usize, Vec<usize>)> =
        raw.iter().map(|(w, cells)| (((w - first) / 7) as usize, cells.iter().map(|c| index[c]).collect())).collect();
    let total = cases.len() as f64;
    let mut week_tot = vec![0.0; weeks];
    let mut cell_tot = vec![0.0; cell_list.len()];
    for (w, cells) in &cases {
        week_tot[*w] += 1.0;
        let share = 1.0 / cells.len() as f64;
        for c in cells {
            cell_tot[*c] += share;
        }
    }
    let by_cell: HashMap<CellIndex, usize> = cell_list.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let mut zones = Vec::new();
    for (ci, c) in cell_list.iter().enumerate() {
        for ring in 0..=q.max_ring {
            let mut cells: Vec<usize> =
                c.grid_disk::<Vec<_>>(ring).into_iter().filter_map(|n| by_cell.get(&n).copied()).collect();
            cells.sort_unstable();
            zones.push(Zone { centre: ci, ring, cells });
        }
    }
    let fill = |weeks_of: &dyn Fn(usize) -> usize| {
        let mut counts = vec![vec![0.0; weeks]; cell_list.len()];
        for (k, (_, cells)) in cases.iter().enumerate() {
            let share = 1.0 / cells.len() as f64;
            let w = weeks_of(k);
            for c in cells {
                counts[*c][w] += share;
            }
        }
        counts
    };
    // The observed configuration: every zone's score, kept for reporting.
    let observed = fill(&|k| cases[k].0);
    let mut scored: Vec<(f64, usize, usize, usize, f64, f64)> = Vec::new();
    best(&observed, &zones, &cell_tot, &week_tot, total, q.max_weeks, |l, z, a, b, c, mu| {
        scored.push((l, z, a, b, c, mu))
    });
    // The null: weeks permuted among cases.
    let mut rng = Rng(q.seed);
    let mut perm: Vec<usize> = cases.iter().map(|c| c.0).collect();
    let mut maxima = Vec::with_capacity(q.replicates);
    for _ in 0..q.replicates {
        for i in (1..perm.len()).rev() {
            perm.swap(i, rng.below(i + 1));
        }
        let counts = fill(&|k| perm[k]);
        maxima.push(best(&counts, &zones, &cell_tot, &week_tot, total, q.max_weeks, |_, _, _, _, _, _| {}));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut used = vec![false; cell_list.len()];
    let mut clusters = Vec::new();
    for (l, zi, w1, w2, c, mu) in scored {
        if clusters.len() >= q.limit {
            break;
        }
        let z = &zones[zi];
        if z.cells.iter().any(|c| used[*c]) {
            continue;
        }
        z.cells.iter().for_each(|c| used[*c] = true);
        let rank = maxima.iter().filter(|m| **m >= l).count();
        let centre = cell_list[z.centre];
        let ll = LatLng::from(centre);
        clusters.push(Cluster {
            centre: centre.to_string(),
            ring: z.ring,
            cells: z.cells.iter().map(|c| cell_list[*c].to_string()).collect(),
            lat: ll.lat(),
            lon: ll.lng(),
            first_week: label(first + 7 * w1 as i64),
            last_week: label(first + 7 * w2 as i64),
            observed: c,
            expected: mu,
            llr: l,
            p: (rank + 1) as f64 / (q.replicates + 1) as f64,
        });
    }
    Ok(Scan { cases: cases.len(), weeks, cells: cell_list.len(), replicates: q.replicates, clusters })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Incident, Precision};

    #[test]
    fn llr_matches_its_formula() {
        // 10 of 100 cases where 4 were expected: 10 ln(10/4) + 90 ln(90/96).
        let want = 10.0 * (2.5f64).ln() + 90.0 * (90.0f64 / 96.0).ln();
        assert!((llr(10.0, 4.0, 100.0) - want).abs() < 1e-12);
        assert_eq!(llr(3.0, 4.0, 100.0), 0.0, "fewer than expected is no cluster");
    }

    fn inc(n: usize, day: i64, point: (f64, f64)) -> Incident {
        Incident {
            id: format!("incident--{n}"),
            member: "USA".into(),
            event_type: Some("Battles".into()),
            sub_event_type: None,
            start: Some(day),
            end: Some(day),
            admin1: Some("SY-DY".into()),
            precision: Some(Precision::Town),
            point: Some(point),
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
    fn finds_an_injected_space_time_cluster_and_not_a_steady_one() {
        // Background: one incident a week at each of 12 towns for 40 weeks, steady.
        let towns: Vec<(f64, f64)> =
            (0..12).map(|k| (33.0 + 0.6 * (k / 4) as f64, 38.0 + 0.8 * (k % 4) as f64)).collect();
        let start = 20_000 - (20_000 + 3i64).rem_euclid(7); // a Monday
        let mut incidents = Vec::new();
        for w in 0..40 {
            for t in &towns {
                incidents.push(inc(incidents.len(), start + 7 * w + 2, *t));
            }
        }
        let steady = Dataset { incidents: incidents.clone(), duplicates: vec![], ..Default::default() };
        let q = ScanQuery { replicates: 49, ..Default::default() };
        let s = space_time_scan(&steady, &q).expect("scan");
        assert!(s.clusters.iter().all(|c| c.p > 0.05), "{:?}", s.clusters.first());
        // Twelve more in weeks 30-31 at one town.
        for k in 0..12 {
            incidents.push(inc(incidents.len(), start + 7 * (30 + k % 2) + 3, towns[5]));
        }
        let s = space_time_scan(&Dataset { incidents, duplicates: vec![], ..Default::default() }, &q).expect("scan");
        let top = &s.clusters[0];
        assert!(top.p <= 0.02, "{top:?}");
        let home = LatLng::new(towns[5].0, towns[5].1).expect("point").to_cell(Resolution::Four).to_string();
        assert!(top.cells.contains(&home), "{top:?}");
        assert!(
            top.first_week.as_str() >= label(start + 7 * 29).as_str()
                && top.last_week.as_str() <= label(start + 7 * 32).as_str(),
            "{top:?}"
        );
    }
}
