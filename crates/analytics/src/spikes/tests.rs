use super::*;
use crate::dataset::Incident;

fn at(series: &[u64]) -> (f64, bool, Option<Trend>) {
    let (mean, surge, trend) = four_week(series, series.len() - 1).expect("five weeks");
    (mean, surge, trend.map(|t| t.1))
}

#[test]
fn surge_rule_on_hand_computed_cases() {
    // Exactly 100% above a mean of 1: a surge.
    assert_eq!(at(&[1, 1, 1, 1, 2]), (1.0, true, Some(Trend::LargeIncrease)));
    assert_eq!(at(&[1, 1, 1, 1, 1]), (1.0, false, Some(Trend::LimitedChange)));
    // Tripled, but the area averages 0.75 events a week: below the activity floor.
    assert_eq!(at(&[0, 1, 1, 1, 3]), (0.75, false, Some(Trend::LargeIncrease)));
    // Mean 2.5, 5 is exactly +100%; 4 is +60%, a large increase but no surge.
    assert_eq!(at(&[9, 2, 3, 2, 3, 5]), (2.5, true, Some(Trend::LargeIncrease)));
    assert_eq!(at(&[2, 3, 2, 3, 4]), (2.5, false, Some(Trend::LargeIncrease)));
    // The Trendfinder boundaries: +25% is moderate, +10% limited, -25% limited, below large decrease.
    assert_eq!(at(&[4, 4, 4, 4, 5]).2, Some(Trend::ModerateIncrease));
    assert_eq!(at(&[10, 10, 10, 10, 11]).2, Some(Trend::LimitedChange));
    assert_eq!(at(&[4, 4, 4, 4, 3]).2, Some(Trend::LimitedChange));
    assert_eq!(at(&[4, 4, 4, 4, 2]).2, Some(Trend::LargeDecrease));
    // A zero mean has no class and no surge, however many events follow.
    assert_eq!(at(&[0, 0, 0, 0, 7]), (0.0, false, None));
    assert!(four_week(&[1, 1, 1, 1], 3).is_none(), "needs four previous weeks");
}

#[test]
fn poisson_tail_matches_closed_forms() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.max(1e-300);
    assert!(close(poisson_upper_tail(1, 1.0), 1.0 - (-1.0f64).exp()));
    assert!(close(poisson_upper_tail(3, 1.0), 1.0 - 2.5 * (-1.0f64).exp()));
    assert_eq!(poisson_upper_tail(0, 3.0), 1.0);
    // Far in the tail: P(X >= 200 | 10) is about 1e-169, still positive and finite.
    let p = poisson_upper_tail(200, 10.0);
    assert!(p > 0.0 && p < 1e-150, "{p}");
}

/// A deterministic generator for the synthetic series (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn poisson(&mut self, lambda: f64) -> u64 {
        // Knuth's method, in chunks so a large mean does not underflow.
        let mut k = 0;
        let mut left = lambda;
        while left > 0.0 {
            let step = left.min(30.0);
            left -= step;
            let limit = (-step).exp();
            let mut p = 1.0;
            loop {
                p *= self.next();
                if p <= limit {
                    break;
                }
                k += 1;
            }
        }
        k
    }
}

/// Ten years of weekly counts with a seasonal mean (winter low, summer high, as the demo's
/// history) and a slow decline, with spikes injected at known weeks after the third year. The
/// seasonal detector must find most spikes and raise few false alarms; the four-week surge rule
/// is measured on the same series for comparison.
#[test]
fn seasonal_detector_finds_injected_spikes_with_few_false_alarms() {
    let mut rng = Rng(0x5eed);
    let (years, areas) = (10usize, 20usize);
    let weeks = 52 * years;
    let (mut injected, mut detected, mut false_alarms, mut surge_hits, mut surge_false) = (0, 0, 0, 0, 0);
    let mut evaluated_weeks = 0usize;
    for area in 0..areas {
        let level = 2.0 + area as f64 * 0.4;
        let mean = |w: usize| {
            let season = 1.0 + 0.4 * (2.0 * std::f64::consts::PI * (w as f64 - 13.0) / 52.0).sin();
            level * season * (1.0 - 0.03 * w as f64 / 52.0)
        };
        let spikes: Vec<usize> = (0..14).map(|k| 52 * 3 + 5 + k * 25 + (rng.next() * 10.0) as usize).collect();
        let series: Vec<u64> = (0..weeks)
            .map(|w| {
                let m = mean(w);
                rng.poisson(if spikes.contains(&w) { 3.0 * m + 6.0 } else { m })
            })
            .collect();
        for w in 0..weeks {
            let Some((_, _, _, flagged)) = seasonal(&series, w) else { continue };
            evaluated_weeks += 1;
            let surge = four_week(&series, w).is_some_and(|f| f.1);
            if spikes.contains(&w) {
                injected += 1;
                detected += usize::from(flagged);
                surge_hits += usize::from(surge);
            } else {
                false_alarms += usize::from(flagged);
                surge_false += usize::from(surge);
            }
        }
    }
    let years_evaluated = evaluated_weeks as f64 / 52.0;
    let rate = detected as f64 / injected as f64;
    let fa = false_alarms as f64 / years_evaluated;
    println!(
        "seasonal Poisson: detection {detected}/{injected} = {rate:.2}, false alarms {false_alarms} = {fa:.2} per area-year over {years_evaluated:.0} area-years"
    );
    println!(
        "four-week surge rule: detection {surge_hits}/{injected} = {:.2}, false alarms {:.2} per area-year",
        surge_hits as f64 / injected as f64,
        surge_false as f64 / years_evaluated
    );
    assert!(injected > 200, "{injected}");
    assert!(rate >= 0.8, "detection rate {rate}");
    assert!(fa <= 0.5, "false alarms per area-year {fa}");
}

fn incident(id: usize, admin1: &str, day: i64, event_type: &str) -> Incident {
    Incident {
        id: format!("incident--{id}"),
        member: "USA".into(),
        event_type: Some(event_type.into()),
        sub_event_type: None,
        start: Some(day),
        end: Some(day),
        admin1: Some(admin1.into()),
        precision: None,
        point: None,
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
fn spikes_count_the_political_violence_basket_per_governorate() {
    let monday = tandem_model::incident::Date { year: 2025, month: 11, day: 3 }.days();
    let mut incidents = Vec::new();
    let mut n = 0;
    // Four weeks of one event a week in SY-DY, then three; Arrests (not political violence)
    // in the last week do not count.
    for (week, count) in [1, 1, 1, 1, 3].into_iter().enumerate() {
        for _ in 0..count {
            n += 1;
            incidents.push(incident(n, "SY-DY", monday + 7 * week as i64 + 2, "Battles"));
        }
    }
    for _ in 0..5 {
        n += 1;
        incidents.push(incident(n, "SY-HA", monday + 30, "Strategic developments"));
    }
    let ds = Dataset { incidents, duplicates: vec![], ..Default::default() };
    let all = spikes(&ds, &SpikeQuery::default());
    assert_eq!(all.len(), 1, "{all:?}");
    let r = &all[0];
    assert_eq!((r.admin1.as_str(), r.week.as_str(), r.observed), ("SY-DY", "2025-12-01", 3));
    let s = r.surge.as_ref().expect("surge evaluated");
    assert!(s.flagged && s.baseline == 1.0 && s.score == 3.0);
    assert_eq!(r.trendfinder.as_ref().map(|t| t.class), Some(Trend::LargeIncrease));
    assert!(r.seasonal.is_none(), "no three years of history");
    let flagged = spikes(&ds, &SpikeQuery { from: Some(monday), flagged_only: true, ..Default::default() });
    assert_eq!(flagged.len(), 1);
}
