//! Invariants of the spelling folds over random input.

use proptest::prelude::*;
use tandem_geo::{Gazetteer, SearchOptions, normalize_arabic, normalize_latin, normalize_name};

const HARAKAT: &[char] =
    &['\u{064B}', '\u{064E}', '\u{064F}', '\u{0650}', '\u{0651}', '\u{0652}', '\u{0670}', '\u{0640}'];

proptest! {
    #[test]
    fn never_panics(s in "\\PC{0,40}") {
        let _ = normalize_name(&s);
        let _ = Gazetteer::embedded().resolve(&s);
    }

    #[test]
    fn search_never_panics(s in "[a-zA-Z' -]{0,16}|[\u{0621}-\u{064A} ]{0,10}") {
        let c = Gazetteer::embedded().search(&s, &SearchOptions::default());
        prop_assert!(c.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn arabic_is_idempotent(s in "[\u{0600}-\u{06FF} ]{0,20}") {
        let once = normalize_arabic(&s);
        prop_assert_eq!(normalize_arabic(&once), once);
    }

    #[test]
    fn harakat_and_tatweel_do_not_matter(letters in "[\u{0628}-\u{063A}]{1,10}", marks in proptest::collection::vec(0usize..8, 10)) {
        let decorated: String = letters
            .chars()
            .zip(marks.iter().cycle())
            .flat_map(|(c, &m)| [c, HARAKAT[m]])
            .collect();
        prop_assert_eq!(normalize_arabic(&decorated), normalize_arabic(&letters));
    }

    #[test]
    fn article_assimilation_folds(w in "[bdfhjklmnpqrstvz][a-z]{3,8}") {
        let plain = normalize_latin(&w);
        for art in ["al-", "el-", "ad-", "as ", "ash-", "az-", "Al ", "an-"] {
            prop_assert_eq!(normalize_latin(&format!("{art}{w}")), plain.clone());
        }
    }
}
