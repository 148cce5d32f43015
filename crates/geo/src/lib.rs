//! tandem-geo: an offline gazetteer for Syria and Iraq.
//!
//! Reports name places in many spellings and scripts ("Deir ez-Zor", "Dayr az Zawr",
//! "دير الزور") and often only vaguely ("western Idlib countryside"). This crate turns
//! such names into coordinates with an honest precision (ACLED `geo_precision`), and
//! points back into governorates, nearby towns and named areas.
//!
//! Architecture invariant: pure and offline. The data is GeoNames (CC BY 4.0) compiled
//! into the binary from `data/gazetteer.json` by `scripts/gazetteer/generate.py`; no
//! I/O, no network. A name the gazetteer does not know resolves to its governorate
//! with a coarser precision, never to a wrong town.
//!
//! ```
//! use tandem_geo::{Gazetteer, Precision, SearchOptions};
//!
//! let g = Gazetteer::embedded();
//! let hit = &g.search("Dayr az Zawr", &SearchOptions::default())[0];
//! assert_eq!(hit.place.admin1, "SY-DY");
//!
//! let r = g.resolve("al-Badrousiya, northern Latakia").unwrap();
//! assert_eq!((r.admin1.as_deref(), r.precision), (Some("SY-LA"), Precision::Admin1));
//! assert_eq!(r.precision.acled_geo_precision(), 3);
//!
//! let back = g.reverse(34.56, 38.27, 3);
//! assert_eq!(back.admin1.as_deref(), Some("SY-HI"));
//! assert!(back.areas.contains(&"badia".to_string()));
//! ```
//!
//! Modules: [`normalize`] folds spellings, `matcher` ranks names, `resolve` reads free
//! text, `reverse` maps points back, [`areas`] holds named regions, [`data`] the schema.

pub mod areas;
pub mod data;
pub mod geonames;
mod matcher;
pub mod normalize;
mod resolve;
mod reverse;

use std::sync::OnceLock;

pub use areas::NamedArea;
pub use data::{Governorate, LoadError, Place};
pub use matcher::{Candidate, MIN_SEARCH_SCORE, SearchOptions};
pub use normalize::{arabic_key, for_each_text_key, normalize_arabic, normalize_latin, normalize_name, text_keys};
pub use resolve::{Precision, Resolution};
pub use reverse::{Nearby, Reverse, haversine_km};

use matcher::NameIndex;

/// The gazetteer: places, governorates, named areas and a name index over them.
#[derive(Debug)]
pub struct Gazetteer {
    meta: data::Meta,
    places: Vec<Place>,
    governorates: Vec<Governorate>,
    areas: Vec<NamedArea>,
    index: NameIndex,
}

static EMBEDDED: OnceLock<Gazetteer> = OnceLock::new();
const EMBEDDED_JSON: &str = include_str!("../data/gazetteer.json");

impl Gazetteer {
    /// The gazetteer compiled into the binary, parsed on first use.
    pub fn embedded() -> &'static Gazetteer {
        EMBEDDED.get_or_init(|| {
            // The embedded file is checked by this crate's tests; failing here is a
            // build defect, not an input error.
            Gazetteer::from_json(EMBEDDED_JSON).expect("embedded gazetteer.json is valid")
        })
    }

    /// Loads a gazetteer from the JSON the generator writes.
    pub fn from_json(json: &str) -> Result<Gazetteer, LoadError> {
        let file = data::parse(json)?;
        let index = NameIndex::build(&file.places);
        Ok(Gazetteer {
            meta: file.meta,
            places: file.places,
            governorates: file.governorates,
            areas: file.areas,
            index,
        })
    }

    /// This gazetteer with `extra` places added (e.g. a GeoNames extract read by
    /// [`geonames::parse`]); a place whose GeoNames id is already present replaces it.
    pub fn with_places(&self, extra: Vec<Place>) -> Gazetteer {
        let ids: std::collections::HashSet<u64> = extra.iter().map(|p| p.id).collect();
        let mut places: Vec<Place> = self.places.iter().filter(|p| !ids.contains(&p.id)).cloned().collect();
        places.extend(extra);
        let index = NameIndex::build(&places);
        Gazetteer {
            meta: self.meta.clone(),
            places,
            governorates: self.governorates.clone(),
            areas: self.areas.clone(),
            index,
        }
    }

    /// Places whose names match `name`, best first (see [`SearchOptions`]).
    pub fn search(&self, name: &str, opts: &SearchOptions) -> Vec<Candidate<'_>> {
        self.index.search(&self.places, name, opts)
    }

    /// The most populous place one of whose names folds to exactly the key of `name`.
    pub fn exact_place(&self, name: &str, admin1: Option<&str>) -> Option<&Place> {
        self.index.exact(&self.places, name, admin1)
    }

    /// Reads a free-text location ("al-Dana, Idlib", "northern Deir ez-Zor").
    pub fn resolve(&self, text: &str) -> Option<Resolution> {
        resolve::resolve(self, text)
    }

    /// Governorate, `n` nearest places and containing named areas of a point.
    pub fn reverse(&self, lat: f64, lon: f64, n: usize) -> Reverse<'_> {
        let near = reverse::nearest(&self.places, lat, lon, n.max(reverse::VOTERS));
        let voted = reverse::vote(&near);
        let mut nearest = near;
        nearest.truncate(n);
        let (admin1, country, admin1_confidence) = match voted {
            Some((a, c, w)) => (Some(a), Some(c), w),
            None => (None, None, 0.0),
        };
        Reverse {
            admin1,
            country,
            admin1_confidence,
            nearest,
            areas: self.areas.iter().filter(|a| a.contains(lat, lon)).map(|a| a.id.clone()).collect(),
        }
    }

    pub fn governorates(&self) -> &[Governorate] {
        &self.governorates
    }

    /// Governorate by ISO 3166-2 code (case-insensitive).
    pub fn governorate(&self, iso: &str) -> Option<&Governorate> {
        self.governorates.iter().find(|g| g.iso.eq_ignore_ascii_case(iso))
    }

    pub fn areas(&self) -> &[NamedArea] {
        &self.areas
    }

    /// Named area by id ("badia", "jazira", ...).
    pub fn area(&self, id: &str) -> Option<&NamedArea> {
        self.areas.iter().find(|a| a.id == id)
    }

    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// Place by GeoNames id.
    pub fn place(&self, geonames_id: u64) -> Option<&Place> {
        self.places.iter().find(|p| p.id == geonames_id)
    }

    /// Data provenance and licence (GeoNames, CC BY 4.0).
    pub fn attribution(&self) -> &str {
        &self.meta.attribution
    }
}
