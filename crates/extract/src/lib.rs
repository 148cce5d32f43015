//! tandem-extract: offline, deterministic, rule-based extraction of draft incidents from
//! English news reports and official statements about Syria and Iraq.
//!
//! Analysts first meet most incidents as text. This crate reads such a text and proposes
//! draft incidents (ACLED event and sub-event type, a date window, a place resolved
//! through [`tandem_geo`], actors, figures, claimed or not, seized items) for an analyst
//! to review; it never publishes anything itself.
//!
//! Every extracted field carries the [`Span`] it came from: **byte offsets** (UTF-8,
//! half-open) into the text exactly as given, including a `Published YYYY-MM-DD` first
//! line, so a UI can highlight why a field has its value.
//!
//! Architecture invariant: pure and offline (no I/O, no clock, no model download); the
//! same text, publication date and gazetteer always give the same drafts.
//!
//! Pipeline: [`text`] cuts sentences and tokens, [`clause`] reads each clause (triggers
//! from [`lexicon`], [`dates`], [`places`], [`counts`]), [`incident`] groups clauses into
//! incidents, this module assembles the drafts. [`gold`] reads and writes the
//! development set's gold shape and [`score`] compares the two; [`drafts`] turns drafts
//! into a STIX bundle.

pub mod clause;
pub mod counts;
pub mod dates;
pub mod drafts;
pub mod gold;
pub mod incident;
pub mod lexicon;
pub mod places;
pub mod score;
pub mod text;

use serde::Serialize;
use tandem_geo::{Gazetteer, Precision};
use tandem_model::incident::{Date, TimeWindow};

use crate::clause::Clause;
use crate::counts::Field;
use crate::dates::DateRole;
use crate::lexicon::Kind;
use crate::places::PlaceKind;
pub use crate::text::Span;

/// The largest text [`extract`] is meant for (the HTTP route refuses longer bodies).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// The most drafts one text yields.
pub const MAX_DRAFTS: usize = 100;

/// A value with the text it was read from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// A figure as read, with every span that gave a value: `best` is the most conservative
/// (lowest) figure, `low`/`high` the range the sources give.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub best: u32,
    pub low: u32,
    pub high: u32,
    pub spans: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Seized {
    pub item: String,
    pub quantity: Option<u32>,
    pub span: Span,
}

/// One draft incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draft {
    pub event_type: String,
    pub sub_event_type: String,
    /// The phrase that decided the sub-event type.
    pub trigger: Span,
    pub time: TimeWindow,
    /// The date expression, or `None` when the window is the week up to the report.
    pub time_span: Option<Span>,
    pub country: String,
    pub admin1: String,
    /// The most specific place, as written; `None` when the text names only the governorate.
    pub place: Option<Spanned<String>>,
    pub precision: Precision,
    pub lat: f64,
    pub lon: f64,
    /// GeoNames id of the town, when resolved to one.
    pub geonames_id: Option<u64>,
    pub fatalities: Option<Figures>,
    pub injured: Option<Figures>,
    pub arrested: Option<Figures>,
    /// Known only from the perpetrator's own claim.
    pub claimed: bool,
    pub claim_span: Option<Span>,
    pub actors: Vec<Spanned<String>>,
    pub seized: Vec<Seized>,
    /// The clauses the draft was built from.
    pub evidence: Vec<Span>,
}

/// What [`extract`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extraction {
    pub published: Date,
    /// Always "utf8_bytes": what the spans count.
    pub span_unit: &'static str,
    pub drafts: Vec<Draft>,
}

/// Reads a `Published YYYY-MM-DD` first line: the date and the byte offset where the
/// rest of the text begins.
pub fn dateline(text: &str) -> Option<(Date, usize)> {
    let first = text.lines().next()?;
    let rest = first.trim().strip_prefix("Published")?.trim();
    let date = Date::parse(rest.get(..10)?)?;
    Some((date, first.len().min(text.len())))
}

const NO_CONFIRMATION: &[&[&str]] = &[
    &["no", "independent", "confirmation"],
    &["could", "not", "be", "verified"],
    &["no", "official", "confirmation"],
    &["not", "be", "independently", "verified"],
    &["made", "no", "mention"],
    &["could", "not", "be", "confirmed"],
    &["unverified"],
];

/// Extracts draft incidents. `published` overrides a `Published` first line; without
/// either, relative dates cannot be placed and `fallback_date` is used.
pub fn extract(g: &Gazetteer, text: &str, published: Option<Date>, fallback_date: Date) -> Extraction {
    let (line_date, body_start) = match dateline(text) {
        Some((d, off)) => (Some(d), off),
        None => (None, 0),
    };
    let pub_date = published.or(line_date).unwrap_or(fallback_date);
    let mut sentences = text::sentences(&text[body_start..], body_start);
    // A headline (a first paragraph of one line without a final period) summarises the
    // body; reading it would double every incident.
    if sentences.len() > 1 && sentences[0].paragraph != sentences[1].paragraph {
        let s = &sentences[0];
        let last = s.tokens.last().map(|t| t.text.as_str()).unwrap_or("");
        if !matches!(last, "." | "!" | "?" | "\"" | "”") && !text[s.span.start..s.span.end].contains('\n') {
            sentences.remove(0);
        }
    }
    // "DEIR EZ-ZOR, Syria - A suicide bomber ...": the dateline city is where the report
    // was filed, not where the event was.
    if let Some(s) = sentences.first_mut()
        && let Some(dash) = s.tokens.iter().take(8).position(|t| ["-", "–", "—"].contains(&t.text.as_str()))
    {
        let caps =
            s.tokens[..dash].iter().filter(|t| t.word).take(1).all(|t| t.text.chars().all(|c| !c.is_lowercase()));
        if caps && dash > 0 {
            s.tokens.drain(..=dash);
        }
    }
    let lower = text.to_lowercase();
    let all_low: Vec<String> = text::tokenize(&lower, 0).into_iter().map(|t| t.low).collect();
    let unconfirmed = NO_CONFIRMATION
        .iter()
        .any(|p| all_low.windows(p.len()).any(|w| w.iter().map(String::as_str).eq(p.iter().copied())));

    let mut clauses: Vec<Clause> = Vec::new();
    let mut cache = places::AreaCache::default();
    for s in &sentences {
        if s.tokens.is_empty() {
            continue;
        }
        for c in clause::split(&s.tokens) {
            if c.iter().any(|t| t.word) {
                clauses.push(clause::read(g, &mut cache, text, c, pub_date));
            }
        }
    }
    let groups = incident::group(&clauses);
    let doc_admin1 = clauses.iter().filter(|c| !c.generic).flat_map(|c| &c.places).find_map(|p| p.admin1.clone());
    // No real report tells more than a few dozen incidents; the bound keeps a hostile text cheap.
    let drafts = groups
        .iter()
        .take(MAX_DRAFTS)
        .filter_map(|grp| assemble(g, &clauses, grp, pub_date, unconfirmed, doc_admin1.as_deref()))
        .collect();
    Extraction { published: pub_date, span_unit: "utf8_bytes", drafts }
}

fn figures_of(clauses: &[&Clause], field: Field) -> Option<Figures> {
    let found: Vec<(u32, Span)> = clauses
        .iter()
        .flat_map(|c| &c.figures)
        .filter(|f| f.field == field && f.value > 0)
        .map(|f| (f.value, f.span))
        .collect();
    if let (Some(low), Some(high)) = (found.iter().map(|f| f.0).min(), found.iter().map(|f| f.0).max()) {
        return Some(Figures { best: low, low, high, spans: found.iter().map(|f| f.1).collect() });
    }
    let zero = clauses.iter().flat_map(|c| &c.zeros).find(|(f, _)| *f == field)?;
    Some(Figures { best: 0, low: 0, high: 0, spans: vec![zero.1] })
}

fn assemble(
    g: &Gazetteer,
    clauses: &[Clause],
    grp: &incident::Group,
    pub_date: Date,
    unconfirmed: bool,
    doc_admin1: Option<&str>,
) -> Option<Draft> {
    let own: Vec<&Clause> = grp.clauses.iter().map(|&i| &clauses[i]).collect();
    let counted: Vec<&Clause> = grp.clauses.iter().filter(|i| !grp.summary.contains(i)).map(|&i| &clauses[i]).collect();
    let arrested = figures_of(&counted, Field::Arrested);
    // Kinds from fresh triggers first; "the strike" only when nothing else names the event.
    let anaphoric = own.iter().flat_map(|c| &c.triggers).map(|t| t.kind).filter(|k| k.strong()).min();
    let mut kind = grp.kinds.first().copied().filter(|k| k.strong()).or(anaphoric);
    if kind.is_none() && arrested.as_ref().is_some_and(|a| a.best > 0) {
        kind = Some(Kind::Arrest);
    }
    // An inventory of seized weapons with nobody hurt is a seizure, whatever the
    // weapons are ("16 rockets" is not shelling).
    let hurt = [Field::Fatalities, Field::Injured].iter().any(|f| figures_of(&counted, *f).is_some_and(|x| x.best > 0));
    let inventory = counted.iter().any(|c| c.seized.iter().any(|s| s.quantity.is_some()));
    if inventory && !hurt && kind.is_some_and(|k| k < Kind::Arrest) {
        kind = Some(if grp.kinds.contains(&Kind::Arrest) { Kind::Arrest } else { Kind::Weapons });
    }
    // Killing someone outranks abducting another in the same attack (ACLED codes the graver act).
    let killed = figures_of(&counted, Field::Fatalities).is_some_and(|f| f.best > 0);
    if kind == Some(Kind::Abduction) && killed {
        kind = grp.kinds.iter().copied().find(|k| matches!(k, Kind::Attack | Kind::Killing)).or(kind);
    }
    let kind = kind?;
    let trigger = own.iter().flat_map(|c| &c.triggers).find(|t| t.kind == kind)?.span;
    let security = own
        .iter()
        .any(|c| c.security_target && c.triggers.iter().any(|t| matches!(t.kind, Kind::Attack | Kind::Killing)));
    let (event_type, sub_event_type) = kind.acled(!security);

    let (time, time_span) = match &grp.date {
        Some((w, s)) => (w.clone(), Some(*s)),
        None => {
            let reported = own.iter().flat_map(|c| &c.dates).find_map(|d| match &d.role {
                DateRole::Reporting(w) => Some(w.end),
                _ => None,
            });
            (incident::undated_window(reported.unwrap_or(pub_date)), None)
        }
    };

    // Place: from clauses with a trigger first, the most specific kind, the earliest.
    let with_trigger = |c: &&Clause| !c.triggers.is_empty();
    let mut candidates: Vec<(bool, &places::PlaceMention)> = Vec::new();
    for c in &own {
        for p in &c.places {
            if !p.incidental {
                candidates.push((with_trigger(c), p));
            }
        }
    }
    let gov_context = candidates
        .iter()
        .filter(|(_, p)| p.kind == PlaceKind::Governorate || p.kind == PlaceKind::Area)
        .find_map(|(_, p)| p.admin1.clone())
        .or_else(|| candidates.iter().find_map(|(_, p)| p.admin1.clone()))
        .or_else(|| doc_admin1.map(str::to_string));
    let best = candidates
        .iter()
        .enumerate()
        .max_by_key(|(i, (trig, p))| (*trig, p.kind, std::cmp::Reverse(*i)))
        .map(|(_, (_, p))| *p);
    let (mut place, mut admin1, mut precision, mut geonames_id, mut point) =
        (None, gov_context.clone(), Precision::Admin1, None, None);
    if let Some(p) = best {
        match p.kind {
            PlaceKind::Governorate => admin1 = p.admin1.clone(),
            PlaceKind::Area => {
                admin1 = p.admin1.clone().or(admin1);
                precision = Precision::Region;
                place = Some(Spanned { value: strip_article(&p.text), span: p.span });
                point = g.resolve(&p.text).map(|r| (r.lat, r.lon));
            }
            PlaceKind::Named => {
                // A town known in the governorate the text names wins; a name the
                // gazetteer does not know keeps its text and the governorate's point.
                let town = match (&gov_context, &p.place) {
                    (Some(gov), Some(t)) if &t.admin1 != gov => {
                        places::in_governorate(g, &p.text, gov).or(Some(t.clone()))
                    }
                    (_, t) => t.clone(),
                };
                place = Some(Spanned { value: strip_article(&p.text), span: p.span });
                if let Some(t) = town {
                    admin1 = Some(t.admin1.clone());
                    precision = Precision::Town;
                    geonames_id = Some(t.id);
                    point = Some((t.lat, t.lon));
                }
            }
        }
    }
    let admin1 = admin1?;
    let gov = g.governorate(&admin1)?;
    let (lat, lon) = point.unwrap_or((gov.lat, gov.lon));

    let claim_span = own.iter().find_map(|c| c.claim);
    let first_claims = own.first().is_some_and(|c| c.claim.is_some());
    let confirmed = own.iter().any(|c| c.confirmed);
    let claimed = claim_span.is_some() && !confirmed && (unconfirmed || first_claims);

    let mut actors: Vec<Spanned<String>> = Vec::new();
    for (name, span) in own.iter().flat_map(|c| &c.actors) {
        if !actors.iter().any(|a| a.value.eq_ignore_ascii_case(name)) {
            actors.push(Spanned { value: name.clone(), span: *span });
        }
    }
    let seized = if matches!(kind, Kind::Arrest | Kind::Weapons) {
        counted
            .iter()
            .flat_map(|c| &c.seized)
            .map(|s| Seized { item: s.item.clone(), quantity: s.quantity, span: s.span })
            .collect()
    } else {
        Vec::new()
    };
    Some(Draft {
        event_type: event_type.to_string(),
        sub_event_type: sub_event_type.to_string(),
        trigger,
        time,
        time_span,
        country: gov.country.clone(),
        admin1,
        place,
        precision,
        lat,
        lon,
        geonames_id,
        fatalities: figures_of(&counted, Field::Fatalities),
        injured: figures_of(&counted, Field::Injured),
        arrested,
        claimed,
        claim_span,
        actors,
        seized,
        evidence: own.iter().map(|c| c.span).collect(),
    })
}

fn strip_article(s: &str) -> String {
    s.strip_prefix("the ").or_else(|| s.strip_prefix("The ")).unwrap_or(s).to_string()
}
