//! One clause of a sentence, read once: triggers, dates, places, figures, seized items,
//! claims, actors. Grouping clauses into incidents is [`crate::incident`]'s job.

use tandem_geo::Gazetteer;
use tandem_model::incident::Date;

use crate::counts::{self, Field, Figure, SeizedItem};
use crate::dates::{self, DateMention};
use crate::lexicon::{AIR_CONTEXT, GENERIC, Kind, SECURITY_TARGETS, TRIGGERS};
use crate::places::{self, PlaceMention};
use crate::text::{Span, Token};

#[derive(Debug, Clone)]
pub struct Trigger {
    pub kind: Kind,
    pub span: Span,
    /// "the attack": refers back to an event already told.
    pub anaphoric: bool,
}

#[derive(Debug, Clone)]
pub struct Clause {
    pub span: Span,
    pub generic: bool,
    pub triggers: Vec<Trigger>,
    pub dates: Vec<DateMention>,
    pub places: Vec<PlaceMention>,
    pub figures: Vec<Figure>,
    pub zeros: Vec<(Field, Span)>,
    pub seized: Vec<SeizedItem>,
    pub claim: Option<Span>,
    pub actors: Vec<(String, Span)>,
    /// Names security forces as the target (an attack on them is a clash).
    pub security_target: bool,
    /// Opens with "Separately", "Meanwhile", "In another incident": a new incident.
    pub separate: bool,
    /// Someone other than the claimant "confirmed" the event.
    pub confirmed: bool,
}

impl Clause {
    /// The governorate the clause's first place (not a hospital or destination) lies in.
    pub fn admin1(&self) -> Option<&str> {
        self.places.iter().filter(|p| !p.incidental).find_map(|p| p.admin1.as_deref())
    }
}

impl Clause {
    pub fn strong_kinds(&self) -> Vec<Kind> {
        let mut k: Vec<Kind> =
            self.triggers.iter().filter(|t| !t.anaphoric).map(|t| t.kind).filter(|k| k.strong()).collect();
        k.sort();
        k.dedup();
        k
    }
}

/// Splits a sentence's tokens into clauses at ';' and at ", adding that" (a second
/// fact reported in the same breath).
pub fn split(tokens: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..tokens.len() {
        let cut = tokens[i].low == ";"
            || (tokens[i].low == ","
                && tokens.get(i + 1).is_some_and(|t| {
                    t.low == "adding" || t.low == "and" && tokens.get(i + 2).is_some_and(|u| u.low == "added")
                }));
        if cut && i > start {
            out.push(&tokens[start..i]);
            start = i + 1;
        }
    }
    if start < tokens.len() {
        out.push(&tokens[start..]);
    }
    out
}

fn has_phrase(low: &[&str], phrase: &[&str]) -> bool {
    low.windows(phrase.len()).any(|w| w == phrase)
}

const ACTOR_HEADS: &[&str] = &[
    "forces",
    "force",
    "units",
    "service",
    "army",
    "police",
    "coalition",
    "cell",
    "group",
    "militants",
    "gunmen",
    "bomber",
    "teams",
    "guards",
    "fighters",
    "operatives",
    "remnants",
    "aircraft",
    "cells",
    "isis",
    "sdf",
    "militia",
    "troops",
    "workers",
    "civilians",
];
const ACTOR_MODIFIERS: &[&str] = &[
    "counter-terrorism",
    "international",
    "us-led",
    "internal",
    "security",
    "border",
    "engineering",
    "intelligence",
    "unidentified",
    "suspected",
    "armed",
    "al-qaeda-affiliated",
    "partner",
    "syrian",
    "iraqi",
    "coalition",
    "government",
    "kurdish",
    "turkish",
    "unknown",
    "masked",
    "company",
    "phosphate",
    "special",
];

fn actors(text: &str, tokens: &[Token]) -> Vec<(String, Span)> {
    let mut out: Vec<(String, Span)> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if !ACTOR_HEADS.contains(&t.low.as_str()) {
            continue;
        }
        let mut s = i;
        while s > 0 && i - s < 4 {
            let p = &tokens[s - 1];
            let ok = p.word
                && (p.capitalised() || ACTOR_MODIFIERS.contains(&p.low.as_str()))
                && !["The", "A", "An", "In", "On"].contains(&p.text.as_str())
                && !p.low.ends_with("'s");
            if !ok {
                break;
            }
            s -= 1;
        }
        let alone_generic =
            s == i && !t.capitalised() && !["gunmen", "civilians", "militants"].contains(&t.low.as_str());
        if alone_generic {
            continue;
        }
        let span = tokens[s].span.join(t.span);
        let name = text[span.start..span.end].to_string();
        if !out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            out.push((name, span));
        }
    }
    out
}

/// Reads one clause. `text` is the whole document (spans index into it).
pub fn read(g: &Gazetteer, cache: &mut places::AreaCache, text: &str, tokens: &[Token], pub_date: Date) -> Clause {
    let low: Vec<&str> = tokens.iter().map(|t| t.low.as_str()).collect();
    let dates = dates::find(tokens, pub_date);
    let generic =
        GENERIC.iter().any(|p| has_phrase(&low, p)) || dates.iter().any(|d| d.role == dates::DateRole::Background);
    let seized_items = counts::seized(text, tokens);
    let zeros = counts::zeros(tokens);
    let mut masked = vec![false; tokens.len()];
    for (_, r) in &seized_items {
        masked[r.clone()].iter_mut().for_each(|m| *m = true);
    }
    for (_, _, r) in &zeros {
        masked[r.clone()].iter_mut().for_each(|m| *m = true);
    }
    let air = low.iter().any(|w| AIR_CONTEXT.contains(w));
    let mut triggers = Vec::new();
    let mut taken = vec![false; tokens.len()];
    // Longer phrases first, so "roadside bomb" is not also "bomb".
    let mut table: Vec<&(&[&str], Kind, bool)> = TRIGGERS.iter().collect();
    table.sort_by_key(|(p, _, _)| std::cmp::Reverse(p.len()));
    for (phrase, kind, needs_air) in table {
        if *needs_air && !air {
            continue;
        }
        for i in 0..tokens.len().saturating_sub(phrase.len() - 1) {
            let r = i..i + phrase.len();
            if &low[r.clone()] != *phrase || masked[r.clone()].iter().any(|m| *m) || taken[r.clone()].iter().any(|m| *m)
            {
                continue;
            }
            taken[r.clone()].iter_mut().for_each(|m| *m = true);
            let prev = i.checked_sub(1).map(|p| low[p]).unwrap_or("");
            triggers.push(Trigger {
                kind: *kind,
                span: tokens[i].span.join(tokens[r.end - 1].span),
                anaphoric: ["the", "this", "that"].contains(&prev),
            });
        }
    }
    if !seized_items.is_empty() {
        let span = seized_items[0].0.span;
        triggers.push(Trigger { kind: Kind::Weapons, span, anaphoric: false });
    }
    triggers.sort_by_key(|t| t.span.start);
    let claim = (0..tokens.len()).find_map(|i| {
        let positive = ["claimed", "claims", "claiming", "claim"].contains(&low[i])
            && !low[i.saturating_sub(4)..i].iter().any(|w| ["no", "not", "never", "denied", "nobody"].contains(w));
        // Amaq is the Islamic State's own outlet: what it "says" is a claim.
        let outlet = low[i] == "amaq" || (low[i] == "said" && i > 0 && low[i - 1] == "militants");
        (positive || outlet).then_some(tokens[i].span)
    });
    Clause {
        span: tokens[0].span.join(tokens[tokens.len() - 1].span),
        generic,
        triggers,
        dates,
        places: places::find(g, cache, text, tokens),
        figures: counts::figures(tokens),
        zeros: zeros.into_iter().map(|(f, s, _)| (f, s)).collect(),
        seized: seized_items.into_iter().map(|(i, _)| i).collect(),
        claim,
        actors: actors(text, tokens),
        security_target: low.iter().any(|w| SECURITY_TARGETS.contains(w)),
        confirmed: (0..tokens.len()).any(|i| {
            low[i] == "confirmed"
                && !low[i.saturating_sub(3)..i].iter().any(|w| ["no", "not", "without", "never"].contains(w))
        }),
        separate: {
            let head = &low[..low.len().min(6)];
            ["separately", "meanwhile", "elsewhere"].iter().any(|w| head.contains(w))
                || has_phrase(head, &["another", "incident"])
                || has_phrase(head, &["separate", "incident"])
                || has_phrase(head, &["second", "incident"])
        },
    }
}
