//! Spikes: per governorate and ISO week, three detectors over the weekly count of
//! political-violence events.
//!
//! **Event basket.** ACLED's political violence: events of type Battles, Explosions/Remote
//! violence and Violence against civilians (`tandem_model::incident::acled::is_violent`),
//! counted once per merged incident (see [`crate::merge`]) at the week of its window's midpoint
//! (see [`crate::calendar`]). An incident whose type, time or governorate the viewer may not
//! see is not in the basket.
//!
//! - **Surge** (ACLED Subnational Surge Tracker): week `w` is a surge when its count is at least
//!   100% above the mean of weeks `w-4..w-1` (`observed >= 2 * mean`), only in areas averaging at
//!   least one event a week over those four weeks (`mean >= 1`).
//! - **Trendfinder** class (ACLED): the change `(observed - mean) / mean` against the same
//!   four-week mean: above +25% a large increase, +10% to +25% moderate, -25% to +10% limited,
//!   below -25% a large decrease; no class when the mean is zero.
//! - **Seasonal Poisson exceedance** (historical limits, as Farrington and the CDC's
//!   historical-limits method): the baseline is the mean count of the same week ±2 in the three
//!   previous years (15 weeks, so seasonality is in the baseline), floored at 0.5; the week is
//!   flagged when `P(X >= observed | Poisson(baseline)) < 0.001`. The score is `-log10` of that
//!   tail probability. Needs three years of history; earlier weeks are not scored.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::calendar::{label, week_start};
use crate::dataset::Dataset;

/// The significance level of the seasonal detector.
pub const ALPHA: f64 = 0.001;
/// Years of history the seasonal baseline uses.
pub const BASELINE_YEARS: usize = 3;
/// Half-width, in weeks, of the seasonal window around the same week of earlier years.
pub const SEASON_HALF_WIDTH: usize = 2;

/// Weekly political-violence counts per governorate: `(first week's Monday, counts)`, one count
/// per consecutive week from the first week with an event anywhere to the last.
pub fn weekly_series(ds: &Dataset) -> (i64, BTreeMap<String, Vec<u64>>) {
    let reps = crate::merge::representatives(ds);
    let mut points: Vec<(&str, i64)> = Vec::new();
    for i in reps {
        if let (true, Some(a), Some(d)) = (i.is_political_violence(), i.admin1.as_deref(), i.day()) {
            points.push((a, week_start(d)));
        }
    }
    let Some(first) = points.iter().map(|p| p.1).min() else { return (0, BTreeMap::new()) };
    let last = points.iter().map(|p| p.1).max().unwrap_or(first);
    let weeks = ((last - first) / 7 + 1) as usize;
    let mut series: std::collections::HashMap<&str, Vec<u64>> = Default::default();
    for (a, w) in points {
        series.entry(a).or_insert_with(|| vec![0; weeks])[((w - first) / 7) as usize] += 1;
    }
    (first, series.into_iter().map(|(a, s)| (a.to_string(), s)).collect())
}

/// ACLED Trendfinder's classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    LargeIncrease,
    ModerateIncrease,
    LimitedChange,
    LargeDecrease,
}

pub fn trend_class(change: f64) -> Trend {
    if change > 0.25 {
        Trend::LargeIncrease
    } else if change > 0.10 {
        Trend::ModerateIncrease
    } else if change >= -0.25 {
        Trend::LimitedChange
    } else {
        Trend::LargeDecrease
    }
}

/// The four-week rules at one week: the mean of the four weeks before, whether it is a surge,
/// and the Trendfinder change and class (none when the mean is zero).
pub type FourWeek = (f64, bool, Option<(f64, Trend)>);

/// The four-week rules at week index `w` of `series`; `None` before the fifth week.
pub fn four_week(series: &[u64], w: usize) -> Option<FourWeek> {
    if w < 4 || w >= series.len() {
        return None;
    }
    let mean = series[w - 4..w].iter().sum::<u64>() as f64 / 4.0;
    let observed = series[w] as f64;
    let surge = mean >= 1.0 && observed >= 2.0 * mean;
    let trend = (mean > 0.0).then(|| {
        let change = (observed - mean) / mean;
        (change, trend_class(change))
    });
    Some((mean, surge, trend))
}

/// The seasonal baseline at week `w`: `None` without three years of history.
pub fn seasonal_baseline(series: &[u64], w: usize) -> Option<f64> {
    let back = 52 * BASELINE_YEARS + SEASON_HALF_WIDTH;
    if w < back || w >= series.len() {
        return None;
    }
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in 1..=BASELINE_YEARS {
        let centre = w - 52 * y;
        for v in &series[centre - SEASON_HALF_WIDTH..=centre + SEASON_HALF_WIDTH] {
            sum += v;
            n += 1;
        }
    }
    Some((sum as f64 / n as f64).max(0.5))
}

/// `P(X >= k)` for `X ~ Poisson(lambda)`, summed in log space so large counts do not overflow.
pub fn poisson_upper_tail(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    // 1 - P(X <= k-1), or the direct sum of the upper terms when that is more accurate.
    let ln_pmf = |i: u64| -(lambda) + (i as f64) * lambda.ln() - ln_factorial(i);
    if (k as f64) > lambda {
        let mut total = 0.0;
        let mut i = k;
        loop {
            let t = ln_pmf(i).exp();
            total += t;
            if t < total * 1e-16 || i > k + 10_000 {
                break;
            }
            i += 1;
        }
        total.min(1.0)
    } else {
        let lower: f64 = (0..k).map(|i| ln_pmf(i).exp()).sum();
        (1.0 - lower).max(0.0)
    }
}

fn ln_factorial(n: u64) -> f64 {
    if n < 2 {
        return 0.0;
    }
    if n < 64 {
        return (2..=n).map(|i| (i as f64).ln()).sum();
    }
    // Stirling's series: exact to double precision well before 64.
    let x = n as f64;
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x) - 1.0 / (360.0 * x * x * x)
}

/// The seasonal detector at week `w`: `(baseline, tail probability, score, flagged)`.
pub fn seasonal(series: &[u64], w: usize) -> Option<(f64, f64, f64, bool)> {
    let baseline = seasonal_baseline(series, w)?;
    let p = poisson_upper_tail(series[w], baseline);
    Some((baseline, p, -p.max(1e-300).log10(), p < ALPHA))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurgeFlag {
    pub baseline: f64,
    pub observed: u64,
    /// `observed / baseline` (the surge needs at least 2).
    pub score: f64,
    pub flagged: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendFlag {
    pub baseline: f64,
    pub observed: u64,
    /// The relative change against the baseline.
    pub score: f64,
    pub class: Trend,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeasonalFlag {
    pub baseline: f64,
    pub observed: u64,
    /// `-log10 P(X >= observed)`.
    pub score: f64,
    pub p_value: f64,
    pub flagged: bool,
}

/// One governorate in one week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekReport {
    pub admin1: String,
    /// The week's Monday.
    pub week: String,
    pub observed: u64,
    pub surge: Option<SurgeFlag>,
    pub trendfinder: Option<TrendFlag>,
    pub seasonal: Option<SeasonalFlag>,
}

impl WeekReport {
    pub fn any_flag(&self) -> bool {
        self.surge.as_ref().is_some_and(|s| s.flagged) || self.seasonal.as_ref().is_some_and(|s| s.flagged)
    }
}

/// A spikes request: the weeks `from..=to` (days; default the last week with events) to report.
#[derive(Debug, Clone, Default)]
pub struct SpikeQuery {
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Only weeks where the surge or the seasonal detector flags.
    pub flagged_only: bool,
}

pub fn spikes(ds: &Dataset, q: &SpikeQuery) -> Vec<WeekReport> {
    let (first, series) = weekly_series(ds);
    let mut out = Vec::new();
    let Some(weeks) = series.values().next().map(Vec::len) else { return out };
    let last_week = first + 7 * (weeks as i64 - 1);
    let to = q.to.map_or(last_week, week_start).min(last_week);
    let from = q.from.map_or(to, week_start).max(first);
    for (admin1, s) in &series {
        let mut w = from;
        while w <= to {
            let idx = ((w - first) / 7) as usize;
            let observed = s[idx];
            let (surge, trendfinder) = match four_week(s, idx) {
                Some((mean, flagged, trend)) => (
                    Some(SurgeFlag {
                        baseline: mean,
                        observed,
                        score: if mean > 0.0 { observed as f64 / mean } else { 0.0 },
                        flagged,
                    }),
                    trend.map(|(change, class)| TrendFlag { baseline: mean, observed, score: change, class }),
                ),
                None => (None, None),
            };
            let seasonal = seasonal(s, idx).map(|(baseline, p, score, flagged)| SeasonalFlag {
                baseline,
                observed,
                score,
                p_value: p,
                flagged,
            });
            let r = WeekReport { admin1: admin1.clone(), week: label(w), observed, surge, trendfinder, seasonal };
            if !q.flagged_only || r.any_flag() {
                out.push(r);
            }
            w += 7;
        }
    }
    out
}

#[cfg(test)]
mod tests;
