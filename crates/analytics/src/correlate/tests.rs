use super::*;
use crate::dataset::Fatalities;

fn inc(id: &str, member: &str, day: i64, point: Option<(f64, f64)>, precision: Precision) -> Incident {
    Incident {
        id: id.into(),
        member: member.into(),
        event_type: Some("Explosions/Remote violence".into()),
        sub_event_type: Some("Remote explosive/landmine/IED".into()),
        start: Some(day),
        end: Some(day),
        admin1: Some("SY-DY".into()),
        precision: Some(precision),
        point,
        locations: vec![],
        cells: vec![],
        actors: vec!["threat-actor--isis".into()],
        fatalities: Fatalities { best: 3, low: 2, high: 4 },
        arrests: 0,
        seizures: 0,
        sources: vec![],
        materiel: vec![],
    }
}

#[test]
fn hard_conditions_and_scores() {
    let mayadin = Some((35.02, 40.45));
    let near = Some((35.04, 40.47)); // about 2.8 km away
    let a = inc("a", "USA", 100, mayadin, Precision::Town);
    let b = inc("b", "IRQ", 100, near, Precision::Town);
    let c = score(&a, &b).expect("one event reported twice");
    assert!(c.score > 0.8, "{c:?}");
    assert_eq!(c.shared_actors, vec!["threat-actor--isis".to_string()]);
    assert!(score(&a, &Incident { member: "USA".into(), ..b.clone() }).is_none(), "same member");
    assert!(score(&a, &Incident { point: Some((36.0, 40.45)), ..b.clone() }).is_none(), "110 km apart");
    assert!(score(&a, &Incident { start: Some(103), end: Some(103), ..b.clone() }).is_none(), "3 days apart");
    assert!(score(&a, &Incident { start: Some(101), end: Some(101), ..b.clone() }).is_some(), "next day");
    // Two reports of the same month coincide, but say less than two of the same day.
    let month = |i: &Incident| Incident { start: Some(80), end: Some(109), ..i.clone() };
    let vague = score(&month(&a), &month(&b)).expect("overlapping months");
    assert!(vague.score < c.score - 0.1, "{vague:?} vs {c:?}");
    let protest = Incident { event_type: Some("Protests".into()), sub_event_type: None, ..b.clone() };
    assert!(score(&a, &protest).is_none(), "incompatible types");
    // Near-town precision widens the reach: 25 km apart exceeds 5 + 5 km, not 15 + 15 km.
    let far = Some((35.245, 40.45));
    assert!(score(&a, &Incident { point: far, ..b.clone() }).is_none());
    let loose = Incident { point: far, precision: Some(Precision::NearTown), ..a.clone() };
    assert!(score(&loose, &Incident { precision: Some(Precision::NearTown), ..b.clone() }).is_some());
    // Known only to its governorate: a candidate within the same governorate, scored lower.
    let admin = Incident { point: None, precision: Some(Precision::Admin), ..b.clone() };
    let ca = score(&a, &admin).expect("same governorate");
    assert!(ca.score < c.score);
    assert!(score(&a, &Incident { admin1: Some("IQ-NI".into()), ..admin }).is_none());
}

/// A deterministic generator (SplitMix64).
fn rng(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

pub(crate) fn random_incidents(n: usize, seed: u64) -> Vec<Incident> {
    let mut s = seed;
    let members = ["USA", "IRQ", "GBR"];
    let admins = ["SY-DY", "SY-HA", "IQ-AN"];
    let types = [
        ("Battles", "Armed clash"),
        ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
        ("Violence against civilians", "Attack"),
        ("Strategic developments", "Arrests"),
    ];
    (0..n)
        .map(|k| {
            let day = 20_000 + (rng(&mut s) * 120.0) as i64;
            let len = [0, 0, 0, 2, 6, 29][(rng(&mut s) * 6.0) as usize];
            let precision = [Precision::Town, Precision::NearTown, Precision::Region, Precision::Admin]
                [(rng(&mut s) * 4.0) as usize];
            let point = (precision != Precision::Admin).then(|| (34.0 + rng(&mut s) * 2.0, 39.0 + rng(&mut s) * 3.0));
            let (t, st) = types[(rng(&mut s) * 4.0) as usize];
            let best = (rng(&mut s) * 5.0) as u64;
            Incident {
                id: format!("incident--{k}"),
                member: members[(rng(&mut s) * 3.0) as usize].into(),
                event_type: Some(t.into()),
                sub_event_type: Some(st.into()),
                start: Some(day - len),
                end: Some(day),
                admin1: Some(admins[(rng(&mut s) * 3.0) as usize].into()),
                precision: Some(precision),
                point,
                locations: vec![],
                cells: vec![],
                actors: if rng(&mut s) < 0.5 { vec!["threat-actor--isis".into()] } else { vec![] },
                fatalities: Fatalities { best, low: best, high: best + 1 },
                arrests: 0,
                seizures: 0,
                sources: vec![],
                materiel: vec![],
            }
        })
        .collect()
}

#[test]
fn the_index_finds_exactly_the_pairs_a_full_scan_finds() {
    let incidents = random_incidents(1500, 7);
    let ds = Dataset { incidents: incidents.clone(), duplicates: vec![], ..Default::default() };
    let mut got: Vec<(String, String)> =
        candidates(&ds).into_iter().map(|c| if c.a < c.b { (c.a, c.b) } else { (c.b, c.a) }).collect();
    got.sort();
    let mut want = Vec::new();
    for (i, a) in incidents.iter().enumerate() {
        for b in &incidents[..i] {
            // The index leaves windows longer than MAX_WEEKS weeks out; none are generated here.
            if score(a, b).is_some_and(|c| c.score >= MIN_SCORE) {
                want.push(if a.id < b.id { (a.id.clone(), b.id.clone()) } else { (b.id.clone(), a.id.clone()) });
            }
        }
    }
    want.sort();
    assert!(want.len() > 20, "the scan finds some pairs: {}", want.len());
    assert_eq!(got, want);
}

#[test]
fn confirmed_merges_are_not_candidates_and_revocation_is_a_new_version() {
    let a = inc("incident--a", "USA", 100, Some((35.02, 40.45)), Precision::Town);
    let b = inc("incident--b", "IRQ", 100, Some((35.03, 40.45)), Precision::Town);
    let ds = Dataset { incidents: vec![a.clone(), b.clone()], duplicates: vec![], ..Default::default() };
    assert_eq!(candidates(&ds).len(), 1);
    let merged = Dataset { duplicates: vec![("incident--b".into(), "incident--a".into())], ..ds };
    assert!(candidates(&merged).is_empty());
    let now = "2025-12-01T00:00:00.000Z";
    let rel = duplicate_of("relationship--1", "incident--b", "incident--a", &["m".into()], now, Some(0.91));
    assert_eq!(rel["relationship_type"], "duplicate-of");
    assert_eq!(rel["confidence"], 91);
    let undo = revoked(&rel, "2025-12-02T00:00:00.000Z");
    assert_eq!((undo["revoked"].as_bool(), undo["id"].as_str()), (Some(true), Some("relationship--1")));
}
