//! Free-text place resolution: "al-Dana, Idlib" -> a town, "northern Latakia" -> a
//! governorate, "the Badia" -> a named area, each with an honest precision.
//!
//! The text is cut into comma/parenthesis segments. Each segment is stripped of
//! qualifiers (directions, "countryside", "near", "governorate", stop words) which are
//! remembered, and what remains is looked up as a named area, a governorate and a town.
//! A governorate named in one segment restricts the town search in the others.
//!
//! Conservatism is the point: a town must match exactly (after folding) or with a
//! fuzzy score of at least [`TOWN_MIN_SCORE`]; otherwise the text falls back to the
//! governorate it names with [`Precision::Admin1`]. An unknown village followed by a
//! governorate that is also a town ("al-Badrousiya, Latakia") resolves to the
//! governorate, not to the city; a landmark followed by a town ("Mar Elias Church,
//! Damascus") resolves to the town.

use serde::Serialize;

use crate::normalize::{arabic_key, has_arabic, normalize_name};
use crate::{Gazetteer, Governorate, Place, SearchOptions};

/// Lowest fuzzy score that lets a town win in [`Gazetteer::resolve`].
pub const TOWN_MIN_SCORE: f64 = 0.93;

/// How precisely a resolution locates the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// The town itself (ACLED geo_precision 1).
    Town,
    /// Near a town, or part of a town's surroundings (2).
    NearTown,
    /// Somewhere in the governorate (3).
    Admin1,
    /// Somewhere in a named area such as the Badia (3).
    Region,
}

impl Precision {
    /// ACLED `geo_precision`: 1 town, 2 near a town, 3 only a larger region.
    pub fn acled_geo_precision(self) -> u8 {
        match self {
            Precision::Town => 1,
            Precision::NearTown => 2,
            Precision::Admin1 | Precision::Region => 3,
        }
    }
}

/// The answer of [`Gazetteer::resolve`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    /// The town, when resolved to one (Town or NearTown).
    pub place: Option<Place>,
    /// Governorate (ISO 3166-2), when known.
    pub admin1: Option<String>,
    /// Named area id ("badia", "jazira", ...), when the text names one.
    pub area: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub precision: Precision,
    /// The part of the text that was matched.
    pub matched: String,
}

#[rustfmt::skip]
const DIRECTION: &[&str] = &[
    "north", "south", "east", "west", "northern", "southern", "eastern", "western", "central",
    "northwest", "northeast", "southwest", "southeast", "northwestern", "northeastern",
    "southwestern", "southeastern", "middle", "شمال", "جنوب", "شرق", "غرب", "شمالي", "جنوبي",
    "شرقي", "غربي", "وسط",
];
#[rustfmt::skip]
const REGION: &[&str] = &[
    "countryside", "rural", "governorate", "province", "region", "rif", "reef", "muhafazat",
    "outlying", "ريف", "محافظة", "ارياف",
];
const RURAL: &[&str] = &["countryside", "rural", "rif", "reef", "ريف", "ارياف"];
#[rustfmt::skip]
const NEAR: &[&str] = &[
    "near", "nearby", "outskirts", "vicinity", "around", "outside", "close", "km", "kms",
    "kilometres", "kilometers", "miles", "surroundings", "environs", "قرب", "بالقرب", "محيط",
    "اطراف", "ضواحي",
];
#[rustfmt::skip]
const STOP: &[&str] = &[
    "the", "of", "in", "at", "to", "on", "and", "a", "city", "town", "village", "district", "sub",
    "subdistrict", "nahiya", "area", "syria", "iraq", "syrian", "iraqi", "من", "في", "مدينة",
    "بلدة", "قرية", "منطقة", "ناحية", "سوريا", "العراق", "january", "february", "march", "april",
    "may", "june", "july", "august", "september", "october", "november", "december",
];
/// Landmarks that sit inside a town: "Mar Elias Church, Damascus" is in Damascus.
/// Landmarks that usually lie outside one (camps, bases, dams, oil fields) are not
/// here, so "al-Hol camp, Hasakah" falls back to the governorate, not Hasakah city.
#[rustfmt::skip]
const URBAN_POI: &[&str] = &[
    "church", "cathedral", "mosque", "hospital", "clinic", "school", "market", "souq", "square",
    "street", "neighbourhood", "neighborhood", "quarter", "roundabout", "hotel", "building",
    "university", "stadium", "cemetery", "bakery", "office", "palace", "court", "bank", "museum",
    "citadel", "كنيسة", "مسجد", "جامع", "مشفى", "مستشفى", "مدرسة", "سوق", "ساحة", "شارع", "حي",
    "دوار", "فندق", "جامعة",
];
/// Landmarks usually outside a town: "al-Hol camp" is near al-Hol, not in it.
#[rustfmt::skip]
const OUTLYING_POI: &[&str] = &[
    "camp", "base", "airbase", "airport", "airfield", "checkpoint", "dam", "field", "oilfield",
    "refinery", "plant", "prison", "bridge", "crossing", "مخيم", "قاعدة", "مطار", "حاجز", "سد",
    "حقل", "سجن", "جسر", "معبر",
];
#[rustfmt::skip]
const ARTICLE_WORDS: &[&str] = &[
    "al", "el", "ad", "ar", "as", "ash", "at", "az", "an", "ed", "es", "ez", "adh", "ath",
];

/// Key of a single word for the qualifier lists: plain lowercase for Latin (folding
/// would turn "Ain" into "in"), the article-free form for Arabic.
fn word_key(word: &str) -> String {
    if has_arabic(word) { arabic_key(word) } else { word.to_lowercase() }
}

fn in_list(key: &str, list: &[&str]) -> bool {
    list.iter().any(|w| word_key(w) == key)
}

/// One comma-separated piece of the text, with its qualifiers taken out.
#[derive(Debug, Default)]
struct Segment {
    /// What is left to look up.
    core: String,
    /// Direction words, as keys (for shifting a governorate point).
    directions: Vec<String>,
    near: bool,
    region: bool,
    rural: bool,
    poi: bool,
}

fn segments(text: &str) -> Vec<Segment> {
    text.split(|c: char| ",;()[]/|\n،؛".contains(c))
        .flat_map(|s| s.split(" - "))
        .map(analyse)
        .filter(|s| !s.core.is_empty() || s.region || s.near || !s.directions.is_empty())
        .collect()
}

fn analyse(raw: &str) -> Segment {
    let pieces: Vec<&str> = raw
        .split(|c: char| c.is_whitespace() || c == '-' || c == '–')
        .map(|p| p.trim_matches(|c: char| !c.is_alphanumeric() && !"'`‘’ʿʾ".contains(c)))
        .filter(|p| !p.is_empty())
        .collect();
    let keys: Vec<String> = pieces.iter().map(|p| word_key(p)).collect();
    let mut seg = Segment::default();
    let mut core = Vec::new();
    for (i, (piece, key)) in pieces.iter().zip(&keys).enumerate() {
        let next_is_of = keys.get(i + 1).is_some_and(|k| k == "of" || k == "من");
        if in_list(key, DIRECTION) {
            seg.directions.push(key.clone());
            if next_is_of {
                seg.near = true;
            } else {
                seg.region = true;
            }
        } else if in_list(key, NEAR) {
            seg.near = true;
        } else if in_list(key, REGION) {
            seg.region = true;
            seg.rural |= in_list(key, RURAL);
        } else if in_list(key, STOP) || piece.chars().all(|c| c.is_ascii_digit() || c == '.') {
        } else {
            if in_list(key, URBAN_POI) {
                seg.poi = true;
            }
            if in_list(key, OUTLYING_POI) {
                seg.near = true;
            }
            core.push(*piece);
        }
    }
    seg.core = core.join(" ");
    seg
}

/// A governorate named by `core` (exact key of a name or alias, or a close fuzzy match).
fn governorate_named<'g>(g: &'g Gazetteer, core: &str) -> Option<&'g Governorate> {
    let key = normalize_name(core);
    if key.chars().count() < 3 {
        return None;
    }
    let mut best: Option<(&Governorate, f64)> = None;
    for gov in g.governorates() {
        for name in gov.all_names() {
            let k = normalize_name(name);
            let s = if k == key {
                1.0
            } else if key.len() >= 5 {
                strsim::jaro_winkler(&k, &key)
            } else {
                0.0
            };
            if s >= 0.94 && best.is_none_or(|(_, b)| s > b) {
                best = Some((gov, s));
            }
        }
    }
    best.map(|(gov, _)| gov)
}

/// A governorate named by any 1..=3-word span of `core` (exact keys only).
fn governorate_within<'g>(g: &'g Gazetteer, core: &str) -> Option<&'g Governorate> {
    let words: Vec<&str> = core.split_whitespace().collect();
    for n in (1..=words.len().min(3)).rev() {
        for span in words.windows(n) {
            let key = normalize_name(&span.join(" "));
            let hit = g
                .governorates()
                .iter()
                .find(|gov| gov.all_names().any(|name| key.chars().count() >= 4 && normalize_name(name) == key));
            if hit.is_some() {
                return hit;
            }
        }
    }
    None
}

/// A named area whose name or alias occurs (as whole words) in `raw`, with that alias.
fn area_named<'g>(g: &'g Gazetteer, raw: &str) -> Option<(&'g crate::NamedArea, String)> {
    let key = format!(" {} ", normalize_name(raw));
    g.areas().iter().find_map(|a| {
        a.all_names()
            .filter(|n| {
                let k = normalize_name(n);
                k.chars().count() >= 4 && key.contains(&format!(" {k} "))
            })
            .max_by_key(|n| n.len())
            .map(|n| (a, n.to_string()))
    })
}

/// The stricter test a fuzzy match must pass to win in resolution: plain Jaro-Winkler
/// of the keys (no skeleton bonus) at least [`TOWN_MIN_SCORE`], and lengths within a
/// third of each other, so "al-Badrousiya" does not become "Badrah".
fn strictly_similar(a: &str, b: &str) -> bool {
    let (a, b) = (a.replace(' ', ""), b.replace(' ', ""));
    let (la, lb) = (a.chars().count() as f64, b.chars().count() as f64);
    let ratio = la.min(lb) / la.max(lb);
    ratio >= 0.75 && strsim::jaro_winkler(&a, &b) >= TOWN_MIN_SCORE
}

/// Best town for `core`: the whole core (exact or fuzzy >= TOWN_MIN_SCORE), else an
/// exact hit on a capitalised (or Arabic) sub-span of up to four words.
fn town<'g>(g: &'g Gazetteer, core: &str, admin1: Option<&str>) -> Option<(&'g Place, String)> {
    let opts = SearchOptions { admin1: admin1.map(str::to_string), near: None, limit: 2 };
    let key = normalize_name(core);
    let short = key.replace(' ', "").chars().count() < 5;
    if let Some(c) = g.search(core, &opts).into_iter().next() {
        let exact = c.score >= 1.0;
        if exact || (!short && strictly_similar(&key, &normalize_name(&c.matched_name))) {
            return Some((c.place, core.to_string()));
        }
    }
    let words: Vec<&str> = core.split_whitespace().collect();
    for n in (1..words.len().min(5)).rev() {
        for span in words.windows(n) {
            let capital = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
            let article = |w: &str| ARTICLE_WORDS.contains(&w.to_lowercase().as_str());
            // Proper nouns only: "Qaim", "al-Qaim", Arabic script; never "hit" in
            // "airstrikes hit ..." although Hit is a town in Anbar.
            let proper = capital(span[0])
                || has_arabic(span[0])
                || (article(span[0]) && span.get(1).is_some_and(|w| capital(w)));
            let text = span.join(" ");
            if !proper || article(span[span.len() - 1]) || normalize_name(&text).replace(' ', "").chars().count() < 3 {
                continue;
            }
            if let Some(place) = g.exact_place(&text, admin1) {
                return Some((place, text));
            }
        }
    }
    None
}

/// Mean position of the governorate's places lying in the named direction from its
/// centroid ("northern Latakia"), or the centroid itself.
fn directional_point(g: &Gazetteer, gov: &Governorate, directions: &[String]) -> (f64, f64) {
    let has = |names: &[&str]| directions.iter().any(|d| in_list(d, names));
    let north = has(&["north", "northern", "northwest", "northeast", "northwestern", "northeastern", "شمال", "شمالي"]);
    let south = has(&["south", "southern", "southwest", "southeast", "southwestern", "southeastern", "جنوب", "جنوبي"]);
    let east = has(&["east", "eastern", "northeast", "southeast", "northeastern", "southeastern", "شرق", "شرقي"]);
    let west = has(&["west", "western", "northwest", "southwest", "northwestern", "southwestern", "غرب", "غربي"]);
    let picked: Vec<&Place> = g
        .places()
        .iter()
        .filter(|p| p.admin1 == gov.iso)
        .filter(|p| (!north || p.lat > gov.lat) && (!south || p.lat < gov.lat))
        .filter(|p| (!east || p.lon > gov.lon) && (!west || p.lon < gov.lon))
        .collect();
    if picked.is_empty() || !(north || south || east || west) {
        return (gov.lat, gov.lon);
    }
    let n = picked.len() as f64;
    (picked.iter().map(|p| p.lat).sum::<f64>() / n, picked.iter().map(|p| p.lon).sum::<f64>() / n)
}

fn town_resolution(place: &Place, matched: String, precision: Precision) -> Resolution {
    Resolution {
        place: Some(place.clone()),
        admin1: Some(place.admin1.clone()),
        area: None,
        lat: place.lat,
        lon: place.lon,
        precision,
        matched,
    }
}

/// Whether an unmatched segment names something (a capitalised or Arabic word), as
/// opposed to prose such as "clashes": only names make the next segment context.
fn looks_like_name(core: &str) -> bool {
    core.split_whitespace().any(|w| has_arabic(w) || w.chars().next().is_some_and(char::is_uppercase))
}

pub(crate) fn resolve(g: &Gazetteer, text: &str) -> Option<Resolution> {
    let segs = segments(text);
    // Governorate each segment names: as a whole (with "Rural"/"countryside" turning
    // Damascus into Rural Damascus), or within a longer segment.
    let govs: Vec<Option<&Governorate>> = segs
        .iter()
        .map(|s| {
            let whole = governorate_named(g, &s.core);
            let gov = whole.or_else(|| governorate_within(g, &s.core))?;
            if s.rural && gov.iso == "SY-DI" { g.governorate("SY-RD") } else { Some(gov) }
        })
        .collect();
    let whole_gov: Vec<bool> = segs.iter().map(|s| governorate_named(g, &s.core).is_some()).collect();
    // A governorate from another segment restricts the town search (later ones first:
    // "town, governorate" is the usual order).
    let context = |i: usize| -> Option<&Governorate> { (i + 1..segs.len()).chain((0..i).rev()).find_map(|j| govs[j]) };

    let mut area = None;
    let mut unknown_before: Option<bool> = None; // Some(is_poi)
    for (i, seg) in segs.iter().enumerate() {
        if let Some(found) = area_named(g, &seg.core) {
            area.get_or_insert(found);
            continue;
        }
        if seg.core.is_empty() {
            continue;
        }
        let gov_only = whole_gov[i] && seg.region && !seg.near;
        if gov_only {
            continue;
        }
        let ctx = context(i);
        match town(g, &seg.core, ctx.map(|c| c.iso.as_str())) {
            // "..., Homs" after a named area is context, not the town of Homs.
            Some(_) if area.is_some() && whole_gov[i] => {}
            Some((place, matched)) => {
                let is_gov_name = whole_gov[i];
                let res = match unknown_before {
                    // "Unknown village, Latakia": the governorate, not the city.
                    Some(false) if is_gov_name => break,
                    // "Unknown place, Saraqib": somewhere around Saraqib.
                    Some(false) => town_resolution(place, matched, Precision::NearTown),
                    // "Some church, Damascus": in the town.
                    Some(true) => town_resolution(place, matched, Precision::Town),
                    None if seg.near || seg.region => town_resolution(place, matched, Precision::NearTown),
                    None => town_resolution(place, matched, Precision::Town),
                };
                return Some(res);
            }
            None => {
                if govs[i].is_none() && unknown_before.is_none() && looks_like_name(&seg.core) {
                    unknown_before = Some(seg.poi);
                }
            }
        }
    }

    let gov_pick = segs.iter().zip(&govs).find_map(|(s, g)| g.map(|g| (g, s)));
    if let Some((a, matched)) = area {
        let (lat, lon) = a.centroid();
        return Some(Resolution {
            place: None,
            admin1: gov_pick.map(|(gov, _)| gov.iso.clone()),
            area: Some(a.id.clone()),
            lat,
            lon,
            precision: Precision::Region,
            matched,
        });
    }
    let (gov, seg) = gov_pick?;
    let (lat, lon) = directional_point(g, gov, &seg.directions);
    Some(Resolution {
        place: None,
        admin1: Some(gov.iso.clone()),
        area: None,
        lat,
        lon,
        precision: Precision::Admin1,
        matched: seg.core.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers_are_taken_out() {
        let s = analyse("north-western Idlib countryside");
        assert_eq!(s.core, "Idlib");
        assert!(s.region && s.rural && !s.near);
        assert_eq!(s.directions, ["north", "western"]);

        let s = analyse("10 km east of Saraqib");
        assert_eq!(s.core, "Saraqib");
        assert!(s.near && !s.region);

        let s = analyse("Ras al-Ain");
        assert_eq!(s.core, "Ras al Ain", "'Ain' is a name, not the stop word 'in'");

        let s = analyse("Mar Elias Church");
        assert!(s.poi && !s.near);
        assert!(analyse("al-Hol camp").near);

        let s = analyse("ريف إدلب الغربي");
        assert_eq!(s.core, "إدلب");
        assert!(s.rural && s.region);
    }

    #[test]
    fn segments_split_on_commas_and_parentheses() {
        let segs = segments("Rural Damascus governorate (southern Syria)");
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].core, "Damascus");
        assert_eq!(segs[1].core, "");
    }
}
