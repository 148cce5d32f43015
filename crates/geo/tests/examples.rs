//! The documented examples: spellings that must meet, resolutions of seed places,
//! reverse lookups of known points. Data-driven through small `check_*` helpers so
//! an API change touches the helpers, not every case.

use tandem_geo::{Gazetteer, Precision, SearchOptions};

fn top_id(name: &str) -> u64 {
    let g = Gazetteer::embedded();
    let c = g.search(name, &SearchOptions::default());
    c.first().unwrap_or_else(|| panic!("no candidate for {name}")).place.id
}

const DEIR_EZ_ZOR: u64 = 170794;
const TADMUR: u64 = 163808;
const AFRIN: u64 = 174186;
const DANA: u64 = 174259;
const DAMASCUS: u64 = 170654;
const SARAQIB: u64 = 164816;
const MAARRAT_MISRIN: u64 = 167605;

#[test]
fn spellings_meet() {
    for (names, id) in [
        (&["Deir al-Zour", "Dayr az Zawr", "دير الزور", "Deir ez-Zor", "Deir Ezzor", "Dair al-Zor"][..], DEIR_EZ_ZOR),
        (&["al-Dana", "ad-Dana", "Ed Dana", "الدانا"][..], DANA),
        (&["Tadmur", "Palmyra", "تدمر", "Tadmor"][..], TADMUR),
        (&["Afrin", "'Afrin", "عفرين", "ʿAfrīn"][..], AFRIN),
        (&["Saraqib", "Sarāqib", "سراقب"][..], SARAQIB),
    ] {
        for n in names {
            assert_eq!(top_id(n), id, "{n}");
        }
    }
}

#[test]
fn search_restricts_to_governorate() {
    let g = Gazetteer::embedded();
    let opts = SearchOptions { admin1: Some("SY-ID".into()), ..Default::default() };
    let c = g.search("Dana", &opts);
    assert!(c.iter().all(|c| c.place.admin1 == "SY-ID"));
    assert_eq!(c[0].place.id, DANA);
}

#[test]
fn search_prefers_near_places() {
    let g = Gazetteer::embedded();
    // Two Sinjārs: the Iraqi town (Nineveh) and a Syrian village (Idlib).
    let all = g.search("Sinjar", &SearchOptions::default());
    assert!(all.iter().filter(|c| c.score >= 1.0).count() >= 2);
    let near_idlib = g.search("Sinjar", &SearchOptions { near: Some((35.93, 36.63)), ..Default::default() });
    assert_eq!(near_idlib[0].place.admin1, "SY-ID");
    let near_mosul = g.search("Sinjar", &SearchOptions { near: Some((36.34, 43.13)), ..Default::default() });
    assert_eq!(near_mosul[0].place.admin1, "IQ-NI");
}

#[track_caller]
fn check_resolve(text: &str, place: Option<u64>, admin1: &str, precision: Precision) {
    let r = Gazetteer::embedded().resolve(text).unwrap_or_else(|| panic!("no resolution for {text:?}"));
    assert_eq!(r.place.as_ref().map(|p| p.id), place, "{text:?}: {r:?}");
    assert_eq!(r.admin1.as_deref(), Some(admin1), "{text:?}: {r:?}");
    assert_eq!(r.precision, precision, "{text:?}: {r:?}");
}

#[test]
fn resolves_seed_places() {
    use Precision::*;
    check_resolve("Mar Elias Greek Orthodox Church, Damascus", Some(DAMASCUS), "SY-DI", Town);
    check_resolve("al-Badrousiya, northern Latakia", None, "SY-LA", Admin1);
    check_resolve("al-Badrousiya, Latakia", None, "SY-LA", Admin1);
    check_resolve("Afrin, north-west Aleppo", Some(AFRIN), "SY-HL", Town);
    check_resolve("al-Dana, Idlib", Some(DANA), "SY-ID", Town);
    check_resolve("near Maarrat Misrin", Some(MAARRAT_MISRIN), "SY-ID", NearTown);
    check_resolve("northern Deir ez-Zor", None, "SY-DY", Admin1);
    check_resolve("Saraqib", Some(SARAQIB), "SY-ID", Town);
    check_resolve("western Idlib countryside", None, "SY-ID", Admin1);
    check_resolve("Rural Damascus governorate (southern Syria)", None, "SY-RD", Admin1);
    check_resolve("Damascus countryside", None, "SY-RD", Admin1);
    check_resolve("ريف دمشق", None, "SY-RD", Admin1);
    check_resolve("Deir ez-Zor", Some(DEIR_EZ_ZOR), "SY-DY", Town);
    check_resolve("10 km east of Saraqib", Some(SARAQIB), "SY-ID", NearTown);
    check_resolve("al-Hol camp, Hasakah", Some(173797), "SY-HA", NearTown);
    check_resolve("Tabqa dam, Raqqa", Some(172374), "SY-RA", NearTown);
    check_resolve("مدينة الرقة", Some(172955), "SY-RA", Town);
    check_resolve("ريف إدلب الغربي", None, "SY-ID", Admin1);
    check_resolve("قرب سراقب، ريف إدلب", Some(SARAQIB), "SY-ID", NearTown);
    check_resolve("Maarrat Misrin, Aleppo", None, "SY-HL", Admin1);
    check_resolve("Mosul, Nineveh", Some(99072), "IQ-NI", Town);
    check_resolve("Kobani", Some(172256), "SY-HL", Town);
    check_resolve("Airstrikes hit al-Qaim on the Syria-Iraq border", Some(92138), "IQ-AN", Town);
    check_resolve("On 12 March, clashes in Idlib", Some(169389), "SY-ID", Town);
    check_resolve(
        "On 12 March, an ISIS cell attacked a checkpoint near Maarrat Misrin in Idlib governorate",
        Some(MAARRAT_MISRIN),
        "SY-ID",
        NearTown,
    );
    check_resolve("Ras al-Ain, Hasakah", Some(165509), "SY-HA", Town);
}

#[test]
fn unknown_names_do_not_become_towns() {
    let g = Gazetteer::embedded();
    for text in ["al-Badrousiya", "Kharab Ashk", "somewhere", "Greek Orthodox Church"] {
        let r = g.resolve(text);
        assert!(r.as_ref().is_none_or(|r| r.place.is_none()), "{text:?}: {r:?}");
    }
}

#[test]
fn resolves_named_areas() {
    let g = Gazetteer::embedded();
    let r = g.resolve("ISIS cells in the Badia, Homs").unwrap();
    assert_eq!(r.area.as_deref(), Some("badia"));
    assert_eq!(r.admin1.as_deref(), Some("SY-HI"));
    assert_eq!(r.precision, Precision::Region);
    assert_eq!(g.resolve("Palmyra desert").unwrap().area.as_deref(), Some("badia"));
    assert_eq!(g.resolve("Jazira").unwrap().area.as_deref(), Some("jazira"));
}

#[test]
fn named_areas_contain_known_points() {
    let g = Gazetteer::embedded();
    let inside = |id: &str, lat: f64, lon: f64| g.area(id).unwrap().contains(lat, lon);
    // al-Qaim and Albu Kamal: border belt and Middle Euphrates.
    for (lat, lon) in [(34.37, 41.09), (34.45, 40.92)] {
        assert!(inside("border_belt", lat, lon) && inside("middle_euphrates", lat, lon));
    }
    assert!(inside("border_belt", 33.50, 38.63)); // al-Tanf
    assert!(inside("border_belt", 36.80, 42.10)); // Rabia
    assert!(inside("jazira", 35.95, 39.01)); // Raqqa, left bank
    assert!(inside("jazira", 37.05, 41.23)); // Qamishli
    assert!(!inside("jazira", 35.33, 40.14)); // Deir ez-Zor city, right bank
    assert!(!inside("jazira", 36.20, 37.16)); // Aleppo
    assert!(inside("eastern_ghouta", 33.57, 36.40)); // Douma
    assert!(!inside("badia", 33.51, 36.29)); // Damascus
    for a in g.areas() {
        let (lat, lon) = a.centroid();
        assert!(a.contains(lat, lon), "{} centroid outside", a.id);
    }
}

#[test]
fn precision_maps_to_acled() {
    assert_eq!(Precision::Town.acled_geo_precision(), 1);
    assert_eq!(Precision::NearTown.acled_geo_precision(), 2);
    assert_eq!(Precision::Admin1.acled_geo_precision(), 3);
}

#[track_caller]
fn check_reverse(lat: f64, lon: f64, admin1: &str, nearest: u64, areas: &[&str]) {
    let r = Gazetteer::embedded().reverse(lat, lon, 3);
    assert_eq!(r.admin1.as_deref(), Some(admin1), "{r:?}");
    assert_eq!(r.nearest[0].place.id, nearest, "{r:?}");
    assert_eq!(r.nearest.len(), 3);
    assert!(r.nearest.windows(2).all(|w| w[0].distance_km <= w[1].distance_km));
    assert_eq!(r.areas, areas, "{r:?}");
}

#[test]
fn reverse_known_points() {
    check_reverse(34.56, 38.27, "SY-HI", TADMUR, &["badia"]);
    check_reverse(35.34, 40.14, "SY-DY", DEIR_EZ_ZOR, &["middle_euphrates"]);
    check_reverse(36.51, 36.87, "SY-HL", AFRIN, &[]);
    check_reverse(33.51, 36.29, "SY-DI", DAMASCUS, &[]);
    check_reverse(36.50, 40.75, "SY-HA", 173811, &["jazira"]);
    let far = Gazetteer::embedded().reverse(48.85, 2.35, 1);
    assert_eq!(far.admin1, None);
}

#[test]
fn governorates_complete() {
    let g = Gazetteer::embedded();
    let sy = [
        "SY-DI", "SY-DR", "SY-DY", "SY-HA", "SY-HI", "SY-HL", "SY-HM", "SY-ID", "SY-LA", "SY-QU", "SY-RA", "SY-RD",
        "SY-SU", "SY-TA",
    ];
    let iq = [
        "IQ-AN", "IQ-AR", "IQ-BA", "IQ-BB", "IQ-BG", "IQ-DA", "IQ-DI", "IQ-DQ", "IQ-KA", "IQ-KI", "IQ-MA", "IQ-MU",
        "IQ-NA", "IQ-NI", "IQ-QA", "IQ-SD", "IQ-SU", "IQ-WA",
    ];
    assert_eq!(g.governorates().len(), sy.len() + iq.len());
    for iso in sy.iter().chain(&iq) {
        let gov = g.governorate(iso).unwrap_or_else(|| panic!("{iso}"));
        assert!(gov.place_count > 0 && !gov.name_ar.is_empty(), "{iso}");
    }
    // GeoNames admin1 -> ISO mapping, checked on seats.
    for (id, iso) in [
        (DAMASCUS, "SY-DI"),
        (170063, "SY-HL"),
        (169577, "SY-HI"),
        (170017, "SY-HM"),
        (173576, "SY-LA"),
        (172955, "SY-RA"),
        (173811, "SY-HA"),
        (170905, "SY-DR"),
        (172408, "SY-SU"),
        (163345, "SY-TA"),
        (173334, "SY-QU"),
        (169389, "SY-ID"),
        (98182, "IQ-BG"),
        (99072, "IQ-NI"),
        (95446, "IQ-AR"),
        (98717, "IQ-AN"),
        (99532, "IQ-BA"),
        (94787, "IQ-KI"),
        (98463, "IQ-SU"),
        (96994, "IQ-DA"),
        (91597, "IQ-SD"),
        (97990, "IQ-DI"),
        (98860, "IQ-NA"),
        (94824, "IQ-KA"),
    ] {
        assert_eq!(g.place(id).unwrap().admin1, iso, "{id}");
    }
}

#[test]
fn embedded_loads_and_serializes() {
    let g = tandem_geo::Gazetteer::from_json(include_str!("../data/gazetteer.json")).unwrap();
    assert!(g.places().len() > 400);
    assert!(g.attribution().contains("GeoNames"));
    let r = Gazetteer::embedded().resolve("al-Dana, Idlib").unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["precision"], "town");
    let c = Gazetteer::embedded().search("Afrin", &SearchOptions::default());
    assert!(serde_json::to_string(&c).unwrap().contains("Afr"));
}
