//! Parsing the TAXII filter parameters (§3.4) into a store query.
//!
//! Malformed values are 400s; parameters an endpoint does not define are ignored, as the spec
//! allows. A parameter given twice is malformed (the spec says each MUST NOT repeat).

use tandem_model::Timestamp;
use tandem_store::cursor::Cursor;
use tandem_store::{ObjectQuery, VersionFilter};

use crate::TaxiiError;

/// Which parameters an endpoint honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Get objects and manifest: every filter.
    Objects,
    /// Get an object: no `match[id]`/`match[type]`.
    Object,
    /// Versions: no `match[id]`/`match[type]`/`match[version]` (always all versions).
    Versions,
    /// Delete: only `match[version]` (default: all versions) and `match[spec_version]`.
    Delete,
}

fn bad(msg: impl Into<String>) -> TaxiiError {
    TaxiiError::BadRequest(msg.into())
}

/// Parses the query pairs for `endpoint`. `limit` defaults to, and is capped at, `page_size_max`.
pub fn parse(pairs: &[(String, String)], endpoint: Endpoint, page_size_max: usize) -> Result<ObjectQuery, TaxiiError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut q = ObjectQuery { limit: page_size_max.max(1), ..ObjectQuery::default() };
    let paged = endpoint != Endpoint::Delete;
    let listing = endpoint == Endpoint::Objects;
    for (key, value) in pairs {
        let known = matches!(
            key.as_str(),
            "added_after" | "limit" | "next" | "match[id]" | "match[type]" | "match[version]" | "match[spec_version]"
        );
        if !known {
            continue;
        }
        if seen.contains(&key.as_str()) {
            return Err(bad(format!("{key} must not be given more than once")));
        }
        seen.push(key);
        match key.as_str() {
            "added_after" if paged => {
                let ts = Timestamp::parse(value).map_err(|e| bad(format!("added_after: {e}")))?;
                q.added_after = Some(ts);
            }
            "limit" if paged => {
                let n: usize = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad("limit must be a positive integer"))?;
                q.limit = n.min(q.limit);
            }
            "next" if paged => {
                q.cursor = Some(Cursor::decode(value).map_err(|_| bad("invalid next token"))?);
            }
            "match[id]" if listing => q.ids = list(key, value)?,
            "match[type]" if listing => q.types = list(key, value)?,
            "match[version]" if endpoint != Endpoint::Versions => q.versions = versions(value)?,
            "match[spec_version]" => {
                let specs = list(key, value)?;
                if let Some(s) = specs.iter().find(|s| !is_spec_version(s)) {
                    return Err(bad(format!("match[spec_version]: {s:?} is not a version such as 2.1")));
                }
                q.spec_versions = specs;
            }
            _ => {}
        }
    }
    // Versions lists every version; a DELETE without `match[version]` removes the object, every
    // version of it (deleting only the latest would bring the previous one back into view).
    if endpoint == Endpoint::Versions || endpoint == Endpoint::Delete && !seen.contains(&"match[version]") {
        q.versions = VersionFilter::All;
    }
    Ok(q)
}

fn list(key: &str, value: &str) -> Result<Vec<String>, TaxiiError> {
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    if items.iter().any(String::is_empty) {
        return Err(bad(format!("{key} has an empty value")));
    }
    Ok(items)
}

fn is_spec_version(s: &str) -> bool {
    s.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
    })
}

/// `match[version]`: `last`, `first`, `all` or exact timestamps, comma-separated and OR-ed.
pub fn versions(value: &str) -> Result<VersionFilter, TaxiiError> {
    let (mut last, mut first, mut all) = (false, false, false);
    let mut exact: Vec<Timestamp> = Vec::new();
    for item in list("match[version]", value)? {
        let dup = match item.as_str() {
            "last" => std::mem::replace(&mut last, true),
            "first" => std::mem::replace(&mut first, true),
            "all" => std::mem::replace(&mut all, true),
            ts => {
                let t = Timestamp::parse(ts).map_err(|e| bad(format!("match[version]: {e}")))?;
                if exact.contains(&t) {
                    true
                } else {
                    exact.push(t);
                    false
                }
            }
        };
        if dup {
            return Err(bad(format!("match[version]: {item} is repeated")));
        }
    }
    if all {
        if last || first || !exact.is_empty() {
            return Err(bad("match[version]: all cannot be combined with other values"));
        }
        return Ok(VersionFilter::All);
    }
    Ok(match (exact.is_empty(), last, first) {
        (true, true, false) => VersionFilter::Last,
        (true, false, true) => VersionFilter::First,
        _ => VersionFilter::Some { exact, last, first },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_filters() {
        let q = parse(
            &pairs(&[
                ("added_after", "2024-01-01T00:00:00.1Z"),
                ("limit", "5000"),
                ("match[id]", "indicator--a,indicator--b"),
                ("match[type]", "indicator"),
                ("match[version]", "first,2016-01-01T01:01:01.000Z,last"),
                ("match[spec_version]", "2.0,2.1"),
                ("unknown", "x"),
            ]),
            Endpoint::Objects,
            1000,
        )
        .unwrap();
        assert_eq!(q.limit, 1000);
        assert_eq!(q.ids.len(), 2);
        assert_eq!(q.spec_versions, vec!["2.0", "2.1"]);
        assert!(matches!(q.versions, VersionFilter::Some { ref exact, last: true, first: true } if exact.len() == 1));
        assert_eq!(q.added_after.unwrap().to_taxii(), "2024-01-01T00:00:00.100000Z");
    }

    #[test]
    fn rejects_malformed() {
        for (k, v) in [
            ("limit", "0"),
            ("limit", "-1"),
            ("limit", "abc"),
            ("added_after", "yesterday"),
            ("next", "!!"),
            ("match[version]", "latest"),
            ("match[version]", "all,last"),
            ("match[version]", "last,last"),
            ("match[version]", ""),
            ("match[spec_version]", "two"),
            ("match[type]", "indicator,,malware"),
        ] {
            assert!(parse(&pairs(&[(k, v)]), Endpoint::Objects, 1000).is_err(), "{k}={v}");
        }
        assert!(parse(&pairs(&[("limit", "1"), ("limit", "2")]), Endpoint::Objects, 1000).is_err());
    }

    #[test]
    fn endpoint_scopes() {
        let q = parse(&pairs(&[("match[id]", "x--1"), ("match[version]", "first")]), Endpoint::Object, 10).unwrap();
        assert!(q.ids.is_empty());
        assert_eq!(q.versions, VersionFilter::First);
        let q = parse(&pairs(&[("match[version]", "first")]), Endpoint::Versions, 10).unwrap();
        assert_eq!(q.versions, VersionFilter::All);
        assert_eq!(parse(&[], Endpoint::Objects, 10).unwrap().versions, VersionFilter::Last);
    }
}
