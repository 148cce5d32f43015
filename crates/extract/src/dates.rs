//! Date expressions: absolute ("on 9 July", "Aug. 12", "between 24 and 27 November"),
//! relative to publication (weekdays, "yesterday", "last week", "late last month",
//! "early December") and relative to another event ("a day later").
//!
//! Each expression becomes a [`TimeWindow`] with a precision. Dates that only say when a
//! statement was made ("said on Friday") or set a deadline ("by Monday evening") are
//! reporting dates, not event dates, and are kept apart.

use tandem_model::incident::{Date, TimePrecision, TimeWindow};

use crate::lexicon::{month, number, weekday};
use crate::text::{Span, Token};

/// What a date expression in a sentence is.
#[derive(Debug, Clone, PartialEq)]
pub enum DateRole {
    /// When the event happened.
    Event(TimeWindow),
    /// Days after (or, negative, before) the event mentioned just before.
    Relative(i64),
    /// When something was said or a deadline.
    Reporting(TimeWindow),
    /// Years or months before publication: the sentence is background.
    Background,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DateMention {
    pub role: DateRole,
    pub span: Span,
    /// Token range in the sentence.
    pub tokens: std::ops::Range<usize>,
}

const REPORTING_VERBS: &[&str] = &[
    "said",
    "says",
    "announced",
    "claimed",
    "reported",
    "released",
    "published",
    "stated",
    "added",
    "told",
    "confirmed",
    "revealed",
    "issued",
    "statement",
    "declared",
    "posted",
    "denied",
    "report",
    "announcement",
];

/// Monday = 0.
fn weekday_of(d: Date) -> i64 {
    (d.days() + 3).rem_euclid(7)
}

/// The day (in `pub_date`'s year, or the year before when that would lie in the
/// future) for `day month`.
fn infer_year(pub_date: Date, month: u32, day: u32, year: Option<i32>) -> Option<Date> {
    if let Some(y) = year {
        return Date::new(y, month, day);
    }
    let d = Date::new(pub_date.year, month, day)?;
    if d.days() > pub_date.days() + 2 { Date::new(pub_date.year - 1, month, day) } else { Some(d) }
}

fn month_window(year: i32, month: u32, part: Option<&str>) -> Option<TimeWindow> {
    let last = Date::last_of_month(year, month);
    let (a, b, p) = match part {
        Some("early") => (1, 10, TimePrecision::Days),
        Some("mid") => (11, 20, TimePrecision::Days),
        Some("late") => (21, last.day, TimePrecision::Days),
        _ => (1, last.day, TimePrecision::Month),
    };
    Some(TimeWindow::range(Date::new(year, month, a)?, Date::new(year, month, b)?, p))
}

fn prev_month(d: Date) -> (i32, u32) {
    if d.month == 1 { (d.year - 1, 12) } else { (d.year, d.month - 1) }
}

fn year_word(t: Option<&Token>) -> Option<i32> {
    let t = t?;
    (t.low.len() == 4 && t.low.bytes().all(|b| b.is_ascii_digit())).then(|| t.low.parse().ok()).flatten()
}

fn day_word(t: Option<&Token>) -> Option<u32> {
    let t = t?;
    let digits = t.low.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if digits.is_empty() || !t.low.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    (1..=31).contains(&n).then_some(n)
}

/// Finds the date expressions of a sentence.
pub fn find(tokens: &[Token], pub_date: Date) -> Vec<DateMention> {
    let low: Vec<&str> = tokens.iter().map(|t| t.low.as_str()).collect();
    let at = |i: usize| low.get(i).copied().unwrap_or("");
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let (found, len) = match_at(tokens, &low, i, pub_date);
        let Some(window) = found else {
            i += 1;
            continue;
        };
        let range = i..i + len;
        let span = tokens[range.start].span.join(tokens[range.end - 1].span);
        let role = match window {
            Found::Relative(n) => DateRole::Relative(n),
            Found::Background => DateRole::Background,
            Found::Window(w) => {
                // "said on Friday", "in a statement released on Thursday", "on Wednesday
                // announced", "by Monday evening": when it was said, not when it happened.
                let before = if at(i.wrapping_sub(1)) == "on" { i.wrapping_sub(2) } else { i.wrapping_sub(1) };
                let after = at(range.end);
                let reporting = REPORTING_VERBS.contains(&at(before))
                    || REPORTING_VERBS.contains(&after)
                    || ["by", "until", "since"].contains(&at(i.wrapping_sub(1)))
                    || (at(i.wrapping_sub(1)) == "on"
                        && REPORTING_VERBS.contains(&at(i.wrapping_sub(3)))
                        && at(i.wrapping_sub(2)) != ",");
                if w.end.days() < pub_date.days() - 120 {
                    DateRole::Background
                } else if reporting {
                    DateRole::Reporting(w)
                } else {
                    DateRole::Event(w)
                }
            }
        };
        out.push(DateMention { role, span, tokens: range.clone() });
        i = range.end;
    }
    out
}

enum Found {
    Window(TimeWindow),
    Relative(i64),
    Background,
}

fn match_at(tokens: &[Token], low: &[&str], i: usize, pub_date: Date) -> (Option<Found>, usize) {
    let at = |k: usize| low.get(k).copied().unwrap_or("");
    let tok = |k: usize| tokens.get(k);
    let w = at(i);
    // "on the night of 11 October": the night is the day.
    if w == "night" && at(i + 1) == "of" {
        let (f, n) = match_at(tokens, low, i + 2, pub_date);
        if f.is_some() {
            return (f, n + 2);
        }
    }
    // between 24 and 27 November [2024] / from 24 to 27 November
    if (w == "between" || w == "from")
        && day_word(tok(i + 1)).is_some()
        && ["and", "to"].contains(&at(i + 2))
        && let (Some(d1), Some(d2), Some(m)) = (day_word(tok(i + 1)), day_word(tok(i + 3)), month(at(i + 4)))
    {
        let year = year_word(tok(i + 5));
        let len = if year.is_some() { 6 } else { 5 };
        if let (Some(a), Some(b)) = (infer_year(pub_date, m, d1, year), infer_year(pub_date, m, d2, year))
            && a <= b
        {
            return (Some(Found::Window(TimeWindow::range(a, b, TimePrecision::Days))), len);
        }
    }
    // between 2014 and 2017, in 2019: years before publication.
    if let Some(y) = year_word(tok(i))
        && y < pub_date.year
        && !(i > 0 && month(at(i - 1)).is_some())
        && (i == 0 || day_word(tok(i - 1)).is_none())
    {
        return (Some(Found::Background), 1);
    }
    // 9 July [2024]
    if let (Some(d), Some(m)) = (day_word(tok(i)), month(at(i + 1))) {
        let year = year_word(tok(i + 2));
        if let Some(date) = infer_year(pub_date, m, d, year) {
            return (Some(Found::Window(TimeWindow::day(date))), if year.is_some() { 3 } else { 2 });
        }
    }
    // July 9[,] [2024]; Aug. 12
    if let Some(m) = month(w) {
        let mut k = i + 1;
        if at(k) == "." {
            k += 1;
        }
        if let Some(d) = day_word(tok(k)) {
            let mut end = k + 1;
            let mut year = year_word(tok(end));
            if year.is_none() && at(end) == "," {
                year = year_word(tok(end + 1));
                if year.is_some() {
                    end += 1;
                }
            }
            if year.is_some() {
                end += 1;
            }
            if let Some(date) = infer_year(pub_date, m, d, year) {
                return (Some(Found::Window(TimeWindow::day(date))), end - i);
            }
        }
    }
    // early / mid / late + (Month | last month | this month); "mid-December"
    let (part, rest) = match w {
        "early" | "mid" | "late" => (Some(w), i + 1),
        _ if w.starts_with("mid-") && month(&w[4..]).is_some() => (Some("mid"), i),
        _ => (None, i),
    };
    if part.is_some() {
        let mname = w.strip_prefix("mid-").unwrap_or(at(rest));
        if let Some(m) = month(mname).filter(|_| mname.len() > 3 || mname == "may") {
            let mut len = rest - i + 1;
            let year = year_word(tok(rest + 1));
            if year.is_some() {
                len += 1;
            }
            let y = year.unwrap_or(if m > pub_date.month { pub_date.year - 1 } else { pub_date.year });
            return (month_window(y, m, part).map(Found::Window), len);
        }
        if at(rest) == "last" && at(rest + 1) == "month" {
            let (y, m) = prev_month(pub_date);
            return (month_window(y, m, part).map(Found::Window), rest - i + 2);
        }
        if at(rest) == "this" && at(rest + 1) == "month" {
            return (month_window(pub_date.year, pub_date.month, part).map(Found::Window), rest - i + 2);
        }
    }
    // in December [2025]
    if w == "in"
        && let Some(m) = month(at(i + 1)).filter(|_| at(i + 1).len() > 3 || at(i + 1) == "may")
    {
        let year = year_word(tok(i + 2));
        let y = year.unwrap_or(if m > pub_date.month { pub_date.year - 1 } else { pub_date.year });
        return (month_window(y, m, None).map(Found::Window), if year.is_some() { 3 } else { 2 });
    }
    // weekdays: most recent such day on or before publication.
    if let Some(wd) = weekday(w) {
        let back = (weekday_of(pub_date) - wd).rem_euclid(7);
        let mut len = 1;
        if ["morning", "night", "evening", "afternoon"].contains(&at(i + 1)) {
            len = 2;
        }
        let start = if at(i.wrapping_sub(1)) == "last" { i - 1 } else { i };
        let _ = start;
        return (Some(Found::Window(TimeWindow::day(pub_date.plus_days(-back)))), len);
    }
    let monday = pub_date.plus_days(-weekday_of(pub_date));
    match (w, at(i + 1)) {
        ("yesterday", _) => return (Some(Found::Window(TimeWindow::day(pub_date.plus_days(-1)))), 1),
        ("today", _) => return (Some(Found::Window(TimeWindow::day(pub_date))), 1),
        ("last", "night") => return (Some(Found::Window(TimeWindow::day(pub_date.plus_days(-1)))), 2),
        ("this", "morning") | ("earlier", "today") => return (Some(Found::Window(TimeWindow::day(pub_date))), 2),
        ("overnight", _) | ("tonight", _) => {
            return (Some(Found::Window(TimeWindow::range(pub_date.plus_days(-1), pub_date, TimePrecision::Days))), 1);
        }
        ("over", "the") | ("at", "the") if at(i + 2) == "weekend" => {
            // The Saturday and Sunday on or before publication.
            let sunday = pub_date.plus_days(-((weekday_of(pub_date) - 6).rem_euclid(7)));
            return (Some(Found::Window(TimeWindow::range(sunday.plus_days(-1), sunday, TimePrecision::Days))), 3);
        }
        ("last", "week") => {
            let w = TimeWindow::range(monday.plus_days(-7), monday.plus_days(-1), TimePrecision::Week);
            return (Some(Found::Window(w)), 2);
        }
        ("this", "week") => {
            return (Some(Found::Window(TimeWindow::range(monday, pub_date, TimePrecision::Days))), 2);
        }
        ("earlier", "this") if at(i + 2) == "week" => {
            return (Some(Found::Window(TimeWindow::range(monday, pub_date, TimePrecision::Days))), 3);
        }
        ("earlier", "this") if at(i + 2) == "month" => {
            let first = Date::new(pub_date.year, pub_date.month, 1).unwrap_or(pub_date);
            return (Some(Found::Window(TimeWindow::range(first, pub_date, TimePrecision::Days))), 3);
        }
        ("last", "month") => {
            let (y, m) = prev_month(pub_date);
            return (month_window(y, m, None).map(Found::Window), 2);
        }
        ("a", "day") | ("one", "day") if at(i + 2) == "later" => return (Some(Found::Relative(1)), 3),
        ("the", "next") | ("the", "following") if at(i + 2) == "day" => return (Some(Found::Relative(1)), 3),
        ("the", "day") if at(i + 2) == "after" => return (Some(Found::Relative(1)), 3),
        ("the", "day") if at(i + 2) == "before" => return (Some(Found::Relative(-1)), 3),
        ("the", "previous") if at(i + 2) == "day" => return (Some(Found::Relative(-1)), 3),
        ("years", "ago") | ("last", "year") => return (Some(Found::Background), 2),
        _ => {}
    }
    if let Some(n) = number(w) {
        if (at(i + 1) == "days" || at(i + 1) == "day") && at(i + 2) == "ago" {
            return (Some(Found::Window(TimeWindow::day(pub_date.plus_days(-i64::from(n))))), 3);
        }
        if at(i + 1) == "days" && at(i + 2) == "later" {
            return (Some(Found::Relative(i64::from(n))), 3);
        }
        if at(i + 1) == "days" && (at(i + 2) == "earlier" || at(i + 2) == "before") {
            return (Some(Found::Relative(-i64::from(n))), 3);
        }
    }
    (None, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize;

    fn one(text: &str, pub_date: &str) -> DateRole {
        let p = Date::parse(pub_date).unwrap();
        find(&tokenize(text, 0), p).into_iter().next().unwrap().role
    }

    fn ev(a: &str, b: &str) -> (Date, Date) {
        (Date::parse(a).unwrap(), Date::parse(b).unwrap())
    }

    fn window(r: DateRole) -> (Date, Date) {
        match r {
            DateRole::Event(w) | DateRole::Reporting(w) => (w.start.unwrap(), w.end),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn weekdays_and_relative_phrases() {
        assert_eq!(window(one("raided it on Tuesday", "2025-06-13")), ev("2025-06-10", "2025-06-10"));
        assert_eq!(window(one("on Monday morning", "2026-02-23")), ev("2026-02-23", "2026-02-23"));
        assert_eq!(window(one("last week", "2025-10-15")), ev("2025-10-06", "2025-10-12"));
        assert_eq!(window(one("late last month", "2025-05-07")), ev("2025-04-21", "2025-04-30"));
        assert_eq!(window(one("in early December", "2025-12-16")), ev("2025-12-01", "2025-12-10"));
        assert_eq!(window(one("between 24 and 27 November", "2024-12-03")), ev("2024-11-24", "2024-11-27"));
        assert_eq!(window(one("On Aug. 12, jets", "2024-08-19")), ev("2024-08-12", "2024-08-12"));
        assert_eq!(window(one("on 28 December", "2026-01-05")), ev("2025-12-28", "2025-12-28"));
        assert_eq!(window(one("yesterday", "2026-01-05")), ev("2026-01-04", "2026-01-04"));
        assert!(matches!(one("said on Friday that", "2025-06-13"), DateRole::Reporting(_)));
        assert!(matches!(one("by Monday evening", "2025-06-13"), DateRole::Reporting(_)));
        assert_eq!(one("a day later", "2025-06-13"), DateRole::Relative(1));
        assert_eq!(window(one("two days ago", "2025-06-13")), ev("2025-06-11", "2025-06-11"));
        assert_eq!(window(one("over the weekend", "2025-06-17")), ev("2025-06-14", "2025-06-15"));
        assert_eq!(one("a deadlier attack in 2019", "2026-02-23"), DateRole::Background);
    }
}
