//! `tandem extract` and `tandem place import` through the real binary: the scorer on the
//! development set, and a village from a GeoNames extract that resolves only after import.

mod common;

use common::{free_port, p, tandem, text};
use serde_json::Value;

const VILLAGE: &str = "990000001\tAl Badrūsīyah\tAl Badrusiyah\tal-Badrousiya,Badrousiya,البدروسية\t35.8021\t35.9312\tP\tPPL\tSY\t\t02\t\t\t\t850\t\t210\tAsia/Damascus\t2024-01-01\n";
const TEXT: &str = "Published 2025-06-13\n\nSecurity forces arrested two men in the village of al-Badrousiya in the northern Latakia countryside on Tuesday, the ministry said.\n";

#[test]
fn score_prints_event_matching_on_the_dev_set() {
    let dev = concat!(env!("CARGO_MANIFEST_DIR"), "/../extract/tests/data/dev");
    let out = tandem(&["extract", "--score", dev]);
    assert!(out.status.success(), "{}", text(&out));
    let report = text(&out);
    let events: Vec<f64> = report
        .lines()
        .find(|l| l.starts_with("events"))
        .map(|l| l.split_whitespace().skip(1).take(2).filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    assert!(events.len() == 2 && events[0] >= 0.8 && events[1] >= 0.85, "{report}");
}

#[test]
fn imported_village_resolves_in_extraction() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nmember = \"USA\"\nlisten = \"127.0.0.1:{}\"\ndata_dir = \"./data\"\n\n\
             [[members]]\ncode = \"USA\"\nname = \"United States\"\n",
            free_port()
        ),
    )
    .unwrap();
    let (sy, doc) = (dir.path().join("SY.txt"), dir.path().join("report.txt"));
    std::fs::write(&sy, VILLAGE).unwrap();
    std::fs::write(&doc, TEXT).unwrap();
    let draft = || {
        let out = tandem(&["extract", p(&doc), "--config", p(&config), "--format", "spans"]);
        assert!(out.status.success(), "{}", text(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["drafts"][0].clone()
    };
    let before = draft();
    assert_eq!((before["admin1"].as_str(), before["precision"].as_str()), (Some("SY-LA"), Some("admin1")), "{before}");
    assert_eq!(before["place"]["value"], "al-Badrousiya");

    let out = tandem(&["place", "import", "--config", p(&config), p(&sy)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("imported 1 populated places"), "{}", text(&out));
    let after = draft();
    assert_eq!(
        (after["precision"].as_str(), after["geonames_id"].as_u64()),
        (Some("town"), Some(990000001)),
        "{after}"
    );
}
