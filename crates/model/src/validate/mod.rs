//! STIX 2.1 validation at the MUST level.
//!
//! Everything Tandem stores or forwards passes through [`validate_object`]: a peer that sends a
//! STIX 2.0 object, a second-precision `created`, a dangling granular-marking selector or a
//! relationship pointing at a marking-definition gets every violation back at once, each named
//! by a STIX selector path, instead of a store that later misbehaves. SHOULD-level rules
//! (vocabularies, UUIDv5 for SCOs) are deliberately not errors here. Validation never alters the
//! object: unknown properties and extensions come back exactly as sent.
//!
//! The rules are split by concern: `common` (type, id, spec_version, common properties,
//! generic `_ref`/`_refs`/`_hex`/`_bin` and empty-list rules), `markings`, `extensions`,
//! `hashes`, and one module per family (`sdo`, `sro`, `sco`, `meta`).

mod common;
mod ctx;
mod extensions;
mod hashes;
mod markings;
mod meta;
mod sco;
mod sdo;
mod sro;

use serde_json::Value;

use crate::StixObject;
use crate::object::Family;
use ctx::Ctx;

pub use markings::resolve_selector;

/// One reason an object is not valid STIX 2.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The property concerned (a selector such as `external_references.[0].source_name`), or
    /// empty for the object as a whole.
    pub property: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.property.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.property, self.message)
        }
    }
}

/// Validates one object; on success returns it wrapped, unchanged. On failure returns every
/// violation found, not only the first.
pub fn validate_object(value: &Value) -> Result<StixObject, Vec<Violation>> {
    let Value::Object(map) = value else {
        return Err(not_an_object(value));
    };
    let out = violations(map);
    if out.is_empty() { Ok(StixObject::from_map_unchecked(map.clone())) } else { Err(out) }
}

/// [`validate_object`] taking the value: a valid object becomes the [`StixObject`] without a
/// copy; an invalid one comes back with its violations.
pub fn validate_owned(value: Value) -> Result<StixObject, (Value, Vec<Violation>)> {
    let Value::Object(map) = value else {
        let out = not_an_object(&value);
        return Err((value, out));
    };
    let out = violations(&map);
    if out.is_empty() { Ok(StixObject::from_map_unchecked(map)) } else { Err((Value::Object(map), out)) }
}

fn not_an_object(value: &Value) -> Vec<Violation> {
    vec![Violation {
        property: String::new(),
        message: format!("a STIX object must be a JSON object, found {}", ctx::describe(value)),
    }]
}

/// Every violation of one object's map, in the order the checks find them.
fn violations(map: &serde_json::Map<String, Value>) -> Vec<Violation> {
    let mut cx = Ctx::new(map);
    let ty = common::check_type_and_id(&mut cx);
    common::check_property_names(&mut cx);
    if let Some(ty) = ty {
        let family = common::resolve_family(&mut cx, ty);
        common::check_spec_version(&mut cx, family);
        match family {
            Family::Sdo => {
                common::check_sdo_common(&mut cx);
                sdo::check_sdo(&mut cx, ty);
            }
            Family::Sro => {
                common::check_sdo_common(&mut cx);
                sro::check_sro(&mut cx, ty);
            }
            Family::Sco => {
                common::check_sco_common(&mut cx);
                sco::check_sco(&mut cx, ty);
            }
            Family::Meta => meta::check_meta(&mut cx, ty),
        }
        markings::check_markings(&mut cx);
        extensions::check_extensions(&mut cx);
        let skip: &[&str] = match ty {
            "observed-data" => &["objects"],
            "language-content" => &["contents"],
            _ => &[],
        };
        common::walk(&mut cx, skip);
    }
    cx.out
}

/// Validates a list of objects independently of any bundle or envelope; returns one result per
/// object, in order.
pub fn validate_objects(values: &[Value]) -> Vec<Result<StixObject, Vec<Violation>>> {
    values.iter().map(validate_object).collect()
}
