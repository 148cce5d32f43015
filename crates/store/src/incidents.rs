//! The per-label incident index: what analytics read of each incident, kept in compact rows
//! beside the stored versions so that a trend over a million incidents scans columns instead of
//! parsing a million JSON bodies.
//!
//! A backend writes one row per stored incident version (`incident_index`) in `put`'s
//! transaction, from [`IncidentFacts::of`] computed in [`crate::NewVersion::prepare`] before the
//! writer's lock; the row carries the version's collection, id, originator, version key, access
//! label id, `latest` and `revoked`, so it is filtered exactly as a listing filters versions. The
//! index is derived: a migration backfills it, `tandem migrate` rebuilds it on the target.
//!
//! Reading it ([`ObjectStore::incidents`]) is not a second read path: the backend filters rows
//! by the viewer's released label ids from [`crate::access`] (as `list`'s pre-filter does),
//! keeps the latest version of each claim the viewer may see, settles contested ids with
//! [`crate::access::Claims`]; a row whose label the viewer receives *redacted* is never used: its
//! facts are taken from the viewer's own copy, read through `list` ([`from_copies`]), so a
//! property withheld from the viewer is missing and a copy `list` withholds is absent. The
//! generic [`over_list`] is the definition every backend's answer must equal (the conformance
//! suite and the analytics oracle compare them).

use serde_json::{Map, Value};
use tandem_model::incident::{Date, INCIDENT_EXTENSION_ID};
use tandem_policy::Decision;

use crate::access::Released;
use crate::{ObjectQuery, ObjectStore, Record, Result, StoreError, VersionFilter, ViewContext};

/// The analytics fields of one incident, as read from one copy of it (the stored version, or a
/// viewer's redacted copy). A field the copy lacks is `None` (or empty, or zero for counts).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncidentFacts {
    pub event_type: Option<String>,
    pub sub_event_type: Option<String>,
    /// The time window in days since 1970-01-01.
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub admin1: Option<String>,
    /// ACLED geo precision 1, 2 or 3, or [`PRECISION_ADMIN`] for a place known only to its
    /// governorate.
    pub precision: Option<u8>,
    /// Every `place.location_refs` entry (which of them the viewer may see is decided by the
    /// reader, from the locations it receives).
    pub location_refs: Vec<String>,
    /// Intrusion-sets named as perpetrators.
    pub cells: Vec<String>,
    /// Every actor reference, any role.
    pub actors: Vec<String>,
    /// Fatalities best, low, high (a missing low or high is the best; all 0 when absent).
    pub fatalities: (u64, u64, u64),
    /// People arrested (best estimate).
    pub arrests: u64,
    /// `materiel` entries with action `seized`.
    pub seizures: u64,
    /// Identities of the sources cited.
    pub sources: Vec<String>,
    /// Materiel items named.
    pub materiel: Vec<String>,
}

/// [`IncidentFacts::precision`] of a place known only to its governorate (`"admin"`).
pub const PRECISION_ADMIN: u8 = 4;

/// One incident the viewer receives: its claim and the facts of its copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    /// The version's position (the feed order analytics keep).
    pub date_added: i64,
    pub id: String,
    /// The member that originated the version (the server's, never read from the object).
    pub originator: String,
    /// Whether the viewer's copy says `revoked: true`.
    pub revoked: bool,
    pub facts: IncidentFacts,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

impl IncidentFacts {
    /// The facts of one copy of an incident (`object` is the whole STIX object).
    pub fn of(object: &Value) -> IncidentFacts {
        object.as_object().map(IncidentFacts::of_map).unwrap_or_default()
    }

    /// [`IncidentFacts::of`] over the object's map.
    pub fn of_map(object: &Map<String, Value>) -> IncidentFacts {
        let empty = Value::Null;
        let ext = object.get("extensions").and_then(|e| e.get(INCIDENT_EXTENSION_ID)).unwrap_or(&empty);
        let time = ext.get("time").unwrap_or(&empty);
        let place = ext.get("place").unwrap_or(&empty);
        let day = |key: &str| str_at(time, key).and_then(Date::parse).map(|d| d.days());
        let precision = match place.get("precision") {
            Some(Value::Number(n)) => n.as_u64().filter(|p| (1..=3).contains(p)).map(|p| p as u8),
            Some(Value::String(s)) if s == "admin" => Some(PRECISION_ADMIN),
            _ => None,
        };
        let count = |v: Option<&Value>| -> Option<(u64, u64, u64)> {
            let v = v?;
            let best = v.get("best").and_then(Value::as_u64)?;
            let low = v.get("low").and_then(Value::as_u64).unwrap_or(best);
            let high = v.get("high").and_then(Value::as_u64).unwrap_or(best);
            Some((best, low, high))
        };
        let mut cells = Vec::new();
        let mut actors = Vec::new();
        for a in ext.get("actors").and_then(Value::as_array).into_iter().flatten() {
            if let Some(r) = str_at(a, "actor_ref") {
                actors.push(r.to_string());
                if r.starts_with("intrusion-set--") && str_at(a, "role") == Some("perpetrator") {
                    cells.push(r.to_string());
                }
            }
        }
        let materiel_v = ext.get("materiel").and_then(Value::as_array);
        IncidentFacts {
            event_type: str_at(ext, "event_type").map(str::to_string),
            sub_event_type: str_at(ext, "sub_event_type").map(str::to_string),
            start: day("start"),
            end: day("end"),
            admin1: str_at(place, "admin1").map(str::to_string),
            precision,
            location_refs: strings(place.get("location_refs")),
            cells,
            actors,
            fatalities: count(ext.get("fatalities")).unwrap_or_default(),
            arrests: count(ext.get("arrested")).map_or(0, |c| c.0),
            seizures: materiel_v.into_iter().flatten().filter(|m| str_at(m, "action") == Some("seized")).count() as u64,
            sources: ext
                .get("sources")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|s| str_at(s, "identity_ref")).map(str::to_string).collect())
                .unwrap_or_default(),
            materiel: materiel_v.into_iter().flatten().filter_map(|m| str_at(m, "item")).map(str::to_string).collect(),
        }
    }

    /// The list fields as one stored text (`incident_index.refs`): a JSON array of the five lists
    /// (location refs, cells, actors, sources, materiel), `None` when all are empty.
    pub fn refs_text(&self) -> Option<String> {
        let lists = [&self.location_refs, &self.cells, &self.actors, &self.sources, &self.materiel];
        if lists.iter().all(|l| l.is_empty()) {
            return None;
        }
        Some(serde_json::to_string(&lists).unwrap_or_else(|_| "[]".into()))
    }

    /// Sets the list fields from a stored `refs` text ([`IncidentFacts::refs_text`]).
    pub fn set_refs(&mut self, text: Option<&str>) -> Result<()> {
        let Some(text) = text else { return Ok(()) };
        let [l, c, a, s, m]: [Vec<String>; 5] =
            serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("incident_index.refs: {e}")))?;
        (self.location_refs, self.cells, self.actors, self.sources, self.materiel) = (l, c, a, s, m);
        Ok(())
    }

    /// The facts to index for a stored version from its body, `None` when it is not an incident.
    pub fn of_stored(object_type: &str, body: &str) -> Result<Option<IncidentFacts>> {
        if object_type != "incident" {
            return Ok(None);
        }
        let map: Map<String, Value> =
            serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("incident body: {e}")))?;
        Ok(Some(IncidentFacts::of_map(&map)))
    }
}

/// One `incident_index` row as a backend reads it, after its SQL pre-filter (released label,
/// the latest version of its claim the viewer may see).
pub struct IndexedRow {
    pub date_added: i64,
    pub id: String,
    pub originator: String,
    pub label: i64,
    pub revoked: bool,
    /// Whether the id is contested (then the claim is settled for the reader).
    pub contested: bool,
    pub facts: IncidentFacts,
}

/// What a backend's index scan yields for a viewer: the incidents it may use as indexed, and the
/// ids whose copy the viewer receives redacted (read through `list` by [`from_copies`]).
#[derive(Default)]
pub struct Scanned {
    pub records: Vec<IncidentRecord>,
    pub redacted_ids: Vec<String>,
}

impl Scanned {
    /// Takes one pre-filtered row: `settle` names the claim the reader is served of a contested
    /// id (the backend's claim gathering, settled by [`crate::access::Claims`]).
    pub fn push(
        &mut self,
        row: IndexedRow,
        released: &Released,
        settle: impl FnOnce(&str) -> Result<Option<String>>,
    ) -> Result<()> {
        if row.originator.is_empty() {
            return Err(StoreError::Corrupt(format!("incident {} has no originator", row.id)));
        }
        if row.contested && settle(&row.id)?.as_deref() != Some(row.originator.as_str()) {
            return Ok(());
        }
        match released.decision(row.label) {
            None | Some(Decision::Deny) => {}
            Some(Decision::Full) => self.records.push(IncidentRecord {
                date_added: row.date_added,
                id: row.id,
                originator: row.originator,
                revoked: row.revoked,
                facts: row.facts,
            }),
            // The copy decides what is withheld, and whether a copy is released at all.
            Some(Decision::Redact(_)) => self.redacted_ids.push(row.id),
        }
        Ok(())
    }
}

/// The record of one incident copy the viewer received from `list`.
pub fn record_of(r: &Record) -> IncidentRecord {
    IncidentRecord {
        date_added: r.date_added.as_micros(),
        id: r.id.clone(),
        originator: r.originator.clone(),
        revoked: r.object.get("revoked").and_then(Value::as_bool) == Some(true),
        facts: IncidentFacts::of(&r.object),
    }
}

/// How many ids one `list` call of [`from_copies`] asks for.
const IDS_PER_LISTING: usize = 500;

/// Finishes a scan: the redacted incidents from the viewer's own copies (through `list`, by id,
/// the latest version per claim), merged with the indexed ones in feed order.
pub fn from_copies<S: ObjectStore + ?Sized>(
    store: &S,
    ctx: &ViewContext,
    collection: &str,
    scanned: Scanned,
) -> Result<Vec<IncidentRecord>> {
    let Scanned { mut records, mut redacted_ids } = scanned;
    redacted_ids.sort();
    redacted_ids.dedup();
    for ids in redacted_ids.chunks(IDS_PER_LISTING) {
        let mut q = ObjectQuery {
            ids: ids.to_vec(),
            types: vec!["incident".into()],
            versions: VersionFilter::Last,
            limit: 1000,
            ..Default::default()
        };
        loop {
            let page = store.list(ctx, collection, &q)?;
            records.extend(page.items.iter().map(record_of));
            match page.next {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
    }
    records.sort_by_key(|r| r.date_added);
    Ok(records)
}

/// [`ObjectStore::incidents`] over [`ObjectStore::list`]: the definition (every incident the
/// viewer receives, the latest version per claim, facts read off its copy), for any backend.
pub fn over_list<S: ObjectStore + ?Sized>(
    store: &S,
    ctx: &ViewContext,
    collection: &str,
) -> Result<Vec<IncidentRecord>> {
    let mut q = ObjectQuery {
        types: vec!["incident".into()],
        versions: VersionFilter::Last,
        limit: 1000,
        ..Default::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store.list(ctx, collection, &q)?;
        out.extend(page.items.iter().map(record_of));
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facts_are_read_field_by_field_and_lists_round_trip() {
        let inc = json!({"type": "incident", "id": "incident--1", "extensions": {INCIDENT_EXTENSION_ID: {
            "sub_event_type": "Armed clash",
            "time": {"start": "2025-11-24", "end": "2025-11-27"},
            "place": {"location_refs": ["location--1", "location--2"], "precision": "admin", "admin1": "SY-DY"},
            "actors": [{"actor_ref": "intrusion-set--c", "role": "perpetrator"}, {"actor_ref": "identity--t", "role": "target"}],
            "fatalities": {"best": 4, "low": 3},
            "arrested": {"best": 2},
            "sources": [{"identity_ref": "identity--s"}],
            "materiel": [{"item": "rifles", "action": "seized"}, {"item": "depot \"x\"\n", "action": "destroyed"}]
        }}});
        let f = IncidentFacts::of(&inc);
        assert_eq!(f.event_type, None);
        assert_eq!(f.sub_event_type.as_deref(), Some("Armed clash"));
        assert_eq!(
            (f.start, f.end),
            (Date::parse("2025-11-24").map(|d| d.days()), Date::parse("2025-11-27").map(|d| d.days()))
        );
        assert_eq!(f.precision, Some(PRECISION_ADMIN));
        assert_eq!(f.cells, vec!["intrusion-set--c"]);
        assert_eq!(f.actors, vec!["intrusion-set--c", "identity--t"]);
        assert_eq!((f.fatalities, f.arrests, f.seizures), ((4, 3, 4), 2, 1));
        let mut back = IncidentFacts { location_refs: vec![], materiel: vec![], ..f.clone() };
        back.set_refs(f.refs_text().as_deref()).unwrap();
        assert_eq!(back, f);
        assert_eq!(IncidentFacts::default().refs_text(), None);
        assert!(matches!(back.set_refs(Some("[1]")), Err(StoreError::Corrupt(_))));
        assert_eq!(IncidentFacts::of(&json!({"type": "incident"})), IncidentFacts::default());
    }
}
