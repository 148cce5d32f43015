//! The stream's filters, parsed from the query string, applied to the viewer's copy of each
//! version (so a redacted property never matches: a filter cannot probe what was withheld).

use tandem_model::incident::IncidentExt;

use crate::feed::{Item, id_type};

/// OR within one filter, AND across filters; an empty filter passes everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamFilter {
    pub types: Vec<String>,
    pub event_types: Vec<String>,
    pub sub_event_types: Vec<String>,
    pub cells: Vec<String>,
    pub admin1: Vec<String>,
    /// Ids of the caller's own watch zones: only incidents inside (or maybe inside) one pass.
    pub zones: Vec<String>,
}

impl StreamFilter {
    /// From `key=value` pairs (values comma-separated or keys repeated). Unknown keys are left
    /// to the caller (`after`); returns the offending key for a key it does not know.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<StreamFilter, String> {
        let mut f = StreamFilter::default();
        for (k, v) in pairs {
            let target = match k {
                "type" => &mut f.types,
                "event_type" => &mut f.event_types,
                "sub_event_type" => &mut f.sub_event_types,
                "cell" => &mut f.cells,
                "admin1" => &mut f.admin1,
                "zone" => &mut f.zones,
                "after" => continue,
                other => return Err(other.to_string()),
            };
            target.extend(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from));
        }
        Ok(f)
    }

    fn incident_filters(&self) -> bool {
        !(self.event_types.is_empty()
            && self.sub_event_types.is_empty()
            && self.cells.is_empty()
            && self.admin1.is_empty())
    }

    /// Whether `item` passes, given the caller's zones it matched (`zones_hit`).
    pub fn passes(&self, item: &Item, zones_hit: &[String]) -> bool {
        if !self.zones.is_empty()
            && matches!(item, Item::Version { .. })
            && !zones_hit.iter().any(|z| self.zones.contains(z))
        {
            return false;
        }
        let ty = match item {
            Item::Version { record, .. } => record.object_type.as_str(),
            Item::Deletion { tombstone, .. } => id_type(&tombstone.id),
        };
        if !self.types.is_empty() && !self.types.iter().any(|t| t == ty) {
            return false;
        }
        if !self.incident_filters() {
            return true;
        }
        if ty != "incident" {
            return false;
        }
        let Item::Version { record, .. } = item else {
            return true;
        };
        let Some(ext) = IncidentExt::from_object(&record.object) else {
            return false;
        };
        let any = |want: &[String], have: &str| want.is_empty() || want.iter().any(|w| w.eq_ignore_ascii_case(have));
        any(&self.event_types, &ext.event_type)
            && any(&self.sub_event_types, &ext.sub_event_type)
            && any(&self.admin1, &ext.place.admin1)
            && (self.cells.is_empty()
                || ext.actors.iter().any(|a| {
                    self.cells.iter().any(|c| {
                        a.actor_ref.as_deref() == Some(c.as_str())
                            || a.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(c))
                    })
                }))
    }
}
