//! Place mentions in a sentence, resolved through the gazetteer.
//!
//! Three kinds, from most to least specific: a named place (a town the gazetteer knows,
//! or a name the text itself calls a village or town, or a "Wadi"/"Jabal"/... name), a
//! vague area below the governorate ("northern Latakia countryside", "desert east of
//! Homs", "rural Damascus"), and a governorate ("Anbar province"). A named place the
//! gazetteer does not know keeps its text but takes its governorate from context, so an
//! unknown village never becomes a wrong town.

use tandem_geo::{Gazetteer, Place, normalize_name};

use crate::text::{Span, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlaceKind {
    Governorate,
    Area,
    Named,
}

#[derive(Debug, Clone)]
pub struct PlaceMention {
    pub kind: PlaceKind,
    /// As written, without a leading "the".
    pub text: String,
    pub span: Span,
    /// Governorate when the mention itself determines it.
    pub admin1: Option<String>,
    /// The gazetteer's town, when known.
    pub place: Option<Place>,
    /// A hospital, a destination or an origin: not where the event happened.
    pub incidental: bool,
}

const DIRECTIONS: &[&str] = &[
    "north",
    "south",
    "east",
    "west",
    "northern",
    "southern",
    "eastern",
    "western",
    "central",
    "northwest",
    "northeast",
    "southwest",
    "southeast",
    "northwestern",
    "northeastern",
    "southwestern",
    "southeastern",
    "north-western",
    "north-eastern",
    "south-western",
    "south-eastern",
    "north-west",
    "north-east",
    "south-west",
    "south-east",
];
const CONNECTORS: &[&str] =
    &["al", "el", "ad", "ar", "as", "ash", "at", "az", "an", "ed", "es", "ez", "adh", "ath", "bin", "ibn", "abu", "um"];
const PLACE_PREFIXES: &[&str] = &[
    "wadi", "jabal", "jebel", "tal", "tell", "ain", "bir", "khirbet", "khirbat", "kafr", "qasr", "hay", "jisr", "ras",
    "marj", "tall",
];
const CUES: &[&str] =
    &["village", "town", "city", "area", "district", "hamlet", "neighbourhood", "neighborhood", "camp"];
const NOT_PLACES: &[&str] = &[
    "the",
    "a",
    "an",
    "in",
    "on",
    "at",
    "isis",
    "is",
    "isil",
    "sdf",
    "interior",
    "ministry",
    "islamic",
    "state",
    "syria",
    "iraq",
    "jordan",
    "turkey",
    "lebanon",
    "saudi",
    "arabia",
    "iran",
    "israel",
    "coalition",
    "according",
    "security",
    "general",
    "us",
    "u.s",
    "euphrates",
    "tigris",
    "kurdish",
    "army",
    "police",
    "council",
    "command",
    "joint",
    "operations",
    "cell",
    "media",
    "centre",
    "center",
    "forces",
    "force",
    "democratic",
    "syrian",
    "iraqi",
    "residents",
    "witnesses",
    "two",
    "three",
    "four",
    "five",
    "six",
    "one",
    "no",
    "it",
    "its",
    "he",
    "she",
    "they",
    "statement",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "aug",
    "sept",
    "oct",
    "nov",
    "dec",
    "jan",
    "feb",
    "apr",
    "jun",
    "jul",
    "mar",
    "qaeda",
    "hospital",
];

fn is_name_word(t: &Token) -> bool {
    t.word && t.capitalised() && !NOT_PLACES.contains(&t.low.as_str()) && !t.low.ends_with("'s")
}

/// Maximal runs of name words (with Arabic connectors inside) as token ranges.
fn name_runs(tokens: &[Token]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !is_name_word(&tokens[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        loop {
            if end < tokens.len() && is_name_word(&tokens[end]) {
                end += 1;
            } else if end + 1 < tokens.len()
                && CONNECTORS.contains(&tokens[end].low.as_str())
                && is_name_word(&tokens[end + 1])
            {
                end += 2;
            } else {
                break;
            }
        }
        // "al-Shuhayl" may follow a lowercase connector: "in al Bukamal".
        let start =
            if start > 0 && CONNECTORS.contains(&tokens[start - 1].low.as_str()) && !tokens[start - 1].capitalised() {
                start - 1
            } else {
                start
            };
        out.push(start..end);
        i = end;
    }
    out
}

fn text_of(text: &str, tokens: &[Token], r: std::ops::Range<usize>) -> (String, Span) {
    let span = tokens[r.start].span.join(tokens[r.end - 1].span);
    (text[span.start..span.end].to_string(), span)
}

/// Governorates of vague-area texts already resolved in this document: resolution is a
/// fuzzy search over every place, and a text may repeat the same area many times.
#[derive(Debug, Default)]
pub struct AreaCache(std::collections::HashMap<String, Option<String>>, Option<Vec<(String, String)>>);

impl AreaCache {
    /// The governorate a name is the name of (folded keys computed once per document).
    fn governorate(&mut self, g: &Gazetteer, name: &str) -> Option<String> {
        let keys = self.1.get_or_insert_with(|| {
            g.governorates()
                .iter()
                .flat_map(|gov| gov.all_names().map(|n| (normalize_name(n), gov.iso.clone())))
                .collect()
        });
        let key = normalize_name(name);
        if key.chars().count() < 3 {
            return None;
        }
        keys.iter().find(|(k, _)| *k == key).map(|(_, iso)| iso.clone())
    }

    fn admin1(&mut self, g: &Gazetteer, text: &str) -> Option<String> {
        if let Some(hit) = self.0.get(text) {
            return hit.clone();
        }
        // A bound on distinct look-ups per document keeps a hostile text cheap.
        if self.0.len() >= 32 {
            return None;
        }
        let hit = g.resolve(text).and_then(|r| r.admin1);
        self.0.insert(text.to_string(), hit.clone());
        hit
    }
}

/// The place mentions of a sentence, in text order. `text` is the whole document.
pub fn find(g: &Gazetteer, cache: &mut AreaCache, text: &str, tokens: &[Token]) -> Vec<PlaceMention> {
    let low: Vec<&str> = tokens.iter().map(|t| t.low.as_str()).collect();
    let at = |k: usize| low.get(k).copied().unwrap_or("");
    let mut used = vec![false; tokens.len()];
    let mut out = Vec::new();

    // Vague areas first, so "desert east of Homs" is not read as the town of Homs.
    for (i, w) in low.iter().enumerate() {
        // [direction] NAME countryside | [direction] NAME desert
        if *w == "countryside" || *w == "desert" {
            let mut s = i;
            while s > 0
                && (is_name_word(&tokens[s - 1])
                    || (s > 1 && CONNECTORS.contains(&at(s - 1)) && is_name_word(&tokens[s - 2])))
            {
                s -= 1;
            }
            if s == i {
                // "desert east of Homs" / "countryside of Hama"
                let dir = DIRECTIONS.contains(&at(i + 1)) && at(i + 2) == "of";
                // "Idlib's southern countryside"
                let mut k = i;
                while k > 0 && DIRECTIONS.contains(&at(k - 1)) {
                    k -= 1;
                }
                if k > 0 && tokens[k - 1].capitalised() && (at(k - 1).ends_with("'s") || at(k - 1).ends_with("’s")) {
                    let owner = &tokens[k - 1].text;
                    let stem = owner
                        .get(..owner.len().saturating_sub(if owner.ends_with("’s") { 4 } else { 2 }))
                        .unwrap_or("");
                    let admin1 = cache.governorate(g, stem).or_else(|| cache.admin1(g, stem));
                    if admin1.is_some() {
                        let (t, span) = text_of(text, tokens, k - 1..i + 1);
                        used[k - 1..=i].iter_mut().for_each(|u| *u = true);
                        out.push(PlaceMention {
                            kind: PlaceKind::Area,
                            text: t,
                            span,
                            admin1,
                            place: None,
                            incidental: false,
                        });
                    }
                    continue;
                }
                let of = at(i + 1) == "of";
                let name_at = if dir {
                    i + 3
                } else if of {
                    i + 2
                } else {
                    continue;
                };
                let runs = name_runs(&tokens[name_at.min(tokens.len())..]);
                let Some(r) = runs.first().filter(|r| r.start == 0) else { continue };
                let r = name_at..name_at + r.end;
                let (name, _) = text_of(text, tokens, r.clone());
                let admin1 = cache.admin1(g, &name);
                let (t, span) = text_of(text, tokens, i..r.end);
                if admin1.is_some() {
                    used[i..r.end].iter_mut().for_each(|u| *u = true);
                    out.push(PlaceMention {
                        kind: PlaceKind::Area,
                        text: t,
                        span,
                        admin1,
                        place: None,
                        incidental: false,
                    });
                }
                continue;
            }
            if s > 0 && DIRECTIONS.contains(&at(s - 1)) {
                s -= 1;
            }
            let (t, span) = text_of(text, tokens, s..i + 1);
            let admin1 = cache.admin1(g, &t);
            if admin1.is_some() {
                used[s..=i].iter_mut().for_each(|u| *u = true);
                out.push(PlaceMention { kind: PlaceKind::Area, text: t, span, admin1, place: None, incidental: false });
            }
        }
        // rural NAME
        if *w == "rural" && i + 1 < tokens.len() && is_name_word(&tokens[i + 1]) {
            let (name, _) = text_of(text, tokens, i + 1..i + 2);
            if cache.governorate(g, &name).is_some() {
                let (t, span) = text_of(text, tokens, i..i + 2);
                let admin1 = cache.admin1(g, &t);
                used[i..i + 2].iter_mut().for_each(|u| *u = true);
                out.push(PlaceMention { kind: PlaceKind::Area, text: t, span, admin1, place: None, incidental: false });
            }
        }
    }

    for r in name_runs(tokens) {
        if used[r.clone()].iter().any(|u| *u) {
            continue;
        }
        let (name, span) = text_of(text, tokens, r.clone());
        let before = at(r.start.wrapping_sub(1));
        let before2 = at(r.start.wrapping_sub(2));
        let after = at(r.end);
        let incidental = ["hospital", "hospitals", "to", "from"].contains(&before)
            || ["hospital", "hospitals", "'s"].contains(&after)
            || (before == "in" && ["hospital", "hospitals"].contains(&before2));
        let province =
            ["province", "governorate", "provinces"].contains(&after) || (before == "of" && before2 == "province");
        // "eastern Deir ez-Zor" is the governorate's east, not the city.
        let directed = DIRECTIONS.contains(&before);
        if let Some(gov) = cache.governorate(g, &name)
            && (province || directed || g.exact_place(&name, Some(&gov)).is_none())
        {
            if directed && !province {
                let (t, span) = text_of(text, tokens, r.start - 1..r.end);
                out.push(PlaceMention {
                    kind: PlaceKind::Area,
                    text: t,
                    span,
                    admin1: Some(gov),
                    place: None,
                    incidental,
                });
                continue;
            }
            out.push(PlaceMention {
                kind: PlaceKind::Governorate,
                text: name,
                span,
                admin1: Some(gov),
                place: None,
                incidental,
            });
            continue;
        }
        if let Some(p) = g.exact_place(&name, None) {
            out.push(PlaceMention {
                kind: PlaceKind::Named,
                text: name,
                span,
                admin1: Some(p.admin1.clone()),
                place: Some(p.clone()),
                incidental,
            });
            continue;
        }
        // "the Hamrin mountains", "Wadi X valley": the feature word is part of the name.
        if ["mountains", "mountain", "valley", "hills", "plain", "plains"].contains(&after) {
            let (text_with, span_with) = text_of(text, tokens, r.start..r.end + 1);
            out.push(PlaceMention {
                kind: PlaceKind::Named,
                text: text_with,
                span: span_with,
                admin1: None,
                place: None,
                incidental,
            });
            continue;
        }
        // "the village of X", "X village", "X, a village in ...".
        let cue = (before == "of" && CUES.contains(&before2))
            || CUES.contains(&after)
            || (after == ","
                && ["a", "the"].contains(&at(r.end + 1))
                && (CUES.contains(&at(r.end + 2)) || CUES.contains(&at(r.end + 3))));
        let prefix = PLACE_PREFIXES.contains(&tokens[r.start].low.as_str()) && r.len() > 1;
        let articled = tokens[r.start].low.starts_with("al-") || tokens[r.start].low.starts_with("el-");
        if cue || prefix || (articled && ["in", "near", "of", "at"].contains(&before)) {
            out.push(PlaceMention { kind: PlaceKind::Named, text: name, span, admin1: None, place: None, incidental });
        }
    }
    out.sort_by_key(|p| p.span.start);
    out
}

/// Re-resolves a named place inside a known governorate ("Hawija" in Kirkuk when two
/// places share the name).
pub fn in_governorate(g: &Gazetteer, name: &str, admin1: &str) -> Option<Place> {
    g.exact_place(name, Some(admin1)).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize;

    fn found(s: &str) -> Vec<(PlaceKind, String, Option<String>)> {
        let mut cache = AreaCache::default();
        find(Gazetteer::embedded(), &mut cache, s, &tokenize(s, 0))
            .into_iter()
            .map(|p| (p.kind, p.text, p.admin1))
            .collect()
    }

    #[test]
    fn vague_areas_keep_their_governorate() {
        let area = |t: &str, a: &str| (PlaceKind::Area, t.to_string(), Some(a.to_string()));
        assert_eq!(found("in Idlib's southern countryside"), [area("Idlib's southern countryside", "SY-ID")]);
        assert_eq!(found("in eastern Deir ez-Zor on Monday"), [area("eastern Deir ez-Zor", "SY-DY")]);
        assert_eq!(found("in the northern Latakia countryside"), [area("northern Latakia countryside", "SY-LA")]);
        assert_eq!(found("in the desert east of Homs"), [area("desert east of Homs", "SY-HI")]);
        let unknown = found("near the village of al-Badrousiya");
        assert_eq!(
            unknown,
            [(PlaceKind::Named, "al-Badrousiya".to_string(), None)],
            "an unknown village keeps its name, no town"
        );
    }
}
