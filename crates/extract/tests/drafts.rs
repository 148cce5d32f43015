//! The drafts bundle is valid STIX with Tandem's incident extension, labelled as drafts and
//! without releasability markings, and its spans point at the text they came from.

use tandem_extract::{drafts, extract};
use tandem_geo::Gazetteer;
use tandem_model::incident::{Date, IncidentExt};

const TEXT: &str = include_str!("data/dev/13.txt");

#[test]
fn bundle_is_valid_stix_and_marked_as_draft() {
    let x = extract(Gazetteer::embedded(), TEXT, None, Date::parse("2025-01-01").unwrap());
    assert_eq!(x.drafts.len(), 3);
    let b = drafts::bundle(&x, "test", None, "2025-01-01T00:00:00.000Z");
    let objects = b["objects"].as_array().unwrap();
    for o in objects {
        if let Err(v) = tandem_model::check_object(o) {
            panic!("{o}: {v:?}");
        }
        assert!(o.get("object_marking_refs").is_none(), "drafts are originator-only: no marking");
        assert!(o["labels"].as_array().unwrap().iter().any(|l| l == "draft"));
    }
    let incidents: Vec<IncidentExt> =
        objects.iter().filter(|o| o["type"] == "incident").filter_map(IncidentExt::from_object).collect();
    assert_eq!(incidents.len(), 3);
    assert_eq!(incidents[1].sub_event_type, "Armed clash");
    assert_eq!(incidents[1].fatalities.as_ref().map(|c| c.best), Some(2));
    assert!(!incidents[0].claimed_only);
}

#[test]
fn spans_point_at_their_text() {
    let x = extract(Gazetteer::embedded(), TEXT, None, Date::parse("2025-01-01").unwrap());
    let at = |s: tandem_extract::Span| &TEXT[s.start..s.end];
    let clash = &x.drafts[1];
    assert_eq!(at(clash.place.as_ref().unwrap().span), "al-Shaddadi");
    assert_eq!(at(clash.time_span.unwrap()), "Aug. 14");
    assert_eq!(at(clash.trigger), "opened fire");
    assert!(at(clash.fatalities.as_ref().unwrap().spans[0]).starts_with("Two"));
    // The same text gives the same drafts.
    assert_eq!(x, extract(Gazetteer::embedded(), TEXT, None, Date::parse("2025-01-01").unwrap()));
}
