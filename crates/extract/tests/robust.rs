//! The extractor reads untrusted text (the HTTP route): whatever it is given, it returns
//! without panicking, every span lies on character boundaries inside the text, and a
//! draft's window is well formed.

use proptest::prelude::*;
use tandem_extract::extract;
use tandem_geo::Gazetteer;
use tandem_model::incident::Date;

const DEV: &str = include_str!("data/dev/13.txt");

fn check(text: &str) {
    let x = extract(Gazetteer::embedded(), text, None, Date::parse("2025-01-01").unwrap());
    for d in &x.drafts {
        let mut spans = vec![d.trigger];
        spans.extend(d.time_span);
        spans.extend(d.place.as_ref().map(|p| p.span));
        spans.extend(d.evidence.iter().copied());
        for s in spans {
            assert!(s.start <= s.end && text.get(s.start..s.end).is_some(), "span {s:?} in {text:?}");
        }
        assert!(d.time.start.is_none_or(|s| s <= d.time.end));
        assert!(tandem_model::incident::acled::is_valid_pair(&d.event_type, &d.sub_event_type));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check(&text);
    }

    #[test]
    fn cut_and_spliced_reports_never_panic(a in 0usize..DEV.len(), b in 0usize..DEV.len(), junk in "[ \\n.,;:()\"'0-9A-Za-z\u{0600}-\u{06FF}-]{0,40}") {
        let (a, b) = (a.min(b), a.max(b));
        let (a, b) = ((0..=a).rev().find(|&i| DEV.is_char_boundary(i)).unwrap_or(0), (b..=DEV.len()).find(|&i| DEV.is_char_boundary(i)).unwrap_or(DEV.len()));
        check(&format!("{}{junk}{}", &DEV[..a], &DEV[b..]));
        check(&format!("Published 2025-13-40\n{junk}{}", &DEV[a..b]));
    }
}
