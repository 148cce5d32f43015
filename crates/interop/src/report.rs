//! The conversion report every import and export produces: counts, every rejected record with
//! its line or index and reason, and every field that could not be carried, with why. Nothing
//! is dropped silently: a mapping that cannot carry something says so here.

use std::collections::BTreeMap;

use serde::Serialize;

/// One record (CSV row, MISP event or attribute) that was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The 1-based line (CSV) or 0-based index (JSON) where the record starts.
    pub at: u64,
    /// The record's own key when it has one (`event_id_cnty`, a MISP uuid).
    pub key: String,
    pub reason: String,
}

/// What a conversion did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Named counts (`rows`, `incidents`, `locations`, `revocations`, ...).
    pub counts: BTreeMap<String, u64>,
    pub rejected: Vec<Rejected>,
    /// `field` -> (`why`, how many records lost it).
    pub not_carried: BTreeMap<String, NotCarried>,
    /// A dry run's list of what would be stored, in input order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub planned: Vec<Planned>,
}

/// One object a dry run would store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub at: u64,
    pub key: String,
    pub id: String,
    #[serde(rename = "type")]
    pub object_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotCarried {
    pub why: String,
    pub count: u64,
}

impl Report {
    pub fn count(&mut self, what: &str, n: u64) {
        *self.counts.entry(what.to_string()).or_default() += n;
    }

    pub fn get(&self, what: &str) -> u64 {
        self.counts.get(what).copied().unwrap_or(0)
    }

    pub fn reject(&mut self, at: u64, key: &str, reason: impl Into<String>) {
        self.rejected.push(Rejected { at, key: key.to_string(), reason: reason.into() });
    }

    /// Records that `field` of one record could not be carried, and why (the first reason given
    /// for a field is kept: every call for one field comes from one mapping rule).
    pub fn lost(&mut self, field: &str, why: &str) {
        self.not_carried
            .entry(field.to_string())
            .or_insert_with(|| NotCarried { why: why.to_string(), count: 0 })
            .count += 1;
    }

    /// Adds another report's figures to this one (a batch's into a run's).
    pub fn merge(&mut self, other: Report) {
        for (k, v) in other.counts {
            self.count(&k, v);
        }
        self.rejected.extend(other.rejected);
        self.planned.extend(other.planned);
        for (field, nc) in other.not_carried {
            self.not_carried.entry(field).or_insert_with(|| NotCarried { why: nc.why.clone(), count: 0 }).count +=
                nc.count;
        }
    }

    /// Human-readable lines for a terminal (at most `max_rejected` rejected rows listed).
    pub fn lines(&self, max_rejected: usize) -> Vec<String> {
        let mut out = vec![self.counts.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("  ")];
        for r in self.rejected.iter().take(max_rejected) {
            out.push(format!("  rejected at {} ({}): {}", r.at, if r.key.is_empty() { "-" } else { &r.key }, r.reason));
        }
        if self.rejected.len() > max_rejected {
            out.push(format!("  ... and {} more rejected", self.rejected.len() - max_rejected));
        }
        for (field, nc) in &self.not_carried {
            out.push(format!("  not carried {}x: {field}: {}", nc.count, nc.why));
        }
        out
    }
}
