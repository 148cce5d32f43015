//! The real, publicly reported seed facts (`data/seed-facts.json`, compiled in) modelled as
//! STIX: incidents with the incident extension, locations, source identities, the ISIS
//! threat-actor and its cells as intrusion-sets, relationships, and the coalition milestones as
//! notes, each with the member that originates it and its TLP and releasability markings.
//!
//! Dates, types, counts and materiel come from the JSON; what the JSON leaves implicit (the
//! coordinates of each place, who reports it, how the source is graded, which cell an event
//! belongs to) is stated in the [`ENRICH`] table so each choice is visible in one place.

use serde_json::{Value, json};
use tandem_model::incident::{
    ActorRole, Count, Date, GeoPrecision, IncidentExt, Materiel, MaterielAction, Place, Role, Source, TimePrecision,
    TimeWindow, deterministic_id, parse_time_expression,
};

use crate::Originated;
use crate::markings::{refs, releasability_markings};
use crate::stix::{location, relationship, sdo};

const SEED_JSON: &str = include_str!("../data/seed-facts.json");

/// The raw seed facts.
pub fn seed_json() -> Value {
    serde_json::from_str(SEED_JSON).unwrap_or(Value::Null)
}

/// A place as the gazetteer or the analyst pins it.
struct Loc {
    key: &'static str,
    name: &'static str,
    lat: f64,
    lon: f64,
    /// Metres.
    precision_m: f64,
    geo: GeoPrecision,
    city: Option<&'static str>,
}

/// What the JSON does not say about an event.
struct Enrich {
    id: &'static str,
    originator: &'static str,
    tlp: &'static str,
    rel: Option<&'static str>,
    loc: Loc,
    /// Source identity key (see [`SOURCES`]), reliability, credibility.
    source: (&'static str, char, u8),
    /// Actors: `(name in the JSON, role, object key or "")`; object keys name entries of
    /// [`SOURCES`] (identities), [`CELLS`] (intrusion-sets) or `isis`.
    actors: &'static [(&'static str, Role, &'static str)],
    /// The cell the event is attributed to or acted against.
    cell: Option<&'static str>,
    published: &'static str,
}

/// `(key, name, identity_class, description)`.
const SOURCES: &[(&str, &str, &str, &str)] = &[
    (
        "syr-moi",
        "Syrian Interior Ministry",
        "organization",
        "Ministry of Interior of the Syrian Arab Republic; publishes statements on security operations.",
    ),
    (
        "syr-moi-latakia",
        "Latakia internal security command",
        "organization",
        "Internal security command of the Syrian Interior Ministry in Latakia governorate.",
    ),
    (
        "syr-moi-aleppo",
        "Aleppo internal security command",
        "organization",
        "Internal security command of the Syrian Interior Ministry in Aleppo governorate.",
    ),
    (
        "syr-moi-idlib",
        "Idlib internal security command",
        "organization",
        "Internal security command of the Syrian Interior Ministry in Idlib governorate.",
    ),
    ("syr-gid", "General Intelligence Directorate", "organization", "Syrian General Intelligence Directorate."),
    (
        "centcom",
        "US Central Command",
        "organization",
        "United States Central Command (CENTCOM), including Combined Joint Task Force - Operation Inherent Resolve (CJTF-OIR).",
    ),
    ("amaq", "Amaq", "organization", "ISIS's propaganda outlet; its claims are the perpetrator's own account."),
    ("press", "Press reports", "organization", "Open press reporting, outlet not individually graded."),
    (
        "coalition",
        "Global Coalition to Defeat ISIS",
        "organization",
        "The Global Coalition to Defeat ISIS, formed in September 2014.",
    ),
];

/// `(key, name, admin1, first_seen)`.
const CELLS: &[(&str, &str, &str, &str)] = &[
    ("cell-latakia-coast", "ISIS Latakia coast cell", "SY-LA", "2025-11-24"),
    ("cell-afrin", "ISIS Afrin cell", "SY-HL", "2025-11-25"),
    ("cell-dana", "ISIS al-Dana cell", "SY-ID", "2025-12-01"),
    ("cell-west-idlib", "ISIS western Idlib cell", "SY-ID", "2025-12-01"),
];

const ENRICH: &[Enrich] = &[
    Enrich {
        id: "church-bombing",
        originator: "SYR",
        tlp: "green",
        rel: Some("lvnt"),
        loc: Loc {
            key: "mar-elias-church",
            name: "Mar Elias Greek Orthodox Church, Dweila'a, Damascus",
            lat: 33.4926,
            lon: 36.3276,
            precision_m: 1_500.0, // approximate position of the church in Dweila'a
            geo: GeoPrecision::Town,
            city: Some("Damascus"),
        },
        source: ("syr-moi", 'B', 2),
        actors: &[("ISIS suicide attacker", Role::Perpetrator, "isis"), ("civilians", Role::Target, "")],
        cell: None,
        published: "2025-06-22",
    },
    Enrich {
        id: "rural-damascus-strikes",
        originator: "USA",
        tlp: "clear",
        rel: None,
        loc: Loc {
            key: "rural-damascus",
            name: "Rural Damascus governorate (southern Syria)",
            lat: 33.55,
            lon: 36.65,
            precision_m: 60_000.0,
            geo: GeoPrecision::Region,
            city: None,
        },
        source: ("centcom", 'A', 2),
        actors: &[("US forces (CENTCOM, CJTF-OIR)", Role::Responder, "centcom"), ("ISIS", Role::Target, "isis")],
        cell: None,
        published: "2025-11-30",
    },
    Enrich {
        id: "badrousiya-cell",
        originator: "SYR",
        tlp: "amber",
        rel: Some("usa-irq-syr"),
        loc: Loc {
            key: "al-badrousiya",
            name: "al-Badrousiya, northern Latakia (approximate: village not in the gazetteer)",
            lat: 35.826,
            lon: 35.86,
            precision_m: 5_000.0,
            geo: GeoPrecision::NearTown,
            city: None,
        },
        source: ("syr-moi-latakia", 'B', 2),
        actors: &[
            ("Syrian Interior Ministry internal security", Role::Responder, "syr-moi-latakia"),
            ("ISIS cell", Role::Target, "cell-latakia-coast"),
        ],
        cell: Some("cell-latakia-coast"),
        published: "2025-11-24",
    },
    Enrich {
        id: "afrin-cell",
        originator: "SYR",
        tlp: "green",
        rel: Some("lvnt"),
        loc: Loc {
            key: "afrin",
            name: "Afrin",
            lat: 36.51194,
            lon: 36.86954,
            precision_m: 2_000.0,
            geo: GeoPrecision::Town,
            city: Some("Afrin"),
        },
        source: ("syr-moi-aleppo", 'B', 3),
        actors: &[
            ("Aleppo internal security", Role::Responder, "syr-moi-aleppo"),
            ("ISIS cell", Role::Target, "cell-afrin"),
        ],
        cell: Some("cell-afrin"),
        published: "2025-11-25",
    },
    Enrich {
        id: "dana-operation",
        originator: "SYR",
        tlp: "amber",
        rel: Some("usa-irq-syr-secret"),
        loc: Loc {
            key: "al-dana",
            name: "al-Dana",
            lat: 36.21254,
            lon: 36.76998,
            precision_m: 2_000.0,
            geo: GeoPrecision::Town,
            city: Some("al-Dana"),
        },
        source: ("syr-moi-idlib", 'B', 2),
        actors: &[
            ("Idlib internal security", Role::Responder, "syr-moi-idlib"),
            ("General Intelligence Directorate", Role::Responder, "syr-gid"),
            ("ISIS cell", Role::Target, "cell-dana"),
        ],
        cell: Some("cell-dana"),
        published: "2025-12-10",
    },
    Enrich {
        id: "west-idlib-operation",
        originator: "SYR",
        tlp: "amber",
        rel: Some("usa-irq-syr-secret"),
        loc: Loc {
            key: "western-idlib",
            name: "western Idlib countryside",
            lat: 35.90,
            lon: 36.45,
            precision_m: 20_000.0,
            geo: GeoPrecision::NearTown,
            city: None,
        },
        source: ("syr-moi-idlib", 'B', 2),
        actors: &[
            ("Idlib internal security", Role::Responder, "syr-moi-idlib"),
            ("General Intelligence Directorate", Role::Responder, "syr-gid"),
            ("ISIS cell", Role::Target, "cell-west-idlib"),
        ],
        cell: Some("cell-west-idlib"),
        published: "2025-12-10",
    },
    Enrich {
        id: "maarrat-misrin-killing",
        originator: "SYR",
        tlp: "amber+strict",
        rel: Some("usa-syr-confidential"),
        loc: Loc {
            key: "maarrat-misrin",
            name: "near Maarrat Misrin",
            lat: 36.01152,
            lon: 36.67183,
            precision_m: 3_000.0,
            geo: GeoPrecision::NearTown,
            city: Some("Maarrat Misrin"),
        },
        source: ("syr-moi-idlib", 'B', 3),
        actors: &[("ISIS cell", Role::Perpetrator, "cell-west-idlib"), ("civilian", Role::Target, "")],
        cell: Some("cell-west-idlib"),
        published: "2025-12-10",
    },
    Enrich {
        id: "saraqib-claim",
        originator: "USA",
        tlp: "green",
        rel: Some("usa-irq-syr"),
        loc: Loc {
            key: "saraqib",
            name: "Saraqib",
            lat: 35.86447,
            lon: 36.80591,
            precision_m: 2_000.0,
            geo: GeoPrecision::Town,
            city: Some("Saraqib"),
        },
        source: ("amaq", 'D', 4),
        actors: &[
            ("ISIS", Role::Perpetrator, "isis"),
            ("Syrian army", Role::Target, ""),
            ("Amaq (ISIS outlet)", Role::Claimant, "amaq"),
        ],
        cell: None,
        published: "2025-12-02",
    },
    Enrich {
        id: "oil-tanker-attack",
        originator: "GBR",
        tlp: "clear",
        rel: None,
        loc: Loc {
            key: "northern-deir-ez-zor",
            name: "northern Deir ez-Zor countryside",
            lat: 35.50,
            lon: 40.35,
            precision_m: 30_000.0,
            geo: GeoPrecision::NearTown,
            city: None,
        },
        source: ("press", 'F', 3),
        actors: &[("ISIS", Role::Perpetrator, "isis"), ("oil tanker", Role::Target, "")],
        cell: None,
        published: "2025-12-02",
    },
];

fn source_id(key: &str) -> String {
    deterministic_id("identity", &format!("demo/source/{key}"))
}

fn cell_id(key: &str) -> String {
    deterministic_id("intrusion-set", &format!("demo/{key}"))
}

fn isis_id() -> String {
    deterministic_id("threat-actor", "demo/isis")
}

fn object_ref(key: &str) -> Option<String> {
    match key {
        "" => None,
        "isis" => Some(isis_id()),
        k if k.starts_with("cell-") => Some(cell_id(k)),
        k => Some(source_id(k)),
    }
}

const PUBLIC_CREATED: &str = "2014-09-10T00:00:00.000Z";

fn time_window(ev: &Value) -> Option<TimeWindow> {
    let end = Date::parse(ev["date_end"].as_str()?)?;
    let start = ev["date_start"].as_str().and_then(Date::parse);
    if let Some(p) = ev["date_precision"].as_str()
        && let Some(w) = parse_time_expression(&format!("{p} {}", end.year))
    {
        return Some(w);
    }
    Some(match start {
        Some(s) if s == end => TimeWindow::day(s),
        Some(s) => TimeWindow::range(s, end, TimePrecision::Days),
        None => TimeWindow {
            start: None,
            end,
            precision: TimePrecision::Days,
            expression: Some(format!("date unknown, on or before {end}")),
        },
    })
}

fn materiel(ev: &Value) -> Vec<Materiel> {
    let mut out = Vec::new();
    for (key, action) in [("seized", MaterielAction::Seized), ("destroyed", MaterielAction::Destroyed)] {
        for it in ev[key].as_array().into_iter().flatten() {
            let mut m = Materiel::new(it["item"].as_str().unwrap_or("unspecified"), action);
            m.quantity_min = it["quantity_min"].as_u64().map(|n| n as u32);
            m.quantity = it["quantity"].as_u64().map(|n| n as u32);
            out.push(m);
        }
    }
    out
}

/// The seed facts as STIX objects with their originators.
pub fn seed_facts() -> Vec<Originated> {
    let facts = seed_json();
    let mut out: Vec<Originated> = Vec::new();
    let mut push =
        |originator: &str, object: Value| out.push(Originated { originator: originator.to_string(), object });

    for m in releasability_markings() {
        push("USA", m);
    }
    let public = refs("clear", None);
    for (key, name, class, desc) in SOURCES {
        let mut v = sdo("identity", &format!("demo/source/{key}"), PUBLIC_CREATED, &public);
        v["name"] = json!(name);
        v["identity_class"] = json!(class);
        v["description"] = json!(desc);
        let originator = if key.starts_with("syr") { "SYR" } else { "USA" };
        push(originator, v);
    }
    let mut isis = sdo("threat-actor", "demo/isis", PUBLIC_CREATED, &public);
    isis["name"] = json!("Islamic State (ISIS)");
    isis["aliases"] = json!(["ISIL", "Daesh", "IS", "Islamic State of Iraq and al-Sham"]);
    isis["threat_actor_types"] = json!(["terrorist"]);
    isis["description"] =
        json!("The Islamic State; territorially defeated in Syria in March 2019, it continues as dispersed cells.");
    push("USA", isis);
    for (key, name, admin1, first_seen) in CELLS {
        let e = ENRICH.iter().find(|e| e.cell == Some(key)).expect("every cell has an event");
        let created = Date::parse(first_seen).map(|d| d.at(18, 0, 0)).unwrap_or_default();
        let markings = refs(e.tlp, e.rel);
        let mut v = sdo("intrusion-set", &format!("demo/{key}"), &created, &markings);
        v["name"] = json!(name);
        v["description"] = json!(format!("ISIS cell operating in {admin1}, identified by Syrian security forces."));
        v["first_seen"] = json!(Date::parse(first_seen).map(|d| d.at(0, 0, 0)));
        v["goals"] = json!(["attacks in Syria"]);
        let id = v["id"].as_str().unwrap_or_default().to_string();
        push(e.originator, v);
        push(e.originator, relationship("attributed-to", &id, &isis_id(), &created, &markings));
    }

    for ev in facts["events"].as_array().into_iter().flatten() {
        let fact_id = ev["id"].as_str().unwrap_or_default();
        let Some(e) = ENRICH.iter().find(|e| e.id == fact_id) else { continue };
        let Some(time) = time_window(ev) else { continue };
        let created = Date::parse(e.published).unwrap_or(time.end).at(18, 0, 0);
        let markings = refs(e.tlp, e.rel);
        let admin1 = ev["admin1"].as_str().unwrap_or_default();

        let l = &e.loc;
        let loc = location(
            &format!("demo/place/{}", l.key),
            l.name,
            l.lat,
            l.lon,
            l.precision_m,
            admin1,
            l.city,
            PUBLIC_CREATED,
            &public,
        );
        let loc_id = loc["id"].as_str().unwrap_or_default().to_string();
        push(e.originator, loc);

        let (skey, reliability, credibility) = e.source;
        let source_name = SOURCES.iter().find(|s| s.0 == skey).map(|s| s.1);
        let source_note = ev["source"].as_str().filter(|s| Some(*s) != source_name).map(str::to_string);
        let fatalities = ev["fatalities"].as_u64().map(|n| Count::exact(n as u32));
        let injured = ev["injured_note"].as_str().map(|note| Count {
            best: 24,
            low: Some(24),
            high: None,
            note: Some(note.to_string()),
        });
        let claimed = ev["claimed"].as_bool().unwrap_or(false);
        let mut notes: Vec<String> = ev["note"].as_str().map(str::to_string).into_iter().collect();
        if let Some(t) = ev["targets"].as_str() {
            notes.push(format!("targets: {t}"));
        }
        let ext = IncidentExt {
            event_type: ev["event_type"].as_str().unwrap_or_default().to_string(),
            sub_event_type: ev["sub_event_type"].as_str().unwrap_or_default().to_string(),
            time,
            place: Place {
                location_refs: vec![loc_id.clone()],
                precision: l.geo,
                admin1: admin1.to_string(),
                description: ev["place"].as_str().map(str::to_string),
            },
            actors: e
                .actors
                .iter()
                .map(|(name, role, key)| match object_ref(key) {
                    Some(id) => ActorRole { actor_ref: Some(id), name: Some(name.to_string()), role: *role },
                    None => ActorRole::by_name(name, *role),
                })
                .collect(),
            fatalities,
            injured,
            arrested: None,
            materiel: materiel(ev),
            claimed_only: claimed,
            confirmed: !claimed && reliability <= 'B' && credibility <= 2,
            civilian_targeting: ev["civilian_targeting"].as_bool().unwrap_or(false)
                || ev["event_type"] == "Violence against civilians",
            sources: vec![Source {
                identity_ref: Some(source_id(skey)),
                name: source_name.map(str::to_string),
                reliability,
                credibility,
                url: None,
                published: Date::parse(e.published),
                note: source_note,
            }],
            notes: (!notes.is_empty()).then(|| notes.join("; ")),
        };
        let mut inc = sdo("incident", &format!("demo/fact/{fact_id}"), &created, &markings);
        inc["name"] =
            json!(format!("{}: {} ({})", ext.sub_event_type, ev["place"].as_str().unwrap_or_default(), ext.time.end));
        inc["description"] = json!(ev["note"].as_str().unwrap_or(ev["place"].as_str().unwrap_or_default()));
        inc["external_references"] = json!([{"source_name": "tandem-seed-facts", "external_id": fact_id}]);
        ext.attach(&mut inc);
        let inc_id = inc["id"].as_str().unwrap_or_default().to_string();
        push(e.originator, inc);
        push(e.originator, relationship("located-at", &inc_id, &loc_id, &created, &markings));
        let perpetrator = e.actors.iter().find(|a| a.1 == Role::Perpetrator).and_then(|a| object_ref(a.2));
        if let Some(p) = perpetrator {
            push(e.originator, relationship("attributed-to", &inc_id, &p, &created, &markings));
        } else if let Some(c) = e.cell {
            push(e.originator, relationship("related-to", &inc_id, &cell_id(c), &created, &markings));
        }
    }
    // Investigators linked the Maarrat Misrin killing to the western Idlib cell's arrests.
    let link_created = Date::new(2025, 12, 10).map(|d| d.at(18, 0, 0)).unwrap_or_default();
    push(
        "SYR",
        relationship(
            "related-to",
            &deterministic_id("incident", "demo/fact/west-idlib-operation"),
            &deterministic_id("incident", "demo/fact/maarrat-misrin-killing"),
            &link_created,
            &refs("amber+strict", Some("usa-syr-confidential")),
        ),
    );
    milestones(&facts, &mut push);
    out
}

/// The coalition's milestones as notes on the coalition's identity (and the ISIS threat-actor).
fn milestones(facts: &Value, push: &mut impl FnMut(&str, Value)) {
    let coalition = source_id("coalition");
    for (i, m) in facts["coalition"]["milestones"].as_array().into_iter().flatten().enumerate() {
        let date = m["date"].as_str().unwrap_or_default();
        let first = date.split('/').next().unwrap_or(date);
        let day = Date::parse(first).or_else(|| Date::parse(&format!("{first}-01"))).unwrap_or(Date {
            year: 2014,
            month: 9,
            day: 10,
        });
        let created = day.at(12, 0, 0);
        let mut v = sdo("note", &format!("demo/milestone/{i}/{date}"), &created, &refs("clear", None));
        v["abstract"] = json!(format!("Coalition milestone {date}"));
        v["content"] = json!(m["fact"].as_str().unwrap_or_default());
        v["authors"] = json!(["Global Coalition to Defeat ISIS (public record)"]);
        v["object_refs"] = json!([coalition, isis_id()]);
        push("USA", v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_is_enriched() {
        let facts = seed_json();
        for ev in facts["events"].as_array().unwrap() {
            let id = ev["id"].as_str().unwrap();
            assert!(ENRICH.iter().any(|e| e.id == id), "{id} has no enrichment");
            assert!(time_window(ev).is_some(), "{id}");
        }
    }

    #[test]
    fn fuzzy_dates_become_windows() {
        let facts = seed_json();
        let ev = facts["events"].as_array().unwrap().iter().find(|e| e["id"] == "dana-operation").unwrap();
        let w = time_window(ev).unwrap();
        assert_eq!((w.start.unwrap().to_string(), w.end.to_string()), ("2025-12-01".into(), "2025-12-10".into()));
        let ev = facts["events"].as_array().unwrap().iter().find(|e| e["id"] == "maarrat-misrin-killing").unwrap();
        assert_eq!(time_window(ev).unwrap().start, None);
    }
}
