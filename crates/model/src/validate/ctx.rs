//! The validation context: the object under check, the violations found so far, and typed
//! property readers that record a violation instead of failing.
//!
//! Every rule module reads properties through these helpers so that a wrong type, a missing
//! required property or a bad reference is reported the same way everywhere, and so that one
//! pass collects every violation of an object rather than stopping at the first.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::Violation;
use crate::object::{META_TYPES, SCO_TYPES, SDO_TYPES, SRO_TYPES};
use crate::{StixId, Timestamp};

/// Which object types a reference may point at.
#[derive(Clone, Copy)]
pub(crate) struct Target {
    /// Human description used in messages, e.g. "an identity".
    pub desc: &'static str,
    pub ok: fn(&str) -> bool,
}

impl Target {
    pub const ANY: Target = Target { desc: "any object", ok: |_| true };
    pub const IDENTITY: Target = Target { desc: "an identity", ok: |t| t == "identity" };
    pub const MARKING: Target = Target { desc: "a marking-definition", ok: |t| t == "marking-definition" };
    pub const SOFTWARE: Target = Target { desc: "a software object", ok: |t| t == "software" };
    /// Anything that is not known to be an SDO, SRO or meta object (custom SCO types allowed).
    pub const SCO: Target = Target {
        desc: "a cyber-observable object (SCO)",
        ok: |t| !SDO_TYPES.contains(&t) && !SRO_TYPES.contains(&t) && !META_TYPES.contains(&t),
    };
    /// SDOs (including custom ones) or SCOs: anything but SROs and meta objects.
    pub const SDO_OR_SCO: Target = Target {
        desc: "an SDO or SCO (not a relationship, sighting or meta object)",
        ok: |t| !SRO_TYPES.contains(&t) && !META_TYPES.contains(&t) && t != "bundle",
    };
    /// SDOs only (including custom ones): not SROs, SCOs or meta objects.
    pub const SDO: Target = Target {
        desc: "an SDO",
        ok: |t| !SRO_TYPES.contains(&t) && !META_TYPES.contains(&t) && !SCO_TYPES.contains(&t) && t != "bundle",
    };
    /// SCOs or SROs (observed-data `object_refs`).
    pub const SCO_OR_SRO: Target =
        Target { desc: "an SCO or SRO", ok: |t| !SDO_TYPES.contains(&t) && !META_TYPES.contains(&t) };
}

/// Builds a [`Target`] from a fixed list of types.
macro_rules! target {
    ($desc:literal, $($ty:literal),+) => {
        $crate::validate::ctx::Target { desc: $desc, ok: |t| matches!(t, $($ty)|+) }
    };
}
pub(crate) use target;

pub(crate) struct Ctx<'a> {
    pub obj: &'a Map<String, Value>,
    pub out: Vec<Violation>,
    /// Paths whose identifier syntax has already been checked by a specific rule, so the
    /// generic `_ref`/`_refs` walk does not report them twice.
    pub checked_refs: HashSet<String>,
}

pub(crate) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `base.prop`, or `prop` at the top level.
pub(crate) fn join(base: &str, prop: &str) -> String {
    if base.is_empty() { prop.to_string() } else { format!("{base}.{prop}") }
}

/// `base.[i]`.
pub(crate) fn index(base: &str, i: usize) -> String {
    format!("{base}.[{i}]")
}

impl<'a> Ctx<'a> {
    pub fn new(obj: &'a Map<String, Value>) -> Self {
        Ctx { obj, out: Vec::new(), checked_refs: HashSet::new() }
    }

    pub fn err(&mut self, property: impl Into<String>, message: impl Into<String>) {
        self.out.push(Violation { property: property.into(), message: message.into() });
    }

    pub fn get(&self, prop: &str) -> Option<&'a Value> {
        self.obj.get(prop)
    }

    pub fn has(&self, prop: &str) -> bool {
        self.obj.contains_key(prop)
    }

    pub fn ty(&self) -> &'a str {
        self.obj.get("type").and_then(Value::as_str).unwrap_or_default()
    }

    /// Reports `prop` as missing when it is required and absent; returns the value if present.
    pub fn field(&mut self, map: &'a Map<String, Value>, base: &str, prop: &str, required: bool) -> Option<&'a Value> {
        let v = map.get(prop);
        if v.is_none() && required {
            self.err(join(base, prop), "required property is missing");
        }
        v
    }

    pub fn string_in(
        &mut self,
        map: &'a Map<String, Value>,
        base: &str,
        prop: &str,
        required: bool,
    ) -> Option<&'a str> {
        let v = self.field(map, base, prop, required)?;
        match v.as_str() {
            Some(s) => Some(s),
            None => {
                self.err(join(base, prop), format!("must be a string, found {}", describe(v)));
                None
            }
        }
    }

    pub fn string(&mut self, prop: &str, required: bool) -> Option<&'a str> {
        self.string_in(self.obj, "", prop, required)
    }

    pub fn boolean_in(&mut self, map: &'a Map<String, Value>, base: &str, prop: &str, required: bool) -> Option<bool> {
        let v = self.field(map, base, prop, required)?;
        match v.as_bool() {
            Some(b) => Some(b),
            None => {
                self.err(join(base, prop), format!("must be a boolean, found {}", describe(v)));
                None
            }
        }
    }

    pub fn boolean(&mut self, prop: &str, required: bool) -> Option<bool> {
        self.boolean_in(self.obj, "", prop, required)
    }

    /// An integer in `min..=max` (bounds optional).
    pub fn integer_in(
        &mut self,
        map: &'a Map<String, Value>,
        base: &str,
        prop: &str,
        required: bool,
        min: Option<i64>,
        max: Option<i64>,
    ) -> Option<i64> {
        let v = self.field(map, base, prop, required)?;
        let path = join(base, prop);
        let n = match v {
            Value::Number(n) if n.is_i64() => n.as_i64(),
            Value::Number(n) if n.is_u64() => {
                self.err(path, "integer is out of range");
                return None;
            }
            _ => None,
        };
        let Some(n) = n else {
            self.err(path, format!("must be an integer, found {}", describe(v)));
            return None;
        };
        if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
            let range = match (min, max) {
                (Some(a), Some(b)) => format!("between {a} and {b}"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => unreachable!("a bound was checked"),
            };
            self.err(path, format!("must be {range}, found {n}"));
            return None;
        }
        Some(n)
    }

    pub fn integer(&mut self, prop: &str, required: bool, min: Option<i64>, max: Option<i64>) -> Option<i64> {
        self.integer_in(self.obj, "", prop, required, min, max)
    }

    /// A JSON number in `min..=max`.
    pub fn number(&mut self, prop: &str, min: f64, max: f64) -> Option<f64> {
        let v = self.get(prop)?;
        let Some(n) = v.as_f64() else {
            self.err(prop, format!("must be a number, found {}", describe(v)));
            return None;
        };
        if !(min..=max).contains(&n) {
            self.err(prop, format!("must be between {min} and {max}, found {n}"));
            return None;
        }
        Some(n)
    }

    pub fn timestamp_in(
        &mut self,
        map: &'a Map<String, Value>,
        base: &str,
        prop: &str,
        required: bool,
    ) -> Option<Timestamp> {
        let s = self.string_in(map, base, prop, required)?;
        match Timestamp::parse(s) {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(join(base, prop), format!("not a valid STIX timestamp ({}): {s:?}", e.reason));
                None
            }
        }
    }

    pub fn timestamp(&mut self, prop: &str, required: bool) -> Option<Timestamp> {
        self.timestamp_in(self.obj, "", prop, required)
    }

    /// Checks that `later` is not before `earlier` (or strictly after, when `strict`).
    pub fn order(&mut self, earlier: &str, later: &str, strict: bool) {
        let (Some(a), Some(b)) = (self.get(earlier), self.get(later)) else {
            return;
        };
        let (Some(a), Some(b)) = (a.as_str(), b.as_str()) else {
            return;
        };
        let (Ok(ta), Ok(tb)) = (Timestamp::parse(a), Timestamp::parse(b)) else {
            return;
        };
        if strict && tb <= ta {
            self.err(later, format!("must be later than {earlier} ({a}), found {b}"));
        } else if !strict && tb < ta {
            self.err(later, format!("must not be earlier than {earlier} ({a}), found {b}"));
        }
    }

    /// A list that is present must be a non-empty list; returns its items.
    pub fn list_in(
        &mut self,
        map: &'a Map<String, Value>,
        base: &str,
        prop: &str,
        required: bool,
    ) -> Option<&'a [Value]> {
        let v = self.field(map, base, prop, required)?;
        match v.as_array() {
            Some(a) if a.is_empty() => {
                // The generic walk reports empty lists; nothing more to check here.
                None
            }
            Some(a) => Some(a),
            None => {
                self.err(join(base, prop), format!("must be a list, found {}", describe(v)));
                None
            }
        }
    }

    /// A non-empty list of strings.
    pub fn string_list_in(
        &mut self,
        map: &'a Map<String, Value>,
        base: &str,
        prop: &str,
        required: bool,
    ) -> Vec<&'a str> {
        let Some(items) = self.list_in(map, base, prop, required) else {
            return Vec::new();
        };
        let path = join(base, prop);
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(s) => out.push(s),
                None => self.err(index(&path, i), format!("must be a string, found {}", describe(item))),
            }
        }
        out
    }

    pub fn string_list(&mut self, prop: &str, required: bool) -> Vec<&'a str> {
        self.string_list_in(self.obj, "", prop, required)
    }

    /// Checks one identifier string at `path` against `target`.
    pub fn check_id(&mut self, path: String, v: &Value, target: Target) -> Option<StixId> {
        self.checked_refs.insert(path.clone());
        let Some(s) = v.as_str() else {
            self.err(path, format!("must be a STIX identifier string, found {}", describe(v)));
            return None;
        };
        match StixId::parse(s) {
            Ok(id) if (target.ok)(id.object_type()) => Some(id),
            Ok(id) => {
                self.err(path, format!("must reference {}, found a {} ({s})", target.desc, id.object_type()));
                None
            }
            Err(e) => {
                self.err(path, format!("not a valid STIX identifier ({}): {s:?}", e.reason));
                None
            }
        }
    }

    pub fn reference_in(
        &mut self,
        map: &'a Map<String, Value>,
        base: &str,
        prop: &str,
        required: bool,
        target: Target,
    ) {
        if let Some(v) = self.field(map, base, prop, required) {
            self.check_id(join(base, prop), v, target);
        }
    }

    pub fn reference(&mut self, prop: &str, required: bool, target: Target) {
        self.reference_in(self.obj, "", prop, required, target);
    }

    pub fn ref_list_in(&mut self, map: &'a Map<String, Value>, base: &str, prop: &str, required: bool, target: Target) {
        let path = join(base, prop);
        self.checked_refs.insert(path.clone());
        let Some(items) = self.list_in(map, base, prop, required) else {
            return;
        };
        for (i, item) in items.iter().enumerate() {
            self.check_id(index(&path, i), item, target);
        }
    }

    pub fn ref_list(&mut self, prop: &str, required: bool, target: Target) {
        self.ref_list_in(self.obj, "", prop, required, target);
    }

    /// At least one of `props` must be present.
    pub fn any_of(&mut self, props: &[&str]) {
        if !props.iter().any(|p| self.has(p)) {
            self.err("", format!("at least one of {} must be present", props.join(", ")));
        }
    }
}
