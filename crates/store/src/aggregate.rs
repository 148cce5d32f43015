//! Counts and group-bys over what a viewer receives, for the analytics built on the store.
//!
//! An aggregate is computed over the viewer's own copies, exactly as [`ObjectStore::list`]
//! releases them: only released versions, the latest version of each claim, a contested id
//! settled as `list` settles it, and a property redacted for the viewer counts as missing (a
//! count grouped by a withheld property must not reveal its values). The generic implementation
//! here pages through `list` and computes in Rust, so every backend has it and none can diverge
//! from the chokepoint; a backend that overrides [`ObjectStore::aggregate`] for speed must return
//! the same results.

use std::collections::BTreeMap;

use serde_json::Value;
use tandem_model::Timestamp;

use crate::{ObjectQuery, ObjectStore, Record, Result, VersionFilter, ViewContext};

/// What to count and how to group it. Filters combine like [`ObjectQuery`]'s.
#[derive(Debug, Clone, Default)]
pub struct AggregateQuery {
    /// Object types to count (empty: every type).
    pub types: Vec<String>,
    /// Only versions added after this instant (exclusive), as `added_after` pages.
    pub added_after: Option<Timestamp>,
    /// Only versions added before this instant (exclusive).
    pub added_before: Option<Timestamp>,
    /// The properties to group by, each a path into the viewer's copy of the object; empty: one
    /// group holding every counted object.
    pub group_by: Vec<PropertyPath>,
}

/// A path into an object: keys of JSON objects, or indexes of JSON arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyPath(pub Vec<String>);

impl PropertyPath {
    /// Parses a dotted path (`type`, `extensions.<extension id>.admin1`, `external_references.0.source_name`).
    /// STIX property names and extension ids contain no dots.
    pub fn parse(path: &str) -> Self {
        PropertyPath(path.split('.').map(str::to_string).collect())
    }

    /// The value at this path in `object`, if present.
    pub fn get<'a>(&self, object: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(object, |v, step| match v {
            Value::Object(m) => m.get(step),
            Value::Array(a) => step.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
    }
}

/// One group's value for one `group_by` path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyPart {
    /// The property is absent from the viewer's copy (never set, or removed by redaction).
    Missing,
    /// A JSON string, as itself.
    Str(String),
    /// Any other JSON value, as its compact JSON text.
    Json(String),
}

impl KeyPart {
    fn of(value: Option<&Value>) -> Self {
        match value {
            None => KeyPart::Missing,
            Some(Value::String(s)) => KeyPart::Str(s.clone()),
            Some(other) => KeyPart::Json(other.to_string()),
        }
    }
}

/// A group: one part per `group_by` path, in order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey(pub Vec<KeyPart>);

/// What is counted in one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Objects (one per released claim, its latest version the viewer may see).
    pub objects: u64,
    /// How many of them the viewer receives redacted.
    pub redacted: u64,
}

/// The page size the generic implementation reads `list` with.
const PAGE: usize = 1000;

/// The listing an aggregate is computed over: the same filters, the latest version per claim.
pub fn listing(query: &AggregateQuery) -> ObjectQuery {
    ObjectQuery {
        added_after: query.added_after,
        types: query.types.clone(),
        versions: VersionFilter::Last,
        limit: PAGE,
        ..Default::default()
    }
}

/// Adds the records of one page to `groups`; `false` once past the query's window (pages are in
/// ascending `date_added`, so nothing later can count).
pub fn accumulate(query: &AggregateQuery, records: &[Record], groups: &mut BTreeMap<GroupKey, Counts>) -> bool {
    for r in records {
        if query.added_before.is_some_and(|b| r.date_added >= b) {
            return false;
        }
        let key = GroupKey(query.group_by.iter().map(|p| KeyPart::of(p.get(&r.object))).collect());
        let c = groups.entry(key).or_default();
        c.objects += 1;
        c.redacted += u64::from(r.redacted);
    }
    true
}

/// [`ObjectStore::aggregate`] over [`ObjectStore::list`], for any backend. Groups in key order.
pub fn over_list<S: ObjectStore + ?Sized>(
    store: &S,
    ctx: &ViewContext,
    collection: &str,
    query: &AggregateQuery,
) -> Result<Vec<(GroupKey, Counts)>> {
    let mut q = listing(query);
    let mut groups = BTreeMap::new();
    loop {
        let page = store.list(ctx, collection, &q)?;
        if !accumulate(query, &page.items, &mut groups) {
            break;
        }
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    Ok(groups.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_into_objects_and_arrays() {
        let o = json!({"type": "incident", "extensions": {"ext--1": {"admin1": "Nineveh"}}, "refs": [{"n": 2}]});
        let get = |p: &str| KeyPart::of(PropertyPath::parse(p).get(&o));
        assert_eq!(get("type"), KeyPart::Str("incident".into()));
        assert_eq!(get("extensions.ext--1.admin1"), KeyPart::Str("Nineveh".into()));
        assert_eq!(get("refs.0.n"), KeyPart::Json("2".into()));
        assert_eq!(get("refs.1.n"), KeyPart::Missing);
        assert_eq!(get("type.x"), KeyPart::Missing);
        assert_eq!(get("description"), KeyPart::Missing);
    }
}
