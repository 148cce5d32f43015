//! Drafts as a STIX 2.1 bundle: one `incident` per draft with Tandem's incident
//! extension, a `location` per draft, and a `note` carrying the spans.
//!
//! A draft is not intelligence yet: it is labelled `draft`, carries no releasability
//! marking (so default deny makes it originator-only) and is meant for an analyst to
//! review and publish through the normal ingest pipeline with the releasability they
//! choose. Ids are deterministic (the text and the draft's index), so extracting the
//! same text twice proposes the same objects.

use serde_json::{Value, json};
use tandem_geo::Precision;
use tandem_model::incident::{
    ActorRole, Count, Date, GeoPrecision, IncidentExt, Materiel, MaterielAction, Place, Role, Source, deterministic_id,
};

use crate::{Draft, Extraction, Figures};

fn count(f: &Option<Figures>) -> Option<Count> {
    f.as_ref().map(|f| Count { best: f.best, low: Some(f.low), high: Some(f.high), note: None })
}

fn precision(p: Precision) -> GeoPrecision {
    match p {
        Precision::Town => GeoPrecision::Town,
        Precision::NearTown => GeoPrecision::NearTown,
        Precision::Region => GeoPrecision::Region,
        Precision::Admin1 => GeoPrecision::Admin,
    }
}

/// The bundle for `x`. `key` identifies the text (e.g. a hash or file name) for ids;
/// `created_by` is the identity that will own the drafts; `now` a STIX timestamp.
pub fn bundle(x: &Extraction, key: &str, created_by: Option<&str>, now: &str) -> Value {
    let mut objects = Vec::new();
    for (i, d) in x.drafts.iter().enumerate() {
        let ikey = format!("extract:{key}:{i}");
        let incident_id = deterministic_id("incident", &ikey);
        let location_id = deterministic_id("location", &ikey);
        let mut location = json!({
            "type": "location", "spec_version": "2.1", "id": location_id, "created": now, "modified": now,
            "latitude": d.lat, "longitude": d.lon, "country": d.country, "administrative_area": d.admin1,
            "labels": ["draft"],
        });
        if let Some(p) = &d.place {
            location["name"] = json!(p.value);
        }
        // Known only to its governorate: no point to draw, so no location object.
        let admin_only = d.precision == Precision::Admin1;
        let ext = incident_ext(d, x.published, (!admin_only).then_some(location_id.as_str()));
        let mut incident = json!({
            "type": "incident", "spec_version": "2.1", "id": incident_id, "created": now, "modified": now,
            "name": title(d), "labels": ["draft"],
            "description": "Draft extracted automatically from text; review before publishing.",
        });
        ext.attach(&mut incident);
        for o in [&mut location, &mut incident] {
            if let Some(by) = created_by {
                o["created_by_ref"] = json!(by);
            }
        }
        let note = json!({
            "type": "note", "spec_version": "2.1", "id": deterministic_id("note", &ikey), "created": now, "modified": now,
            "labels": ["draft", "extraction-spans"], "abstract": "Extraction evidence (UTF-8 byte offsets)",
            "content": serde_json::to_string(&spans(d)).unwrap_or_default(),
            "object_refs": [incident_id],
        });
        objects.push(incident);
        if !admin_only {
            objects.push(location);
        }
        objects.push(note);
    }
    json!({ "type": "bundle", "id": deterministic_id("bundle", &format!("extract:{key}")), "objects": objects })
}

fn title(d: &Draft) -> String {
    let place = d.place.as_ref().map(|p| p.value.as_str()).unwrap_or(d.admin1.as_str());
    format!("{} in {} ({})", d.sub_event_type, place, d.time.end)
}

fn spans(d: &Draft) -> Value {
    json!({
        "trigger": d.trigger, "time": d.time_span, "place": d.place.as_ref().map(|p| p.span),
        "fatalities": d.fatalities.as_ref().map(|f| &f.spans), "injured": d.injured.as_ref().map(|f| &f.spans),
        "arrested": d.arrested.as_ref().map(|f| &f.spans), "claim": d.claim_span,
        "actors": d.actors, "seized": d.seized, "evidence": d.evidence,
    })
}

fn incident_ext(d: &Draft, published: Date, location_id: Option<&str>) -> IncidentExt {
    let materiel = d
        .seized
        .iter()
        .map(|s| Materiel {
            item: s.item.clone(),
            quantity: s.quantity,
            quantity_min: None,
            action: if d.sub_event_type == "Disrupted weapons use" && s.item.contains("destroy") {
                MaterielAction::Destroyed
            } else {
                MaterielAction::Seized
            },
        })
        .collect();
    IncidentExt {
        event_type: d.event_type.clone(),
        sub_event_type: d.sub_event_type.clone(),
        time: d.time.clone(),
        place: Place {
            location_refs: location_id.map(str::to_string).into_iter().collect(),
            precision: precision(d.precision),
            admin1: d.admin1.clone(),
            description: d.place.as_ref().map(|p| p.value.clone()),
        },
        actors: d.actors.iter().map(|a| ActorRole::by_name(&a.value, Role::Other)).collect(),
        fatalities: count(&d.fatalities),
        injured: count(&d.injured),
        arrested: count(&d.arrested),
        materiel,
        claimed_only: d.claimed,
        confirmed: false,
        civilian_targeting: d.event_type == "Violence against civilians",
        sources: vec![Source {
            identity_ref: None,
            name: Some("extracted text".to_string()),
            reliability: 'F',
            credibility: 6,
            url: None,
            published: Some(published),
            note: Some("automatic extraction; the analyst grades the source".to_string()),
        }],
        notes: Some("draft: not reviewed".to_string()),
    }
}
