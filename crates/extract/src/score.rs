//! Scoring extractions against gold files: event matching, then per-field precision
//! and recall over matched events.
//!
//! Two events match when they have the same country and admin1, overlapping date
//! windows and the same sub-event type; matching is greedy one-to-one in gold order.
//! A field's prediction counts when the predicted value is not null (for `claimed`:
//! true); it is correct when its event matched and the values are equal (places compare
//! case-insensitively). Recall divides by the gold values that are not null (true).

use std::fmt;

use crate::gold::{GoldEvent, GoldFile};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub predicted: u32,
    pub gold: u32,
    pub correct: u32,
}

impl Tally {
    pub fn precision(&self) -> f64 {
        if self.predicted == 0 { 1.0 } else { f64::from(self.correct) / f64::from(self.predicted) }
    }
    pub fn recall(&self) -> f64 {
        if self.gold == 0 { 1.0 } else { f64::from(self.correct) / f64::from(self.gold) }
    }
    fn add(&mut self, o: Tally) {
        self.predicted += o.predicted;
        self.gold += o.gold;
        self.correct += o.correct;
    }
}

pub const FIELDS: [&str; 8] = ["events", "dates", "admin1", "places", "fatalities", "injured", "arrested", "claimed"];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Score {
    pub documents: u32,
    pub tallies: [Tally; 8],
}

impl Score {
    pub fn field(&self, name: &str) -> Tally {
        FIELDS.iter().position(|f| *f == name).map(|i| self.tallies[i]).unwrap_or_default()
    }

    pub fn merge(&mut self, other: &Score) {
        self.documents += other.documents;
        for (a, b) in self.tallies.iter_mut().zip(other.tallies) {
            a.add(b);
        }
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} documents", self.documents)?;
        writeln!(
            f,
            "{:<11} {:>9} {:>6} {:>8} {:>9} {:>6}",
            "field", "precision", "recall", "correct", "predicted", "gold"
        )?;
        for (name, t) in FIELDS.iter().zip(self.tallies) {
            writeln!(
                f,
                "{:<11} {:>9.3} {:>6.3} {:>8} {:>9} {:>6}",
                name,
                t.precision(),
                t.recall(),
                t.correct,
                t.predicted,
                t.gold
            )?;
        }
        Ok(())
    }
}

fn matches(g: &GoldEvent, p: &GoldEvent) -> bool {
    g.country == p.country
        && g.admin1 == p.admin1
        && g.sub_event_type == p.sub_event_type
        && g.date_start <= p.date_end
        && p.date_start <= g.date_end
}

/// Scores one document.
pub fn score(gold: &GoldFile, predicted: &GoldFile) -> Score {
    let mut taken = vec![false; predicted.events.len()];
    let mut pairs: Vec<(&GoldEvent, Option<&GoldEvent>)> = Vec::new();
    for g in &gold.events {
        let hit = predicted.events.iter().enumerate().position(|(i, p)| !taken[i] && matches(g, p));
        if let Some(i) = hit {
            taken[i] = true;
        }
        pairs.push((g, hit.map(|i| &predicted.events[i])));
    }
    let mut s = Score { documents: 1, ..Score::default() };
    s.tallies[0] = Tally {
        predicted: predicted.events.len() as u32,
        gold: gold.events.len() as u32,
        correct: pairs.iter().filter(|(_, p)| p.is_some()).count() as u32,
    };
    let unmatched: Vec<&GoldEvent> =
        predicted.events.iter().enumerate().filter(|(i, _)| !taken[*i]).map(|(_, p)| p).collect();
    type Get = fn(&GoldEvent) -> Option<String>;
    let getters: [Get; 7] = [
        |e| Some(format!("{}..{}", e.date_start, e.date_end)),
        |e| Some(e.admin1.clone()),
        |e| e.place.as_ref().map(|p| p.to_lowercase()),
        |e| e.fatalities.map(|n| n.to_string()),
        |e| e.injured.map(|n| n.to_string()),
        |e| e.arrested.map(|n| n.to_string()),
        |e| e.claimed.then(|| "true".to_string()),
    ];
    for (k, get) in getters.iter().enumerate() {
        let t = &mut s.tallies[k + 1];
        for (g, p) in &pairs {
            let gv = get(g);
            t.gold += u32::from(gv.is_some());
            if let Some(p) = p {
                let pv = get(p);
                t.predicted += u32::from(pv.is_some());
                t.correct += u32::from(pv.is_some() && pv == gv);
            }
        }
        for p in &unmatched {
            t.predicted += u32::from(get(p).is_some());
        }
    }
    s
}
