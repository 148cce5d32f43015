//! The typed form of Tandem's incident property extension.
//!
//! Producers build an [`IncidentExt`] and attach it with [`IncidentExt::attach`]; consumers read
//! it back with [`IncidentExt::from_object`]. The JSON form is what
//! `schemas/incident-extension.json` describes; [`super::validate_extensions`] checks the rules a
//! schema cannot state (end >= start, low <= best <= high, sub-type belongs to type).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::INCIDENT_EXTENSION_ID;
use super::time::TimeWindow;

/// The incident extension's body (without `extension_type`, which [`IncidentExt::to_value`]
/// adds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentExt {
    /// An ACLED event type, verbatim (see [`super::acled`]).
    pub event_type: String,
    /// An ACLED sub-event type of `event_type`, verbatim.
    pub sub_event_type: String,
    pub time: TimeWindow,
    pub place: Place,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<ActorRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fatalities: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injured: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrested: Option<Count>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materiel: Vec<Materiel>,
    /// The only evidence is the perpetrator's own claim (e.g. an Amaq statement).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub claimed_only: bool,
    /// Confirmed by a source independent of the perpetrator; never together with `claimed_only`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirmed: bool,
    /// Civilians were the intended target (ACLED's civilian targeting flag).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub civilian_targeting: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// Free text for the analyst: caveats, links between events, open questions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl IncidentExt {
    /// An incident of `event_type`/`sub_event_type` at `time` and `place`, with nothing else
    /// known yet (no actors, counts, materiel, sources or notes; neither claimed nor confirmed):
    /// producers set what they know on top, `IncidentExt { fatalities, ..IncidentExt::new(..) }`.
    pub fn new(event_type: &str, sub_event_type: &str, time: TimeWindow, place: Place) -> Self {
        IncidentExt {
            event_type: event_type.into(),
            sub_event_type: sub_event_type.into(),
            time,
            place,
            actors: Vec::new(),
            fatalities: None,
            injured: None,
            arrested: None,
            materiel: Vec::new(),
            claimed_only: false,
            confirmed: false,
            civilian_targeting: false,
            sources: Vec::new(),
            notes: None,
        }
    }

    /// The extension as it appears under `extensions[INCIDENT_EXTENSION_ID]`.
    pub fn to_value(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut v {
            map.insert("extension_type".into(), Value::String("property-extension".into()));
        }
        v
    }

    /// Sets this extension on `object` (an `incident`), replacing any previous one.
    pub fn attach(&self, object: &mut Value) {
        if let Value::Object(map) = object {
            let exts = map.entry("extensions").or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(exts) = exts {
                exts.insert(INCIDENT_EXTENSION_ID.to_string(), self.to_value());
            }
        }
    }

    /// Reads the extension off an object; `None` if absent or malformed (see
    /// [`super::validate_extensions`] for why).
    pub fn from_object(object: &Value) -> Option<IncidentExt> {
        let mut body = object.get("extensions")?.get(INCIDENT_EXTENSION_ID)?.clone();
        body.as_object_mut()?.remove("extension_type");
        serde_json::from_value(body).ok()
    }
}

/// ACLED `geo_precision`, plus "admin" for a place known only to its governorate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GeoPrecision {
    /// 1: the town itself.
    Town,
    /// 2: near a town, or a part of a region.
    NearTown,
    /// 3: only a larger region.
    Region,
    /// Known only to its admin-1 area (`admin1`); no point.
    Admin,
}

impl Serialize for GeoPrecision {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GeoPrecision::Town => s.serialize_u8(1),
            GeoPrecision::NearTown => s.serialize_u8(2),
            GeoPrecision::Region => s.serialize_u8(3),
            GeoPrecision::Admin => s.serialize_str("admin"),
        }
    }
}

impl<'de> Deserialize<'de> for GeoPrecision {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) if n.as_u64() == Some(1) => Ok(GeoPrecision::Town),
            Value::Number(n) if n.as_u64() == Some(2) => Ok(GeoPrecision::NearTown),
            Value::Number(n) if n.as_u64() == Some(3) => Ok(GeoPrecision::Region),
            Value::String(s) if s == "admin" => Ok(GeoPrecision::Admin),
            other => Err(serde::de::Error::custom(format!("invalid place precision {other}"))),
        }
    }
}

/// Where: location objects, how precisely, and the admin-1 area (ISO 3166-2, e.g. `SY-DY`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location_refs: Vec<String>,
    pub precision: GeoPrecision,
    pub admin1: String,
    /// The place as the source described it ("western Idlib countryside").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Place {
    /// Somewhere in admin-1 area `admin1`, known to that precision only (no location object).
    pub fn admin(admin1: &str) -> Self {
        Place { location_refs: Vec::new(), precision: GeoPrecision::Admin, admin1: admin1.into(), description: None }
    }
}

/// The part an actor played.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Perpetrator,
    Target,
    Responder,
    Claimant,
    Other,
}

impl Role {
    pub const ALL: [&'static str; 5] = ["perpetrator", "target", "responder", "claimant", "other"];
}

/// An actor: a `threat-actor`, `intrusion-set` or `identity` by reference, or a name when no
/// object exists (yet), with its role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorRole {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub role: Role,
}

impl ActorRole {
    pub fn by_ref(id: &str, role: Role) -> ActorRole {
        ActorRole { actor_ref: Some(id.to_string()), name: None, role }
    }

    pub fn by_name(name: &str, role: Role) -> ActorRole {
        ActorRole { actor_ref: None, name: Some(name.to_string()), role }
    }
}

/// A count with an uncertainty range, as UCDP GED keeps fatalities: `low <= best <= high`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Count {
    pub best: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<u32>,
    /// The wording of the source ("dozens").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Count {
    pub fn exact(n: u32) -> Count {
        Count { best: n, low: Some(n), high: Some(n), note: None }
    }

    pub fn range(low: u32, best: u32, high: u32) -> Count {
        Count { best, low: Some(low), high: Some(high), note: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaterielAction {
    Seized,
    Destroyed,
}

/// Weapons or equipment seized or destroyed. `quantity` when counted, `quantity_min` when the
/// source says "at least"; neither when it gives no number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Materiel {
    pub item: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_min: Option<u32>,
    pub action: MaterielAction,
}

impl Materiel {
    pub fn new(item: &str, action: MaterielAction) -> Materiel {
        Materiel { item: item.to_string(), quantity: None, quantity_min: None, action }
    }

    pub fn at_least(item: &str, n: u32, action: MaterielAction) -> Materiel {
        Materiel { quantity_min: Some(n), ..Materiel::new(item, action) }
    }
}

/// A reporting source with its Admiralty (NATO) grading: reliability of the source `A`..`F`,
/// credibility of this piece of information `1`..`6`; the two are independent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub reliability: char,
    pub credibility: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<super::time::Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Source {
    /// The grading as analysts write it, e.g. `B2`.
    pub fn grading(&self) -> String {
        format!("{}{}", self.reliability, self.credibility)
    }
}
