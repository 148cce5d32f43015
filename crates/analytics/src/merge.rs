//! Incidents merged by correlation count once.
//!
//! `duplicate-of` relationships the viewer may see join incidents into groups (transitively);
//! each group is represented by one incident: the one with the narrowest time window (the most
//! precise report), ties broken by the smallest id, so the choice depends only on what the
//! viewer sees. A relationship whose ends the viewer cannot both see merges nothing.

use std::collections::{HashMap, HashSet};

use crate::dataset::{Dataset, Incident};

/// The representatives of the merged groups, in dataset order.
///
/// Only the incidents a visible relationship names can be merged, so only they are indexed and
/// joined: the cost is one pass over the incidents plus work in the number of relationships
/// (a million incidents with a handful of merges no longer build million-entry maps).
pub fn representatives(ds: &Dataset) -> Vec<&Incident> {
    if ds.duplicates.is_empty() {
        return ds.incidents.iter().collect();
    }
    let named: HashSet<&str> = ds.duplicates.iter().flat_map(|(s, t)| [s.as_str(), t.as_str()]).collect();
    // id -> its slot among the participants; a later incident under the same id takes the id
    // (the earlier stays a group of its own, as every unnamed incident does).
    let mut slot: HashMap<&str, usize> = HashMap::with_capacity(named.len());
    let mut members: Vec<usize> = Vec::with_capacity(named.len());
    for (i, inc) in ds.incidents.iter().enumerate() {
        if named.contains(inc.id.as_str()) {
            match slot.get(inc.id.as_str()) {
                Some(&k) => members[k] = i,
                None => {
                    slot.insert(inc.id.as_str(), members.len());
                    members.push(i);
                }
            }
        }
    }
    let mut parent: Vec<usize> = (0..members.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for (s, t) in &ds.duplicates {
        if let (Some(&a), Some(&b)) = (slot.get(s.as_str()), slot.get(t.as_str())) {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let better = |a: &Incident, b: &Incident| {
        let width = |i: &Incident| match (i.start, i.end) {
            (Some(s), Some(e)) => e - s,
            _ => i64::MAX,
        };
        (width(a), &a.id) < (width(b), &b.id)
    };
    // The best incident of each group, by the group's root slot.
    let mut best: HashMap<usize, usize> = HashMap::new();
    for (k, &m) in members.iter().enumerate() {
        let root = find(&mut parent, k);
        let e = best.entry(root).or_insert(m);
        if better(&ds.incidents[m], &ds.incidents[*e]) {
            *e = m;
        }
    }
    let chosen: HashSet<usize> = best.into_values().collect();
    let participant: HashSet<usize> = members.iter().copied().collect();
    ds.incidents
        .iter()
        .enumerate()
        .filter(|(i, _)| !participant.contains(i) || chosen.contains(i))
        .map(|(_, inc)| inc)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn inc(id: &str, start: i64, end: i64) -> Incident {
        Incident {
            id: id.into(),
            member: "USA".into(),
            event_type: None,
            sub_event_type: None,
            start: Some(start),
            end: Some(end),
            admin1: None,
            precision: None,
            point: None,
            locations: vec![],
            cells: vec![],
            actors: vec![],
            fatalities: Default::default(),
            arrests: 0,
            seizures: 0,
            sources: vec![],
            materiel: vec![],
        }
    }

    /// The rule as first written: every incident indexed and joined (the oracle).
    fn representatives_by_full_union_find(ds: &Dataset) -> Vec<&Incident> {
        let index: HashMap<&str, usize> =
            ds.incidents.iter().enumerate().map(|(i, inc)| (inc.id.as_str(), i)).collect();
        let mut parent: Vec<usize> = (0..ds.incidents.len()).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                x = p[x];
            }
            x
        }
        for (s, t) in &ds.duplicates {
            if let (Some(&a), Some(&b)) = (index.get(s.as_str()), index.get(t.as_str())) {
                let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                if ra != rb {
                    parent[ra.max(rb)] = ra.min(rb);
                }
            }
        }
        let width = |i: &Incident| match (i.start, i.end) {
            (Some(s), Some(e)) => e - s,
            _ => i64::MAX,
        };
        let mut best: HashMap<usize, usize> = HashMap::new();
        for i in 0..ds.incidents.len() {
            let root = find(&mut parent, i);
            let e = best.entry(root).or_insert(i);
            let (a, b) = (&ds.incidents[i], &ds.incidents[*e]);
            if (width(a), &a.id) < (width(b), &b.id) {
                *e = i;
            }
        }
        let mut keep: Vec<usize> = best.into_values().collect();
        keep.sort_unstable();
        keep.into_iter().map(|i| &ds.incidents[i]).collect()
    }

    proptest::proptest! {
        /// Same groups and representatives as joining every incident, over small id spaces
        /// (so ids repeat, relationships chain, cycle and name invisible incidents).
        #[test]
        fn indexing_only_the_named_incidents_changes_nothing(
            incidents in proptest::collection::vec((0u8..12, 0i64..5, 0i64..4), 0..30),
            duplicates in proptest::collection::vec((0u8..14, 0u8..14), 0..12),
        ) {
            let ds = Dataset {
                incidents: incidents.iter().map(|(id, s, w)| inc(&format!("i{id}"), *s, s + w)).collect(),
                duplicates: duplicates.iter().map(|(a, b)| (format!("i{a}"), format!("i{b}"))).collect(),
                ..Default::default()
            };
            let fast: Vec<*const Incident> = representatives(&ds).into_iter().map(|i| i as *const _).collect();
            let full: Vec<*const Incident> =
                representatives_by_full_union_find(&ds).into_iter().map(|i| i as *const _).collect();
            proptest::prop_assert_eq!(fast, full);
        }
    }

    #[test]
    fn duplicates_merge_transitively_and_keep_the_most_precise() {
        let ds = Dataset {
            incidents: vec![inc("a", 0, 30), inc("b", 3, 3), inc("c", 2, 4), inc("d", 5, 5)],
            duplicates: vec![
                ("a".into(), "b".into()),
                ("c".into(), "b".into()),
                ("x".into(), "d".into()), // x is not visible: merges nothing
            ],
            ..Default::default()
        };
        let ids: Vec<&str> = representatives(&ds).iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, vec!["b", "d"]);
    }
}
