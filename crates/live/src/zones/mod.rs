//! Watch zones: what an analyst watches (a drawn polygon, a radius around a point or a
//! gazetteer place, a governorate, a named area) with filters, owned by the user who created it
//! and kept in the store's meta keys (`live/zone/<id>`), so every process on the data directory
//! (`tandem watch`, the node) sees the same zones. Its owner may change a zone (rename, move,
//! resize, new corners: [`ZonePatch`], [`update`]) by compare-and-set of the stored record.

pub mod geometry;
pub mod index;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_geo::Gazetteer;
use tandem_store::{MetaStore, StoreError};

pub use geometry::{BBox, Geometry, IncidentPlace, Match};
pub use index::ZoneIndex;

/// The meta-key prefix of zones.
pub const PREFIX: &str = "live/zone/";

/// What narrows a zone's alerts besides its geometry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneFilters {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_types: Vec<String>,
    /// Intrusion-set ids (or actor names) of cells.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_fatalities: Option<u32>,
    /// The weakest Admiralty grading accepted, e.g. `C3`: a source at least as reliable and as
    /// credible must report the incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_grading: Option<String>,
}

/// A stored zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    /// Format version of the stored record.
    pub format: u32,
    pub id: String,
    pub name: String,
    pub owner: String,
    pub member: String,
    /// The owner's clearance when the zone was created: alerts are decided in that view.
    pub clearance: tandem_policy::Classification,
    pub geometry: Geometry,
    /// The gazetteer place a radius was drawn around, for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default)]
    pub filters: ZoneFilters,
    pub created: tandem_model::Timestamp,
    /// Where its alerts are POSTed, signed (see [`crate::webhooks`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<crate::webhooks::Webhook>,
    /// Also alert when a matching incident repeats a recent one nearby (see
    /// [`crate::near_repeat`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near_repeat: Option<crate::near_repeat::NearRepeat>,
}

impl Zone {
    /// The zone as listings show it: the webhook's secret is never served back.
    pub fn public(&self) -> Zone {
        let mut z = self.clone();
        if let Some(w) = &mut z.webhook {
            w.secret = "***".into();
        }
        z
    }
}

/// What a client sends to create a zone: exactly one of `geometry` (a GeoJSON Polygon),
/// `point` + `radius_km`, `place` + `radius_km`, `governorate`, `area`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    pub name: String,
    #[serde(default)]
    pub geometry: Option<Value>,
    /// `[lat, lon]`.
    #[serde(default)]
    pub point: Option<[f64; 2]>,
    #[serde(default)]
    pub place: Option<String>,
    #[serde(default)]
    pub radius_km: Option<f64>,
    #[serde(default)]
    pub governorate: Option<String>,
    #[serde(default)]
    pub area: Option<String>,
    #[serde(default)]
    pub filters: ZoneFilters,
    #[serde(default)]
    pub webhook: Option<crate::webhooks::Webhook>,
    /// `{}` takes the defaults (1 km, 48 hours).
    #[serde(default)]
    pub near_repeat: Option<crate::near_repeat::NearRepeat>,
}

fn valid_point(lat: f64, lon: f64) -> bool {
    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
}

impl ZoneSpec {
    /// Resolves the spec into a geometry (and the place name it was drawn around), or says
    /// what is wrong with it.
    pub fn resolve(&self) -> Result<(Geometry, Option<String>), String> {
        let g = Gazetteer::embedded();
        let given = [
            self.geometry.is_some(),
            self.point.is_some(),
            self.place.is_some(),
            self.governorate.is_some(),
            self.area.is_some(),
        ];
        if given.iter().filter(|b| **b).count() != 1 {
            return Err("give exactly one of geometry, point, place, governorate, area".into());
        }
        if self.name.trim().is_empty() {
            return Err("name must not be empty".into());
        }
        let radius = || match self.radius_km {
            Some(r) if r.is_finite() && r > 0.0 && r <= 1000.0 => Ok(r),
            _ => Err("radius_km must be a number in (0, 1000]".to_string()),
        };
        if let Some(geo) = &self.geometry {
            if geo.get("type").and_then(Value::as_str) != Some("Polygon") {
                return Err("geometry must be a GeoJSON Polygon".into());
            }
            let outer: Vec<[f64; 2]> = geo
                .get("coordinates")
                .and_then(|c| c.get(0))
                .and_then(|r| serde_json::from_value(r.clone()).ok())
                .ok_or("geometry.coordinates must hold an outer ring of [lon, lat] positions")?;
            let mut ring = outer;
            if ring.len() > 1 && ring.first() == ring.last() {
                ring.pop();
            }
            if ring.len() < 3 || ring.len() > 10_000 || !ring.iter().all(|[lon, lat]| valid_point(*lat, *lon)) {
                return Err("the ring needs 3 to 10,000 valid [lon, lat] positions".into());
            }
            return Ok((Geometry::Polygon { ring }, None));
        }
        if let Some([lat, lon]) = self.point {
            if !valid_point(lat, lon) {
                return Err("point must be [lat, lon] in range".into());
            }
            return Ok((Geometry::Radius { lat, lon, radius_km: radius()? }, None));
        }
        if let Some(name) = &self.place {
            let p = g.exact_place(name, None).ok_or_else(|| format!("no gazetteer place named {name:?}"))?;
            return Ok((Geometry::Radius { lat: p.lat, lon: p.lon, radius_km: radius()? }, Some(p.name.clone())));
        }
        if let Some(iso) = &self.governorate {
            let gov = g.governorate(&iso.to_ascii_uppercase()).ok_or_else(|| format!("no governorate {iso:?}"))?;
            return Ok((Geometry::Governorate { iso: gov.iso.clone() }, None));
        }
        let id = self.area.as_deref().unwrap_or_default();
        let a = g
            .area(id)
            .or_else(|| g.areas().iter().find(|a| a.all_names().any(|n| n.eq_ignore_ascii_case(id))))
            .ok_or_else(|| format!("no named area {id:?}"))?;
        Ok((Geometry::Area { id: a.id.clone(), ring: a.polygon.clone(), admin1: a.admin1.clone() }, None))
    }
}

/// What a client sends to change its zone: every field optional. A geometry in any of the forms
/// of [`ZoneSpec`] replaces the zone's (a radius zone moved: `point` + `radius_km`; a polygon's
/// corners moved: `geometry`); `radius_km` alone resizes a radius zone; `name` renames it;
/// `filters` replaces its filters. Webhook and near-repeat rule stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZonePatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub geometry: Option<Value>,
    #[serde(default)]
    pub point: Option<[f64; 2]>,
    #[serde(default)]
    pub place: Option<String>,
    #[serde(default)]
    pub radius_km: Option<f64>,
    #[serde(default)]
    pub governorate: Option<String>,
    #[serde(default)]
    pub area: Option<String>,
    #[serde(default)]
    pub filters: Option<ZoneFilters>,
}

impl ZonePatch {
    /// `zone` with the patch applied (id, owner, member, clearance and creation time kept), or
    /// what is wrong with the patch.
    pub fn apply(&self, zone: &Zone) -> Result<Zone, String> {
        let mut z = zone.clone();
        if let Some(name) = &self.name {
            if name.trim().is_empty() {
                return Err("name must not be empty".into());
            }
            z.name = name.trim().to_string();
        }
        let forms = [
            self.geometry.is_some(),
            self.point.is_some(),
            self.place.is_some(),
            self.governorate.is_some(),
            self.area.is_some(),
        ];
        if forms.iter().any(|b| *b) {
            let spec = ZoneSpec {
                name: z.name.clone(),
                geometry: self.geometry.clone(),
                point: self.point,
                place: self.place.clone(),
                radius_km: self.radius_km,
                governorate: self.governorate.clone(),
                area: self.area.clone(),
                ..ZoneSpec::default()
            };
            let (geometry, place) = spec.resolve()?;
            z.geometry = geometry;
            z.place = place;
        } else if let Some(r) = self.radius_km {
            let Geometry::Radius { radius_km, .. } = &mut z.geometry else {
                return Err("radius_km alone resizes a radius zone only".into());
            };
            if !(r.is_finite() && r > 0.0 && r <= 1000.0) {
                return Err("radius_km must be a number in (0, 1000]".into());
            }
            *radius_km = r;
        }
        if let Some(f) = &self.filters {
            z.filters = f.clone();
        }
        Ok(z)
    }
}

/// Why a zone was not updated.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No zone of this owner under the id (another user's zone counts as none).
    #[error("no such zone")]
    Missing,
    /// The patch does not apply.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies `patch` to `owner`'s zone `id`, by compare-and-set of the stored record (a change by
/// another process meanwhile is read again and the patch applied to it). Returns the new zone.
pub fn update(store: &dyn MetaStore, owner: &str, id: &str, patch: &ZonePatch) -> Result<Zone, UpdateError> {
    let key = format!("{PREFIX}{id}");
    // Bounded: each retry means another writer changed this very zone in between.
    for _ in 0..16 {
        let Some(current) = store.get_meta(&key)? else { return Err(UpdateError::Missing) };
        let zone: Zone =
            serde_json::from_value(current.clone()).map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))?;
        if zone.owner != owner {
            return Err(UpdateError::Missing);
        }
        let next = patch.apply(&zone).map_err(UpdateError::Invalid)?;
        let v = serde_json::to_value(&next).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if store.cas_meta(&key, Some(&current), Some(&v))? {
            bump_epoch(store)?;
            return Ok(next);
        }
    }
    Err(StoreError::Conflict(format!("{key} kept changing while it was updated")).into())
}

/// A new zone from `spec`, owned by `owner` (of `member`, decided at `clearance`).
pub fn new_zone(
    spec: ZoneSpec,
    owner: &str,
    member: &str,
    clearance: tandem_policy::Classification,
) -> Result<Zone, String> {
    let (geometry, place) = spec.resolve()?;
    if let Some(w) = &spec.webhook
        && (!(w.url.starts_with("http://") || w.url.starts_with("https://")) || w.secret.len() < 16)
    {
        return Err("webhook.url must be an http(s) URL and webhook.secret at least 16 characters".into());
    }
    if let Some(rule) = &spec.near_repeat {
        rule.check()?;
    }
    Ok(Zone {
        format: 1,
        id: format!("zone--{}", uuid::Uuid::new_v4()),
        name: spec.name.trim().to_string(),
        owner: owner.to_string(),
        member: member.to_string(),
        clearance,
        geometry,
        place,
        filters: spec.filters,
        created: tandem_model::Timestamp::now(),
        webhook: spec.webhook,
        near_repeat: spec.near_repeat,
    })
}

/// The extent of each governorate's gazetteer places (no governorate polygons exist offline).
pub fn governorate_box(iso: &str) -> Option<BBox> {
    static BOXES: OnceLock<HashMap<String, BBox>> = OnceLock::new();
    let boxes = BOXES.get_or_init(|| {
        let mut m: HashMap<String, BBox> = HashMap::new();
        for p in Gazetteer::embedded().places() {
            let b = m.entry(p.admin1.clone()).or_insert(BBox {
                min_lat: p.lat,
                min_lon: p.lon,
                max_lat: p.lat,
                max_lon: p.lon,
            });
            *b = BBox {
                min_lat: b.min_lat.min(p.lat),
                min_lon: b.min_lon.min(p.lon),
                max_lat: b.max_lat.max(p.lat),
                max_lon: b.max_lon.max(p.lon),
            };
        }
        m
    });
    boxes.get(&iso.to_ascii_uppercase()).copied()
}

/// Moves on whenever a zone is created, changed or removed (by any process): readers that cache zones
/// reload when it changed.
pub const EPOCH_KEY: &str = "live/zones-epoch";

fn bump_epoch(store: &dyn MetaStore) -> Result<(), StoreError> {
    loop {
        let cur = store.get_meta(EPOCH_KEY)?;
        let next = Value::from(cur.as_ref().and_then(Value::as_u64).unwrap_or(0) + 1);
        if store.cas_meta(EPOCH_KEY, cur.as_ref(), Some(&next))? {
            return Ok(());
        }
    }
}

/// Stores a new zone (compare-and-set of an absent key: an id is never reused).
pub fn create(store: &dyn MetaStore, zone: &Zone) -> Result<bool, StoreError> {
    let v = serde_json::to_value(zone).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let created = store.cas_meta(&format!("{PREFIX}{}", zone.id), None, Some(&v))?;
    if created {
        bump_epoch(store)?;
    }
    Ok(created)
}

/// Every stored zone (a record that does not parse is a `Corrupt` error, never skipped).
pub fn list(store: &dyn MetaStore) -> Result<Vec<Zone>, StoreError> {
    store
        .list_meta(PREFIX)?
        .into_iter()
        .map(|(k, v)| serde_json::from_value(v).map_err(|e| StoreError::Corrupt(format!("{k}: {e}"))))
        .collect()
}

/// Removes `owner`'s zone `id`; false when it has no such zone (another user's counts as none).
pub fn remove(store: &dyn MetaStore, owner: &str, id: &str) -> Result<bool, StoreError> {
    let key = format!("{PREFIX}{id}");
    let Some(current) = store.get_meta(&key)? else { return Ok(false) };
    if current.get("owner").and_then(Value::as_str) != Some(owner) {
        return Ok(false);
    }
    let removed = store.cas_meta(&key, Some(&current), None)?;
    if removed {
        bump_epoch(store)?;
    }
    Ok(removed)
}
