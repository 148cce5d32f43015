//! Figures: killed, wounded, arrested, and seized items with quantities.
//!
//! Counts are read around their verbs: active ("killing nine militants", "arrested all
//! four of its members", "wounded a fourth"), passive with the number at the head of the
//! subject ("Three militants and a member of the SDF were killed" = 4), elliptic ("and
//! nine wounded") and nominal ("a death toll of four", "the bodies of nine fighters").
//! An explicit zero ("no casualties were reported") is kept apart: it only counts when
//! no figure is given.

use crate::lexicon::{CONTAINERS, PERSON_NOUNS, WEAPON_WORDS, number, ordinal};
use crate::text::{Span, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Fatalities,
    Injured,
    Arrested,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub field: Field,
    pub value: u32,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeizedItem {
    pub item: String,
    pub quantity: Option<u32>,
    pub span: Span,
}

fn field_of(verb: &str) -> Option<Field> {
    match verb {
        "killed" | "killing" | "died" | "dead" => Some(Field::Fatalities),
        "wounded" | "injured" | "hurt" | "wounding" | "injuring" => Some(Field::Injured),
        "arrested" | "detained" | "captured" | "arresting" | "detaining" | "apprehended" => Some(Field::Arrested),
        _ => None,
    }
}

const SKIP_BEFORE_NUMBER: &[&str] =
    &["all", "at", "least", "some", "about", "around", "nearly", "an", "estimated", "another"];
const BE: &[&str] = &["was", "were", "been", "be", "being", "is", "are"];
const ADVERBS: &[&str] = &["later", "also", "reportedly", "all", "subsequently", "then", "allegedly"];
const BOUNDARY: &[&str] = &[",", ";", ":", "that", "said", "says", "when", "\"", "“", "”", "while", "whom", "as", "."];

/// A quantity at `i`: a number, or "a"/"an"/"one" before a person (or an ordinal, "a
/// fourth"), which is one.
fn quantity_at(tokens: &[Token], i: usize) -> Option<(u32, Span)> {
    let t = tokens.get(i)?;
    if let Some(n) = number(&t.low) {
        return Some((n, t.span));
    }
    if t.low == "a" || t.low == "an" {
        let next = tokens.get(i + 1)?;
        if ordinal(&next.low) {
            return Some((1, t.span.join(next.span)));
        }
        for tk in tokens.iter().take(i + 5).skip(i + 1) {
            if PERSON_NOUNS.contains(&tk.low.as_str()) {
                return Some((1, t.span.join(tk.span)));
            }
            if !tk.word {
                break;
            }
        }
    }
    None
}

/// The figures of a clause (`tokens`).
pub fn figures(tokens: &[Token]) -> Vec<Figure> {
    let low: Vec<&str> = tokens.iter().map(|t| t.low.as_str()).collect();
    let at = |k: usize| low.get(k).copied().unwrap_or("");
    let mut out = Vec::new();
    for v in 0..tokens.len() {
        // "a death toll of four", "the death toll rose to six"
        if low[v] == "toll" {
            for k in v + 1..(v + 5).min(tokens.len()) {
                if let Some(n) = number(at(k)) {
                    out.push(Figure { field: Field::Fatalities, value: n, span: tokens[v].span.join(tokens[k].span) });
                    break;
                }
            }
            continue;
        }
        // "the bodies of nine fighters", "one body"
        if low[v] == "bodies" || low[v] == "body" {
            let n = if at(v + 1) == "of" { quantity_at(tokens, v + 2) } else { None }
                .or_else(|| v.checked_sub(1).and_then(|p| number(at(p)).map(|n| (n, tokens[p].span))));
            if let Some((n, span)) = n {
                out.push(Figure { field: Field::Fatalities, value: n, span: span.join(tokens[v].span) });
            }
            continue;
        }
        let Some(field) = field_of(low[v]) else { continue };
        // "shot dead three", "left two dead": only "dead" after "shot" is a verb.
        if low[v] == "dead" && at(v.wrapping_sub(1)) != "shot" {
            // "left two dead", "leaving one fighter dead"
            let p = [1, 2]
                .into_iter()
                .filter_map(|d| v.checked_sub(d))
                .find(|&p| quantity_at(tokens, p).is_some() || number(at(p)).is_some());
            if let Some(p) = p
                && let Some((n, _)) = quantity_at(tokens, p)
            {
                out.push(Figure { field, value: n, span: tokens[p].span.join(tokens[v].span) });
            }
            continue;
        }
        // Elliptic or adjectival: "and nine wounded", "the two wounded guards".
        if let Some(p) = v.checked_sub(1)
            && let Some(n) = number(at(p))
        {
            out.push(Figure { field, value: n, span: tokens[p].span.join(tokens[v].span) });
            continue;
        }
        // Passive: look back past adverbs to a form of "to be".
        let mut b = v;
        while b > 0 && ADVERBS.contains(&at(b - 1)) {
            b -= 1;
        }
        let intransitive = low[v] == "died";
        if intransitive || (b > 0 && BE.contains(&at(b - 1))) {
            let aux = if intransitive { v } else { b - 1 };
            let mut start = aux;
            let mut depth = 0;
            // A subject is a few words; a bound keeps a hostile clause linear.
            while start > 0 && aux - start < 40 {
                let w = at(start - 1);
                if w == ")" {
                    depth += 1;
                } else if w == "(" {
                    depth -= 1;
                } else if depth == 0 && BOUNDARY.contains(&w) {
                    break;
                } else if depth == 0 && w == "and" && start >= 2 && field_of(at(start - 2)).is_some() {
                    // "two were killed and one was wounded": the subject starts after "and".
                    break;
                }
                start -= 1;
            }
            // Heads of the conjoined subject: its first word and each word after "and".
            let mut total = 0;
            let mut span: Option<Span> = None;
            let mut depth = 0;
            for k in start..aux {
                match at(k) {
                    "(" => depth += 1,
                    ")" => depth -= 1,
                    _ => {}
                }
                let head = k == start || at(k - 1) == "and";
                if depth == 0
                    && head
                    && let Some((n, s)) = quantity_at(tokens, k)
                {
                    total += n;
                    span = Some(span.map_or(s, |x| x.join(s)));
                }
            }
            if let Some(s) = span {
                out.push(Figure { field, value: total, span: s.join(tokens[v].span) });
            }
            continue;
        }
        // Active: "killing nine militants", "arrested all four of its members".
        let mut k = v + 1;
        if at(k) == "shot" || at(k) == "dead" {
            k += 1;
        }
        while SKIP_BEFORE_NUMBER.contains(&at(k))
            && number(at(k)).is_none()
            && !(at(k) == "an" && quantity_at(tokens, k).is_some())
        {
            k += 1;
        }
        if let Some((n, s)) = quantity_at(tokens, k) {
            out.push(Figure { field, value: n, span: tokens[v].span.join(s) });
        }
    }
    out
}

/// Explicit zeros: "no casualties were reported", "No one was killed", "no arrests were
/// made". Returns the fields set to zero and the phrase's token range.
pub fn zeros(tokens: &[Token]) -> Vec<(Field, Span, std::ops::Range<usize>)> {
    let low: Vec<&str> = tokens.iter().map(|t| t.low.as_str()).collect();
    let at = |k: usize| low.get(k).copied().unwrap_or("");
    let mut out = Vec::new();
    for i in 0..tokens.len() {
        let span = |n: usize| tokens[i].span.join(tokens[(i + n - 1).min(tokens.len() - 1)].span);
        match (at(i), at(i + 1)) {
            ("no", "casualties") | ("without", "casualties") | ("no", "deaths") | ("no", "fatalities")
                if at(i.wrapping_sub(1)) != "civilian" =>
            {
                let n = if at(i + 2) == "were" { 4 } else { 2 };
                if at(i + 1) == "casualties" {
                    out.push((Field::Injured, span(n), i..i + n));
                }
                out.push((Field::Fatalities, span(n), i..i + n));
            }
            ("no", "injuries") => out.push((Field::Injured, span(2), i..i + 2)),
            ("no", "arrests") => {
                let n = if at(i + 2) == "were" { 4 } else { 2 };
                out.push((Field::Arrested, span(n), i..(i + n).min(tokens.len())));
            }
            ("no", "one") | ("nobody", _) => {
                let k = if at(i) == "nobody" { i + 1 } else { i + 2 };
                if BE.contains(&at(k)) {
                    let f = match at(k + 1) {
                        "killed" => Some(Field::Fatalities),
                        "hurt" | "injured" | "wounded" => Some(Field::Injured),
                        "arrested" | "detained" => Some(Field::Arrested),
                        _ => None,
                    };
                    if let Some(f) = f {
                        out.push((f, span(k + 2 - i), i..(k + 2).min(tokens.len())));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

const SEIZE_VERBS: &[&str] = &[
    "seized",
    "confiscated",
    "found",
    "included",
    "including",
    "recovered",
    "discovered",
    "destroyed",
    "uncovered",
    "seizing",
    "destroying",
];
const ITEM_STOP: &[&str] = &[
    "hidden",
    "in",
    "at",
    "from",
    "by",
    "after",
    "during",
    "ready",
    "that",
    "which",
    "were",
    "was",
    "on",
    "near",
    "inside",
    "belonging",
    "used",
    "for",
    "to",
    "stored",
    "left",
    "buried",
    "as",
    "the",
    "and",
    ",",
    ".",
    ";",
    ":",
    "(",
    ")",
    "with",
    "under",
    "along",
    "said",
    "while",
    "when",
    "before",
];
const MEASURE: &[&str] =
    &["quantity", "quantities", "number", "amount", "amounts", "stockpile", "cache", "batch", "supply", "stock"];

/// Seized or destroyed items listed after a seizing verb, with the token ranges of the
/// items (so that "40 mortar rounds" in a seizure is not read as shelling).
pub fn seized(text: &str, tokens: &[Token]) -> Vec<(SeizedItem, std::ops::Range<usize>)> {
    let low: Vec<&str> = tokens.iter().map(|t| t.low.as_str()).collect();
    let at = |k: usize| low.get(k).copied().unwrap_or("");
    let mut out = Vec::new();
    let mut v = 0;
    while v < tokens.len() {
        if !SEIZE_VERBS.contains(&at(v)) {
            v += 1;
            continue;
        }
        let mut list = Vec::new();
        // "Two pistols and a belt were seized": the list is the subject before "were".
        let passive = v > 0 && BE.contains(&at(v - 1));
        let mut k = if passive {
            let mut s = v - 1;
            while s > 0 && ![",", ";", ":", "that", "said"].contains(&at(s - 1)) {
                s -= 1;
            }
            s
        } else {
            v + 1
        };
        loop {
            while at(k) == "," || at(k) == "and" {
                k += 1;
            }
            if k >= tokens.len() {
                break;
            }
            let start = k;
            let mut quantity = None;
            let mut counted = false;
            if let Some(n) = number(at(k)) {
                quantity = Some(n);
                counted = true;
                k += 1;
            } else if (at(k) == "a" || at(k) == "an" || at(k) == "some" || at(k) == "large")
                && MEASURE.contains(&at(k + 1))
                && at(k + 2) == "of"
            {
                k += 3;
            } else if MEASURE.contains(&at(k)) && at(k + 1) == "of" {
                k += 2;
            } else if at(k) == "a" || at(k) == "an" {
                quantity = Some(1);
                k += 1;
            } else if at(k) == "the" || at(k) == "its" || at(k) == "their" {
                k += 1;
            }
            let words_start = k;
            while k < tokens.len() && !ITEM_STOP.contains(&at(k)) || (at(k) == "of" && k > words_start) {
                if at(k) == "of" && !tokens.get(k + 1).is_some_and(|t| t.word && !ITEM_STOP.contains(&t.low.as_str())) {
                    break;
                }
                k += 1;
            }
            if k == words_start {
                break;
            }
            let words = &low[words_start..k];
            let weapon = words.iter().any(|w| WEAPON_WORDS.contains(w));
            let container = words.last().is_some_and(|w| CONTAINERS.contains(w));
            if !weapon {
                break;
            }
            if !container {
                let span = tokens[words_start].span.join(tokens[k - 1].span);
                let item = text[span.start..span.end].to_string();
                let full = tokens[start].span.join(span);
                list.push((SeizedItem { item, quantity, span: full }, start..k, counted));
            }
            // "three devices ready for use, two rifles": trailing words end the item,
            // not the list.
            let mut skip = k;
            while skip < tokens.len() && skip < k + 6 && ![",", "and", ".", ";"].contains(&at(skip)) {
                skip += 1;
            }
            if at(skip) != "," && at(skip) != "and" {
                break;
            }
            k = skip;
        }
        // A list without any counted item is prose ("seized a weapons depot"), not an
        // inventory.
        if list.iter().any(|(_, _, counted)| *counted) {
            out.extend(list.into_iter().map(|(item, range, _)| (item, range)));
        }
        v = if passive { v + 1 } else { k.max(v + 1) };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize;

    fn figs(s: &str) -> Vec<(Field, u32)> {
        figures(&tokenize(s, 0)).into_iter().map(|f| (f.field, f.value)).collect()
    }

    #[test]
    fn verbs_and_subjects() {
        use Field::*;
        assert_eq!(
            figs("Three suspected militants and a member of the Syrian Democratic Forces (SDF) were killed on 9 July"),
            [(Fatalities, 4)]
        );
        assert_eq!(figs("Two soldiers were killed and three wounded when"), [(Fatalities, 2), (Injured, 3)]);
        assert_eq!(figs("killing one worker and wounding six"), [(Fatalities, 1), (Injured, 6)]);
        assert_eq!(figs("arrested all four of its members"), [(Arrested, 4)]);
        assert_eq!(figs("shot dead three members of one family and wounded a fourth"), [(Fatalities, 3), (Injured, 1)]);
        assert_eq!(figs("gave a lower death toll of four"), [(Fatalities, 4)]);
        assert_eq!(figs("arrested dozens of people"), []);
        assert_eq!(figs("A fourth man who was found hiding in the house was detained"), [(Arrested, 1)]);
        assert_eq!(figs("two soldiers died of their wounds"), [(Fatalities, 2)]);
        assert_eq!(figs("leaving one fighter dead"), [(Fatalities, 1)]);
        assert_eq!(figs("said two soldiers were killed and one was wounded"), [(Fatalities, 2), (Injured, 1)]);
    }

    #[test]
    fn seized_lists() {
        let s = "Items seized during the raid included three improvised explosive devices ready for use, two Kalashnikov rifles, five hand grenades and a quantity of ammunition.";
        let items: Vec<(String, Option<u32>)> =
            seized(s, &tokenize(s, 0)).into_iter().map(|(i, _)| (i.item, i.quantity)).collect();
        assert_eq!(
            items,
            [
                ("improvised explosive devices".to_string(), Some(3)),
                ("Kalashnikov rifles".to_string(), Some(2)),
                ("hand grenades".to_string(), Some(5)),
                ("ammunition".to_string(), None)
            ]
        );
        let s = "Two pistols and an explosive belt were seized.";
        let items: Vec<(String, Option<u32>)> =
            seized(s, &tokenize(s, 0)).into_iter().map(|(i, _)| (i.item, i.quantity)).collect();
        assert_eq!(items, [("pistols".to_string(), Some(2)), ("explosive belt".to_string(), Some(1))]);
        let s = "seized a weapons depot on the outskirts";
        assert!(seized(s, &tokenize(s, 0)).is_empty());
    }
}
