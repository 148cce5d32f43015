//! An incident (and its first location) to one ACLED-style row, in [`COLUMNS`] order, with
//! everything the row cannot hold recorded in the report. Conventions in the [module doc](super).

use serde_json::Value;
use tandem_model::incident::{GeoPrecision, IncidentExt, REDACTION_EXTENSION_ID, Role, TimePrecision};

use super::import::{admin1_name, parse_date};
use super::{COLUMNS, LABEL_PREFIX};
use crate::Report;

/// The row for `incident`; `location` is the object its first `location_refs` entry names, when
/// the reader may see it. `Err` when the object is not an incident with Tandem's extension.
pub fn incident_to_row(incident: &Value, location: Option<&Value>, report: &mut Report) -> Result<Vec<String>, String> {
    let ext = IncidentExt::from_object(incident).ok_or("not an incident with Tandem's incident extension")?;
    let id = incident.get("id").and_then(Value::as_str).unwrap_or_default();
    let mut cols: Vec<(&str, String)> = Vec::with_capacity(COLUMNS.len());
    let labels: Vec<&str> = incident
        .get("labels")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let label = |column: &str| -> String {
        let prefix = format!("{LABEL_PREFIX}{column}:");
        labels.iter().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_default().to_string()
    };

    let eid = incident
        .get("external_references")
        .and_then(Value::as_array)
        .and_then(|refs| refs.iter().find(|r| r.get("source_name").and_then(Value::as_str) == Some("ACLED")))
        .and_then(|r| r.get("external_id").and_then(Value::as_str))
        .unwrap_or(id);
    cols.push(("event_id_cnty", eid.to_string()));

    // The window's own expression when it is the date an import read; else the window's middle.
    let w = &ext.time;
    let from_expression =
        w.expression.as_deref().filter(|e| parse_date(e).is_some_and(|d| w.start.is_none_or(|s| s <= d) && d <= w.end));
    let event_date = match (from_expression, w.start) {
        (Some(e), _) => e.to_string(),
        (None, Some(s)) => s.plus_days((w.end.days() - s.days()) / 2).to_string(),
        (None, None) => {
            report.lost("time.start", "ACLED has no open-start window: the latest date is written as event_date");
            w.end.to_string()
        }
    };
    if w.expression.is_some() && from_expression.is_none() {
        report.lost("time.expression", "ACLED has no column for the reported time phrase");
    }
    if matches!(w.precision, TimePrecision::Days | TimePrecision::Year) {
        report.lost("time.precision", "ACLED's time_precision has no 'days' or 'year': written as 2 or 3");
    }
    cols.push(("event_date", event_date));
    cols.push(("time_precision", w.precision.acled_code().to_string()));
    cols.push(("event_type", ext.event_type.clone()));
    cols.push(("sub_event_type", ext.sub_event_type.clone()));

    let actor_name = |a: &tandem_model::incident::ActorRole| a.name.clone().or_else(|| a.actor_ref.clone());
    let actor1 = ext.actors.iter().position(|a| matches!(a.role, Role::Perpetrator | Role::Claimant));
    let actor2 = ext.actors.iter().position(|a| matches!(a.role, Role::Target | Role::Responder));
    if ext.actors.len() > usize::from(actor1.is_some()) + usize::from(actor2.is_some()) {
        report.lost(
            "actors",
            "ACLED holds one actor1 (perpetrator) and one actor2 (target); further actors are not written",
        );
    }
    if ext.actors.iter().any(|a| a.name.is_none() && a.actor_ref.is_some()) {
        report.lost("actors.actor_ref", "an actor known only by reference is written as its STIX id");
    }
    cols.push(("actor1", actor1.and_then(|i| actor_name(&ext.actors[i])).unwrap_or_default()));
    cols.push(("inter1", label("inter1")));
    cols.push(("actor2", actor2.and_then(|i| actor_name(&ext.actors[i])).unwrap_or_default()));
    cols.push(("inter2", label("inter2")));
    cols.push(("civilian_targeting", if ext.civilian_targeting { "Civilian targeting".into() } else { String::new() }));

    let admin1 = Some(label("admin1")).filter(|l| !l.is_empty()).or_else(|| admin1_name(&ext.place.admin1));
    cols.push(("admin1", admin1.unwrap_or_else(|| ext.place.admin1.clone())));
    cols.push(("admin2", label("admin2")));
    cols.push(("admin3", label("admin3")));
    let location_name = location.and_then(|l| l.get("name")).and_then(Value::as_str).map(str::to_string);
    if location_name.is_none() && ext.place.description.is_some() {
        report.lost("place.description", "written as ACLED's location since no location object names the place");
    } else if ext.place.description.is_some() {
        report.lost("place.description", "ACLED has no column for the place as the source described it");
    }
    cols.push(("location", location_name.or_else(|| ext.place.description.clone()).unwrap_or_default()));
    let coordinate = |k: &str| location.and_then(|l| l.get(k)).and_then(Value::as_f64).map(|v| v.to_string());
    let (lat, lon) = (coordinate("latitude"), coordinate("longitude"));
    if !ext.place.location_refs.is_empty() && lat.is_none() {
        report.lost("place.location_refs", "the location is not visible to this reader or has no coordinates");
    }
    if ext.place.location_refs.len() > 1 {
        report.lost("place.location_refs", "ACLED holds one point: only the first location is written");
    }
    let has_point = lat.is_some() && lon.is_some();
    cols.push(("latitude", lat.unwrap_or_default()));
    cols.push(("longitude", lon.unwrap_or_default()));
    let geo = match ext.place.precision {
        GeoPrecision::Town => "1",
        GeoPrecision::NearTown => "2",
        GeoPrecision::Region => "3",
        GeoPrecision::Admin => "",
    };
    cols.push(("geo_precision", if has_point { geo.to_string() } else { String::new() }));

    let names: Vec<String> =
        ext.sources.iter().filter_map(|s| s.name.clone().or_else(|| s.identity_ref.clone())).collect();
    if ext.sources.iter().any(|s| (s.reliability, s.credibility) != ('F', 6)) {
        report.lost("sources.grading", "ACLED has no column for Admiralty source grading");
    }
    if ext.sources.iter().any(|s| s.url.is_some() || s.published.is_some() || s.note.is_some()) {
        report.lost("sources.url/published/note", "ACLED's source column holds names only");
    }
    cols.push(("source", names.join("; ")));
    cols.push(("source_scale", label("source_scale")));
    cols.push(("notes", ext.notes.clone().unwrap_or_default()));
    if let Some(f) = &ext.fatalities
        && (f.low.is_some_and(|l| l != f.best) || f.high.is_some_and(|h| h != f.best) || f.note.is_some())
    {
        report.lost("fatalities.low/high/note", "ACLED's fatalities is one number: the best estimate is written");
    }
    if ext.fatalities.is_none() {
        report.lost("fatalities", "unknown fatalities are written as ACLED's 0");
    }
    cols.push(("fatalities", ext.fatalities.as_ref().map(|f| f.best).unwrap_or(0).to_string()));
    let tags: Vec<&str> = labels.iter().filter_map(|l| l.strip_prefix("acled:tag:")).collect();
    cols.push(("tags", tags.join("; ")));
    let modified = incident.get("modified").and_then(Value::as_str).unwrap_or_default();
    let ts = tandem_model::Timestamp::parse(modified).map_err(|e| format!("modified {modified:?}: {e}"))?;
    if ts.as_micros() % 1_000_000 != 0 {
        report.lost("modified", "ACLED's timestamp is whole seconds: the fraction is dropped");
    }
    cols.push(("timestamp", ts.as_micros().div_euclid(1_000_000).to_string()));

    for (field, present, why) in [
        ("injured", ext.injured.is_some(), "ACLED has no injured column"),
        ("arrested", ext.arrested.is_some(), "ACLED has no arrested column"),
        ("materiel", !ext.materiel.is_empty(), "ACLED has no materiel column"),
        ("claimed_only", ext.claimed_only, "ACLED has no claimed-only flag"),
        ("confirmed", ext.confirmed, "ACLED has no confirmation flag"),
        ("description", incident.get("description").is_some(), "ACLED's notes column holds the extension's notes"),
        (
            "object_marking_refs",
            incident.get("object_marking_refs").is_some() || incident.get("granular_markings").is_some(),
            "ACLED CSV has no releasability: whoever holds the file can pass it on",
        ),
        (
            "redacted",
            incident.get("extensions").and_then(|e| e.get(REDACTION_EXTENSION_ID)).is_some(),
            "this reader's copy was redacted; the row holds only what was released to it",
        ),
    ] {
        if present {
            report.lost(field, why);
        }
    }
    let carried = |l: &&str| {
        l.strip_prefix(LABEL_PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(c, _)| c == "tag" || c == "admin1" || COLUMNS.contains(&c))
    };
    if labels.iter().any(|l| !carried(l)) {
        report.lost("labels", "ACLED has no column for other labels or for extra ACLED-style columns an import kept");
    }
    debug_assert_eq!(cols.iter().map(|(c, _)| *c).collect::<Vec<_>>(), COLUMNS);
    Ok(cols.into_iter().map(|(_, v)| v).collect())
}
