//! Streaming reader for STIX content: a bundle, a TAXII envelope, a list of objects or a single
//! object. Objects are handed to a callback one at a time, so a multi-gigabyte bundle never has
//! to fit in memory.

use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

type Callback<'a> = dyn FnMut(Value) -> anyhow::Result<()> + 'a;

/// Calls `f` for each STIX object in `reader`. Returns the number of objects seen.
pub fn for_each_object(reader: impl Read, f: &mut Callback<'_>) -> anyhow::Result<usize> {
    let mut count = 0usize;
    let mut failure: Option<anyhow::Error> = None;
    let result = {
        let mut counting = |v: Value| {
            count += 1;
            f(v)
        };
        let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
        let out = Top { f: &mut counting, failure: &mut failure }.deserialize(&mut de);
        out.and_then(|single| {
            de.end()?;
            Ok(single)
        })
    };
    if let Some(e) = failure {
        return Err(e);
    }
    match result {
        Ok(Some(single)) => {
            count += 1;
            f(Value::Object(single))?;
            Ok(count)
        }
        Ok(None) => Ok(count),
        Err(e) => Err(anyhow::anyhow!("malformed JSON: {e}")),
    }
}

struct Top<'a, 'b> {
    f: &'a mut Callback<'b>,
    failure: &'a mut Option<anyhow::Error>,
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = Option<Map<String, Value>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = Option<Map<String, Value>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a STIX bundle, a TAXII envelope, a STIX object or a list of objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut rest = Map::new();
        let mut saw_objects = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "objects" && !saw_objects {
                saw_objects = true;
                map.next_value_seed(Elements { f: &mut *self.f, failure: &mut *self.failure })?;
            } else {
                let v: Value = map.next_value()?;
                rest.insert(key, v);
            }
        }
        Ok(if saw_objects { None } else { Some(rest) })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Elements { f: self.f, failure: self.failure }.visit_seq(seq)?;
        Ok(None)
    }
}

struct Elements<'a, 'b> {
    f: &'a mut Callback<'b>,
    failure: &'a mut Option<anyhow::Error>,
}

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of STIX objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            if let Err(e) = (self.f)(v) {
                *self.failure = Some(e);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str) -> anyhow::Result<Vec<Value>> {
        let mut out = Vec::new();
        for_each_object(text.as_bytes(), &mut |v| {
            out.push(v);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn reads_every_shape() {
        assert_eq!(collect(r#"{"type":"bundle","id":"bundle--1","objects":[{"a":1},{"b":2}]}"#).unwrap().len(), 2);
        assert_eq!(collect(r#"{"more":false,"objects":[{"a":1}]}"#).unwrap().len(), 1);
        assert_eq!(collect(r#"[{"a":1},{"a":2},{"a":3}]"#).unwrap().len(), 3);
        assert_eq!(
            collect(r#"{"type":"indicator","id":"x"}"#).unwrap(),
            vec![serde_json::json!({"type":"indicator","id":"x"})]
        );
        assert!(collect(r#"{"objects":[{"a":1},"#).is_err());
        assert!(collect(r#"{"objects":[]} trailing"#).is_err());
    }
}
