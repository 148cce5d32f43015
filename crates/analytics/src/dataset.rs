//! The incidents a viewer may see, read off its own copies into plain values.
//!
//! Each field is read on its own from the viewer's copy, so a property that a granular marking
//! withheld (the copy lacks it) is `None` here and counts as missing in every analysis, while
//! the rest of the incident still counts. Nothing is read from anywhere but the copies given.
//! Estimates (notes and opinions) are read the same way, to be shown beside the counts.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use tandem_model::incident::{Date, INCIDENT_EXTENSION_ID};

/// ACLED geo precision, plus a place known only to its governorate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    Town,
    NearTown,
    Region,
    Admin,
}

/// Fatalities as best, low and high (a missing low or high is the best estimate).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fatalities {
    pub best: u64,
    pub low: u64,
    pub high: u64,
}

/// One incident as the viewer's copy tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: String,
    /// The member that originated the version (set by the server, never read from the object).
    pub member: String,
    pub event_type: Option<String>,
    pub sub_event_type: Option<String>,
    /// The time window in days since 1970-01-01; `end` is `None` when the window is withheld.
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub admin1: Option<String>,
    pub precision: Option<Precision>,
    /// The first referenced location the viewer may see that has coordinates, `(lat, lon)`.
    pub point: Option<(f64, f64)>,
    /// The referenced locations the viewer may see.
    pub locations: Vec<String>,
    /// Intrusion-sets named as perpetrators: the cells the incident is attributed to.
    pub cells: Vec<String>,
    /// Every actor reference (any role), for links and correlation.
    pub actors: Vec<String>,
    pub fatalities: Fatalities,
    /// People arrested (best estimate).
    pub arrests: u64,
    /// Items seized (one per `materiel` entry with action `seized`).
    pub seizures: u64,
    /// Identities of the sources cited.
    pub sources: Vec<String>,
    /// Materiel items named (seized or destroyed).
    pub materiel: Vec<String>,
}

impl Incident {
    /// The day the incident counts on (see [`crate::calendar::count_day`]); `None` if the
    /// viewer's copy has no time window.
    pub fn day(&self) -> Option<i64> {
        self.end.map(|e| crate::calendar::count_day(self.start, e))
    }

    /// Whether ACLED counts the event as political violence; `false` when the type is withheld.
    pub fn is_political_violence(&self) -> bool {
        self.event_type.as_deref().is_some_and(tandem_model::incident::acled::is_violent)
    }
}

/// An assessment beside the counts ("about 3,000 ISIS fighters in Deir ez-Zor"): a STIX `note`
/// or `opinion` the viewer may see, with its confidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Estimate {
    pub id: String,
    /// `note` or `opinion`.
    pub kind: String,
    pub member: String,
    /// The day it was made (`created`), `YYYY-MM-DD`.
    pub date: String,
    #[serde(skip)]
    pub day: i64,
    /// The note's `abstract` and `content`, or the opinion's `opinion` and `explanation`.
    pub summary: Option<String>,
    pub text: Option<String>,
    /// STIX confidence, 0-100.
    pub confidence: Option<u64>,
    pub object_refs: Vec<String>,
    /// Governorates of the referenced incidents and locations the viewer may see.
    #[serde(skip)]
    pub admin1: Vec<String>,
}

/// The viewer's incidents and the correlation it may see.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub incidents: Vec<Incident>,
    /// `duplicate-of` relationships `(source, target)` the viewer may see.
    pub duplicates: Vec<(String, String)>,
    /// Notes and opinions the viewer may see, in the order read.
    pub estimates: Vec<Estimate>,
}

impl Dataset {
    /// Builds the dataset from `(originator, object)` pairs: incidents, the locations they
    /// reference and `duplicate-of` relationships; other objects are ignored.
    pub fn from_objects<'a>(objects: impl IntoIterator<Item = (&'a str, &'a Value)>) -> Dataset {
        let objects: Vec<(&str, &Value)> = objects.into_iter().collect();
        let mut points: HashMap<&str, (f64, f64)> = HashMap::new();
        let mut visible_locations: std::collections::HashSet<&str> = Default::default();
        let mut ds = Dataset::default();
        // A revoked object (an incident withdrawn, a merge undone) counts for nothing.
        let objects: Vec<(&str, &Value)> =
            objects.into_iter().filter(|(_, o)| o.get("revoked").and_then(Value::as_bool) != Some(true)).collect();
        for (_, o) in &objects {
            match str_at(o, "type") {
                Some("location") => {
                    if let Some(id) = str_at(o, "id") {
                        visible_locations.insert(id);
                        let lat = o.get("latitude").and_then(Value::as_f64);
                        let lon = o.get("longitude").and_then(Value::as_f64);
                        if let (Some(lat), Some(lon)) = (lat, lon) {
                            points.insert(id, (lat, lon));
                        }
                    }
                }
                Some("relationship") if str_at(o, "relationship_type") == Some("duplicate-of") => {
                    if let (Some(s), Some(t)) = (str_at(o, "source_ref"), str_at(o, "target_ref")) {
                        ds.duplicates.push((s.to_string(), t.to_string()));
                    }
                }
                _ => {}
            }
        }
        let mut admin_of: HashMap<&str, &str> = HashMap::new();
        for (_, o) in &objects {
            if str_at(o, "type") == Some("location")
                && let (Some(id), Some(a)) = (str_at(o, "id"), str_at(o, "administrative_area"))
            {
                admin_of.insert(id, a);
            }
        }
        for (member, o) in &objects {
            if str_at(o, "type") == Some("incident")
                && let Some(i) = incident(member, o, &points, &visible_locations)
            {
                ds.incidents.push(i);
            }
        }
        for i in &ds.incidents {
            if let Some(a) = &i.admin1 {
                admin_of.insert(&i.id, a);
            }
        }
        for (member, o) in &objects {
            if let Some(e) = estimate(member, o, &admin_of) {
                ds.estimates.push(e);
            }
        }
        ds
    }
}

fn estimate(member: &str, o: &Value, admin_of: &HashMap<&str, &str>) -> Option<Estimate> {
    let kind = str_at(o, "type").filter(|t| *t == "note" || *t == "opinion")?;
    let created = str_at(o, "created")?;
    let day = Date::parse(created.get(..10)?)?.days();
    let (summary, text) = if kind == "note" { ("abstract", "content") } else { ("opinion", "explanation") };
    let object_refs: Vec<String> = o
        .get("object_refs")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let mut admin1: Vec<String> =
        object_refs.iter().filter_map(|r| admin_of.get(r.as_str())).map(|a| a.to_string()).collect();
    admin1.sort();
    admin1.dedup();
    Some(Estimate {
        id: str_at(o, "id")?.to_string(),
        kind: kind.to_string(),
        member: member.to_string(),
        date: created[..10].to_string(),
        day,
        summary: str_at(o, summary).map(str::to_string),
        text: str_at(o, text).map(str::to_string),
        confidence: o.get("confidence").and_then(Value::as_u64),
        object_refs,
        admin1,
    })
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn day_at(v: &Value, key: &str) -> Option<i64> {
    str_at(v, key).and_then(Date::parse).map(|d| d.days())
}

fn count(v: Option<&Value>) -> Option<Fatalities> {
    let v = v?;
    let best = v.get("best").and_then(Value::as_u64)?;
    let low = v.get("low").and_then(Value::as_u64).unwrap_or(best);
    let high = v.get("high").and_then(Value::as_u64).unwrap_or(best);
    Some(Fatalities { best, low, high })
}

fn incident(
    member: &str,
    o: &Value,
    points: &HashMap<&str, (f64, f64)>,
    visible: &std::collections::HashSet<&str>,
) -> Option<Incident> {
    let id = str_at(o, "id")?.to_string();
    let empty = Value::Null;
    let ext = o.get("extensions").and_then(|e| e.get(INCIDENT_EXTENSION_ID)).unwrap_or(&empty);
    let time = ext.get("time").unwrap_or(&empty);
    let place = ext.get("place").unwrap_or(&empty);
    let precision = match place.get("precision") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Some(Precision::Town),
        Some(Value::Number(n)) if n.as_u64() == Some(2) => Some(Precision::NearTown),
        Some(Value::Number(n)) if n.as_u64() == Some(3) => Some(Precision::Region),
        Some(Value::String(s)) if s == "admin" => Some(Precision::Admin),
        _ => None,
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    // Only locations the viewer may see: a reference to a hidden one tells nothing about where.
    let locations: Vec<String> =
        strings(place.get("location_refs")).into_iter().filter(|l| visible.contains(l.as_str())).collect();
    let point = locations.iter().find_map(|l| points.get(l.as_str()).copied());
    let actors_v = ext.get("actors").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut cells = Vec::new();
    let mut actors = Vec::new();
    for a in &actors_v {
        if let Some(r) = str_at(a, "actor_ref") {
            actors.push(r.to_string());
            if r.starts_with("intrusion-set--") && str_at(a, "role") == Some("perpetrator") {
                cells.push(r.to_string());
            }
        }
    }
    let materiel_v = ext.get("materiel").and_then(Value::as_array).cloned().unwrap_or_default();
    let seizures = materiel_v.iter().filter(|m| str_at(m, "action") == Some("seized")).count() as u64;
    let materiel = materiel_v.iter().filter_map(|m| str_at(m, "item")).map(str::to_string).collect();
    let sources = ext
        .get("sources")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| str_at(s, "identity_ref")).map(str::to_string).collect())
        .unwrap_or_default();
    Some(Incident {
        id,
        member: member.to_string(),
        event_type: str_at(ext, "event_type").map(str::to_string),
        sub_event_type: str_at(ext, "sub_event_type").map(str::to_string),
        start: day_at(time, "start"),
        end: day_at(time, "end"),
        admin1: str_at(place, "admin1").map(str::to_string),
        precision,
        point,
        locations,
        cells,
        actors,
        fatalities: count(ext.get("fatalities")).unwrap_or_default(),
        arrests: count(ext.get("arrested")).map_or(0, |c| c.best),
        seizures,
        sources,
        materiel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn withheld_properties_are_missing_and_the_rest_counts() {
        let loc = json!({"type": "location", "id": "location--1", "latitude": 35.3, "longitude": 40.1});
        let inc = json!({"type": "incident", "id": "incident--1", "extensions": {INCIDENT_EXTENSION_ID: {
            "sub_event_type": "Armed clash",
            "time": {"start": "2025-11-24", "end": "2025-11-27", "precision": "days"},
            "place": {"location_refs": ["location--1", "location--hidden"], "precision": 2, "admin1": "SY-DY"},
            "actors": [{"actor_ref": "intrusion-set--c", "role": "perpetrator"},
                       {"actor_ref": "intrusion-set--t", "role": "target"}],
            "fatalities": {"best": 4, "low": 3},
            "arrested": {"best": 2},
            "materiel": [{"item": "rifles", "action": "seized"}, {"item": "depot", "action": "destroyed"}]
        }}});
        let ds = Dataset::from_objects([("USA", &loc), ("USA", &inc)]);
        let i = &ds.incidents[0];
        assert_eq!(i.event_type, None, "withheld event_type is missing");
        assert_eq!(i.sub_event_type.as_deref(), Some("Armed clash"));
        assert_eq!(i.point, Some((35.3, 40.1)));
        assert_eq!(i.locations, vec!["location--1".to_string()]);
        assert_eq!(i.cells, vec!["intrusion-set--c".to_string()]);
        assert_eq!(i.fatalities, Fatalities { best: 4, low: 3, high: 4 });
        assert_eq!((i.arrests, i.seizures), (2, 1));
        assert_eq!(i.precision, Some(Precision::NearTown));
        assert!(!i.is_political_violence());
        let dup =
            json!({"type": "relationship", "relationship_type": "duplicate-of", "source_ref": "a", "target_ref": "b"});
        let undone = json!({"type": "relationship", "relationship_type": "duplicate-of", "source_ref": "a", "target_ref": "c", "revoked": true});
        let ds = Dataset::from_objects([("USA", &dup), ("USA", &undone)]);
        assert_eq!(ds.duplicates, vec![("a".to_string(), "b".to_string())], "a revoked merge merges nothing");
        let note = json!({"type": "note", "id": "note--1", "created": "2025-11-20T10:00:00.000Z",
                          "abstract": "Fighter estimate", "content": "about 3,000 ISIS fighters",
                          "confidence": 60, "object_refs": ["incident--1", "location--x"]});
        let ds = Dataset::from_objects([("USA", &loc), ("USA", &inc), ("GBR", &note)]);
        let e = &ds.estimates[0];
        assert_eq!((e.member.as_str(), e.date.as_str(), e.confidence), ("GBR", "2025-11-20", Some(60)));
        assert_eq!(e.admin1, vec!["SY-DY".to_string()], "from the referenced incident the viewer sees");
    }
}
