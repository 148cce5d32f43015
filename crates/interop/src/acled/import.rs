//! One ACLED-style row to STIX: an incident with Tandem's incident extension and, when the row
//! has coordinates, its location; a deletions row to a revocation of the stored incident.
//! Conventions in the [module doc](super).

use serde_json::{Value, json};
use tandem_model::incident::{
    ActorRole, Count, Date, GeoPrecision, IncidentExt, Place, Role, Source, TimePrecision, TimeWindow, acled,
    deterministic_id,
};

use super::{COLUMNS, LABEL_COLUMNS, LABEL_PREFIX, Row};
use crate::Report;

/// What the caller decides for every imported object.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Marking-definition ids set as `object_marking_refs` on every object (ACLED rows carry no
    /// releasability of their own).
    pub markings: Vec<String>,
}

/// The incident id a row's `event_id_cnty` maps to.
pub fn incident_id(event_id_cnty: &str) -> String {
    if is_incident_id(event_id_cnty) {
        return event_id_cnty.to_string();
    }
    deterministic_id("incident", &format!("acled/{event_id_cnty}"))
}

fn is_incident_id(s: &str) -> bool {
    tandem_model::StixId::parse(s).is_ok_and(|id| id.object_type() == "incident")
}

/// A STIX timestamp (milliseconds) for Unix seconds.
pub fn stix_time(unix: i64) -> String {
    let day = Date::from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400) as u32;
    day.at(secs / 3600, secs / 60 % 60, secs % 60)
}

/// Parses an ACLED date: `YYYY-MM-DD` or ACLED's own `12 November 2025`.
pub fn parse_date(s: &str) -> Option<Date> {
    if let Some(d) = Date::parse(s) {
        return Some(d);
    }
    let mut words = s.split_whitespace();
    let (d, m, y) = (words.next()?, words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    let month = MONTHS.iter().position(|name| name.eq_ignore_ascii_case(m))? as u32 + 1;
    Date::new(y.parse().ok()?, month, d.parse().ok()?)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The ISO 3166-2 code for an ACLED `admin1` (a governorate name or spelling Tandem's gazetteer
/// knows, or an ISO code such as `SY-DY`).
pub fn admin1_code(admin1: &str) -> Option<String> {
    let gazetteer = tandem_geo::Gazetteer::embedded();
    if let Some(g) = gazetteer.governorate(admin1) {
        return Some(g.iso.clone());
    }
    let key = fold(admin1);
    gazetteer
        .governorates()
        .iter()
        .find(|g| fold(&g.name) == key || g.aliases.iter().any(|a| fold(a) == key))
        .map(|g| g.iso.clone())
}

/// Case, hyphens and apostrophes do not distinguish governorate spellings.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '\'' | '’'))
        .map(|c| if c == '-' { ' ' } else { c.to_ascii_lowercase() })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The governorate name an export writes for an ISO code.
pub fn admin1_name(code: &str) -> Option<String> {
    tandem_geo::Gazetteer::embedded().governorate(code).map(|g| g.name.clone())
}

/// Maps one row to its incident and, when it has coordinates, its location (location first).
/// `Err` is the reason the row is rejected; nothing of a rejected row is produced.
pub fn row_to_stix(row: &Row, opts: &Options, report: &mut Report) -> Result<Vec<Value>, String> {
    let eid = row.get("event_id_cnty");
    if eid.is_empty() {
        return Err("event_id_cnty is empty".into());
    }
    let event_type = row.get("event_type");
    let sub_event_type = row.get("sub_event_type");
    if !acled::is_valid_pair(event_type, sub_event_type) {
        return Err(format!("{event_type:?} / {sub_event_type:?} is not an ACLED event type and sub-event type"));
    }
    let raw_date = row.get("event_date");
    let date = parse_date(raw_date).ok_or_else(|| format!("event_date {raw_date:?} is not a date"))?;
    let time = match row.get("time_precision") {
        "1" | "" => TimeWindow::day(date),
        "2" => TimeWindow::range(date.plus_days(-3), date.plus_days(3), TimePrecision::Week).with_expression(raw_date),
        "3" => {
            TimeWindow::range(Date { day: 1, ..date }, Date::last_of_month(date.year, date.month), TimePrecision::Month)
                .with_expression(raw_date)
        }
        other => return Err(format!("time_precision {other:?} is not 1, 2 or 3")),
    };
    let ts = unix_seconds("timestamp", row.get("timestamp"))?;
    let modified = stix_time(ts);
    // `created` must not follow `modified`; the event's day is the natural creation when ACLED
    // recorded it afterwards, as it always does.
    let created = std::cmp::min(date.at(0, 0, 0), modified.clone());

    let raw_admin1 = row.get("admin1");
    let admin1 = admin1_code(raw_admin1)
        .ok_or_else(|| format!("admin1 {raw_admin1:?} is not a governorate Tandem's gazetteer knows"))?;
    let (lat, lon) = (row.get("latitude"), row.get("longitude"));
    let coordinates = match (lat.is_empty(), lon.is_empty()) {
        (true, true) => None,
        (false, false) => {
            let lat: f64 =
                lat.parse().ok().filter(|l: &f64| (-90.0..=90.0).contains(l)).ok_or("latitude is not a latitude")?;
            let lon: f64 = lon
                .parse()
                .ok()
                .filter(|l: &f64| (-180.0..=180.0).contains(l))
                .ok_or("longitude is not a longitude")?;
            Some((lat, lon))
        }
        _ => return Err("latitude and longitude must both be given or both be empty".into()),
    };
    let precision = match (row.get("geo_precision"), coordinates) {
        (_, None) => GeoPrecision::Admin,
        ("1", _) => GeoPrecision::Town,
        ("2", _) => GeoPrecision::NearTown,
        ("3", _) => GeoPrecision::Region,
        (other, _) => return Err(format!("geo_precision {other:?} is not 1, 2 or 3")),
    };
    let fatalities = match row.get("fatalities") {
        "" => None,
        n => Some(Count::exact(n.parse().map_err(|_| format!("fatalities {n:?} is not a count"))?)),
    };

    let id = incident_id(eid);
    let location_name = row.get("location");
    let mut objects = Vec::with_capacity(2);
    let mut location_refs = Vec::new();
    if let Some((lat, lon)) = coordinates {
        let loc_id = deterministic_id("location", &format!("{id}/location"));
        let mut loc = json!({
            "type": "location", "spec_version": "2.1", "id": loc_id,
            "created": created, "modified": modified,
            "latitude": lat, "longitude": lon,
            "country": &admin1[..2], "administrative_area": admin1,
        });
        if !location_name.is_empty() {
            loc["name"] = json!(location_name);
        }
        mark(&mut loc, opts);
        location_refs.push(loc_id);
        objects.push(loc);
    }

    let mut actors = Vec::new();
    for (column, role) in [("actor1", Role::Perpetrator), ("actor2", Role::Target)] {
        let name = row.get(column);
        if !name.is_empty() {
            actors.push(ActorRole::by_name(name, role));
        }
    }
    let sources = row
        .get("source")
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| Source {
            identity_ref: None,
            name: Some(name.to_string()),
            reliability: 'F',
            credibility: 6,
            url: None,
            published: None,
            note: None,
        })
        .collect();
    let notes = Some(row.get("notes")).filter(|n| !n.is_empty()).map(str::to_string);
    let ext = IncidentExt {
        event_type: event_type.to_string(),
        sub_event_type: sub_event_type.to_string(),
        time,
        place: Place { location_refs, precision, admin1: admin1.clone(), description: None },
        actors,
        fatalities,
        injured: None,
        arrested: None,
        materiel: Vec::new(),
        claimed_only: false,
        confirmed: false,
        civilian_targeting: !row.get("civilian_targeting").is_empty(),
        sources,
        notes,
    };
    if !matches!(row.get("civilian_targeting"), "" | "Civilian targeting") {
        report.lost(
            "civilian_targeting",
            "only ACLED's \"Civilian targeting\" or empty is meaningful; other text is read as true",
        );
    }

    let where_ = if location_name.is_empty() { raw_admin1 } else { location_name };
    let mut incident = json!({
        "type": "incident", "spec_version": "2.1", "id": id,
        "created": created, "modified": modified,
        "name": format!("{sub_event_type} in {where_} ({date})"),
        "external_references": [{"source_name": "ACLED", "external_id": eid}],
    });
    let labels = labels(row, &admin1);
    if !labels.is_empty() {
        incident["labels"] = json!(labels);
    }
    mark(&mut incident, opts);
    ext.attach(&mut incident);
    objects.push(incident);
    Ok(objects)
}

fn mark(object: &mut Value, opts: &Options) {
    if !opts.markings.is_empty() {
        object["object_marking_refs"] = json!(opts.markings);
    }
}

/// The `acled:<column>:<value>` labels: the columns Tandem's model has no field for, each tag,
/// the `admin1` spelling when it is not the gazetteer's, and every column ACLED-style files add.
fn labels(row: &Row, admin1: &str) -> Vec<String> {
    let mut labels = Vec::new();
    for column in LABEL_COLUMNS {
        let v = row.get(column);
        if !v.is_empty() {
            labels.push(format!("{LABEL_PREFIX}{column}:{v}"));
        }
    }
    let raw_admin1 = row.get("admin1");
    if admin1_name(admin1).as_deref() != Some(raw_admin1) {
        labels.push(format!("{LABEL_PREFIX}admin1:{raw_admin1}"));
    }
    for tag in row.get("tags").split(';').map(str::trim).filter(|t| !t.is_empty()) {
        labels.push(format!("{LABEL_PREFIX}tag:{tag}"));
    }
    for (column, v) in &row.fields {
        if !COLUMNS.contains(&column.as_str()) && !v.is_empty() {
            labels.push(format!("{LABEL_PREFIX}{column}:{v}"));
        }
    }
    labels
}

/// A deletions-file row: which incident, and when ACLED deleted it (Unix seconds).
pub fn deletion(row: &Row) -> Result<(String, i64), String> {
    let eid = row.get("event_id_cnty");
    if eid.is_empty() {
        return Err("event_id_cnty is empty".into());
    }
    let ts = unix_seconds("deleted_timestamp", row.get("deleted_timestamp"))?;
    Ok((incident_id(eid), ts))
}

/// `raw` as Unix seconds a STIX timestamp can carry: STIX years have four digits, so up to
/// 9999-12-31T23:59:59Z (a fuzzed row's year 560676 became an object the validator refuses).
fn unix_seconds(field: &str, raw: &str) -> Result<i64, String> {
    raw.parse()
        .ok()
        .filter(|t| (0..=253_402_300_799).contains(t))
        .ok_or_else(|| format!("{field} {raw:?} is not Unix seconds between 1970 and 9999"))
}

/// The revocation of `latest` (the stored incident) at `deleted` (Unix seconds): the same object,
/// `revoked`, as a new version. Refused when the deletion is not later than the stored version
/// (a version's `modified` only moves forward) or the object is already revoked.
pub fn revocation(latest: &Value, deleted: i64) -> Result<Value, String> {
    if latest.get("revoked").and_then(Value::as_bool) == Some(true) {
        return Err("already revoked".into());
    }
    // A redacted copy is not the whole object: revoking it would store a version with less.
    if latest.get("extensions").and_then(|e| e.get(tandem_model::incident::REDACTION_EXTENSION_ID)).is_some() {
        return Err("the stored copy this reader sees is redacted; only its originator can revoke it".into());
    }
    let modified = stix_time(deleted);
    let current = latest.get("modified").and_then(Value::as_str).unwrap_or_default();
    let later = match (tandem_model::Timestamp::parse(&modified), tandem_model::Timestamp::parse(current)) {
        (Ok(new), Ok(old)) => new > old,
        _ => false,
    };
    if !later {
        return Err(format!("deleted_timestamp {modified} is not after the stored version {current}"));
    }
    let mut revoked = latest.clone();
    revoked["revoked"] = json!(true);
    revoked["modified"] = json!(modified);
    Ok(revoked)
}
