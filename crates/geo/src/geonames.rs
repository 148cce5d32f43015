//! GeoNames country extracts (`SY.txt`, `IQ.txt`: the tab-separated `geoname` table) read
//! into [`Place`]s, so an operator with the full file can add every village to the
//! built-in gazetteer ([`crate::Gazetteer::with_places`]).
//!
//! Pure: the caller reads the file. Only populated places (feature class `P`) in a
//! governorate the gazetteer knows are kept; alternate names are split into Arabic and
//! Latin ones as the embedded data is.

use crate::data::{Governorate, Place};

/// What [`parse`] read.
#[derive(Debug, Default)]
pub struct Parsed {
    pub places: Vec<Place>,
    /// Rows that were not populated places or not in a known governorate.
    pub skipped: usize,
    /// Malformed rows, as (line number, reason).
    pub errors: Vec<(usize, String)>,
}

fn has_arabic(s: &str) -> bool {
    s.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
}

/// Parses the rows of a GeoNames extract (19 tab-separated columns).
pub fn parse(tsv: &str, governorates: &[Governorate]) -> Parsed {
    let mut out = Parsed::default();
    for (n, line) in tsv.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 15 {
            out.errors.push((n + 1, format!("{} columns, expected 19", cols.len())));
            continue;
        }
        let (Ok(id), Ok(lat), Ok(lon)) = (cols[0].parse::<u64>(), cols[4].parse::<f64>(), cols[5].parse::<f64>())
        else {
            out.errors.push((n + 1, "id, latitude or longitude is not a number".into()));
            continue;
        };
        let (class, code, country, admin1) = (cols[6], cols[7], cols[8], cols[10]);
        let Some(gov) = governorates.iter().find(|g| g.country == country && g.geonames_admin1 == admin1) else {
            out.skipped += 1;
            continue;
        };
        if class != "P" {
            out.skipped += 1;
            continue;
        }
        let (mut arabic, mut latin) = (Vec::new(), Vec::new());
        for alt in cols[3].split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if has_arabic(alt) {
                arabic.push(alt.to_string());
            } else {
                latin.push(alt.to_string());
            }
        }
        out.places.push(Place {
            id,
            name: cols[1].to_string(),
            ascii_name: cols[2].to_string(),
            arabic_names: arabic,
            alternate_names: latin,
            lat,
            lon,
            country: country.to_string(),
            admin1: gov.iso.clone(),
            geonames_admin1: admin1.to_string(),
            population: cols[14].parse().unwrap_or(0),
            feature_class: Some(class.to_string()),
            feature_code: Some(code.to_string()),
        });
    }
    out
}
