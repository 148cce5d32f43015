//! Checks Tandem's extensions on an object against their schemas, plus the cross-field rules
//! JSON Schema cannot state.
//!
//! Hand-written rather than driven by a JSON Schema engine: the two schemas are small, the
//! messages name the exact property, and the model crate stays free of a large dependency tree.
//! A test keeps the enumerations here and in `schemas/*.json` identical.

use serde_json::{Map, Value};

use super::time::{Date, TimePrecision};
use super::{INCIDENT_EXTENSION_ID, RELEASABILITY_EXTENSION_ID, acled, ext::Role, releasability};
use crate::validate::Violation;

/// Checks every Tandem extension present on `obj`; extensions of others are left alone.
pub fn validate_extensions(obj: &Value) -> Vec<Violation> {
    obj.as_object().map(validate_extensions_of).unwrap_or_default()
}

/// [`validate_extensions`] on an object's map.
pub fn validate_extensions_of(obj: &Map<String, Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(exts) = obj.get("extensions").and_then(Value::as_object) else {
        return out;
    };
    let ty = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    if let Some(body) = exts.get(INCIDENT_EXTENSION_ID) {
        let mut c = Checker { prefix: format!("extensions.{INCIDENT_EXTENSION_ID}"), out: &mut out };
        if ty != "incident" {
            c.push("", format!("the incident extension applies to incident objects, not {ty:?}"));
        }
        c.incident(body);
    }
    if let Some(body) = exts.get(RELEASABILITY_EXTENSION_ID) {
        let mut c = Checker { prefix: format!("extensions.{RELEASABILITY_EXTENSION_ID}"), out: &mut out };
        if ty != "marking-definition" {
            c.push("", format!("the releasability extension applies to marking-definition objects, not {ty:?}"));
        }
        c.releasability(body);
    }
    out
}

struct Checker<'a> {
    prefix: String,
    out: &'a mut Vec<Violation>,
}

fn is_stix_id(v: &str, types: &[&str]) -> bool {
    crate::StixId::parse(v).is_ok_and(|id| types.is_empty() || types.contains(&id.object_type()))
}

fn is_admin1(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 4
        && b.len() <= 6
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2] == b'-'
        && b[3..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

impl Checker<'_> {
    fn push(&mut self, prop: &str, message: String) {
        let property = if prop.is_empty() { self.prefix.clone() } else { format!("{}.{prop}", self.prefix) };
        self.out.push(Violation { property, message });
    }

    fn object<'v>(
        &mut self,
        prop: &str,
        v: &'v Value,
        allowed: &[&str],
        required: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Some(map) = v.as_object() else {
            self.push(prop, "must be an object".into());
            return None;
        };
        for k in map.keys() {
            if !allowed.contains(&k.as_str()) {
                self.push(&join(prop, k), "unknown property".into());
            }
        }
        for r in required {
            if !map.contains_key(*r) {
                self.push(&join(prop, r), "required".into());
            }
        }
        Some(map)
    }

    fn string<'v>(&mut self, prop: &str, v: Option<&'v Value>) -> Option<&'v str> {
        match v? {
            Value::String(s) if !s.is_empty() => Some(s),
            _ => {
                self.push(prop, "must be a non-empty string".into());
                None
            }
        }
    }

    fn boolean(&mut self, prop: &str, v: Option<&Value>) {
        if v.is_some_and(|v| !v.is_boolean()) {
            self.push(prop, "must be true or false".into());
        }
    }

    fn count(&mut self, prop: &str, v: Option<&Value>) -> Option<u64> {
        let v = v?;
        let n = v.as_u64();
        if n.is_none() {
            self.push(prop, "must be a non-negative integer".into());
        }
        n
    }

    fn date(&mut self, prop: &str, v: Option<&Value>) -> Option<Date> {
        let s = self.string(prop, v)?;
        let d = Date::parse(s);
        if d.is_none() {
            self.push(prop, format!("{s:?} is not a date YYYY-MM-DD"));
        }
        d
    }

    fn id(&mut self, prop: &str, v: Option<&Value>, types: &[&str]) {
        if let Some(s) = self.string(prop, v)
            && !is_stix_id(s, types)
        {
            self.push(prop, format!("{s:?} is not an identifier of type {}", types.join(" or ")));
        }
    }

    fn array<'v>(&mut self, prop: &str, v: Option<&'v Value>) -> &'v [Value] {
        match v {
            None => &[],
            Some(Value::Array(a)) if !a.is_empty() => a,
            Some(_) => {
                self.push(prop, "must be a non-empty array".into());
                &[]
            }
        }
    }

    fn incident(&mut self, body: &Value) {
        const ALLOWED: &[&str] = &[
            "extension_type",
            "event_type",
            "sub_event_type",
            "time",
            "place",
            "actors",
            "fatalities",
            "injured",
            "arrested",
            "materiel",
            "claimed_only",
            "confirmed",
            "civilian_targeting",
            "sources",
            "notes",
        ];
        const REQUIRED: &[&str] = &["extension_type", "event_type", "sub_event_type", "time", "place"];
        let Some(m) = self.object("", body, ALLOWED, REQUIRED) else {
            return;
        };
        self.extension_type(m);
        let et = self.string("event_type", m.get("event_type"));
        let st = self.string("sub_event_type", m.get("sub_event_type"));
        match (et, st) {
            (Some(et), _) if acled::sub_event_types(et).is_none() => {
                self.push("event_type", format!("{et:?} is not an ACLED event type"))
            }
            (Some(et), Some(st)) if !acled::is_valid_pair(et, st) => {
                self.push("sub_event_type", format!("{st:?} is not a sub-event type of {et:?}"))
            }
            _ => {}
        }
        if let Some(t) = m.get("time") {
            self.time(t);
        }
        if let Some(p) = m.get("place") {
            self.place(p);
        }
        for (i, a) in self.array("actors", m.get("actors")).iter().enumerate() {
            let p = format!("actors.[{i}]");
            let Some(a) = self.object(&p, a, &["actor_ref", "name", "role"], &["role"]) else {
                continue;
            };
            if a.get("actor_ref").is_none() && a.get("name").is_none() {
                self.push(&p, "needs actor_ref or name".into());
            }
            self.id(&join(&p, "actor_ref"), a.get("actor_ref"), &["threat-actor", "intrusion-set", "identity"]);
            self.string(&join(&p, "name"), a.get("name"));
            if let Some(r) = self.string(&join(&p, "role"), a.get("role"))
                && !Role::ALL.contains(&r)
            {
                self.push(&join(&p, "role"), format!("{r:?} is not one of {}", Role::ALL.join(", ")));
            }
        }
        for k in ["fatalities", "injured", "arrested"] {
            if let Some(c) = m.get(k) {
                self.range(k, c);
            }
        }
        for (i, it) in self.array("materiel", m.get("materiel")).iter().enumerate() {
            let p = format!("materiel.[{i}]");
            let allowed = ["item", "quantity", "quantity_min", "action"];
            let Some(it) = self.object(&p, it, &allowed, &["item", "action"]) else {
                continue;
            };
            self.string(&join(&p, "item"), it.get("item"));
            if it.contains_key("quantity") && it.contains_key("quantity_min") {
                self.push(&p, "give quantity or quantity_min, not both".into());
            }
            for q in ["quantity", "quantity_min"] {
                if self.count(&join(&p, q), it.get(q)) == Some(0) {
                    self.push(&join(&p, q), "must be at least 1".into());
                }
            }
            if let Some(a) = self.string(&join(&p, "action"), it.get("action"))
                && !["seized", "destroyed"].contains(&a)
            {
                self.push(&join(&p, "action"), format!("{a:?} is not seized or destroyed"));
            }
        }
        for k in ["claimed_only", "confirmed", "civilian_targeting"] {
            self.boolean(k, m.get(k));
        }
        if m.get("claimed_only") == Some(&Value::Bool(true)) && m.get("confirmed") == Some(&Value::Bool(true)) {
            self.push("confirmed", "an event cannot be both claimed_only and confirmed".into());
        }
        for (i, s) in self.array("sources", m.get("sources")).iter().enumerate() {
            self.source(&format!("sources.[{i}]"), s);
        }
        self.string("notes", m.get("notes"));
    }

    fn extension_type(&mut self, m: &Map<String, Value>) {
        if let Some(v) = m.get("extension_type")
            && v != "property-extension"
        {
            self.push("extension_type", "must be \"property-extension\"".into());
        }
    }

    fn time(&mut self, t: &Value) {
        let Some(t) = self.object("time", t, &["start", "end", "precision", "expression"], &["end", "precision"])
        else {
            return;
        };
        let start = t.get("start").and_then(|v| self.date("time.start", Some(v)));
        let end = self.date("time.end", t.get("end"));
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            self.push("time.end", format!("{e} is before start {s}"));
        }
        if let Some(p) = self.string("time.precision", t.get("precision")) {
            if !TimePrecision::ALL.contains(&p) {
                self.push("time.precision", format!("{p:?} is not one of {}", TimePrecision::ALL.join(", ")));
            } else if p == "day" && start.is_some() && start != end {
                self.push("time.precision", "precision day needs start == end".into());
            }
        }
        self.string("time.expression", t.get("expression"));
    }

    fn place(&mut self, p: &Value) {
        let allowed = ["location_refs", "precision", "admin1", "description"];
        let Some(p) = self.object("place", p, &allowed, &["precision", "admin1"]) else {
            return;
        };
        let refs = self.array("place.location_refs", p.get("location_refs"));
        for (i, r) in refs.iter().enumerate() {
            self.id(&format!("place.location_refs.[{i}]"), Some(r), &["location"]);
        }
        match p.get("precision") {
            Some(Value::Number(n)) if matches!(n.as_u64(), Some(1..=3)) && refs.is_empty() => {
                self.push("place.location_refs", "a point precision (1-3) needs location_refs".into());
            }
            Some(Value::Number(n)) if matches!(n.as_u64(), Some(1..=3)) => {}
            Some(Value::String(s)) if s == "admin" => {}
            Some(other) => self.push("place.precision", format!("{other} is not 1, 2, 3 or \"admin\"")),
            None => {}
        }
        if let Some(a) = self.string("place.admin1", p.get("admin1"))
            && !is_admin1(a)
        {
            self.push("place.admin1", format!("{a:?} is not an ISO 3166-2 code such as SY-DY"));
        }
        self.string("place.description", p.get("description"));
    }

    fn range(&mut self, prop: &str, c: &Value) {
        let Some(c) = self.object(prop, c, &["best", "low", "high", "note"], &["best"]) else {
            return;
        };
        let best = self.count(&join(prop, "best"), c.get("best"));
        let low = self.count(&join(prop, "low"), c.get("low"));
        let high = self.count(&join(prop, "high"), c.get("high"));
        if let (Some(l), Some(b)) = (low, best)
            && l > b
        {
            self.push(prop, format!("low {l} is above best {b}"));
        }
        if let (Some(b), Some(h)) = (best, high)
            && b > h
        {
            self.push(prop, format!("best {b} is above high {h}"));
        }
        if let (Some(l), Some(h)) = (low, high)
            && l > h
        {
            self.push(prop, format!("low {l} is above high {h}"));
        }
        self.string(&join(prop, "note"), c.get("note"));
    }

    fn source(&mut self, p: &str, s: &Value) {
        let allowed = ["identity_ref", "name", "reliability", "credibility", "url", "published", "note"];
        let Some(s) = self.object(p, s, &allowed, &["reliability", "credibility"]) else {
            return;
        };
        if s.get("identity_ref").is_none() && s.get("name").is_none() {
            self.push(p, "needs identity_ref or name".into());
        }
        self.id(&join(p, "identity_ref"), s.get("identity_ref"), &["identity"]);
        self.string(&join(p, "name"), s.get("name"));
        if let Some(r) = self.string(&join(p, "reliability"), s.get("reliability"))
            && !matches!(r, "A" | "B" | "C" | "D" | "E" | "F")
        {
            self.push(&join(p, "reliability"), format!("{r:?} is not an Admiralty reliability A-F"));
        }
        if let Some(c) = s.get("credibility")
            && !matches!(c.as_u64(), Some(1..=6))
        {
            self.push(&join(p, "credibility"), format!("{c} is not an Admiralty credibility 1-6"));
        }
        if let Some(u) = self.string(&join(p, "url"), s.get("url"))
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            self.push(&join(p, "url"), "must be an http(s) URL".into());
        }
        if s.contains_key("published") {
            self.date(&join(p, "published"), s.get("published"));
        }
        self.string(&join(p, "note"), s.get("note"));
    }

    fn releasability(&mut self, body: &Value) {
        let allowed = ["extension_type", "rel_to", "classification"];
        let Some(m) = self.object("", body, &allowed, &["extension_type", "rel_to"]) else {
            return;
        };
        self.extension_type(m);
        match m.get("rel_to") {
            Some(Value::Array(a)) if !a.is_empty() => {
                for (i, c) in a.iter().enumerate() {
                    let p = format!("rel_to.[{i}]");
                    match c.as_str() {
                        Some(s) if releasability::is_member_or_group_code(s) => {
                            if a[..i].contains(c) {
                                self.push(&p, format!("{s} is listed twice"));
                            }
                        }
                        _ => self.push(&p, format!("{c} is not a member code (3 letters) or group code (4 letters)")),
                    }
                }
            }
            Some(_) => self.push("rel_to", "must be a non-empty array of codes".into()),
            None => {}
        }
        if let Some(c) = self.string("classification", m.get("classification"))
            && !releasability::CLASSIFICATIONS.contains(&c)
        {
            self.push("classification", format!("{c:?} is not one of {}", releasability::CLASSIFICATIONS.join(", ")));
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}
