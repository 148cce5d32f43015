//! The cursor of a subscription to an external TAXII 2.1 collection, and how one page moves it,
//! written so that a server that misbehaves cannot make the poller loop or skip:
//!
//! - **Inclusive `added_after`** (the server returns objects added exactly at the cursor again):
//!   the cursor remembers the versions it took at its position ([`Cursor::seen`]) and drops
//!   them when they come back; a page of nothing but those ends the round.
//! - **A missing `next`** while `more` is true: the round goes on from `X-TAXII-Date-Added-Last`
//!   when that moved the cursor, and ends otherwise.
//! - **Repeating pages** (the same page for every `next`): a page that brings nothing new and
//!   does not move the cursor ends the round.
//!
//! Whatever slips through is still harmless: the ingest pipeline treats a version it already
//! holds as a no-op.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a subscription is: the `added_after` to ask from, and the versions already taken at
/// exactly that position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_after: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub seen: BTreeSet<String>,
}

/// One page as the server answered it.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub objects: Vec<Value>,
    pub more: bool,
    pub next: Option<String>,
    /// `X-TAXII-Date-Added-Last`.
    pub date_added_last: Option<String>,
}

struct Paged {
    more: bool,
    next: Option<String>,
    objects_keys: Vec<String>,
    date_added_last: Option<String>,
}

/// What to ask for next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The next page of this query.
    Next(String),
    /// A new query from the cursor's (moved) `added_after`.
    Requery,
    /// The round is over.
    Done,
}

/// An object's version key: `id@modified` (else `created`, else the id alone).
pub fn version_key(o: &Value) -> String {
    let id = o.get("id").and_then(Value::as_str).unwrap_or_default();
    match ["modified", "created"].iter().find_map(|k| o.get(*k).and_then(Value::as_str)) {
        Some(v) => format!("{id}@{v}"),
        None => id.to_string(),
    }
}

/// What one round has been handed so far (not persisted): the `next` tokens it followed and the
/// last page's versions, to tell a server that repeats itself from one that is still paging
/// through versions added at the cursor.
#[derive(Debug, Clone, Default)]
pub struct Round {
    nexts: BTreeSet<String>,
    previous: Vec<String>,
}

/// Takes one page: returns the objects not seen at the cursor, moves the cursor, and says what
/// to ask for next.
pub fn take(cursor: &mut Cursor, round: &mut Round, page: Page) -> (Vec<Value>, Step) {
    let keys: Vec<String> = page.objects.iter().map(version_key).collect();
    let fresh: Vec<Value> =
        page.objects.into_iter().zip(&keys).filter(|(_, k)| !cursor.seen.contains(*k)).map(|(o, _)| o).collect();
    let page =
        Paged { more: page.more, next: page.next, objects_keys: keys.clone(), date_added_last: page.date_added_last };
    let moved = match page.date_added_last {
        Some(last)
            if cursor.added_after.as_deref() != Some(last.as_str()) && later(&last, cursor.added_after.as_deref()) =>
        {
            cursor.added_after = Some(last);
            // The page's versions are a superset of those added exactly at the new position.
            cursor.seen = keys.into_iter().collect();
            true
        }
        _ => {
            cursor.seen.extend(keys);
            false
        }
    };
    // A page with nothing new that moved nothing is only worth following when it is not a
    // repeat: an inclusive server may hold more versions at the cursor than a page.
    let repeat = page.objects_keys == round.previous || page.next.as_ref().is_none_or(|n| round.nexts.contains(n));
    round.previous = page.objects_keys;
    let step = if !page.more || (fresh.is_empty() && !moved && repeat) {
        Step::Done
    } else if let Some(next) = page.next {
        round.nexts.insert(next.clone());
        Step::Next(next)
    } else if moved {
        Step::Requery
    } else {
        Step::Done
    };
    (fresh, step)
}

/// Whether timestamp `a` is after `b` (a missing `b` is the beginning). An unparsable `a`
/// never moves a cursor.
fn later(a: &str, b: Option<&str>) -> bool {
    let Ok(a) = tandem_model::Timestamp::parse(a) else { return false };
    match b.map(tandem_model::Timestamp::parse) {
        None => true,
        Some(Ok(b)) => a > b,
        Some(Err(_)) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(n: u32) -> Value {
        json!({"id": format!("indicator--00000000-0000-4000-8000-{n:012}"), "modified": "2025-01-01T00:00:00.000Z"})
    }

    fn page(objects: &[u32], more: bool, next: Option<&str>, last: Option<&str>) -> Page {
        Page {
            objects: objects.iter().map(|n| obj(*n)).collect(),
            more,
            next: next.map(str::to_string),
            date_added_last: last.map(str::to_string),
        }
    }

    const T1: &str = "2025-01-01T00:00:01.000000Z";
    const T2: &str = "2025-01-01T00:00:02.000000Z";

    #[test]
    fn inclusive_added_after_returns_nothing_twice_and_ends() {
        let mut c = Cursor::default();
        let mut r = Round::default();
        let (got, step) = take(&mut c, &mut r, page(&[1, 2], false, None, Some(T1)));
        assert_eq!((got.len(), step), (2, Step::Done));
        // The next poll: the server repeats what was added at T1, plus one new object.
        let (got, step) = take(&mut c, &mut r, page(&[2, 3], false, None, Some(T2)));
        assert_eq!(got, vec![obj(3)]);
        assert_eq!(step, Step::Done);
        // Nothing new: the repeated object at the cursor is not taken again.
        let (got, step) = take(&mut c, &mut r, page(&[3], true, None, Some(T2)));
        assert!(got.is_empty());
        assert_eq!(step, Step::Done, "a page with nothing new that moves nothing ends the round");
    }

    #[test]
    fn missing_next_requeries_only_when_the_cursor_moved() {
        let mut c = Cursor::default();
        let mut r = Round::default();
        let (_, step) = take(&mut c, &mut r, page(&[1], true, None, Some(T1)));
        assert_eq!(step, Step::Requery);
        let (_, step) = take(&mut c, &mut r, page(&[1], true, None, Some(T1)));
        assert_eq!(step, Step::Done);
        // No date header at all: a page without next cannot be followed.
        let mut c = Cursor::default();
        let mut r = Round::default();
        let (got, step) = take(&mut c, &mut r, page(&[5], true, None, None));
        assert_eq!((got.len(), step), (1, Step::Done));
    }

    #[test]
    fn more_versions_at_the_cursor_than_a_page_are_paged_through() {
        // An inclusive server holding 1..=4 at T1 (already taken) and 5 at T2, two per page.
        let mut c = Cursor::default();
        let mut r = Round::default();
        for p in [page(&[1, 2], true, Some("a"), Some(T1)), page(&[3, 4], false, None, Some(T1))] {
            take(&mut c, &mut r, p);
        }
        let mut r = Round::default();
        let (got, step) = take(&mut c, &mut r, page(&[1, 2], true, Some("b"), Some(T1)));
        assert!(got.is_empty());
        assert_eq!(step, Step::Next("b".into()), "seen versions are not a repeat");
        let (got, _) = take(&mut c, &mut r, page(&[3, 4], true, Some("c"), Some(T1)));
        assert!(got.is_empty());
        let (got, step) = take(&mut c, &mut r, page(&[5], false, None, Some(T2)));
        assert_eq!((got, step), (vec![obj(5)], Step::Done));
    }

    #[test]
    fn a_repeating_page_ends_the_round() {
        let mut c = Cursor::default();
        let mut r = Round::default();
        let (_, step) = take(&mut c, &mut r, page(&[1, 2], true, Some("p2"), None));
        assert_eq!(step, Step::Next("p2".into()));
        // The server hands the same page for every next token.
        let (got, step) = take(&mut c, &mut r, page(&[1, 2], true, Some("p3"), None));
        assert!(got.is_empty());
        assert_eq!(step, Step::Done);
        // A cursor never moves backwards.
        let mut c = Cursor { added_after: Some(T2.into()), seen: Default::default() };
        let mut r = Round::default();
        take(&mut c, &mut r, page(&[9], false, None, Some(T1)));
        assert_eq!(c.added_after.as_deref(), Some(T2));
    }
}
