//! Full-text search over incidents and reports, as a filter of [`crate::ObjectStore::list`]
//! (`ObjectQuery::text`), never a read path of its own.
//!
//! Why it is split this way: a backend's index (SQLite FTS5, PostgreSQL `tsvector`) is built
//! from the *stored* version, whole, while a reader may receive a redacted copy. So the index
//! only proposes candidate rows; the list then decides, settles claims and redacts as for every
//! read, and [`TextQuery::matches`] checks the match again on the copy the reader receives, here
//! in Rust, for every backend alike. A word that occurs only in a property withheld from the
//! reader therefore never makes an object appear.
//!
//! Text is folded word by word with the gazetteer's rules (`tandem_geo::text_keys`: Arabic letter
//! variants, diacritics and the article ال; Latin transliterations), both when indexing and when
//! querying, so the index holds folded keys and a backend tokenizes them on whitespace only.
//! The index is a superset of what [`TextQuery::matches`] accepts on the stored version (its
//! fields are concatenated, so a phrase may also match across two fields there), and a
//! redacted copy has only fewer properties, so every object the reader should find is proposed.
//!
//! Query syntax: words (ANDed), `"quoted phrases"`, and `word*` or `"a phrase"*` for a prefix of
//! the last word. User text never reaches an FTS5 `MATCH` or a `tsquery` as written: only folded
//! keys do, each quoted ([`TextQuery::fts5`], [`TextQuery::tsquery`]).

use serde_json::{Map, Value};

/// The object types whose text is indexed and searched.
pub const INDEXED_TYPES: &[&str] = &["incident", "report"];

/// The longest search text, in characters.
pub const MAX_QUERY_CHARS: usize = 256;

/// The most words and phrases in one search, and the most words in all of them.
pub const MAX_TERMS: usize = 16;
const MAX_KEYS: usize = 32;

/// The shortest prefix (folded) a `word*` may be: a one-letter prefix matches most of the index.
pub const MIN_PREFIX_CHARS: usize = 2;

/// An index entry is cut at this many bytes of folded keys (a backend's limits: PostgreSQL's
/// `tsvector` holds at most 1 MiB); words past it are not proposed by the index.
pub const MAX_INDEXED_BYTES: usize = 256 * 1024;

/// Why a search text was refused (a 400 for the HTTP caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextQueryError {
    #[error("the search text is empty")]
    Empty,
    #[error("the search text is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("a quoted phrase is not closed")]
    UnclosedQuote,
    #[error("'*' may only end a word or a quoted phrase")]
    MisplacedStar,
    #[error("a prefix search (word*) needs at least {MIN_PREFIX_CHARS} letters")]
    ShortPrefix,
    #[error("the search text has no searchable words")]
    NoWords,
    #[error("the search text has more than {MAX_TERMS} words or phrases, or {MAX_KEYS} words in all")]
    TooManyTerms,
}

/// One word or phrase of a search: folded keys that must occur in this order, next to each
/// other, in one searchable property; with `prefix`, the last one only needs to start so. A
/// term also matches by any of `also` (other spellings of the same place, from
/// [`TextQuery::expand`]), each a key sequence matched the same way, never as a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub keys: Vec<String>,
    pub prefix: bool,
    pub also: Vec<Vec<String>>,
    /// The term as the user typed it (a word or a phrase's text, without quotes or star).
    pub text: String,
}

/// The most other spellings [`TextQuery::expand`] adds to one term.
pub const MAX_ALSO: usize = 16;

/// A parsed search: every term must match (AND).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuery {
    terms: Vec<Term>,
}

impl TextQuery {
    /// Parses a user's search text (see the module doc for the syntax).
    pub fn parse(text: &str) -> Result<TextQuery, TextQueryError> {
        if text.trim().is_empty() {
            return Err(TextQueryError::Empty);
        }
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(TextQueryError::TooLong);
        }
        let mut terms: Vec<Term> = Vec::new();
        let mut rest = text;
        loop {
            rest = rest.trim_start();
            let Some(first) = rest.chars().next() else { break };
            let (raw, after) = if first == '"' {
                let inner = &rest[1..];
                let end = inner.find('"').ok_or(TextQueryError::UnclosedQuote)?;
                (&inner[..end], &inner[end + 1..])
            } else {
                let end = rest.find(|c: char| c.is_whitespace() || c == '"').unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            };
            // A star ends the word or closes the phrase; anywhere else it is an error, never syntax.
            let (raw, prefix, after) = if first == '"' {
                match after.strip_prefix('*') {
                    Some(a) => (raw, true, a),
                    None => (raw, false, after),
                }
            } else {
                match raw.strip_suffix('*') {
                    Some(r) => (r, true, after),
                    None => (raw, false, after),
                }
            };
            if (first != '"' && raw.contains('*')) || (prefix && after.starts_with('*')) {
                return Err(TextQueryError::MisplacedStar);
            }
            if first == '"' && raw.contains('*') {
                return Err(TextQueryError::MisplacedStar);
            }
            rest = after;
            let keys = tandem_geo::text_keys(raw);
            if keys.is_empty() {
                if prefix && first != '"' && raw.is_empty() {
                    return Err(TextQueryError::MisplacedStar);
                }
                continue;
            }
            if prefix && keys.last().is_some_and(|k| k.chars().count() < MIN_PREFIX_CHARS) {
                return Err(TextQueryError::ShortPrefix);
            }
            if !terms.iter().any(|t| t.keys == keys && t.prefix == prefix) {
                terms.push(Term { keys, prefix, also: Vec::new(), text: raw.trim().to_string() });
            }
        }
        if terms.is_empty() {
            return Err(TextQueryError::NoWords);
        }
        if terms.len() > MAX_TERMS || terms.iter().map(|t| t.keys.len()).sum::<usize>() > MAX_KEYS {
            return Err(TextQueryError::TooManyTerms);
        }
        Ok(TextQuery { terms })
    }

    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Lets each whole-word term (not a prefix) also match other spellings: `spellings` gives,
    /// for a term's text, the names it is also known by (the node asks its gazetteer for the
    /// place of that exact name, so "Raqqa" also finds "الرقة", which folding alone cannot
    /// relate). At most [`MAX_ALSO`] per term. Matching stays the same check on the reader's copy.
    pub fn expand(&mut self, spellings: impl Fn(&str) -> Vec<String>) {
        for term in self.terms.iter_mut().filter(|t| !t.prefix) {
            for name in spellings(&term.text) {
                if term.also.len() == MAX_ALSO {
                    break;
                }
                let keys = tandem_geo::text_keys(&name);
                if !keys.is_empty() && keys != term.keys && !term.also.contains(&keys) {
                    term.also.push(keys);
                }
            }
        }
    }

    /// Whether `object` (a reader's copy) matches: an indexed type, and every term found in one
    /// of its searchable properties ([`searchable`]).
    pub fn matches(&self, object: &Value) -> bool {
        let Some(object) = object.as_object() else { return false };
        let fields: Vec<Vec<String>> = searchable(object).into_iter().map(tandem_geo::text_keys).collect();
        if fields.is_empty() {
            return false;
        }
        self.terms.iter().all(|t| {
            fields
                .iter()
                .any(|keys| term_in(&t.keys, t.prefix, keys) || t.also.iter().any(|also| term_in(also, false, keys)))
        })
    }

    /// The FTS5 `MATCH` expression: each term a quoted string (a phrase of its keys), a prefix
    /// marked after the closing quote, terms joined by `AND`.
    pub fn fts5(&self) -> String {
        let phrase = |keys: &[String]| format!("\"{}\"", keys.join(" ").replace('"', "\"\""));
        let quoted = |t: &Term| {
            let first = if t.prefix { format!("{} *", phrase(&t.keys)) } else { phrase(&t.keys) };
            if t.also.is_empty() {
                return first;
            }
            let alternatives: Vec<String> =
                std::iter::once(first).chain(t.also.iter().map(|keys| phrase(keys))).collect();
            format!("({})", alternatives.join(" OR "))
        };
        self.terms.iter().map(quoted).collect::<Vec<_>>().join(" AND ")
    }

    /// The PostgreSQL `tsquery` text (for `to_tsquery('simple', ..)`): each key a quoted lexeme,
    /// a phrase's keys joined by `<->`, a prefix marked `:*`, terms joined by `&`.
    pub fn tsquery(&self) -> String {
        let lexeme = |k: &str| format!("'{}'", k.replace('\\', "\\\\").replace('\'', "''"));
        let phrase = |keys: &[String], prefix: bool| {
            let mut parts: Vec<String> = keys.iter().map(|k| lexeme(k)).collect();
            if prefix && let Some(last) = parts.last_mut() {
                last.push_str(":*");
            }
            format!("({})", parts.join(" <-> "))
        };
        let term = |t: &Term| {
            if t.also.is_empty() {
                return phrase(&t.keys, t.prefix);
            }
            let alternatives: Vec<String> = std::iter::once(phrase(&t.keys, t.prefix))
                .chain(t.also.iter().map(|keys| phrase(keys, false)))
                .collect();
            format!("({})", alternatives.join(" | "))
        };
        self.terms.iter().map(term).collect::<Vec<_>>().join(" & ")
    }
}

/// Whether `wanted` occurs in `keys`, next to each other and in order (the last one as a prefix
/// when `prefix`).
fn term_in(wanted: &[String], prefix: bool, keys: &[String]) -> bool {
    let n = wanted.len();
    if n == 0 || keys.len() < n {
        return false;
    }
    keys.windows(n).any(|w| {
        w.iter()
            .zip(wanted)
            .enumerate()
            .all(|(i, (have, want))| if prefix && i == n - 1 { have.starts_with(want.as_str()) } else { have == want })
    })
}

/// The searchable properties of an object of an [`INDEXED_TYPES`] type, in a fixed order:
/// `name`, `description`, and of Tandem's incident extension `event_type`, `sub_event_type`,
/// `place.description`, every `actors[].name`, `sources[].name` and `materiel[].item`, and
/// `notes`. Nothing for other types.
pub fn searchable(object: &Map<String, Value>) -> Vec<&str> {
    let ty = object.get("type").and_then(Value::as_str).unwrap_or_default();
    if !INDEXED_TYPES.contains(&ty) {
        return Vec::new();
    }
    let mut out: Vec<&str> = ["name", "description"].iter().filter_map(|k| object.get(*k)?.as_str()).collect();
    if let Some(ext) = object.get("extensions").and_then(|e| e.get(tandem_model::incident::INCIDENT_EXTENSION_ID)) {
        for k in ["event_type", "sub_event_type"] {
            out.extend(ext.get(k).and_then(Value::as_str));
        }
        out.extend(ext.get("place").and_then(|p| p.get("description")).and_then(Value::as_str));
        for (list, key) in [("actors", "name"), ("sources", "name"), ("materiel", "item")] {
            let items = ext.get(list).and_then(Value::as_array).into_iter().flatten();
            out.extend(items.filter_map(|i| i.get(key)?.as_str()));
        }
        out.extend(ext.get("notes").and_then(Value::as_str));
    }
    out
}

/// What a backend indexes for a stored version: the folded keys of its searchable properties,
/// space-separated, cut at [`MAX_INDEXED_BYTES`]; `None` for a type that is not searched.
pub fn index_text(object: &Map<String, Value>) -> Option<String> {
    let ty = object.get("type").and_then(Value::as_str)?;
    if !INDEXED_TYPES.contains(&ty) {
        return None;
    }
    let mut out = String::new();
    for field in searchable(object) {
        let mut full = false;
        tandem_geo::for_each_text_key(field, |key| {
            full = out.len() + key.len() + 1 > MAX_INDEXED_BYTES;
            if !full {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(key);
            }
            !full
        });
        if full {
            return Some(out);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(q: &str) -> Result<Vec<(Vec<String>, bool)>, TextQueryError> {
        TextQuery::parse(q).map(|t| t.terms.into_iter().map(|t| (t.keys, t.prefix)).collect())
    }

    fn term(keys: &[&str], prefix: bool) -> (Vec<String>, bool) {
        (keys.iter().map(|k| k.to_string()).collect(), prefix)
    }

    #[test]
    fn parses_words_phrases_and_prefixes() {
        let raqqa = tandem_geo::normalize_name("Raqqa");
        assert_eq!(parse("Raqqah  raqqa").unwrap(), vec![term(&[&raqqa], false)], "one term after folding");
        assert_eq!(parse("\"Deir ez-Zor\" shelling*").unwrap().len(), 2);
        assert_eq!(parse("\"Deir ez-Zor\"").unwrap(), vec![term(&["dir", "zur"], false)]);
        assert_eq!(parse("\"Deir ez\"*").unwrap(), vec![term(&["dir"], true)]);
        assert_eq!(parse("Raq*").unwrap(), vec![term(&["rak"], true)]);
        assert_eq!(parse("al-Raqqa").unwrap(), vec![term(&[&raqqa], false)]);
        // FTS syntax is just text: operators become words, punctuation separates.
        let q = TextQuery::parse("NEAR(a b) OR -x:y ^c").unwrap();
        assert!(q.fts5().split(" AND ").all(|t| t.starts_with('"') && t.ends_with('"')), "{}", q.fts5());
        for (q, e) in [
            ("", TextQueryError::Empty),
            ("   ", TextQueryError::Empty),
            ("\"open", TextQueryError::UnclosedQuote),
            ("*", TextQueryError::MisplacedStar),
            ("ra*q", TextQueryError::MisplacedStar),
            ("raq**", TextQueryError::MisplacedStar),
            ("\"a*b\"", TextQueryError::MisplacedStar),
            ("\"ab\"**", TextQueryError::MisplacedStar),
            ("r*", TextQueryError::ShortPrefix),
            ("al ال -- ...", TextQueryError::NoWords),
        ] {
            assert_eq!(parse(q), Err(e), "{q}");
        }
        assert_eq!(parse(&"x".repeat(MAX_QUERY_CHARS + 1)), Err(TextQueryError::TooLong));
        let many: Vec<String> = (0..=MAX_TERMS).map(|i| format!("w{i}")).collect();
        assert_eq!(parse(&many.join(" ")), Err(TextQueryError::TooManyTerms));
    }

    #[test]
    fn backend_queries_quote_every_key() {
        let q = TextQuery {
            terms: vec![Term {
                keys: vec!["a\"b".into(), "c'd\\".into()],
                prefix: true,
                also: Vec::new(),
                text: String::new(),
            }],
        };
        assert_eq!(q.fts5(), "\"a\"\"b c'd\\\" *");
        assert_eq!(q.tsquery(), "('a\"b' <-> 'c''d\\\\':*)");
        let q = TextQuery::parse("\"Deir ez-Zor\" raq*").unwrap();
        assert_eq!(q.fts5(), "\"dir zur\" AND \"rak\" *");
        assert_eq!(q.tsquery(), "('dir' <-> 'zur') & ('rak':*)");
        // Other spellings of a place: alternatives of the term, never of a prefix.
        let mut q = TextQuery::parse("\"Deir ez-Zor\" raq*").unwrap();
        q.expand(|t| {
            if t == "Deir ez-Zor" { vec!["دير الزور".into(), "Dayr az Zawr".into()] } else { vec!["x".into()] }
        });
        assert_eq!(
            q.terms()[0].also,
            vec![vec!["دير".to_string(), "زور".to_string()]],
            "Dayr az Zawr folds to the term"
        );
        assert!(q.terms()[1].also.is_empty());
        assert_eq!(q.fts5(), "(\"dir zur\" OR \"دير زور\") AND \"rak\" *");
        assert_eq!(q.tsquery(), "(('dir' <-> 'zur') | ('دير' <-> 'زور')) & ('rak':*)");
        let arabic = json!({"type": "report", "name": "قصف في دير الزور"});
        assert!(q.terms().len() == 2 && !q.matches(&arabic), "every term must still match");
        let q = {
            let mut q = TextQuery::parse("\"Deir ez-Zor\"").unwrap();
            q.expand(|_| vec!["دير الزور".into()]);
            q
        };
        assert!(q.matches(&arabic));
    }

    /// An entry is the fields' keys in order, space-separated, cut before the key that would take
    /// it past `MAX_INDEXED_BYTES`, and the fields after it are not read.
    #[test]
    fn an_index_entry_is_the_keys_cut_at_the_limit() {
        let incident = |description: String| {
            json!({"type": "incident", "name": "Raqqah 2011", "description": description})
                .as_object()
                .cloned()
                .expect("a map")
        };
        let short = incident("ad-Dana shelling, الرقة".into());
        assert_eq!(index_text(&short).as_deref(), Some("raka 2011 dana siling رقه"));
        let words: Vec<String> = (0..60_000).map(|i| format!("w{i}")).collect();
        let long = incident(words.join(" "));
        let entry = index_text(&long).expect("indexed");
        let all: Vec<String> = ["Raqqah 2011", long["description"].as_str().expect("text")]
            .iter()
            .flat_map(|f| tandem_geo::text_keys(f))
            .collect();
        let joined = all.join(" ");
        assert!(entry.len() <= MAX_INDEXED_BYTES && entry.len() > MAX_INDEXED_BYTES - 16, "{}", entry.len());
        assert!(joined.starts_with(&entry) && joined.as_bytes()[entry.len()] == b' ');
    }

    #[test]
    fn matches_per_property_on_the_copy_given() {
        let ext = tandem_model::incident::INCIDENT_EXTENSION_ID;
        let incident = json!({"type": "incident", "name": "Shelling in ar-Raqqah",
            "description": "Reported by the Deir ez-Zor council",
            "extensions": {ext: {"actors": [{"name": "Islamic State", "role": "perpetrator"}], "notes": "الرقة"}}});
        let yes = |q: &str| TextQuery::parse(q).unwrap().matches(&incident);
        assert!(yes("raqqa"));
        assert!(yes("الرقه"));
        assert!(yes("\"Dayr az Zawr\" council"));
        assert!(yes("islam*"));
        assert!(yes("\"islamic state\""));
        assert!(!yes("\"state islamic\""));
        assert!(!yes("\"raqqah reported\""), "a phrase never spans two properties");
        assert!(!yes("raqqa mosul"), "every term must match");
        let mut redacted = incident.clone();
        redacted.as_object_mut().unwrap().remove("description");
        assert!(!TextQuery::parse("council").unwrap().matches(&redacted));
        let indicator = json!({"type": "indicator", "name": "Raqqa"});
        assert!(!TextQuery::parse("raqqa").unwrap().matches(&indicator));
        assert_eq!(index_text(indicator.as_object().unwrap()), None);
        let text = index_text(incident.as_object().unwrap()).unwrap();
        let name = tandem_geo::text_keys("Shelling in ar-Raqqah").join(" ");
        assert!(text.starts_with(&format!("{name} ")), "{text}");
    }
}
