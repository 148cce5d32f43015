//! Tokens and sentences with byte spans into the original text.
//!
//! Every later stage works on tokens, so every field it extracts can point back at the
//! bytes it came from. Spans are byte offsets (UTF-8) into the text as given, including
//! any `Published` first line.

use serde::{Deserialize, Serialize};

/// A half-open byte range `[start, end)` into the input text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn join(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token as written.
    pub text: String,
    /// Lowercase form, used for matching.
    pub low: String,
    pub span: Span,
    /// A word (letters/digits) rather than punctuation.
    pub word: bool,
}

impl Token {
    pub fn capitalised(&self) -> bool {
        let first = self.text.chars().next().is_some_and(char::is_uppercase);
        // "al-Shuhayl", "ez-Zor": an Arabic article before a capitalised name.
        let article = self
            .text
            .split_once('-')
            .is_some_and(|(a, rest)| a.len() <= 3 && rest.chars().next().is_some_and(char::is_uppercase));
        first || article
    }
}

/// Splits `text[base..]` into tokens: words (letters, digits, inner hyphens and
/// apostrophes, digit groups such as "2,000") and single punctuation characters.
pub fn tokenize(text: &str, base: usize) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let is_word = |c: char| c.is_alphanumeric();
    while i < chars.len() {
        let (start, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if is_word(c) {
            let mut j = i + 1;
            while j < chars.len() {
                let cj = chars[j].1;
                let next_word = chars.get(j + 1).is_some_and(|&(_, n)| is_word(n));
                let prev_digit = chars[j - 1].1.is_ascii_digit();
                let next_digit = chars.get(j + 1).is_some_and(|&(_, n)| n.is_ascii_digit());
                if is_word(cj)
                    || ("-'’‘`".contains(cj) && next_word)
                    || (cj == ',' && prev_digit && next_digit && {
                        // "2,000" but not "24,25": a group of exactly three digits follows.
                        let digits = chars[j + 1..].iter().take_while(|(_, d)| d.is_ascii_digit()).count();
                        digits == 3
                    })
                {
                    j += 1;
                } else {
                    break;
                }
            }
            let end = chars.get(j).map_or(text.len(), |&(b, _)| b);
            let t = &text[start..end];
            out.push(Token {
                text: t.to_string(),
                low: t.to_lowercase().replace('’', "'"),
                span: Span { start: base + start, end: base + end },
                word: true,
            });
            i = j;
        } else {
            let end = chars.get(i + 1).map_or(text.len(), |&(b, _)| b);
            let t = &text[start..end];
            out.push(Token {
                text: t.to_string(),
                low: t.to_string(),
                span: Span { start: base + start, end: base + end },
                word: false,
            });
            i += 1;
        }
    }
    out
}

/// Abbreviations after which a period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mr", "mrs", "ms", "dr",
    "gen", "col", "lt", "maj", "capt", "sgt", "st", "no", "vs", "approx", "u.s", "brig",
];

/// A sentence: its span and tokens.
#[derive(Debug, Clone)]
pub struct Sentence {
    pub span: Span,
    pub tokens: Vec<Token>,
    /// Index of the paragraph (blank-line separated block) it belongs to.
    pub paragraph: usize,
}

/// Cuts `text[base..]` into sentences. A paragraph break or a line ending in ':' always
/// ends a sentence; '.', '!' and '?' end one unless they follow an abbreviation or a
/// single capital letter ("U.S.").
pub fn sentences(text: &str, base: usize) -> Vec<Sentence> {
    let mut out = Vec::new();
    for (pi, para) in split_paragraphs(text).into_iter().enumerate() {
        let (pstart, ptext) = para;
        let tokens = tokenize(ptext, base + pstart);
        let mut cur: Vec<Token> = Vec::new();
        let mut skip = false;
        for (k, t) in tokens.iter().enumerate() {
            if std::mem::take(&mut skip) {
                continue;
            }
            cur.push(t.clone());
            let terminal = !t.word && ".!?".contains(t.text.as_str());
            if !terminal {
                continue;
            }
            let prev = k.checked_sub(1).map(|p| &tokens[p]);
            let abbrev = t.text == "."
                && prev.is_some_and(|p| {
                    p.word && (ABBREVIATIONS.contains(&p.low.as_str()) || (p.text.len() == 1 && p.capitalised()))
                });
            let next = tokens.get(k + 1);
            // A closing quote belongs to the sentence it closes.
            if next.is_some_and(|n| !n.word && "\"”".contains(n.text.as_str())) {
                cur.push(tokens[k + 1].clone());
                flush(&mut cur, &mut out, pi);
                skip = true;
                continue;
            }
            let lower_next = next.is_some_and(|n| n.word && n.text.chars().next().is_some_and(char::is_lowercase));
            if abbrev || lower_next {
                continue;
            }
            flush(&mut cur, &mut out, pi);
        }
        flush(&mut cur, &mut out, pi);
    }
    out
}

fn flush(cur: &mut Vec<Token>, out: &mut Vec<Sentence>, paragraph: usize) {
    if cur.iter().any(|t| t.word) {
        let span = cur[0].span.join(cur[cur.len() - 1].span);
        out.push(Sentence { span, tokens: std::mem::take(cur), paragraph });
    }
    cur.clear();
}

/// Paragraphs: blocks separated by blank lines, as (byte offset, text).
fn split_paragraphs(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            let mut j = i + 1;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t' || bytes[j] == b'\r') {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'\n' {
                out.push((start, &text[start..i]));
                start = j + 1;
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    out.push((start, &text[start..]));
    out.into_iter().filter(|(_, p)| !p.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_hyphens_and_digit_groups() {
        let t: Vec<String> = tokenize("al-Shuhayl, 2,000 rounds; 24,25", 0).into_iter().map(|t| t.text).collect();
        assert_eq!(t, ["al-Shuhayl", ",", "2,000", "rounds", ";", "24", ",", "25"]);
    }

    #[test]
    fn sentences_skip_abbreviations() {
        let s = sentences("On Aug. 12, jets struck. The U.S. said so.\n\nNext one", 0);
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].paragraph, 0);
        assert_eq!(s[2].paragraph, 1);
    }
}
