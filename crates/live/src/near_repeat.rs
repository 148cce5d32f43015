//! The near-repeat rule: an alert when a new incident falls within a short distance and time of
//! a recent one (default 1 km and 48 hours). Townsley, Johnson and Ratcliffe found that IED
//! attacks in Iraq cluster that way (a first attack raises the risk nearby for a few days), so a
//! second incident close to a first is worth a look even when no zone boundary is crossed.
//!
//! The rule is an option of a watch zone (`near_repeat` in the zone's spec): a new incident
//! version that matches the zone and lies within `km` and `hours` of an earlier incident the
//! zone's owner may see raises one `near-repeat` alert besides the zone alert, naming the
//! nearest earlier incident in time. Only what can be told is told: both incidents must be placed
//! at town precision (a point, not "near" or "in the region of" one: a 1 km rule cannot be
//! decided on a 10 km uncertainty), and both dated to windows no longer than the rule's time
//! (a week-long window cannot say whether two events were 48 hours apart); times are compared at
//! the windows' midpoints, as the analytics count an uncertain window.
//!
//! "Recent" is read off the feed: the earlier incidents are those stored in the owner's view at
//! positions before the new version and within [`LOOKBACK_DAYS`] of it (an incident reported a
//! month after a first one is not a near repeat of it in any useful sense for an alert).
//! [`History`] reads them once per batch through `Store::list` with the owner's `ViewContext`, so
//! a near-repeat alert never rests on an incident its owner may not see.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_model::Timestamp;
use tandem_model::incident::{GeoPrecision, IncidentExt};
use tandem_store::{ObjectQuery, Record, Store, StoreError, VersionFilter, ViewContext};

use crate::zones::geometry::haversine_km;

/// How far back in the feed earlier incidents are looked for.
pub const LOOKBACK_DAYS: i64 = 30;
/// At most this many earlier incidents are held per batch (a bound on memory during a backfill;
/// the newest are kept).
const HISTORY_CAP: usize = 200_000;

fn default_km() -> f64 {
    1.0
}

fn default_hours() -> u32 {
    48
}

/// A zone's near-repeat rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearRepeat {
    #[serde(default = "default_km")]
    pub km: f64,
    #[serde(default = "default_hours")]
    pub hours: u32,
}

impl Default for NearRepeat {
    fn default() -> Self {
        NearRepeat { km: default_km(), hours: default_hours() }
    }
}

impl NearRepeat {
    /// Says what is wrong with the rule, if anything.
    pub fn check(&self) -> Result<(), String> {
        if !(self.km.is_finite() && self.km > 0.0 && self.km <= 50.0) {
            return Err("near_repeat.km must be a number in (0, 50]".into());
        }
        if !(1..=24 * LOOKBACK_DAYS as u32).contains(&self.hours) {
            return Err(format!("near_repeat.hours must be in [1, {}]", 24 * LOOKBACK_DAYS));
        }
        Ok(())
    }
}

/// An incident version as the rule sees it: a point and a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub id: String,
    pub version: Timestamp,
    pub originator: String,
    pub position: Timestamp,
    pub point: (f64, f64),
    /// Midpoint of the date window, in hours since the epoch.
    pub mid_hours: f64,
    /// Length of the date window in hours (a day is 24).
    pub len_hours: f64,
}

/// The earlier incident a new one repeats.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearHit {
    pub incident: String,
    pub version: Timestamp,
    pub originator: String,
    /// Distance between the two points, km.
    pub km: f64,
    /// Time between the windows' midpoints, hours.
    pub hours: f64,
}

/// The occurrence of an incident version placed at `point` with `precision`, when the rule can
/// use it (town precision, a bounded date window).
pub fn occurrence(record: &Record, ext: &IncidentExt, point: Option<(f64, f64)>) -> Option<Occurrence> {
    if ext.place.precision != GeoPrecision::Town {
        return None;
    }
    let point = point?;
    let start = ext.time.start?;
    let days = ext.time.end.days() - start.days() + 1;
    if days < 1 {
        return None;
    }
    let len_hours = days as f64 * 24.0;
    let mid_hours = start.days() as f64 * 24.0 + len_hours / 2.0;
    Some(Occurrence {
        id: record.id.clone(),
        version: record.version,
        originator: record.originator.clone(),
        position: record.date_added,
        point,
        mid_hours,
        len_hours,
    })
}

/// The earlier incident (another id, stored before `new` and within the look-back) nearest in
/// time to `new` among those within the rule's distance and time, if any.
pub fn nearest(new: &Occurrence, earlier: &[Occurrence], rule: &NearRepeat) -> Option<NearHit> {
    let hours = f64::from(rule.hours);
    // A window longer than the rule's time cannot tell (a single day always can: the rule's
    // smallest unit is a day's report).
    let limit = hours.max(24.0);
    if new.len_hours > limit {
        return None;
    }
    let from = Timestamp::from_micros(new.position.as_micros() - LOOKBACK_DAYS * 86_400_000_000);
    // A degree of latitude is about 111 km: a cheap box test before the great circle.
    let dlat = rule.km / 110.0;
    let mut best: Option<NearHit> = None;
    for e in earlier {
        if e.position >= new.position || e.position < from || e.id == new.id || e.len_hours > limit {
            continue;
        }
        if (e.point.0 - new.point.0).abs() > dlat {
            continue;
        }
        let dt = (new.mid_hours - e.mid_hours).abs();
        if dt > hours {
            continue;
        }
        let km = haversine_km(new.point, e.point);
        if km > rule.km {
            continue;
        }
        if best.as_ref().is_none_or(|b| dt < b.hours || (dt == b.hours && km < b.km)) {
            best = Some(NearHit {
                incident: e.id.clone(),
                version: e.version,
                originator: e.originator.clone(),
                km: (km * 1000.0).round() / 1000.0,
                hours: dt,
            });
        }
    }
    best
}

/// The earlier incidents of one batch, read on first need in one viewer's view.
#[derive(Default)]
pub struct History {
    loaded: Option<Vec<Occurrence>>,
}

impl History {
    /// The incidents stored in `ctx`'s view from [`LOOKBACK_DAYS`] before `position` on.
    pub fn around(
        &mut self,
        store: &dyn Store,
        ctx: &ViewContext,
        collections: &[String],
        position: Timestamp,
    ) -> Result<&[Occurrence], StoreError> {
        if self.loaded.is_none() {
            let from = Timestamp::from_micros(position.as_micros() - LOOKBACK_DAYS * 86_400_000_000 - 1);
            self.loaded = Some(load(store, ctx, collections, from)?);
        }
        Ok(self.loaded.as_deref().unwrap_or_default())
    }
}

fn load(
    store: &dyn Store,
    ctx: &ViewContext,
    collections: &[String],
    after: Timestamp,
) -> Result<Vec<Occurrence>, StoreError> {
    let mut out = Vec::new();
    for c in collections {
        let mut incidents: Vec<(Record, IncidentExt)> = Vec::new();
        let mut q = ObjectQuery {
            added_after: Some(after),
            types: vec!["incident".into()],
            versions: VersionFilter::All,
            limit: 1000,
            ..ObjectQuery::default()
        };
        loop {
            let page = store.list(ctx, c, &q)?;
            for r in page.items {
                if let Some(ext) = IncidentExt::from_object(&r.object)
                    && ext.place.precision == GeoPrecision::Town
                {
                    incidents.push((r, ext));
                }
            }
            if incidents.len() > HISTORY_CAP {
                incidents.drain(..incidents.len() - HISTORY_CAP);
            }
            match page.next {
                Some(n) => q.cursor = Some(n),
                None => break,
            }
        }
        let points = points_of(store, ctx, c, &incidents)?;
        out.extend(incidents.iter().filter_map(|(r, ext)| {
            let point = ext.place.location_refs.iter().find_map(|l| points.get(l).copied());
            occurrence(r, ext, point)
        }));
    }
    Ok(out)
}

/// The points of the location objects the incidents refer to, as `ctx` sees them (a location
/// withheld from the viewer is absent, as in [`crate::alerts::place_of`]).
fn points_of(
    store: &dyn Store,
    ctx: &ViewContext,
    collection: &str,
    incidents: &[(Record, IncidentExt)],
) -> Result<HashMap<String, (f64, f64)>, StoreError> {
    let mut ids: Vec<String> = incidents.iter().flat_map(|(_, e)| e.place.location_refs.iter().cloned()).collect();
    ids.sort();
    ids.dedup();
    let mut points = HashMap::new();
    for chunk in ids.chunks(200) {
        let q = ObjectQuery { ids: chunk.to_vec(), limit: chunk.len() * 4, ..ObjectQuery::default() };
        for r in store.list(ctx, collection, &q)?.items {
            let lat = r.object.get("latitude").and_then(Value::as_f64);
            let lon = r.object.get("longitude").and_then(Value::as_f64);
            if let (Some(lat), Some(lon)) = (lat, lon) {
                points.insert(r.id, (lat, lon));
            }
        }
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_model::incident::Date;

    fn occ(id: &str, pos_s: i64, point: (f64, f64), day: Date, days: i64) -> Occurrence {
        let len_hours = days as f64 * 24.0;
        Occurrence {
            id: id.into(),
            version: Timestamp::from_micros(pos_s * 1_000_000),
            originator: "USA".into(),
            position: Timestamp::from_micros(pos_s * 1_000_000),
            point,
            mid_hours: day.days() as f64 * 24.0 + len_hours / 2.0,
            len_hours,
        }
    }

    const MOSUL: (f64, f64) = (36.335, 43.119);
    // About 0.55 km east of MOSUL at this latitude.
    const NEAR_MOSUL: (f64, f64) = (36.335, 43.125);
    // About 5.4 km east.
    const FAR_MOSUL: (f64, f64) = (36.335, 43.179);

    fn d(day: u32) -> Date {
        Date::new(2025, 11, day).unwrap()
    }

    #[test]
    fn a_close_second_incident_within_two_days_repeats_the_first() {
        let rule = NearRepeat::default();
        let first = occ("incident--a", 100, MOSUL, d(10), 1);
        let second = occ("incident--b", 200, NEAR_MOSUL, d(12), 1);
        let hit = nearest(&second, std::slice::from_ref(&first), &rule).expect("a near repeat");
        assert_eq!(hit.incident, "incident--a");
        assert_eq!(hit.hours, 48.0);
        assert!(hit.km > 0.4 && hit.km < 0.7, "{}", hit.km);
    }

    #[test]
    fn too_far_too_late_the_same_id_or_a_later_one_is_no_repeat() {
        let rule = NearRepeat::default();
        let new = occ("incident--b", 200, NEAR_MOSUL, d(12), 1);
        for earlier in [
            occ("incident--a", 100, FAR_MOSUL, d(12), 1),           // 5 km away
            occ("incident--a", 100, MOSUL, d(9), 1),                // 72 hours before
            occ("incident--b", 100, MOSUL, d(12), 1),               // an earlier version of itself
            occ("incident--a", 300, MOSUL, d(12), 1),               // stored after the new one
            occ("incident--a", 100, MOSUL, d(6), 10),               // a window too long to tell
            occ("incident--a", 200 - 31 * 86_400, MOSUL, d(12), 1), // beyond the look-back
        ] {
            assert_eq!(nearest(&new, std::slice::from_ref(&earlier), &rule), None, "{earlier:?}");
        }
        // A wider rule takes the far one.
        let wide = NearRepeat { km: 10.0, hours: 48 };
        assert!(nearest(&new, &[occ("incident--a", 100, FAR_MOSUL, d(12), 1)], &wide).is_some());
    }

    #[test]
    fn the_nearest_in_time_is_named() {
        let rule = NearRepeat::default();
        let new = occ("incident--n", 500, MOSUL, d(12), 1);
        let earlier =
            [occ("incident--old", 100, NEAR_MOSUL, d(10), 1), occ("incident--close", 200, NEAR_MOSUL, d(11), 1)];
        assert_eq!(nearest(&new, &earlier, &rule).map(|h| h.incident), Some("incident--close".into()));
    }

    #[test]
    fn rules_out_of_range_are_refused() {
        assert!(NearRepeat::default().check().is_ok());
        for bad in [
            NearRepeat { km: 0.0, hours: 48 },
            NearRepeat { km: f64::NAN, hours: 48 },
            NearRepeat { km: 51.0, hours: 48 },
            NearRepeat { km: 1.0, hours: 0 },
            NearRepeat { km: 1.0, hours: 24 * 31 },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
