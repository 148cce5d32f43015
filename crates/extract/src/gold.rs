//! The development set's gold shape (`extraction-dev/README.md`): what `tandem extract
//! --format gold` prints and what the scorer reads. Field order is the gold files' key
//! order.

use serde::{Deserialize, Serialize};

use crate::{Draft, Extraction};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldFile {
    pub document_date: String,
    pub events: Vec<GoldEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldItem {
    pub item: String,
    pub quantity: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldEvent {
    pub event_type: String,
    pub sub_event_type: String,
    pub date_start: String,
    pub date_end: String,
    pub country: String,
    pub admin1: String,
    pub place: Option<String>,
    pub fatalities: Option<u32>,
    pub injured: Option<u32>,
    pub arrested: Option<u32>,
    pub claimed: bool,
    pub actors: Vec<String>,
    pub seized: Vec<GoldItem>,
}

impl From<&Draft> for GoldEvent {
    fn from(d: &Draft) -> GoldEvent {
        GoldEvent {
            event_type: d.event_type.clone(),
            sub_event_type: d.sub_event_type.clone(),
            date_start: d.time.start.unwrap_or(d.time.end).to_string(),
            date_end: d.time.end.to_string(),
            country: d.country.clone(),
            admin1: d.admin1.clone(),
            place: d.place.as_ref().map(|p| p.value.clone()),
            fatalities: d.fatalities.as_ref().map(|f| f.best),
            injured: d.injured.as_ref().map(|f| f.best),
            arrested: d.arrested.as_ref().map(|f| f.best),
            claimed: d.claimed,
            actors: d.actors.iter().map(|a| a.value.clone()).collect(),
            seized: d.seized.iter().map(|s| GoldItem { item: s.item.clone(), quantity: s.quantity }).collect(),
        }
    }
}

impl From<&Extraction> for GoldFile {
    fn from(x: &Extraction) -> GoldFile {
        GoldFile { document_date: x.published.to_string(), events: x.drafts.iter().map(GoldEvent::from).collect() }
    }
}
