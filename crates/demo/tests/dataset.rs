//! The demo data set is valid STIX with valid Tandem extensions, complete, deterministic and
//! shaped like the history it imitates.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tandem_demo::synthetic::counts_by_admin1_year;
use tandem_demo::{Originated, coalition_members, demo_dataset, seed_facts, synthetic_history};
use tandem_model::incident::{IncidentExt, validate_extensions};

fn check_valid(objects: &[Originated]) {
    let members: BTreeSet<&str> = coalition_members().iter().map(|m| m.code).collect();
    let mut bad = Vec::new();
    for o in objects {
        assert!(members.contains(o.originator.as_str()), "unknown originator {}", o.originator);
        if let Err(v) = tandem_model::validate::validate_object(&o.object) {
            bad.push(format!(
                "{}: {}",
                o.object["id"],
                v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            ));
        }
        let v = validate_extensions(&o.object);
        if !v.is_empty() {
            bad.push(format!(
                "{}: {}",
                o.object["id"],
                v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            ));
        }
    }
    assert!(bad.is_empty(), "{} invalid, first: {:?}", bad.len(), &bad[..bad.len().min(5)]);
}

fn ids(objects: &[Originated]) -> BTreeSet<String> {
    objects.iter().map(|o| o.object["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn seed_facts_are_valid_and_complete() {
    let objects = seed_facts();
    check_valid(&objects);
    let facts = tandem_demo::seed::seed_json();
    let incidents: Vec<&Value> = objects.iter().map(|o| &o.object).filter(|v| v["type"] == "incident").collect();
    for ev in facts["events"].as_array().unwrap() {
        let id = ev["id"].as_str().unwrap();
        let inc = incidents
            .iter()
            .find(|v| v["external_references"][0]["external_id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"));
        let ext = IncidentExt::from_object(inc).unwrap();
        assert_eq!(ext.event_type, ev["event_type"].as_str().unwrap());
        assert_eq!(ext.place.admin1, ev["admin1"].as_str().unwrap());
        assert_eq!(ext.time.end.to_string(), ev["date_end"].as_str().unwrap());
    }
    let notes = objects.iter().filter(|o| o.object["type"] == "note").count();
    assert_eq!(notes, facts["coalition"]["milestones"].as_array().unwrap().len());
    // Every reference points at an object of the data set (or a published TLP marking).
    let known = ids(&objects);
    for o in &objects {
        for key in ["source_ref", "target_ref"] {
            if let Some(r) = o.object[key].as_str() {
                assert!(known.contains(r), "{r}");
            }
        }
        for m in o.object["object_marking_refs"].as_array().into_iter().flatten() {
            let m = m.as_str().unwrap();
            assert!(known.contains(m) || tandem_model::tlp::tlp_of(m).is_some(), "{m}");
        }
    }
    let church = incidents.iter().find(|v| v["external_references"][0]["external_id"] == "church-bombing").unwrap();
    let ext = IncidentExt::from_object(church).unwrap();
    assert_eq!(ext.fatalities.unwrap().best, 22);
    assert!(ext.civilian_targeting);
    let by = |id: &str| objects.iter().find(|o| o.object["external_references"][0]["external_id"] == id).unwrap();
    assert_eq!(by("rural-damascus-strikes").originator, "USA");
    assert_eq!(by("church-bombing").originator, "SYR");
}

#[test]
fn synthetic_history_is_valid_labelled_and_deterministic() {
    let a = synthetic_history(42, 3000);
    check_valid(&a);
    for o in &a {
        if o.object["type"] != "marking-definition" {
            assert_eq!(o.object["labels"][0], "synthetic", "{}", o.object["id"]);
            assert!(o.object["description"].as_str().unwrap().starts_with("SYNTHETIC"));
        }
    }
    assert_eq!(a.iter().filter(|o| o.object["type"] == "incident").count(), 3000);
    assert_eq!(a, synthetic_history(42, 3000));
    assert_ne!(ids(&a), ids(&synthetic_history(43, 3000)));
    // No duplicate ids; every relationship end exists.
    let known = ids(&a);
    let n_ids = a.iter().filter(|o| o.object["type"] != "marking-definition").count() + 9;
    assert_eq!(known.len(), n_ids);
    for o in &a {
        for key in ["source_ref", "target_ref"] {
            if let Some(r) = o.object[key].as_str() {
                assert!(known.contains(r), "{r}");
            }
        }
    }
}

#[test]
fn synthetic_history_has_regional_and_seasonal_structure() {
    let h = synthetic_history(7, 12_000);
    let counts = counts_by_admin1_year(&h);
    let c = |a: &str, y: i32| counts.get(&(a.to_string(), y)).copied().unwrap_or(0);
    assert!(c("SY-DY", 2025) > c("SY-DY", 2023), "{} vs {}", c("SY-DY", 2025), c("SY-DY", 2023));
    assert!(c("IQ-NI", 2015) > 5 * c("IQ-NI", 2022));
    let year = |y: i32| counts.iter().filter(|((_, yy), _)| *yy == y).map(|(_, n)| n).sum::<usize>();
    assert!(year(2016) > 2 * year(2020), "peak then decline");
    let mut months: BTreeMap<u32, usize> = BTreeMap::new();
    for o in &h {
        if let Some(ext) = IncidentExt::from_object(&o.object) {
            *months.entry(ext.time.end.month).or_insert(0) += 1;
        }
    }
    assert!(months[&1] < months[&6], "winter {} vs summer {}", months[&1], months[&6]);
    // Cells stay in their area: all incidents attributed to one cell share an admin-1 area.
    let mut cell_areas: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for o in &h {
        if let Some(ext) = IncidentExt::from_object(&o.object) {
            for a in ext.actors.iter().filter_map(|a| a.actor_ref.as_ref()).filter(|r| r.starts_with("intrusion-set--"))
            {
                cell_areas.entry(a.clone()).or_default().insert(ext.place.admin1.clone());
            }
        }
    }
    assert!(cell_areas.len() > 50);
    assert!(cell_areas.values().all(|s| s.len() == 1));
    // Releasability and originators are spread.
    let originators: BTreeSet<&str> = h.iter().map(|o| o.originator.as_str()).collect();
    for m in ["USA", "IRQ", "SYR", "GBR", "JOR"] {
        assert!(originators.contains(m), "{m}");
    }
}

#[test]
fn whole_dataset_loads_in_order() {
    let all = demo_dataset(1, 200);
    assert_eq!(all[0].object["type"], "identity");
    check_valid(&all);
}
