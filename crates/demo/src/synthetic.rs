//! A clearly labelled synthetic history of ISIS-related incidents in Iraq and Syria, 2014-2025.
//!
//! Every object it emits carries the label `synthetic` and a description saying it is generated.
//! The structure follows the public record in outline: the 2014-2017 peak in Nineveh, Anbar,
//! Salah ad-Din, Raqqa and Deir ez-Zor; the decline after the territorial defeat (March 2019);
//! an insurgency in the Badia and Deir ez-Zor afterwards; a rise in Deir ez-Zor in 2025; fewer
//! events in deep winter. Cells (intrusion-sets) operate from a home town and its neighbours for
//! a year, so their tracks stay local. The output depends only on the seed and count.

use std::collections::BTreeMap;

use serde_json::json;
use tandem_model::incident::{
    ActorRole, Count, Date, GeoPrecision, IncidentExt, Materiel, MaterielAction, Place, Role, Source, TimePrecision,
    TimeWindow, deterministic_id,
};

use crate::Originated;
use crate::markings::{refs, releasability_markings};
use crate::places::{PLACES, Place as Town};
use crate::rng::SplitMix64;
use crate::stix::{label_synthetic, location, relationship, sdo};

/// The demo's default number of synthetic incidents.
pub const DEFAULT_COUNT: usize = 30_000;

const FIRST_YEAR: i32 = 2014;
const YEARS: usize = 12;

/// Relative yearly activity per admin-1 area, 2014..=2025.
const REGIONS: &[(&str, [f64; YEARS])] = &[
    ("IQ-NI", [6.0, 9.0, 9.0, 8.0, 2.5, 1.5, 1.2, 1.0, 0.6, 0.35, 0.25, 0.15]),
    ("IQ-AN", [9.0, 9.0, 7.0, 4.0, 1.8, 1.3, 1.0, 0.8, 0.5, 0.3, 0.2, 0.12]),
    ("IQ-SD", [7.0, 7.0, 5.0, 3.0, 2.0, 1.6, 1.3, 1.0, 0.6, 0.35, 0.25, 0.15]),
    ("IQ-DI", [4.0, 3.0, 2.0, 1.5, 1.5, 1.3, 1.2, 1.0, 0.6, 0.4, 0.3, 0.2]),
    ("IQ-KI", [3.0, 3.0, 2.5, 2.0, 1.5, 1.4, 1.3, 1.0, 0.6, 0.4, 0.3, 0.2]),
    ("IQ-BG", [3.0, 3.0, 2.5, 1.5, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05, 0.05, 0.03]),
    ("IQ-BB", [1.5, 1.0, 0.6, 0.3, 0.1, 0.05, 0.05, 0.03, 0.02, 0.01, 0.01, 0.01]),
    ("SY-RA", [5.0, 6.0, 6.0, 7.0, 2.0, 1.2, 0.9, 0.8, 0.6, 0.5, 0.5, 0.6]),
    ("SY-DY", [5.0, 6.0, 6.0, 7.0, 3.0, 2.2, 1.6, 1.6, 1.3, 1.1, 1.5, 3.0]),
    ("SY-HI", [1.5, 3.5, 3.0, 3.0, 1.5, 1.5, 1.5, 1.3, 1.0, 0.9, 0.8, 0.7]),
    ("SY-HA", [2.5, 3.0, 2.0, 1.5, 1.0, 1.0, 0.8, 0.7, 0.6, 0.5, 0.6, 0.9]),
    ("SY-HL", [3.0, 4.0, 4.0, 1.5, 0.4, 0.2, 0.15, 0.1, 0.1, 0.08, 0.1, 0.15]),
    ("SY-ID", [0.3, 0.3, 0.3, 0.3, 0.2, 0.2, 0.15, 0.1, 0.1, 0.1, 0.1, 0.3]),
    ("SY-RD", [0.6, 1.0, 1.0, 0.8, 0.5, 0.2, 0.15, 0.1, 0.1, 0.1, 0.1, 0.25]),
    ("SY-DI", [0.3, 0.5, 0.5, 0.4, 0.3, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.15]),
    ("SY-HM", [0.6, 1.2, 1.2, 1.5, 0.6, 0.5, 0.5, 0.4, 0.3, 0.25, 0.2, 0.2]),
    ("SY-DR", [0.2, 0.3, 0.4, 0.4, 0.5, 0.3, 0.3, 0.3, 0.25, 0.2, 0.15, 0.1]),
    ("SY-SU", [0.1, 0.2, 0.2, 0.2, 0.5, 0.15, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]),
    ("SY-LA", [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.1]),
];

/// Fewer events in deep winter (rain, cold, poor visibility), most in late spring and summer.
const SEASON: [f64; 12] = [0.65, 0.7, 0.9, 1.0, 1.1, 1.15, 1.15, 1.1, 1.05, 1.0, 0.85, 0.7];

/// `(event_type, sub_event_type, ISIS is the perpetrator, mean fatalities, weight 2014-2017,
/// weight 2018-2025)`.
const KINDS: &[(&str, &str, bool, f64, f64, f64)] = &[
    ("Battles", "Armed clash", true, 5.0, 25.0, 18.0),
    ("Battles", "Non-state actor overtakes territory", true, 8.0, 4.0, 0.3),
    ("Battles", "Government regains territory", false, 10.0, 5.0, 0.5),
    ("Explosions/Remote violence", "Air/drone strike", false, 4.0, 15.0, 8.0),
    ("Explosions/Remote violence", "Shelling/artillery/missile attack", true, 2.0, 10.0, 3.0),
    ("Explosions/Remote violence", "Remote explosive/landmine/IED", true, 2.0, 14.0, 22.0),
    ("Explosions/Remote violence", "Suicide bomb", true, 12.0, 7.0, 2.0),
    ("Explosions/Remote violence", "Grenade", true, 1.0, 1.0, 2.0),
    ("Violence against civilians", "Attack", true, 2.0, 10.0, 18.0),
    ("Violence against civilians", "Abduction/forced disappearance", true, 0.0, 4.0, 6.0),
    ("Strategic developments", "Arrests", false, 0.2, 3.0, 16.0),
    ("Strategic developments", "Disrupted weapons use", false, 0.0, 1.0, 3.0),
    ("Strategic developments", "Looting/property destruction", true, 0.0, 2.0, 2.0),
    ("Strategic developments", "Headquarters or base established", true, 0.0, 1.0, 0.2),
];

/// `(weight, tlp, releasability key)` per originator.
fn marking_choices(originator: &str, syria_member: bool) -> &'static [(f64, &'static str, Option<&'static str>)] {
    match originator {
        "USA" if syria_member => &[
            (0.25, "clear", None),
            (0.3, "green", Some("usa-irq-syr")),
            (0.2, "amber", Some("fvey")),
            (0.15, "amber", Some("usa-irq-syr-secret")),
            (0.1, "amber+strict", Some("usa-gbr-fra-confidential")),
        ],
        "USA" => &[
            (0.25, "clear", None),
            (0.3, "green", Some("usa-irq")),
            (0.2, "amber", Some("fvey")),
            (0.15, "amber", Some("usa-lvnt-restricted")),
            (0.1, "amber+strict", Some("usa-gbr-fra-confidential")),
        ],
        "IRQ" => &[(0.3, "clear", None), (0.4, "green", Some("usa-irq")), (0.3, "amber", Some("lvnt"))],
        "SYR" => &[
            (0.2, "clear", None),
            (0.35, "green", Some("lvnt")),
            (0.3, "amber", Some("usa-irq-syr")),
            (0.15, "amber+strict", Some("usa-syr-confidential")),
        ],
        "GBR" => {
            &[(0.3, "green", None), (0.4, "amber", Some("fvey")), (0.3, "amber", Some("usa-gbr-fra-confidential"))]
        }
        "FRA" => &[(0.4, "green", None), (0.6, "amber", Some("usa-gbr-fra-confidential"))],
        "JOR" => &[(0.4, "green", Some("lvnt")), (0.4, "amber", Some("usa-lvnt-restricted")), (0.2, "red", None)],
        "TUR" => &[(0.5, "green", Some("usa-tur")), (0.5, "amber", Some("usa-tur"))],
        _ => &[(0.5, "green", Some("fvey")), (0.5, "amber", Some("fvey"))],
    }
}

fn originator_choices(country: &str, day: Date) -> &'static [(f64, &'static str)] {
    let assad_fell = Date { year: 2024, month: 12, day: 8 };
    let syria_joined = Date { year: 2025, month: 11, day: 13 };
    match country {
        "IQ" => &[(0.55, "IRQ"), (0.3, "USA"), (0.07, "GBR"), (0.05, "FRA"), (0.03, "AUS")],
        _ if day >= syria_joined => &[(0.45, "SYR"), (0.35, "USA"), (0.1, "GBR"), (0.1, "JOR")],
        _ if day >= assad_fell => {
            &[(0.45, "USA"), (0.12, "GBR"), (0.1, "FRA"), (0.1, "JOR"), (0.1, "TUR"), (0.13, "SYR")]
        }
        _ => &[(0.5, "USA"), (0.15, "GBR"), (0.12, "FRA"), (0.1, "JOR"), (0.13, "TUR")],
    }
}

/// Who fights ISIS where and when (names only; the synthetic set has no identity for them).
fn responder(admin1: &str, day: Date) -> &'static str {
    let east = matches!(admin1, "SY-RA" | "SY-HA" | "SY-HL");
    match admin1 {
        a if a.starts_with("IQ") => {
            if matches!(a, "IQ-NI" | "IQ-KI" | "IQ-DI") && day.year <= 2017 {
                "Kurdistan Region Peshmerga"
            } else if day.year >= 2015 && day.day.is_multiple_of(3) {
                "Popular Mobilization Forces"
            } else {
                "Iraqi Security Forces"
            }
        }
        "SY-DY" if day.day.is_multiple_of(2) && day.year >= 2017 => "Syrian Democratic Forces",
        _ if east && day.year >= 2016 => "Syrian Democratic Forces",
        _ if east => "People's Protection Units (YPG)",
        _ if day >= (Date { year: 2024, month: 12, day: 8 }) => "Syrian government security forces",
        _ => "Syrian government forces",
    }
}

struct Cell {
    id: String,
    name: String,
    admin1: &'static str,
    /// Indices into `PLACES`: home first, then neighbours.
    area: Vec<usize>,
    first: Option<Date>,
    last: Option<Date>,
}

/// A synthetic history of `count` incidents (plus the locations, cells, sources, markings and
/// relationships they use), deterministic for a given `seed`.
pub fn synthetic_history(seed: u64, count: usize) -> Vec<Originated> {
    let root = SplitMix64::new(seed);
    let mut rng = root.fork("incidents");
    let ns = format!("demo/synthetic/{seed}");

    // Cumulative weights over (year, month, region).
    let mut cells_w: Vec<(i32, u32, usize)> = Vec::new();
    let mut cum: Vec<f64> = Vec::new();
    let mut total = 0.0;
    for y in 0..YEARS {
        let year = FIRST_YEAR + y as i32;
        for month in 1..=12u32 {
            if year == 2025 && month == 12 {
                continue;
            }
            for (r, (admin1, w)) in REGIONS.iter().enumerate() {
                let mut weight = w[y] * SEASON[month as usize - 1];
                if year == 2014 && month < 6 {
                    weight *= 0.35; // before the fall of Mosul
                }
                if year == 2025 && *admin1 == "SY-DY" {
                    weight *= 0.6 + 0.08 * f64::from(month); // the 2025 rise
                }
                total += weight;
                cells_w.push((year, month, r));
                cum.push(total);
            }
        }
    }
    let towns_of: Vec<Vec<usize>> = REGIONS
        .iter()
        .map(|(a, _)| PLACES.iter().enumerate().filter(|(_, p)| p.admin1 == *a).map(|(i, _)| i).collect())
        .collect();

    let mut cells: BTreeMap<(usize, i32, u64), Cell> = BTreeMap::new();
    let mut used_towns: BTreeMap<usize, String> = BTreeMap::new();
    let mut incidents: Vec<Originated> = Vec::with_capacity(count * 2 + count / 2);
    let source_desk = |member: &str| deterministic_id("identity", &format!("{ns}/source/{member}"));
    let mut desks: BTreeMap<&'static str, ()> = BTreeMap::new();
    let threat_actor = deterministic_id("threat-actor", &format!("{ns}/isis"));

    for n in 0..count {
        let x = rng.f64() * total;
        let idx = cum.partition_point(|c| *c <= x).min(cum.len() - 1);
        let (year, month, r) = cells_w[idx];
        let admin1 = REGIONS[r].0;
        let country = &admin1[..2];
        let day = Date::new(
            year,
            month,
            1 + rng.below(u64::from(tandem_model::incident::time::days_in_month(year, month))) as u32,
        )
        .unwrap_or(Date { year, month, day: 1 });
        let era = if year <= 2017 { 4 } else { 5 };
        let weights: Vec<f64> = KINDS.iter().map(|k| if era == 4 { k.4 } else { k.5 }).collect();
        let (event_type, sub_type, isis_acts, mean_dead, _, _) = KINDS[rng.weighted(&weights)];

        // Cell attribution and place.
        let towns = &towns_of[r];
        let with_cell = rng.chance(if isis_acts { 0.45 } else { 0.5 });
        let mut cell_id = None;
        let town = if with_cell {
            let k = rng.below(cells_per_year(REGIONS[r].1[(year - FIRST_YEAR) as usize]));
            let cell = cells.entry((r, year, k)).or_insert_with(|| new_cell(&root, &ns, r, year, k, towns));
            cell.first = Some(cell.first.map_or(day, |f| f.min(day)));
            cell.last = Some(cell.last.map_or(day, |l| l.max(day)));
            cell_id = Some(cell.id.clone());
            let pick = rng.weighted(&[0.6, 0.2, 0.2][..cell.area.len().min(3)]);
            cell.area[pick]
        } else {
            let w: Vec<f64> = towns.iter().map(|i| (f64::from(PLACES[*i].population) + 5000.0).sqrt()).collect();
            towns[rng.weighted(&w)]
        };
        let place = &PLACES[town];
        let loc_id = used_towns
            .entry(town)
            .or_insert_with(|| deterministic_id("location", &format!("{ns}/town/{}", place.geonameid)))
            .clone();

        // Time window and place precision.
        let time = match rng.weighted(&[0.85, 0.09, 0.04, 0.02]) {
            0 => TimeWindow::day(day),
            1 => TimeWindow::range(day.plus_days(-(1 + rng.below(3) as i64)), day, TimePrecision::Days),
            2 => TimeWindow::range(day.plus_days(-6), day, TimePrecision::Week),
            _ => {
                TimeWindow::range(Date { year, month, day: 1 }, Date::last_of_month(year, month), TimePrecision::Month)
            }
        };
        let geo = [GeoPrecision::Town, GeoPrecision::NearTown, GeoPrecision::Region][rng.weighted(&[0.75, 0.2, 0.05])];

        // Actors and counts.
        let who = responder(admin1, day);
        let isis_actor = match &cell_id {
            Some(id) => ActorRole { actor_ref: Some(id.clone()), name: None, role: Role::Perpetrator },
            None => {
                ActorRole { actor_ref: Some(threat_actor.clone()), name: Some("ISIS".into()), role: Role::Perpetrator }
            }
        };
        let civilian = sub_type == "Attack"
            || sub_type == "Abduction/forced disappearance"
            || (sub_type == "Suicide bomb" && rng.chance(0.5));
        let mut actors = Vec::new();
        if isis_acts {
            actors.push(isis_actor);
            actors.push(ActorRole::by_name(if civilian { "civilians" } else { who }, Role::Target));
        } else {
            let air = sub_type == "Air/drone strike" && (year > 2014 || month >= 9);
            actors.push(ActorRole::by_name(if air { "Coalition forces" } else { who }, Role::Responder));
            actors.push(ActorRole { role: Role::Target, ..isis_actor });
        }
        let best = rng.count_with_mean(mean_dead);
        let fatalities = (mean_dead > 0.0).then(|| {
            if best >= 4 && rng.chance(0.5) {
                Count::range(best * 3 / 4, best, best * 3 / 2)
            } else {
                Count::exact(best)
            }
        });
        let injured = (isis_acts && mean_dead >= 1.0 && rng.chance(0.6))
            .then(|| Count::exact(rng.count_with_mean(mean_dead * 1.5)));
        let arrested = (sub_type == "Arrests").then(|| Count::exact(1 + rng.count_with_mean(2.5)));
        let mut materiel = Vec::new();
        if matches!(sub_type, "Arrests" | "Disrupted weapons use") && rng.chance(0.5) {
            let items = ["assault rifles", "explosive belts", "IED materials", "ammunition", "mortar shells"];
            let mut m = Materiel::new(items[rng.below(items.len() as u64) as usize], MaterielAction::Seized);
            m.quantity = Some(1 + rng.below(20) as u32);
            materiel.push(m);
        }
        if sub_type == "Air/drone strike" && rng.chance(0.3) {
            materiel.push(Materiel::new("weapons storage site", MaterielAction::Destroyed));
        }
        let claimed_only = isis_acts && rng.chance(0.08);

        // Originator, markings, source.
        let syria_member = day >= Date { year: 2025, month: 11, day: 13 };
        let oc = originator_choices(country, day);
        let originator = oc[rng.weighted(&oc.iter().map(|c| c.0).collect::<Vec<_>>())].1;
        let mc = marking_choices(originator, syria_member);
        let (_, tlp, rel) = mc[rng.weighted(&mc.iter().map(|c| c.0).collect::<Vec<_>>())];
        let markings = refs(tlp, rel);
        desks.insert(originator, ());
        let reliability = ['A', 'B', 'B', 'C', 'C', 'D', 'F'][rng.below(7) as usize];
        let credibility = [1u8, 2, 2, 3, 3, 4, 6][rng.below(7) as usize];
        let ext = IncidentExt {
            event_type: event_type.into(),
            sub_event_type: sub_type.into(),
            time,
            place: Place {
                location_refs: vec![loc_id.clone()],
                precision: geo,
                admin1: admin1.into(),
                description: None,
            },
            actors,
            fatalities,
            injured,
            arrested,
            materiel,
            claimed_only,
            confirmed: !claimed_only && reliability <= 'B' && credibility <= 2,
            civilian_targeting: civilian,
            sources: vec![Source {
                identity_ref: Some(source_desk(originator)),
                name: None,
                reliability,
                credibility,
                url: None,
                published: Some(day.plus_days(1)),
                note: None,
            }],
            notes: None,
        };
        let created = day.plus_days(1).at(rng.below(24) as u32, rng.below(60) as u32, rng.below(60) as u32);
        let mut inc = sdo("incident", &format!("{ns}/incident/{n}"), &created, &markings);
        inc["name"] = json!(format!("SYNTHETIC {sub_type} near {} ({day})", place.name));
        label_synthetic(&mut inc, &format!("{event_type} / {sub_type} near {}, {admin1}.", place.name));
        ext.attach(&mut inc);
        let inc_id = inc["id"].as_str().unwrap_or_default().to_string();
        let mut rels = vec![relationship("located-at", &inc_id, &loc_id, &created, &markings)];
        if let Some(c) = &cell_id {
            let ty = if isis_acts { "attributed-to" } else { "related-to" };
            rels.push(relationship(ty, &inc_id, c, &created, &markings));
        }
        incidents.push(Originated { originator: originator.into(), object: inc });
        for mut rel in rels {
            label_synthetic(&mut rel, "Links a synthetic incident.");
            incidents.push(Originated { originator: originator.into(), object: rel });
        }
    }

    let mut out = Vec::with_capacity(incidents.len() + used_towns.len() + cells.len() * 2 + 32);
    for m in releasability_markings() {
        out.push(Originated { originator: "USA".into(), object: m });
    }
    let clear = refs("clear", None);
    let mut ta = sdo("threat-actor", &format!("{ns}/isis"), "2014-01-01T00:00:00.000Z", &clear);
    ta["name"] = json!("ISIS (synthetic history)");
    ta["threat_actor_types"] = json!(["terrorist"]);
    label_synthetic(&mut ta, "Stands for ISIS in the synthetic history.");
    out.push(Originated { originator: "USA".into(), object: ta });
    for member in desks.keys() {
        let mut v = sdo("identity", &format!("{ns}/source/{member}"), "2014-01-01T00:00:00.000Z", &clear);
        v["name"] = json!(format!("Synthetic reporting desk ({member})"));
        v["identity_class"] = json!("organization");
        label_synthetic(&mut v, &format!("The source of synthetic reports originated by {member}."));
        out.push(Originated { originator: (*member).into(), object: v });
    }
    for (town, id) in &used_towns {
        let p = &PLACES[*town];
        let mut v = location(
            &format!("{ns}/town/{}", p.geonameid),
            p.name,
            p.lat,
            p.lon,
            2000.0,
            p.admin1,
            Some(p.name),
            "2014-01-01T00:00:00.000Z",
            &clear,
        );
        debug_assert_eq!(v["id"].as_str(), Some(id.as_str()));
        label_synthetic(&mut v, &format!("A real town (GeoNames {}) used by the synthetic history.", p.geonameid));
        out.push(Originated { originator: if p.country() == "IQ" { "IRQ".into() } else { "USA".into() }, object: v });
    }
    let green = refs("green", None);
    for cell in cells.values() {
        let (Some(first), Some(last)) = (cell.first, cell.last) else { continue };
        let created = first.at(0, 0, 0);
        let key = cell.id.trim_start_matches("intrusion-set--").to_string();
        let mut v = sdo("intrusion-set", "", &created, &green);
        v["id"] = json!(cell.id);
        v["name"] = json!(cell.name);
        v["first_seen"] = json!(first.at(0, 0, 0));
        v["last_seen"] = json!(last.at(23, 59, 59));
        label_synthetic(
            &mut v,
            &format!("An invented ISIS cell operating around {} in {}.", PLACES[cell.area[0]].name, cell.admin1),
        );
        let originator = if cell.admin1.starts_with("IQ") { "IRQ" } else { "USA" };
        let mut r = relationship("attributed-to", &cell.id, &threat_actor, &created, &green);
        label_synthetic(&mut r, &format!("Attributes synthetic cell {key} to ISIS."));
        out.push(Originated { originator: originator.into(), object: v });
        out.push(Originated { originator: originator.into(), object: r });
    }
    out.extend(incidents);
    out
}

fn cells_per_year(weight: f64) -> u64 {
    (weight.ceil() as u64).clamp(1, 4)
}

fn new_cell(root: &SplitMix64, ns: &str, r: usize, year: i32, k: u64, towns: &[usize]) -> Cell {
    let admin1 = REGIONS[r].0;
    let mut rng = root.fork(&format!("cell/{admin1}/{year}/{k}"));
    let home = towns[rng.below(towns.len() as u64) as usize];
    let mut others: Vec<usize> = towns.iter().copied().filter(|t| *t != home).collect();
    let h: &Town = &PLACES[home];
    others.sort_by(|a, b| h.km_to(&PLACES[*a]).total_cmp(&h.km_to(&PLACES[*b])));
    let mut area = vec![home];
    area.extend(others.into_iter().take(2));
    let letter = (b'a' + k as u8) as char;
    Cell {
        id: deterministic_id("intrusion-set", &format!("{ns}/cell/{admin1}/{year}/{k}")),
        name: format!("Synthetic ISIS cell {admin1}-{year}-{letter} ({})", h.name),
        admin1,
        area,
        first: None,
        last: None,
    }
}

/// Incidents per admin-1 area and year in a generated history (for tests and summaries).
pub fn counts_by_admin1_year(objects: &[Originated]) -> BTreeMap<(String, i32), usize> {
    let mut out = BTreeMap::new();
    for o in objects {
        if let Some(ext) = IncidentExt::from_object(&o.object) {
            *out.entry((ext.place.admin1.clone(), ext.time.end.year)).or_insert(0) += 1;
        }
    }
    out
}
