//! Whatever a user types as a search, the backends never fail on it: a text either parses into
//! a query that both SQLite's FTS5 and PostgreSQL's `tsquery` accept (user text reaches them only
//! as quoted, folded keys), or is refused by `TextQuery::parse` (a 400 for the HTTP caller) —
//! never a storage error (a 500), also with other spellings added to its words. Also: every
//! match the store returns is a match of the query on the copy returned.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use serde_json::json;
use tandem_model::{StixObject, tlp};
use tandem_policy::{Classification, Group, Member, Roster, Viewer};
use tandem_store::{Incoming, ObjectQuery, SqliteStore, Store, TextQuery, ViewContext};

const COLL: &str = "c0ffee00-0000-4000-8000-000000000002";

/// Names that exercise the folding: scripts, marks, digits, punctuation, FTS operators.
const NAMES: [&str; 8] = [
    "Shelling in ar-Raqqah (NEAR the dam) OR AND NOT",
    "قصف في الرَّقَّة، ٢٠١٤",
    "Ma‘arrat Mişrīn: 12 killed * \"quoted\"",
    "Deir ez-Zor ^ col:umn - minus + plus",
    "Дейр-эз-Зор 2019",
    "e\u{301}cole ﬁnance ß Æ",
    "tab\tnew\nline \u{200F}bidi\u{200E}",
    "'Afrin O'Brien \\ backslash '' quote",
];

fn stores() -> &'static Vec<(&'static str, Box<dyn Store>)> {
    static STORES: OnceLock<Vec<(&'static str, Box<dyn Store>)>> = OnceLock::new();
    STORES.get_or_init(|| {
        let dir = Box::leak(Box::new(tempfile::tempdir().expect("tempdir")));
        let sqlite: Box<dyn Store> = Box::new(SqliteStore::open(dir.path()).expect("open"));
        let postgres: Box<dyn Store> =
            Box::new(tandem_store_postgres::PgStore::open(&tandem_store_postgres::testdb::fresh_url()).expect("open"));
        let all = vec![("sqlite", sqlite), ("postgres", postgres)];
        for (_, store) in &all {
            let objects = NAMES.iter().enumerate().map(|(n, name)| {
                let v = json!({"type": "incident", "spec_version": "2.1",
                    "id": format!("incident--dddddddd-0000-4000-8000-{n:012}"),
                    "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
                    "name": name, "description": NAMES[(n + 1) % NAMES.len()],
                    "object_marking_refs": [tlp::TLP2_GREEN]});
                Incoming::new(StixObject::from_map_unchecked(v.as_object().cloned().unwrap_or_default()))
            });
            store.put(COLL, "USA", objects.collect()).expect("put");
        }
        all
    })
}

fn ctx() -> ViewContext {
    ViewContext {
        viewer: Viewer { member: "IRQ".into(), clearance: Classification::Secret },
        roster: Arc::new(Roster::new(["USA", "IRQ"].map(Member::active), Vec::<Group>::new())),
    }
}

/// Text built from pieces users (and attackers) type: words of the names, syntax characters.
fn typed() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => (0..NAMES.len(), 0..8usize).prop_map(|(n, w)| {
            NAMES[n].split_whitespace().nth(w).unwrap_or("raqqa").to_string()
        }),
        2 => prop::sample::select(vec![
            "\"", "*", "\"*", "(", ")", "-", "+", ":", "^", "'", "\\", "''", "&", "|", "!", "<->", ":*",
            "NEAR", "OR", "AND", "NOT", "{", "}", "ال", "\u{301}", "\u{640}", "٣", "\u{200D}", " ", "\t",
        ])
        .prop_map(str::to_string),
        1 => any::<String>(),
    ];
    proptest::collection::vec(piece, 1..8).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_refused_or_searched_never_an_error(text in typed(), joined in any::<bool>()) {
        let text = if joined { text } else { text.replace(' ', "") };
        let Ok(query) = TextQuery::parse(&text) else { return Ok(()) };
        // And with other spellings added to every word (alternatives: OR in FTS5 and tsquery).
        let mut expanded = query.clone();
        expanded.expand(|t| vec![t.chars().rev().collect(), "الرقة".into(), text.clone()]);
        for ((backend, store), query) in stores().iter().flat_map(|s| [(s, query.clone()), (s, expanded.clone())]) {
            let q = ObjectQuery { text: Some(query.clone()), limit: 100, ..Default::default() };
            let page = store.list(&ctx(), COLL, &q);
            prop_assert!(page.is_ok(), "{} on {:?}: {:?}", backend, text, page.err());
            for r in page.map(|p| p.items).unwrap_or_default() {
                prop_assert!(query.matches(&r.object), "{} returned a non-match for {:?}", backend, text);
            }
        }
    }
}

/// Each name is found by its own words, on both backends (the index proposes what the check
/// accepts, whatever the script or marks).
#[test]
fn every_name_is_found_by_its_own_words() {
    for (n, name) in NAMES.iter().enumerate() {
        let Ok(query) = TextQuery::parse(&name.replace(['"', '*'], " ")) else { continue };
        for (backend, store) in stores() {
            let q = ObjectQuery { text: Some(query.clone()), limit: 100, ..Default::default() };
            let ids: Vec<String> =
                store.list(&ctx(), COLL, &q).expect("list").items.into_iter().map(|r| r.id).collect();
            let id = format!("incident--dddddddd-0000-4000-8000-{n:012}");
            assert!(ids.contains(&id), "{backend}: {name:?} not found by its own words: {ids:?}");
        }
    }
}
