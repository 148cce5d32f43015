//! Incidents merged by correlation count once.
//!
//! `duplicate-of` relationships the viewer may see join incidents into groups (transitively);
//! each group is represented by one incident: the one with the narrowest time window (the most
//! precise report), ties broken by the smallest id, so the choice depends only on what the
//! viewer sees. A relationship whose ends the viewer cannot both see merges nothing.

use std::collections::HashMap;

use crate::dataset::{Dataset, Incident};

/// The representatives of the merged groups, in dataset order.
pub fn representatives(ds: &Dataset) -> Vec<&Incident> {
    let index: HashMap<&str, usize> = ds.incidents.iter().enumerate().map(|(i, inc)| (inc.id.as_str(), i)).collect();
    let mut parent: Vec<usize> = (0..ds.incidents.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
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
    if ds.duplicates.is_empty() {
        return ds.incidents.iter().collect();
    }
    let better = |a: &Incident, b: &Incident| {
        let width = |i: &Incident| match (i.start, i.end) {
            (Some(s), Some(e)) => e - s,
            _ => i64::MAX,
        };
        (width(a), &a.id) < (width(b), &b.id)
    };
    let mut best: HashMap<usize, usize> = HashMap::new();
    for i in 0..ds.incidents.len() {
        let root = find(&mut parent, i);
        let e = best.entry(root).or_insert(i);
        if better(&ds.incidents[i], &ds.incidents[*e]) {
            *e = i;
        }
    }
    let mut keep: Vec<usize> = best.into_values().collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| &ds.incidents[i]).collect()
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
