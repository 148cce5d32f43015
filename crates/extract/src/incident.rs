//! Grouping clauses into incidents.
//!
//! Walk the clauses in order. A clause with an event date joins the incident with that
//! date, or gives a date to the incident the lead announced without one ("said on
//! Friday that it had dismantled a cell ... raided a hideout on Tuesday"), or opens a
//! new incident. A clause without a date joins the incident its triggers fit (a bombing
//! sentence returns to the bombing, not to the arrests told in between), else the last
//! one. Background clauses (earlier years, habitual "frequently", "in recent months")
//! join nothing.

use tandem_model::incident::{Date, TimePrecision, TimeWindow};

use crate::clause::Clause;
use crate::dates::DateRole;
use crate::lexicon::Kind;
use crate::text::Span;

#[derive(Debug, Default)]
pub struct Group {
    pub clauses: Vec<usize>,
    pub date: Option<(TimeWindow, Span)>,
    /// The date is exact (not "last week" awaiting a day).
    pub exact: bool,
    pub kinds: Vec<Kind>,
    /// Clauses that report several different kinds at once summarise the text; their
    /// figures are not this incident's.
    pub summary: Vec<usize>,
}

fn overlaps(a: &TimeWindow, b: &TimeWindow) -> bool {
    let (sa, sb) = (a.start.unwrap_or(a.end), b.start.unwrap_or(b.end));
    sa <= b.end && sb <= a.end
}

fn contains(outer: &TimeWindow, inner: &TimeWindow) -> bool {
    outer.start.unwrap_or(outer.end) <= inner.start.unwrap_or(inner.end) && inner.end <= outer.end
}

/// Families of kinds that describe the same incident from different angles.
fn family(k: Kind) -> u8 {
    match k {
        Kind::Arrest | Kind::Weapons | Kind::Operation => 0,
        Kind::Clash | Kind::Attack | Kind::Grenade | Kind::Killing | Kind::Abduction => 1,
        _ => 2,
    }
}

pub fn group(clauses: &[Clause]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut current: Option<usize> = None;
    for (ci, c) in clauses.iter().enumerate() {
        if c.generic {
            continue;
        }
        let kinds = c.strong_kinds();
        let has_trigger = !c.triggers.is_empty();
        let event_date = c.dates.iter().find_map(|d| match &d.role {
            DateRole::Event(w) => Some((w.clone(), d.span)),
            DateRole::Relative(n) => {
                let base =
                    current.and_then(|g| groups[g].date.as_ref().filter(|_| groups[g].exact).map(|(w, _)| w.end))?;
                Some((TimeWindow::day(base.plus_days(*n)), d.span))
            }
            _ => None,
        });
        let fresh = |kinds: &[Kind]| kinds.iter().any(|k| k.strong());
        // A clause that reports a new event elsewhere ("Separately, ..."; or a fresh
        // trigger in another governorate) does not join an incident already told.
        let here = c.admin1();
        let elsewhere = |g: &Group| {
            let theirs = g.clauses.iter().find_map(|&i| clauses[i].admin1());
            c.separate || matches!((here, theirs), (Some(a), Some(b)) if a != b)
        };
        let opens = fresh(&kinds) && !kinds.is_empty();
        let target = match &event_date {
            // A dated clause with figures but no trigger ("one of its drones had killed
            // a commander last week") can open an incident the next clause names.
            Some((w, _)) if has_trigger || current.is_some() || !c.figures.is_empty() => {
                let exact = w.precision == TimePrecision::Day;
                let apart = |g: &Group| opens && elsewhere(g);
                let same = groups.iter().rposition(|g| {
                    !apart(g)
                        && g.date.as_ref().is_some_and(|(d, _)| {
                            if exact && g.exact { d == w } else { overlaps(d, w) && (!exact || !g.exact) }
                        })
                });
                let undated = groups.iter().rposition(|g| !apart(g) && g.date.is_none());
                match same.or(undated) {
                    Some(g) => Some(g),
                    None if has_trigger || !c.figures.is_empty() => {
                        groups.push(Group::default());
                        Some(groups.len() - 1)
                    }
                    None => current,
                }
            }
            _ => {
                // No date: the incident whose kinds this clause's strong triggers fit, the
                // last one, or a new undated incident.
                let fits = groups
                    .iter()
                    .rposition(|g| kinds.iter().any(|k| g.kinds.iter().any(|gk| family(*gk) == family(*k))));
                let current_fits = current.is_some_and(|g| {
                    kinds.is_empty()
                        || groups[g].kinds.is_empty()
                        || kinds.iter().any(|k| groups[g].kinds.iter().any(|gk| family(*gk) == family(*k)))
                });
                let apart = opens && current.is_some_and(|g| elsewhere(&groups[g]));
                if apart {
                    groups.push(Group::default());
                    Some(groups.len() - 1)
                } else if current_fits {
                    current
                } else if let Some(g) = fits {
                    Some(g)
                } else if current.is_some() {
                    current
                } else if fresh(&kinds) {
                    groups.push(Group::default());
                    Some(groups.len() - 1)
                } else {
                    None
                }
            }
        };
        let Some(gi) = target else { continue };
        let g = &mut groups[gi];
        if let Some((w, span)) = event_date {
            let exact = w.precision == TimePrecision::Day;
            match &g.date {
                None => {
                    g.exact = exact;
                    g.date = Some((w, span));
                }
                Some((d, _)) if !g.exact && exact && contains(d, &w) => {
                    g.exact = true;
                    g.date = Some((w, span));
                }
                _ => {}
            }
        }
        // "killed" alone says nothing new about what happened: not a second kind.
        let mut families: Vec<u8> = kinds.iter().filter(|k| **k != Kind::Killing).map(|k| family(*k)).collect();
        families.sort();
        families.dedup();
        let vague = c.dates.iter().any(|d| matches!(&d.role, DateRole::Event(w) if w.precision != TimePrecision::Day));
        if families.len() > 1 && vague {
            g.summary.push(ci);
        }
        g.clauses.push(ci);
        g.kinds.extend(kinds);
        g.kinds.sort();
        g.kinds.dedup();
        current = Some(gi);
    }
    groups
}

/// The window for an incident no clause dated: the week up to the reporting date.
pub fn undated_window(reported: Date) -> TimeWindow {
    TimeWindow::range(reported.plus_days(-6), reported, TimePrecision::Week)
}
