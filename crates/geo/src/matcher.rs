//! Ranked name search over the gazetteer.
//!
//! Every name of every place is folded once into a comparison key
//! ([`crate::normalize_name`]). A query is folded the same way and compared with
//! Jaro-Winkler against each key (and against the key with spaces removed, since
//! "Ma`arratmisrin" and "Ma`arrat Misrin" are both in use). An exact key hit scores 1.
//! Ranking: score, then population (the bigger town is the likelier referent).

use std::collections::HashMap;

use serde::Serialize;
use strsim::jaro_winkler;

use crate::data::Place;
use crate::normalize::normalize_name;
use crate::reverse::haversine_km;

/// Lowest score [`crate::Gazetteer::search`] returns at all.
pub const MIN_SEARCH_SCORE: f64 = 0.80;

/// Filters and limits for [`crate::Gazetteer::search`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchOptions {
    /// Only places in this governorate (ISO 3166-2, e.g. "SY-ID").
    pub admin1: Option<String>,
    /// Prefer places near this (lat, lon): a candidate loses up to 0.05 of its score
    /// with distance (linearly to 300 km), so near places win among similar spellings.
    pub near: Option<(f64, f64)>,
    /// Most candidates to return (0 means 10).
    pub limit: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { admin1: None, near: None, limit: 10 }
    }
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate<'a> {
    pub place: &'a Place,
    /// 1.0 for an exact match of normalised names, else Jaro-Winkler similarity
    /// (minus the distance penalty when `near` is set).
    pub score: f64,
    /// The place's name that matched best.
    pub matched_name: String,
}

#[derive(Debug)]
struct Entry {
    place: usize,
    key: String,
    compact: String,
    skeleton: String,
    name: String,
}

/// Consonant skeleton of a key: vowels after the first letter dropped, spaces dropped.
/// Transliterations disagree most about vowels (Sufwan/Safwan, Medaya/Madaya), so the
/// score blends similarity of the full key with similarity of the skeleton.
fn skeleton(compact: &str) -> String {
    compact.chars().enumerate().filter(|&(i, c)| i == 0 || !"aeiou".contains(c)).map(|(_, c)| c).collect()
}

/// Similarity of two keys (not equal): mean of the best full-key Jaro-Winkler (spaced
/// or compact) and the skeleton Jaro-Winkler.
fn similarity(key: &str, compact: &str, skel: &str, e: &Entry) -> f64 {
    let full = jaro_winkler(key, &e.key).max(jaro_winkler(compact, &e.compact));
    if skel.chars().count() < 2 || e.skeleton.chars().count() < 2 {
        return full;
    }
    0.5 * full + 0.5 * jaro_winkler(skel, &e.skeleton)
}

/// Folded names of all places.
#[derive(Debug, Default)]
pub(crate) struct NameIndex {
    entries: Vec<Entry>,
    exact: HashMap<String, Vec<usize>>,
}

impl NameIndex {
    pub(crate) fn build(places: &[Place]) -> NameIndex {
        let mut index = NameIndex::default();
        for (pi, place) in places.iter().enumerate() {
            let mut seen: Vec<String> = Vec::new();
            for name in place.all_names() {
                let key = normalize_name(name);
                if key.is_empty() || seen.contains(&key) {
                    continue;
                }
                seen.push(key.clone());
                let compact = key.replace(' ', "");
                let skel = skeleton(&compact);
                index.exact.entry(compact.clone()).or_default().push(index.entries.len());
                index.entries.push(Entry { place: pi, key, compact, skeleton: skel, name: name.to_string() });
            }
        }
        index
    }

    /// Best score per place for `query`, unsorted, above `min_score`.
    fn scores(&self, places: &[Place], query: &str, opts: &SearchOptions) -> Vec<(usize, f64, usize)> {
        let key = normalize_name(query);
        if key.is_empty() {
            return Vec::new();
        }
        let compact = key.replace(' ', "");
        let skel = skeleton(&compact);
        let mut best: HashMap<usize, (f64, usize)> = HashMap::new();
        let allowed = |pi: usize| match &opts.admin1 {
            Some(a) => places[pi].admin1.eq_ignore_ascii_case(a),
            None => true,
        };
        let mut consider = |pi: usize, score: f64, ei: usize| {
            let slot = best.entry(pi).or_insert((f64::MIN, ei));
            if score > slot.0 {
                *slot = (score, ei);
            }
        };
        if let Some(hits) = self.exact.get(&compact) {
            for &ei in hits {
                let pi = self.entries[ei].place;
                if allowed(pi) {
                    consider(pi, 1.0, ei);
                }
            }
        }
        for (ei, e) in self.entries.iter().enumerate() {
            if !allowed(e.place) || e.compact == compact {
                continue;
            }
            let s = similarity(&key, &compact, &skel, e);
            // Exact hits are 1.0; keep fuzzy strictly below so they always rank after.
            let s = s.min(0.999);
            if s >= MIN_SEARCH_SCORE {
                consider(e.place, s, ei);
            }
        }
        best.into_iter()
            .map(|(pi, (mut s, ei))| {
                if let Some((lat, lon)) = opts.near {
                    let d = haversine_km(lat, lon, places[pi].lat, places[pi].lon);
                    s -= 0.05 * (d / 300.0).min(1.0);
                }
                (pi, s, ei)
            })
            .collect()
    }

    /// The most populous place with a name whose key equals `query`'s (no fuzzy pass:
    /// cheap enough to try on every word span of a sentence).
    pub(crate) fn exact<'a>(&self, places: &'a [Place], query: &str, admin1: Option<&str>) -> Option<&'a Place> {
        let compact = normalize_name(query).replace(' ', "");
        self.exact
            .get(&compact)?
            .iter()
            .map(|&ei| &places[self.entries[ei].place])
            .filter(|p| admin1.is_none_or(|a| p.admin1.eq_ignore_ascii_case(a)))
            .max_by(|a, b| a.population.cmp(&b.population).then(b.id.cmp(&a.id)))
    }

    pub(crate) fn search<'a>(&self, places: &'a [Place], query: &str, opts: &SearchOptions) -> Vec<Candidate<'a>> {
        let mut scored = self.scores(places, query, opts);
        scored.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then(places[b.0].population.cmp(&places[a.0].population))
                .then(places[a.0].id.cmp(&places[b.0].id))
        });
        let limit = if opts.limit == 0 { 10 } else { opts.limit };
        scored
            .into_iter()
            .take(limit)
            .map(|(pi, score, ei)| Candidate { place: &places[pi], score, matched_name: self.entries[ei].name.clone() })
            .collect()
    }
}
