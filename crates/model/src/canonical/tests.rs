//! RFC 8785's own test vectors, and what the legacy form keeps.

use super::*;
use proptest::prelude::Strategy;
use serde_json::json;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("test input parses")
}

/// RFC 8785 Appendix B: IEEE 754 doubles (bit patterns) and their canonical text. NaN and the
/// infinities are not JSON and cannot occur in a `Value`.
#[test]
fn appendix_b_numbers() {
    let vectors: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    let mut wrong = Vec::new();
    for &(bits, want) in vectors {
        let f = f64::from_bits(bits);
        let value = Value::Number(Number::from_f64(f).expect("finite"));
        let got = canonical_json(&value);
        // The same double parsed from its shortest text must print the same.
        let reparsed = canonical_json(&parse(want));
        if got != want || reparsed != want {
            wrong.push(format!("{bits:016x}: got {got} (reparsed {reparsed}), want {want}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Number texts as clients send them, and the canonical text.
#[test]
fn number_texts() {
    let cases: &[(&str, &str)] = &[
        ("36.0", "36"),
        ("36", "36"),
        ("3.6e1", "36"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("4.50", "4.5"),
        ("2e-3", "0.002"),
        ("1E30", "1e+30"),
        ("1e-7", "1e-7"),
        ("0.000001", "0.000001"),
        ("123456789012345680000", "123456789012345680000"),
        ("1e21", "1e+21"),
        // Integers serde_json keeps exactly are printed exactly (see the module doc).
        ("9007199254740993", "9007199254740993"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("18446744073709551615", "18446744073709551615"),
        // Beyond u64 serde_json parses a double.
        ("18446744073709551616", "18446744073709552000"),
    ];
    for &(text, want) in cases {
        assert_eq!(canonical_json(&parse(text)), want, "{text}");
    }
}

/// RFC 8785 §3.2.4: the example of the whole transformation.
#[test]
fn section_3_2_4_example() {
    let input = r#"{
        "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
        "literals": [null, true, false]
    }"#;
    let want = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\
                \"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    assert_eq!(canonical_json(&parse(input)), want);
}

/// RFC 8785 §3.2.3: sorting by UTF-16 code units.
#[test]
fn section_3_2_3_sorting() {
    let input = r#"{
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\ud83d\ude00": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    // Expected order: \r, 1, U+0080, U+00F6, U+20AC, U+1F600 (surrogates D83D DE00), U+FB33.
    let want = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
                \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(canonical_json(&parse(input)), want);
}

/// RFC 8785 §3.2.2.2: only the mandatory escapes; other controls as `\u00xx` in lower case.
#[test]
fn string_escapes() {
    for b in 0u8..0x20 {
        let s = (b as char).to_string();
        let want = match b {
            0x08 => "\"\\b\"".to_string(),
            0x09 => "\"\\t\"".to_string(),
            0x0a => "\"\\n\"".to_string(),
            0x0c => "\"\\f\"".to_string(),
            0x0d => "\"\\r\"".to_string(),
            _ => format!("\"\\u{b:04x}\""),
        };
        assert_eq!(canonical_json(&Value::String(s.clone())), want, "control {b:#04x}");
        // serde_json escapes the same way, so strings never differ between the two forms.
        assert_eq!(legacy::canonical_json(&Value::String(s)), want, "legacy control {b:#04x}");
    }
    let cases: &[(&str, &str)] = &[
        ("\"", r#""\"""#),
        ("\\", r#""\\""#),
        ("/", r#""/""#),
        ("\u{7f}", "\"\u{7f}\""),
        ("</script>", "\"</script>\""),
        ("a\u{e9}\u{20ac}\u{1f602}b", "\"a\u{e9}\u{20ac}\u{1f602}b\""),
        ("\u{1f}x\u{0}", r#""\u001fx\u0000""#),
    ];
    for &(s, want) in cases {
        assert_eq!(canonical_json(&json!(s)), want, "{s:?}");
        assert_eq!(legacy::canonical_json(&json!(s)), want, "legacy {s:?}");
    }
}

#[test]
fn key_order_and_whitespace_do_not_matter() {
    let a = parse(r#"{"b": 1, "a": [1, {"y": "x", "x": true}]}"#);
    let b = json!({"a": [1, {"x": true, "y": "x"}], "b": 1});
    assert_eq!(canonical_json(&a), r#"{"a":[1,{"x":true,"y":"x"}],"b":1}"#);
    assert_eq!(content_hash(&a), content_hash(&b));
    assert_eq!(map_hash(a.as_object().expect("object")), content_hash(&b));
}

#[test]
fn keys_sort_by_utf16_code_units() {
    // U+FF61 sorts before U+1F600 in code points but after it in UTF-16 (surrogate D83D).
    let v = json!({"\u{ff61}": 1, "\u{1f600}": 2, "a": "\u{e9}\"\n"});
    assert_eq!(canonical_json(&v), "{\"a\":\"\u{e9}\\\"\\n\",\"\u{1f600}\":2,\"\u{ff61}\":1}");
    assert_eq!(legacy::canonical_json(&v), canonical_json(&v));
    assert_eq!(hex(&[0, 15, 16, 255]), "000f10ff");
}

#[test]
fn a_float_and_an_integer_of_the_same_value_hash_alike() {
    let a = parse(r#"{"type": "location", "latitude": 36.0, "longitude": 43.5}"#);
    let b = parse(r#"{"type": "location", "latitude": 36, "longitude": 43.50}"#);
    assert_eq!(map_hash(a.as_object().expect("object")), map_hash(b.as_object().expect("object")));
    assert_eq!(canonical_json(&a), r#"{"latitude":36,"longitude":43.5,"type":"location"}"#);
    // The legacy form told them apart; that is the false conflict this module fixes.
    assert_eq!(legacy::canonical_json(&a), r#"{"latitude":36.0,"longitude":43.5,"type":"location"}"#);
    assert_ne!(legacy::canonical_json(&a), legacy::canonical_json(&b));
}

#[test]
fn legacy_is_the_former_form_and_agrees_without_floats() {
    let v = parse(r#"{"n": [1e21, 0.000001, -0.0, 2.0, 0.5], "i": -7, "s": "\u0001"}"#);
    assert_eq!(legacy::canonical_json(&v), r#"{"i":-7,"n":[1e+21,1e-6,-0.0,2.0,0.5],"s":"\u0001"}"#);
    assert_eq!(canonical_json(&v), r#"{"i":-7,"n":[1e+21,0.000001,0,2,0.5],"s":"\u0001"}"#);
    let no_floats = parse(r#"{"a": [1, -2, 18446744073709551615, true, null], "\ufb33": {"x": "\u001f"}}"#);
    assert_eq!(legacy::canonical_json(&no_floats), canonical_json(&no_floats));
    let mut out = Vec::new();
    legacy::write_canonical(&no_floats, &mut out);
    assert_eq!(out, legacy::canonical_map(no_floats.as_object().expect("object")));
}

proptest::proptest! {
    /// The integral fast path prints what ECMAScript (ryu-js) prints, for any double.
    #[test]
    fn every_double_prints_as_ecmascript_does(
        f in proptest::prop_oneof![
            proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO,
            (-1_000_000_000_000_000i64..1_000_000_000_000_000).prop_map(|i| i as f64),
            (-100i64..100).prop_map(|i| i as f64 * 1e13),
        ]
    ) {
        let got = canonical_json(&Value::Number(Number::from_f64(f).expect("finite")));
        let mut buf = ryu_js::Buffer::new();
        proptest::prop_assert_eq!(got.as_str(), buf.format_finite(f));
    }
}
