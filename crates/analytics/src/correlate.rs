//! Correlation across members: scored candidate pairs of incidents, reported by different
//! members, that probably describe one event.
//!
//! A pair is a candidate only when every hard condition holds: different originating members,
//! time windows that overlap (one day of slack for reports dated on either side of midnight),
//! places compatible given both precisions (within the sum of their uncertainty radii, or the
//! same governorate when either is known only to its governorate), and compatible types (the
//! same ACLED event type, or both political violence). The score then weighs how well they
//! agree: closeness in space, coinciding time windows (discounted by how vague they are), the
//! same sub-event type, shared actors (by STIX id,
//! never by comparing names or free text) and overlapping fatality ranges.
//!
//! [`Index`] finds candidates for one new incident without scanning the others: incidents are
//! bucketed by week and by a 0.25° grid cell (those with a point) or by governorate (those known
//! only to their governorate), and a new incident probes only the buckets it could match. An
//! index holds one viewer's dataset only: built over what `Store::list` released to that
//! viewer, it cannot reveal that a report hidden from it exists. Sharing one index between
//! viewers would (a candidate's existence is information), so the service never does.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::dataset::{Dataset, Incident, Precision};
use crate::tracks::haversine_km;

/// Candidates scoring below this are not reported.
pub const MIN_SCORE: f64 = 0.5;
/// Grid cell size in degrees (about 28 km north-south).
const GRID: f64 = 0.25;
/// Days of slack on window overlap.
const SLACK_DAYS: i64 = 1;
/// Windows longer than this (a month-precision report) are bucketed in every week they span up to
/// this many weeks; beyond it they are not indexed (a year-precision report matches too much to
/// be a useful candidate).
const MAX_WEEKS: i64 = 6;

/// The located precision classes and their radii, in km (see [`radius_km`]).
const CLASSES: [(u8, f64); 3] = [(0, 5.0), (1, 15.0), (2, 50.0)];

/// The uncertainty radius of a place precision, in km.
fn radius_km(p: Option<Precision>) -> Option<f64> {
    match p {
        Some(Precision::Town) => Some(5.0),
        Some(Precision::NearTown) => Some(15.0),
        Some(Precision::Region) => Some(50.0),
        Some(Precision::Admin) | None => None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub a: String,
    pub b: String,
    pub score: f64,
    /// Distance between the two points, when both have one.
    pub km: Option<f64>,
    /// Days of overlap of the two windows (with the slack).
    pub overlap_days: i64,
    pub shared_actors: Vec<String>,
}

/// The score of a pair, or `None` if any hard condition fails.
pub fn score(a: &Incident, b: &Incident) -> Option<Candidate> {
    let (score, km, overlap_days) = score_of(a, b)?;
    let mut shared_actors: Vec<String> = a.actors.iter().filter(|x| b.actors.contains(x)).cloned().collect();
    shared_actors.sort();
    shared_actors.dedup();
    Some(Candidate { a: a.id.clone(), b: b.id.clone(), score, km, overlap_days, shared_actors })
}

/// `(score, km, overlap days)` without allocating: the index scores many pairs and keeps few.
fn score_of(a: &Incident, b: &Incident) -> Option<(f64, Option<f64>, i64)> {
    if a.member == b.member || a.id == b.id {
        return None;
    }
    let (ae, be) = (a.end?, b.end?);
    let (as_, bs) = (a.start.unwrap_or(ae), b.start.unwrap_or(be));
    let (lo, hi) = (as_.max(bs), ae.min(be));
    if hi + SLACK_DAYS < lo {
        return None;
    }
    let overlap_days = (hi - lo + 1).max(1);
    // Space.
    let (space, km) = match (radius_km(a.precision).zip(a.point), radius_km(b.precision).zip(b.point)) {
        (Some((ra, pa)), Some((rb, pb))) => {
            let d = haversine_km(pa, pb);
            let limit = ra + rb;
            if d > limit {
                return None;
            }
            (1.0 - d / limit, Some(d))
        }
        _ => {
            if a.admin1.is_none() || a.admin1 != b.admin1 {
                return None;
            }
            (0.3, None)
        }
    };
    // Types.
    let types = match (&a.event_type, &b.event_type) {
        (Some(x), Some(y)) if x == y => {
            if a.sub_event_type.is_some() && a.sub_event_type == b.sub_event_type {
                1.0
            } else {
                0.7
            }
        }
        (Some(_), Some(_)) if a.is_political_violence() && b.is_political_violence() => 0.3,
        (Some(_), Some(_)) => return None,
        _ => 0.5, // withheld from the viewer: neither for nor against
    };
    // Time: how much the windows coincide, discounted by how vague the vaguer one is (two
    // reports of "November" coincide perfectly and say little).
    let width = (ae.max(be) - as_.min(bs) + 1).max(1) as f64;
    let longest = (ae - as_).max(be - bs).max(0) as f64;
    let time = (overlap_days as f64 / width).min(1.0) / (1.0 + longest / 7.0);
    // Actors by id (Jaccard; the lists are a handful long).
    let distinct = |v: &[String]| v.iter().enumerate().filter(|(i, x)| !v[..*i].contains(x)).count();
    let shared =
        a.actors.iter().enumerate().filter(|(i, x)| !a.actors[..*i].contains(x) && b.actors.contains(x)).count();
    let union = (distinct(&a.actors) + distinct(&b.actors) - shared).max(1);
    let actors = shared as f64 / union as f64;
    let dead = if a.fatalities.low <= b.fatalities.high && b.fatalities.low <= a.fatalities.high { 1.0 } else { 0.0 };
    let score = 0.3 * space + 0.2 * time + 0.25 * types + 0.15 * actors + 0.1 * dead;
    Some((score, km, overlap_days))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Place {
    Grid(i32, i32),
    Admin(u32),
}

/// Candidate search by buckets of week and place (see the module doc).
#[derive(Debug, Default)]
pub struct Index {
    incidents: Vec<Incident>,
    /// Located incidents by (week, precision class, grid cell): a probe reaches only as far as
    /// each class's radius allows (a town-precision pair is within 10 km, a region's 100 km).
    points: HashMap<(i64, u8, Place), Vec<u32>>,
    /// Located incidents by (week, governorate), probed by governorate-only incidents.
    points_by_admin: HashMap<(i64, Place), Vec<u32>>,
    /// Governorate-only incidents by (week, governorate).
    admins: HashMap<(i64, Place), Vec<u32>>,
    admin_codes: HashMap<String, u32>,
}

impl Index {
    fn admin(&mut self, code: &str) -> Place {
        let n = self.admin_codes.len() as u32;
        Place::Admin(*self.admin_codes.entry(code.to_string()).or_insert(n))
    }

    fn weeks(i: &Incident) -> Option<std::ops::RangeInclusive<i64>> {
        let end = i.end?;
        let start = i.start.unwrap_or(end);
        let (w0, w1) = ((start - SLACK_DAYS).div_euclid(7), (end + SLACK_DAYS).div_euclid(7));
        (w1 - w0 < MAX_WEEKS).then_some(w0..=w1)
    }

    fn grid(p: (f64, f64)) -> (i32, i32) {
        ((p.0 / GRID).floor() as i32, (p.1 / GRID).floor() as i32)
    }

    /// The candidates of `incident` among those already indexed, best first; then indexes it.
    pub fn insert(&mut self, incident: Incident) -> Vec<Candidate> {
        let mut found = Vec::new();
        let Some(weeks) = Self::weeks(&incident) else {
            self.incidents.push(incident);
            return found;
        };
        let admin = incident.admin1.as_deref().map(|a| self.admin(a));
        let located = radius_km(incident.precision).zip(incident.point);
        let mut seen: HashSet<u32> = HashSet::new();
        {
            let mut probe = |ids: Option<&Vec<u32>>| {
                if let Some(ids) = ids {
                    for &j in ids {
                        let other = &self.incidents[j as usize];
                        if seen.insert(j)
                            && score_of(&incident, other).is_some_and(|s| s.0 >= MIN_SCORE)
                            && let Some(c) = score(&incident, other)
                        {
                            found.push(c);
                        }
                    }
                }
            };
            for w in weeks.clone() {
                // A match of class c lies within r + radius(c); a grid cell is at least 20 km
                // wide up to latitude 37.5 (Syria and Iraq lie below it).
                if let Some((r, p)) = located {
                    let (gy, gx) = Self::grid(p);
                    for (class, rc) in CLASSES {
                        let reach = ((r + rc) / 20.0).ceil() as i32;
                        for dy in -reach..=reach {
                            for dx in -reach..=reach {
                                probe(self.points.get(&(w, class, Place::Grid(gy + dy, gx + dx))));
                            }
                        }
                    }
                } else if let Some(a) = admin {
                    probe(self.points_by_admin.get(&(w, a)));
                }
                if let Some(a) = admin {
                    probe(self.admins.get(&(w, a)));
                }
            }
        }
        let n = self.incidents.len() as u32;
        for w in weeks {
            if let Some((r, p)) = located {
                let (gy, gx) = Self::grid(p);
                let class = CLASSES.iter().find(|c| c.1 == r).map_or(2, |c| c.0);
                self.points.entry((w, class, Place::Grid(gy, gx))).or_default().push(n);
                if let Some(a) = admin {
                    self.points_by_admin.entry((w, a)).or_default().push(n);
                }
            } else if let Some(a) = admin {
                self.admins.entry((w, a)).or_default().push(n);
            }
        }
        self.incidents.push(incident);
        found.sort_by(|x, y| y.score.total_cmp(&x.score));
        found
    }
}

/// Every candidate pair in the viewer's dataset not already merged by a `duplicate-of` it sees,
/// best first.
pub fn candidates(ds: &Dataset) -> Vec<Candidate> {
    let merged: HashSet<(&str, &str)> =
        ds.duplicates.iter().flat_map(|(s, t)| [(s.as_str(), t.as_str()), (t.as_str(), s.as_str())]).collect();
    let mut index = Index::default();
    let mut out: Vec<Candidate> = Vec::new();
    for i in &ds.incidents {
        out.extend(index.insert(i.clone()).into_iter().filter(|c| !merged.contains(&(c.a.as_str(), c.b.as_str()))));
    }
    out.sort_by(|x, y| y.score.total_cmp(&x.score).then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b))));
    out
}

/// The `duplicate-of` relationship that confirms a merge: `source` is a duplicate of `target`.
/// Its markings are given by the caller (the service passes every marking of both incidents, so
/// it is released no further than both).
pub fn duplicate_of(id: &str, source: &str, target: &str, markings: &[String], now: &str, score: Option<f64>) -> Value {
    let mut v = json!({
        "type": "relationship", "spec_version": "2.1", "id": id,
        "created": now, "modified": now,
        "relationship_type": "duplicate-of", "source_ref": source, "target_ref": target,
    });
    if !markings.is_empty() {
        v["object_marking_refs"] = json!(markings);
    }
    if let Some(s) = score {
        v["confidence"] = json!((s * 100.0).round().clamp(0.0, 100.0) as u64);
    }
    v
}

/// The next version of a relationship, revoked (undoing a merge).
pub fn revoked(relationship: &Value, now: &str) -> Value {
    let mut v = relationship.clone();
    v["modified"] = json!(now);
    v["revoked"] = json!(true);
    v
}

#[cfg(test)]
mod tests;
