//! Trends: counts per group and calendar interval.
//!
//! Counted per merged incident (see [`crate::merge`]), at the interval of its window's midpoint
//! (see [`crate::calendar`]): incidents, fatalities (best, low, high), people arrested and items
//! seized. Grouped by governorate, ACLED event or sub-event type, cell (an incident attributed to
//! several cells counts for each) or originating member. A key withheld from the viewer is
//! `null` (it counts, under no value); an incident whose time the viewer may not see is only
//! counted in `undated`.

use std::collections::HashMap;

use serde::Serialize;

use crate::calendar::{Interval, label};
use crate::dataset::{Dataset, Incident};

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Admin1,
    EventType,
    SubEventType,
    Cell,
    Member,
}

impl By {
    pub fn parse(s: &str) -> Option<By> {
        Some(match s {
            "admin1" => By::Admin1,
            "event_type" => By::EventType,
            "sub_event_type" => By::SubEventType,
            "cell" => By::Cell,
            "member" => By::Member,
            _ => return None,
        })
    }

    /// The keys `i` counts under, borrowed (no allocation per incident: trends run over
    /// millions).
    fn keys<'a>(&self, i: &'a Incident, mut f: impl FnMut(Option<&'a str>)) {
        match self {
            By::Admin1 => f(i.admin1.as_deref()),
            By::EventType => f(i.event_type.as_deref()),
            By::SubEventType => f(i.sub_event_type.as_deref()),
            By::Member => f(Some(&i.member)),
            By::Cell if i.cells.is_empty() => f(None),
            By::Cell => i.cells.iter().for_each(|c| f(Some(c))),
        }
    }
}

/// A trend request; `from` and `to` are inclusive days (since 1970-01-01) of the counting day.
#[derive(Debug, Clone)]
pub struct TrendQuery {
    pub by: By,
    pub interval: Interval,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Only incidents in this governorate (ISO 3166-2).
    pub admin1: Option<String>,
}

/// The sums of one group in one interval.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sums {
    pub incidents: u64,
    pub fatalities_best: u64,
    pub fatalities_low: u64,
    pub fatalities_high: u64,
    pub arrests: u64,
    pub seizures: u64,
}

impl Sums {
    fn add(&mut self, i: &Incident) {
        self.incidents += 1;
        self.fatalities_best += i.fatalities.best;
        self.fatalities_low += i.fatalities.low;
        self.fatalities_high += i.fatalities.high;
        self.arrests += i.arrests;
        self.seizures += i.seizures;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub key: Option<String>,
    /// The first day of the interval, `YYYY-MM-DD`.
    pub interval: String,
    #[serde(flatten)]
    pub sums: Sums,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trends {
    pub by: By,
    pub interval: Interval,
    /// Rows by key, then interval (only intervals with incidents).
    pub rows: Vec<Row>,
    /// Incidents (after merging) whose time window the viewer may not see.
    pub undated: u64,
    /// Incidents folded into another by `duplicate-of`.
    pub merged: u64,
    /// Estimates made within the window (about the governorate, when one is asked for), to be
    /// read beside the counts.
    pub estimates: Vec<crate::dataset::Estimate>,
}

pub fn trends(ds: &Dataset, q: &TrendQuery) -> Trends {
    let reps = crate::merge::representatives(ds);
    let merged = (ds.incidents.len() - reps.len()) as u64;
    // Hashed while counting, sorted once at the end (far fewer groups than incidents).
    let mut groups: HashMap<(Option<&str>, i64), Sums> = HashMap::new();
    let mut undated = 0;
    let mut last: Option<(i64, i64)> = None; // (day, interval start): consecutive days repeat
    for i in reps {
        if q.admin1.as_ref().is_some_and(|a| i.admin1.as_ref() != Some(a)) {
            continue;
        }
        let Some(day) = i.day() else {
            undated += 1;
            continue;
        };
        if q.from.is_some_and(|f| day < f) || q.to.is_some_and(|t| day > t) {
            continue;
        }
        let start = match last {
            Some((d, s)) if d == day => s,
            _ => q.interval.start_of(day),
        };
        last = Some((day, start));
        q.by.keys(i, |key| groups.entry((key, start)).or_default().add(i));
    }
    let mut groups: Vec<((Option<&str>, i64), Sums)> = groups.into_iter().collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let rows = groups
        .into_iter()
        .map(|((key, start), sums)| Row { key: key.map(str::to_string), interval: label(start), sums })
        .collect();
    let estimates = ds
        .estimates
        .iter()
        .filter(|e| q.from.is_none_or(|f| e.day >= f) && q.to.is_none_or(|t| e.day <= t))
        .filter(|e| q.admin1.as_ref().is_none_or(|a| e.admin1.contains(a)))
        .cloned()
        .collect();
    Trends { by: q.by, interval: q.interval, rows, undated, merged, estimates }
}

/// The trends as CSV (RFC 4180), one row per group and interval; a withheld key is empty.
pub fn to_csv(t: &Trends) -> String {
    let mut out =
        String::from("key,interval,incidents,fatalities_best,fatalities_low,fatalities_high,arrests,seizures\r\n");
    for r in &t.rows {
        let s = &r.sums;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\r\n",
            csv_field(r.key.as_deref().unwrap_or("")),
            r.interval,
            s.incidents,
            s.fatalities_best,
            s.fatalities_low,
            s.fatalities_high,
            s.arrests,
            s.seizures
        ));
    }
    out
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Fatalities;
    use tandem_model::incident::Date;

    fn day(s: &str) -> i64 {
        Date::parse(s).map(|d| d.days()).unwrap_or(i64::MIN)
    }

    fn inc(id: &str, admin1: Option<&str>, start: &str, end: &str, dead: (u64, u64, u64)) -> Incident {
        Incident {
            id: id.into(),
            member: "USA".into(),
            event_type: Some("Battles".into()),
            sub_event_type: Some("Armed clash".into()),
            start: Some(day(start)),
            end: Some(day(end)),
            admin1: admin1.map(str::to_string),
            precision: None,
            point: None,
            locations: vec![],
            cells: vec![],
            actors: vec![],
            fatalities: Fatalities { best: dead.0, low: dead.1, high: dead.2 },
            arrests: 1,
            seizures: 0,
            sources: vec![],
            materiel: vec![],
        }
    }

    #[test]
    fn counts_by_midpoint_once_per_merged_incident_with_withheld_keys_null() {
        let ds = Dataset {
            incidents: vec![
                inc("a", Some("SY-DY"), "2025-11-03", "2025-11-03", (2, 1, 3)),
                // A November-precision report: its midpoint is 15 November.
                inc("b", Some("SY-DY"), "2025-11-01", "2025-11-30", (1, 1, 1)),
                // A duplicate of a: counts once.
                inc("c", Some("SY-DY"), "2025-11-02", "2025-11-04", (9, 9, 9)),
                inc("d", None, "2025-12-01", "2025-12-01", (0, 0, 0)),
            ],
            duplicates: vec![("c".into(), "a".into())],
            ..Default::default()
        };
        let q = TrendQuery { by: By::Admin1, interval: Interval::Month, from: None, to: None, admin1: None };
        let t = trends(&ds, &q);
        assert_eq!(t.merged, 1);
        let got: Vec<(Option<&str>, &str, u64, u64, u64)> = t
            .rows
            .iter()
            .map(|r| {
                (
                    r.key.as_deref(),
                    r.interval.as_str(),
                    r.sums.incidents,
                    r.sums.fatalities_best,
                    r.sums.fatalities_high,
                )
            })
            .collect();
        assert_eq!(got, vec![(None, "2025-12-01", 1, 0, 0), (Some("SY-DY"), "2025-11-01", 2, 3, 4)]);
        let weekly = trends(&ds, &TrendQuery { interval: Interval::Week, ..q.clone() });
        let weeks: Vec<&str> = weekly.rows.iter().map(|r| r.interval.as_str()).collect();
        assert_eq!(weeks, vec!["2025-12-01", "2025-11-03", "2025-11-10"]);
        assert!(t.estimates.is_empty());
        let csv = to_csv(&t);
        assert_eq!(csv.lines().nth(2), Some("SY-DY,2025-11-01,2,3,2,4,2,0"));
        let windowed = trends(&ds, &TrendQuery { from: Some(day("2025-11-10")), to: Some(day("2025-11-30")), ..q });
        assert_eq!(windowed.rows.len(), 1);
        assert_eq!(windowed.rows[0].sums.incidents, 1);
    }
}
