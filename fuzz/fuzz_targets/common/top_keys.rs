//! The keys of a JSON document's top-level object in document order, duplicates kept
//! (serde_json's `Value` keeps only the last of a duplicate, and not the order): what the
//! streaming readers' targets need to say which whole-document reading the stream must match.

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

/// `None` unless `data` is a JSON object.
pub fn top_keys(data: &[u8]) -> Option<Vec<String>> {
    serde_json::from_slice::<Keys>(data).ok().map(|k| k.0)
}

/// Whether the top-level object names a key twice.
pub fn has_duplicates(keys: &[String]) -> bool {
    let mut sorted = keys.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted.len() != keys.len()
}

struct Keys(Vec<String>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(KeysVisitor)
    }
}

struct KeysVisitor;

impl<'de> Visitor<'de> for KeysVisitor {
    type Value = Keys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
        let mut keys = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            keys.push(k);
        }
        Ok(Keys(keys))
    }
}
