//! The node's gazetteer: the built-in one plus the places an operator imported from a
//! GeoNames extract (`tandem place import`).
//!
//! Imported places live in the store's meta table (key [`PLACES_KEY`], with a version
//! under [`VERSION_KEY`]), so they travel with the store's backups and a running node picks
//! them up: each use reads only the small version key and rebuilds the gazetteer when it
//! changed. Nothing is imported from peers: a gazetteer is local reference data.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use serde_json::{Value, json};
use tandem_geo::{Gazetteer, Place};
use tandem_store::Store;

pub const PLACES_KEY: &str = "gazetteer.imported_places";
pub const VERSION_KEY: &str = "gazetteer.imported_version";
/// Format of the value under [`PLACES_KEY`].
const FORMAT_VERSION: u64 = 1;

/// Gazetteers built from imported places, by import version (one per imported set, so
/// nodes sharing a process with different imports do not evict each other every call).
fn cache() -> &'static Mutex<HashMap<String, Arc<Gazetteer>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Gazetteer>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The gazetteer for this store: the embedded one, plus imported places if any.
/// Blocking (reads the store).
pub fn current(store: &dyn Store) -> anyhow::Result<Arc<Gazetteer>> {
    let Some(version) = store.get_meta(VERSION_KEY)?.and_then(|v| v.as_str().map(str::to_string)) else {
        return Ok(embedded());
    };
    if let Some(g) = cache().lock().map_err(|_| anyhow::anyhow!("gazetteer cache poisoned"))?.get(&version) {
        return Ok(Arc::clone(g));
    }
    let value = store.get_meta(PLACES_KEY)?.context("imported gazetteer version without places")?;
    if value["format_version"].as_u64() != Some(FORMAT_VERSION) {
        anyhow::bail!("imported gazetteer format_version {} unsupported", value["format_version"]);
    }
    let places: Vec<Place> = serde_json::from_value(value["places"].clone()).context("imported gazetteer places")?;
    let g = Arc::new(Gazetteer::embedded().with_places(places));
    if let Ok(mut c) = cache().lock() {
        c.insert(version, Arc::clone(&g));
    }
    Ok(g)
}

fn embedded() -> Arc<Gazetteer> {
    static EMBEDDED: OnceLock<Arc<Gazetteer>> = OnceLock::new();
    Arc::clone(EMBEDDED.get_or_init(|| Arc::new(Gazetteer::embedded().with_places(Vec::new()))))
}

/// What an import did.
#[derive(Debug)]
pub struct Imported {
    pub places: usize,
    pub skipped: usize,
    pub errors: Vec<(usize, String)>,
}

/// Reads a GeoNames extract (`SY.txt` format) and stores its populated places, replacing
/// any earlier import.
pub fn import(store: &dyn Store, tsv: &str, source: &str) -> anyhow::Result<Imported> {
    let parsed = tandem_geo::geonames::parse(tsv, Gazetteer::embedded().governorates());
    if parsed.places.is_empty() {
        anyhow::bail!(
            "no populated places of Syria or Iraq in {source} ({} rows skipped, {} malformed)",
            parsed.skipped,
            parsed.errors.len()
        );
    }
    let value = json!({ "format_version": FORMAT_VERSION, "source": source, "places": parsed.places });
    store.put_meta(PLACES_KEY, Some(&value))?;
    store.put_meta(VERSION_KEY, Some(&Value::String(uuid::Uuid::new_v4().to_string())))?;
    Ok(Imported { places: parsed.places.len(), skipped: parsed.skipped, errors: parsed.errors })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_geo::Precision;

    /// A few rows in the GeoNames `geoname` format, written for this test (tab-separated:
    /// id, name, ascii name, alternate names, lat, lon, class, code, country, cc2, admin1,
    /// admin2, admin3, admin4, population, elevation, dem, timezone, modified).
    pub const SAMPLE: &str = "990000001\tAl Badrūsīyah\tAl Badrusiyah\tal-Badrousiya,Badrousiya,Al-Badrusiya,البدروسية\t35.8021\t35.9312\tP\tPPL\tSY\t\t02\t\t\t\t850\t\t210\tAsia/Damascus\t2024-01-01
990000002\tWadi Hauran Wells\tWadi Hauran Wells\t\t33.1\t40.2\tH\tWLL\tIQ\t\t01\t\t\t\t0\t\t300\tAsia/Baghdad\t2024-01-01
not a row
";

    #[test]
    fn an_imported_village_resolves_after_import_and_only_its_governorate_before() {
        let dir = tempfile::tempdir().unwrap();
        let store = tandem_store::sqlite::SqliteStore::open(dir.path()).unwrap();
        let before = current(&store).unwrap().resolve("al-Badrousiya, northern Latakia").unwrap();
        assert_eq!((before.admin1.as_deref(), before.precision), (Some("SY-LA"), Precision::Admin1));

        let done = import(&store, SAMPLE, "test").unwrap();
        assert_eq!((done.places, done.skipped, done.errors.len()), (1, 1, 1));
        let g = current(&store).unwrap();
        let after = g.resolve("al-Badrousiya, northern Latakia").unwrap();
        assert_eq!((after.admin1.as_deref(), after.precision), (Some("SY-LA"), Precision::Town));
        assert_eq!(after.place.map(|p| p.id), Some(990000001));
        assert_eq!(g.exact_place("البدروسية", None).map(|p| p.id), Some(990000001), "Arabic names are indexed");

        // The extractor through the node's gazetteer places the village itself.
        let text = "Published 2025-06-13\n\nSecurity forces arrested two men in the village of al-Badrousiya in the northern Latakia countryside on Tuesday.";
        let x = tandem_extract::extract(&g, text, None, tandem_model::incident::Date::parse("2025-06-13").unwrap());
        assert_eq!(x.drafts.len(), 1);
        assert_eq!((x.drafts[0].precision, x.drafts[0].geonames_id), (Precision::Town, Some(990000001)));
        let x = tandem_extract::extract(
            Gazetteer::embedded(),
            text,
            None,
            tandem_model::incident::Date::parse("2025-06-13").unwrap(),
        );
        assert_eq!((x.drafts[0].admin1.as_str(), x.drafts[0].precision), ("SY-LA", Precision::Admin1));
    }
}
