//! Uncertain time: a calendar [`Date`] and a [`TimeWindow`] `(start, end, precision)`.
//!
//! Reports rarely give an exact day ("between 24 and 27 November", "early December", "date
//! unknown, before 10 December"), so an incident's time is a closed window of days with a
//! precision saying how it was reported. [`parse_time_expression`] turns the common English
//! phrasings into windows; analysts can always write the window by hand.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::timestamp::{civil_from_days, days_from_civil};

/// A proleptic Gregorian calendar day, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// A date if `(year, month, day)` exists.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(Date {
            year,
            month,
            day,
        })
    }

    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
        };
        Date::new(num(0..4)? as i32, num(5..7)?, num(8..10)?)
    }

    /// Days since 1970-01-01.
    pub fn days(&self) -> i64 {
        days_from_civil(i64::from(self.year), self.month, self.day)
    }

    pub fn from_days(days: i64) -> Date {
        let (y, m, d) = civil_from_days(days);
        Date { year: y as i32, month: m, day: d }
    }

    pub fn plus_days(&self, n: i64) -> Date {
        Date::from_days(self.days() + n)
    }

    pub fn last_of_month(year: i32, month: u32) -> Date {
        Date { year, month, day: days_in_month(year, month) }
    }

    /// A STIX timestamp at `hh:mm:ss` UTC on this day, with milliseconds.
    pub fn at(&self, hour: u32, minute: u32, second: u32) -> String {
        format!("{self}T{hour:02}:{minute:02}:{second:02}.000Z")
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("invalid date {s:?}, expected YYYY-MM-DD")))
    }
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// How the time of an incident was reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimePrecision {
    /// One exact day (ACLED time_precision 1).
    Day,
    /// A window of a few days ("between 24 and 27 November", "early December").
    Days,
    /// A week (ACLED time_precision 2).
    Week,
    /// A month (ACLED time_precision 3).
    Month,
    /// A year (UCDP date_prec 5).
    Year,
}

impl TimePrecision {
    pub const ALL: [&'static str; 5] = ["day", "days", "week", "month", "year"];

    pub fn as_str(&self) -> &'static str {
        match self {
            TimePrecision::Day => "day",
            TimePrecision::Days => "days",
            TimePrecision::Week => "week",
            TimePrecision::Month => "month",
            TimePrecision::Year => "year",
        }
    }

    /// ACLED's `time_precision` code (1 day, 2 week, 3 month or coarser).
    pub fn acled_code(&self) -> u8 {
        match self {
            TimePrecision::Day => 1,
            TimePrecision::Days | TimePrecision::Week => 2,
            TimePrecision::Month | TimePrecision::Year => 3,
        }
    }
}

/// A closed window of days. `start` is `None` when only a latest date is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Date>,
    pub end: Date,
    pub precision: TimePrecision,
    /// The phrase the window was read from, kept for the analyst ("early December 2025").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

impl TimeWindow {
    pub fn day(d: Date) -> TimeWindow {
        TimeWindow { start: Some(d), end: d, precision: TimePrecision::Day, expression: None }
    }

    pub fn range(start: Date, end: Date, precision: TimePrecision) -> TimeWindow {
        TimeWindow { start: Some(start), end, precision, expression: None }
    }

    pub fn with_expression(mut self, expression: &str) -> TimeWindow {
        self.expression = Some(expression.to_string());
        self
    }

    /// Length in days (1 for a single day), or `None` when the start is unknown.
    pub fn len_days(&self) -> Option<i64> {
        self.start.map(|s| self.end.days() - s.days() + 1)
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.');
    if w.len() < 3 {
        return None;
    }
    MONTHS.iter().position(|m| m.starts_with(w)).map(|i| i as u32 + 1)
}

fn year_of(word: &str) -> Option<i32> {
    (word.len() == 4 && word.bytes().all(|b| b.is_ascii_digit())).then(|| word.parse().ok()).flatten()
}

fn day_of(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u32 = digits.parse().ok()?;
    (1..=31).contains(&n).then_some(n)
}

/// Parses the common ways reports give a date or a vague span, in English:
///
/// - `2025-06-22`, `22 June 2025`, `June 22, 2025` -> that day;
/// - `between 24 and 27 November 2025`, `24-27 November 2025`, `24 to 27 Nov 2025`,
///   `between 30 November and 2 December 2025` -> the days, precision `days`;
/// - `early|mid|late December 2025` -> 1-10, 11-20, 21-end, precision `days`;
/// - `week of 24 November 2025` -> 7 days from that day; `first|second|third|fourth|last week of
///   December 2025` -> that week, precision `week`;
/// - `December 2025` -> the month; `2025` -> the year; `early|mid|late 2025` -> Jan-Apr, May-Aug,
///   Sep-Dec (precision `month`);
/// - `before 10 December 2025` / `by 10 December 2025` -> unknown start, precision `days`.
///
/// Returns `None` for anything else; the expression is kept in the window.
pub fn parse_time_expression(text: &str) -> Option<TimeWindow> {
    let lower = text.trim().to_lowercase().replace([',', '\u{2013}', '\u{2014}'], " ").replace('-', " - ");
    let mut words: Vec<&str> = lower.split_whitespace().collect();
    if words.is_empty() {
        return None;
    }
    if let Some(d) = Date::parse(text.trim()) {
        return Some(TimeWindow::day(d).with_expression(text.trim()));
    }
    let keep = |w: TimeWindow| Some(w.with_expression(text.trim()));
    if words[0] == "on" {
        words.remove(0);
    }
    let year = year_of(words.last()?)?;
    let body = &words[..words.len() - 1];
    match body {
        [] => keep(TimeWindow::range(Date::new(year, 1, 1)?, Date::new(year, 12, 31)?, TimePrecision::Year)),
        [part] if month_of(part).is_none() => {
            let (a, b) = match *part {
                "early" => (1, 4),
                "mid" | "middle" => (5, 8),
                "late" => (9, 12),
                _ => return None,
            };
            keep(TimeWindow::range(Date::new(year, a, 1)?, Date::last_of_month(year, b), TimePrecision::Month))
        }
        [m] => {
            let m = month_of(m)?;
            keep(TimeWindow::range(Date::new(year, m, 1)?, Date::last_of_month(year, m), TimePrecision::Month))
        }
        [part, m] if month_of(m).is_some() && day_of(part).is_none() => {
            let m = month_of(m)?;
            let last = days_in_month(year, m);
            let (a, b) = match *part {
                "early" | "beginning" => (1, 10),
                "mid" | "middle" => (11, 20),
                "late" | "end" => (21, last),
                _ => return None,
            };
            keep(TimeWindow::range(Date::new(year, m, a)?, Date::new(year, m, b)?, TimePrecision::Days))
        }
        [d, m] | [m, d] if day_of(d).is_some() && month_of(m).is_some() => {
            keep(TimeWindow::day(Date::new(year, month_of(m)?, day_of(d)?)?))
        }
        ["before" | "by", d, m] => {
            let end = Date::new(year, month_of(m)?, day_of(d)?)?;
            let end = if body[0] == "before" { end.plus_days(-1) } else { end };
            keep(TimeWindow { start: None, end, precision: TimePrecision::Days, expression: None })
        }
        ["week", "of", d, m] => {
            let s = Date::new(year, month_of(m)?, day_of(d)?)?;
            keep(TimeWindow::range(s, s.plus_days(6), TimePrecision::Week))
        }
        [nth, "week", "of", m] => {
            let m = month_of(m)?;
            let last = days_in_month(year, m);
            let a = match *nth {
                "first" => 1,
                "second" => 8,
                "third" => 15,
                "fourth" => 22,
                "last" => last - 6,
                _ => return None,
            };
            keep(TimeWindow::range(Date::new(year, m, a)?, Date::new(year, m, a + 6)?, TimePrecision::Week))
        }
        ["between", d1, "and", d2, m] | [d1, "-" | "to" | "and", d2, m] => {
            let m = month_of(m)?;
            span(Date::new(year, m, day_of(d1)?)?, Date::new(year, m, day_of(d2)?)?).and_then(keep)
        }
        ["between", d1, m1, "and", d2, m2] | [d1, m1, "-" | "to" | "and", d2, m2] => {
            let a = Date::new(year, month_of(m1)?, day_of(d1)?)?;
            let b = Date::new(year, month_of(m2)?, day_of(d2)?)?;
            span(a, b).and_then(keep)
        }
        _ => None,
    }
}

fn span(a: Date, b: Date) -> Option<TimeWindow> {
    match a.cmp(&b) {
        std::cmp::Ordering::Greater => None,
        std::cmp::Ordering::Equal => Some(TimeWindow::day(a)),
        std::cmp::Ordering::Less => Some(TimeWindow::range(a, b, TimePrecision::Days)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<(&str, &str, &str)>) {
        let got = parse_time_expression(text)
            .map(|w| (w.start.map(|d| d.to_string()).unwrap_or_default(), w.end.to_string(), w.precision.as_str()));
        let expected = expected.map(|(s, e, p)| (s.to_string(), e.to_string(), p));
        assert_eq!(got, expected, "{text}");
    }

    #[test]
    fn fuzzy_expressions() {
        check("between 24 and 27 November 2025", Some(("2025-11-24", "2025-11-27", "days")));
        check("24-27 November 2025", Some(("2025-11-24", "2025-11-27", "days")));
        check("24 to 27 Nov. 2025", Some(("2025-11-24", "2025-11-27", "days")));
        check("between 30 November and 2 December 2025", Some(("2025-11-30", "2025-12-02", "days")));
        check("early December 2025", Some(("2025-12-01", "2025-12-10", "days")));
        check("mid December 2025", Some(("2025-12-11", "2025-12-20", "days")));
        check("late February 2024", Some(("2024-02-21", "2024-02-29", "days")));
        check("December 2025", Some(("2025-12-01", "2025-12-31", "month")));
        check("2019", Some(("2019-01-01", "2019-12-31", "year")));
        check("late 2019", Some(("2019-09-01", "2019-12-31", "month")));
        check("22 June 2025", Some(("2025-06-22", "2025-06-22", "day")));
        check("June 22, 2025", Some(("2025-06-22", "2025-06-22", "day")));
        check("on 2nd December 2025", Some(("2025-12-02", "2025-12-02", "day")));
        check("2025-06-22", Some(("2025-06-22", "2025-06-22", "day")));
        check("week of 24 November 2025", Some(("2025-11-24", "2025-11-30", "week")));
        check("last week of November 2025", Some(("2025-11-24", "2025-11-30", "week")));
        check("before 10 December 2025", Some(("", "2025-12-09", "days")));
        check("by 10 December 2025", Some(("", "2025-12-10", "days")));
        check("between 27 and 24 November 2025", None);
        check("31 February 2025", None);
        check("sometime", None);
        check("", None);
    }

    #[test]
    fn date_round_trip() {
        let d = Date::parse("2024-02-29").unwrap();
        assert_eq!(Date::from_days(d.days()), d);
        assert_eq!(d.plus_days(1).to_string(), "2024-03-01");
        assert!(Date::parse("2023-02-29").is_none());
        assert!(Date::parse("2023-2-28").is_none());
        assert_eq!(d.at(12, 0, 0), "2024-02-29T12:00:00.000Z");
    }
}
