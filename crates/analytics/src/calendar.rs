//! Calendar intervals (ISO weeks, months) and the rule that puts an uncertain time window into
//! one of them.
//!
//! The rule: an incident counts in the interval that contains its window's **midpoint** (the
//! day `floor((start + end) / 2)`); a window with no known start ("before 10 December") counts
//! at its end. A count is then always a whole number and the series sums to the number of
//! dated incidents, whatever the interval; the cost is that a month-precision report may land
//! in the week holding the middle of its month. Fractional splitting was rejected because the
//! surge and Trendfinder rules are defined on whole event counts.

use serde::{Deserialize, Serialize};
use tandem_model::incident::Date;

/// The length of a trend interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// ISO weeks, Monday to Sunday.
    Week,
    Month,
}

impl Interval {
    pub fn parse(s: &str) -> Option<Interval> {
        match s {
            "week" => Some(Interval::Week),
            "month" => Some(Interval::Month),
            _ => None,
        }
    }

    /// The interval holding `day` (days since 1970-01-01), as the day its interval starts.
    pub fn start_of(&self, day: i64) -> i64 {
        match self {
            Interval::Week => week_start(day),
            Interval::Month => {
                let d = Date::from_days(day);
                Date { year: d.year, month: d.month, day: 1 }.days()
            }
        }
    }

    /// The interval after the one starting on `start`.
    pub fn next(&self, start: i64) -> i64 {
        match self {
            Interval::Week => start + 7,
            Interval::Month => {
                let d = Date::from_days(start);
                let (y, m) = if d.month == 12 { (d.year + 1, 1) } else { (d.year, d.month + 1) };
                Date { year: y, month: m, day: 1 }.days()
            }
        }
    }
}

/// The Monday on or before `day` (1970-01-01 was a Thursday).
pub fn week_start(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

/// The day an incident's window counts on (see the module doc).
pub fn count_day(start: Option<i64>, end: i64) -> i64 {
    match start {
        Some(s) if s <= end => (s + end).div_euclid(2),
        _ => end,
    }
}

/// `YYYY-MM-DD` of a day number.
pub fn label(day: i64) -> String {
    Date::from_days(day).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> i64 {
        Date::parse(s).map(|d| d.days()).unwrap_or(i64::MIN)
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        assert_eq!(label(week_start(d("2025-12-03"))), "2025-12-01");
        assert_eq!(label(week_start(d("2025-12-01"))), "2025-12-01");
        assert_eq!(label(week_start(d("2025-11-30"))), "2025-11-24");
        assert_eq!(label(week_start(d("1970-01-01"))), "1969-12-29");
        assert_eq!(label(Interval::Month.start_of(d("2024-02-29"))), "2024-02-01");
        assert_eq!(label(Interval::Month.next(d("2024-12-01"))), "2025-01-01");
    }

    #[test]
    fn a_window_counts_at_its_midpoint() {
        // A month-precision report of November 2025 counts on 15 November.
        assert_eq!(label(count_day(Some(d("2025-11-01")), d("2025-11-30"))), "2025-11-15");
        assert_eq!(label(count_day(Some(d("2025-11-24")), d("2025-11-27"))), "2025-11-25");
        assert_eq!(label(count_day(None, d("2025-12-10"))), "2025-12-10");
    }
}
