//! Streaming readers for the JSON documents imports take: a STIX bundle (or TAXII envelope,
//! list of objects, single object) and a MISP document (restSearch's `{"response": [...]}`, a
//! feed's or PyMISP's list of events, or one `{"Event": …}`).
//!
//! Both hand the records to a callback one at a time as they are parsed (serde_json's
//! `Deserializer` driving a visitor over the array), so memory is bounded by the largest object
//! or event, never by the file. Used by `tandem import`, the HTTP upload and the fuzz targets.

use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a stream stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum StreamError<E> {
    /// The document is not JSON of an accepted shape; `after` records were handed over first.
    #[error("malformed JSON after {after} records: {message}")]
    Malformed { after: u64, message: String },
    /// The callback failed (a storage error); the stream stopped there.
    #[error("{0}")]
    Stopped(E),
}

/// The records handed over, and the callback's first failure (serde's error type cannot carry
/// it, so the visitor parks it here and aborts with a placeholder).
struct Emit<'a, E> {
    f: &'a mut dyn FnMut(u64, Value) -> Result<(), E>,
    count: u64,
    failure: Option<E>,
}

impl<E> Emit<'_, E> {
    fn emit<Er: serde::de::Error>(&mut self, v: Value) -> Result<(), Er> {
        let index = self.count;
        self.count += 1;
        (self.f)(index, v).map_err(|e| {
            self.failure = Some(e);
            Er::custom("stopped by the callback")
        })
    }
}

/// What a document holds at its top level.
#[derive(Clone, Copy)]
enum Shape {
    Stix,
    Misp,
}

/// Calls `f` with the index (from 0) and value of each STIX object in `reader`: a bundle's or
/// envelope's `objects`, a list's elements, or the one object a document is. Returns how many.
pub fn for_each_stix_object<E>(
    reader: impl Read,
    mut f: impl FnMut(u64, Value) -> Result<(), E>,
) -> Result<u64, StreamError<E>> {
    run(reader, Shape::Stix, &mut f)
}

/// Calls `f` with the index (from 0) and body of each MISP event in `reader` (an `{"Event": …}`
/// wrapper is unwrapped; an element that is not an object is handed over as it is, for the
/// converter to refuse). Returns how many.
pub fn for_each_misp_event<E>(
    reader: impl Read,
    mut f: impl FnMut(u64, Value) -> Result<(), E>,
) -> Result<u64, StreamError<E>> {
    run(reader, Shape::Misp, &mut f)
}

fn run<E>(
    reader: impl Read,
    shape: Shape,
    f: &mut dyn FnMut(u64, Value) -> Result<(), E>,
) -> Result<u64, StreamError<E>> {
    let mut emit = Emit { f, count: 0, failure: None };
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let result = Top { emit: &mut emit, shape }.deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = emit.failure {
        return Err(StreamError::Stopped(e));
    }
    result.map(|()| emit.count).map_err(|e| StreamError::Malformed { after: emit.count, message: e.to_string() })
}

/// An `{"Event": …}` wrapper's body, or the value itself.
fn unwrap_event(v: Value) -> Value {
    match v {
        Value::Object(mut m) if m.contains_key("Event") => m.remove("Event").unwrap_or(Value::Null),
        other => other,
    }
}

struct Top<'a, 'f, E> {
    emit: &'a mut Emit<'f, E>,
    shape: Shape,
}

impl<'de, E> DeserializeSeed<'de> for Top<'_, '_, E> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, E> Visitor<'de> for Top<'_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self.shape {
            Shape::Stix => "a STIX bundle, a TAXII envelope, a STIX object or a list of objects",
            Shape::Misp => "a MISP event, a list of events or a restSearch response",
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // The key whose value is streamed: a bundle's `objects`, restSearch's `response`.
        let list_key = match self.shape {
            Shape::Stix => "objects",
            Shape::Misp => "response",
        };
        let mut rest = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == list_key && !streamed {
                streamed = true;
                map.next_value_seed(Elements { emit: &mut *self.emit, shape: self.shape })?;
            } else if matches!(self.shape, Shape::Misp) && key == "Event" && !streamed {
                streamed = true;
                let event: Value = map.next_value()?;
                self.emit.emit(event)?;
            } else {
                let v: Value = map.next_value()?;
                rest.insert(key, v);
            }
        }
        // A map with no list in it is one object (one bare event); beside a list, the other
        // keys (`type`, `id`, `more`, `next`) are the wrapper's.
        if !streamed {
            self.emit.emit(Value::Object(rest))?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Elements { emit: self.emit, shape: self.shape }.visit_seq(seq)
    }
}

struct Elements<'a, 'f, E> {
    emit: &'a mut Emit<'f, E>,
    shape: Shape,
}

impl<'de, E> DeserializeSeed<'de> for Elements<'_, '_, E> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, E> Visitor<'de> for Elements<'_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self.shape {
            Shape::Stix => "a list of STIX objects",
            Shape::Misp => "a list of MISP events",
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            let v = match self.shape {
                Shape::Stix => v,
                Shape::Misp => unwrap_event(v),
            };
            self.emit.emit(v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stix(text: &str) -> Result<Vec<Value>, StreamError<()>> {
        let mut out = Vec::new();
        for_each_stix_object(text.as_bytes(), |i, v| {
            assert_eq!(i as usize, out.len(), "indices count from 0 in order");
            out.push(v);
            Ok(())
        })?;
        Ok(out)
    }

    fn misp(text: &str) -> Result<Vec<Value>, StreamError<()>> {
        let mut out = Vec::new();
        for_each_misp_event(text.as_bytes(), |i, v| {
            assert_eq!(i as usize, out.len(), "indices count from 0 in order");
            out.push(v);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn stix_reads_every_shape() {
        assert_eq!(stix(r#"{"type":"bundle","id":"bundle--1","objects":[{"a":1},{"b":2}]}"#).unwrap().len(), 2);
        assert_eq!(stix(r#"{"more":false,"objects":[{"a":1}]}"#).unwrap().len(), 1);
        assert_eq!(stix(r#"[{"a":1},{"a":2},{"a":3}]"#).unwrap().len(), 3);
        assert_eq!(stix(r#"{"type":"indicator","id":"x"}"#).unwrap(), vec![json!({"type":"indicator","id":"x"})]);
        assert!(matches!(stix(r#"{"objects":[{"a":1},"#), Err(StreamError::Malformed { after: 1, .. })));
        assert!(matches!(stix(r#"{"objects":[]} trailing"#), Err(StreamError::Malformed { after: 0, .. })));
        assert!(matches!(stix("7"), Err(StreamError::Malformed { .. })));
    }

    #[test]
    fn misp_reads_rest_search_lists_and_single_events() {
        let e = |n: u32| json!({"uuid": format!("u{n}"), "info": "x"});
        let rest = json!({"response": [{"Event": e(1)}, {"Event": e(2)}, {"Event": e(3)}]}).to_string();
        assert_eq!(misp(&rest).unwrap(), vec![e(1), e(2), e(3)]);
        let list = json!([{"Event": e(1)}, e(2)]).to_string();
        assert_eq!(misp(&list).unwrap(), vec![e(1), e(2)], "a feed or PyMISP list, wrapped or bare");
        assert_eq!(misp(&json!({"Event": e(7)}).to_string()).unwrap(), vec![e(7)]);
        assert_eq!(misp(&e(8).to_string()).unwrap(), vec![e(8)], "a bare event is one event");
        assert_eq!(misp(r#"{"response": []}"#).unwrap(), Vec::<Value>::new());
        // Elements that are not events are handed over for the converter to refuse by index.
        assert_eq!(misp(r#"[1, {"Event": null}]"#).unwrap(), vec![json!(1), Value::Null]);
    }

    #[test]
    fn misp_malformed_documents_say_how_far_they_got() {
        let cut = r#"{"response": [{"Event": {"uuid": "a"}}, {"Event": {"uuid": "#;
        assert!(matches!(misp(cut), Err(StreamError::Malformed { after: 1, .. })));
        assert!(matches!(misp(r#"{"response": 5}"#), Err(StreamError::Malformed { after: 0, .. })));
        assert!(matches!(misp("\"text\""), Err(StreamError::Malformed { after: 0, .. })));
    }

    #[test]
    fn a_failing_callback_stops_the_stream_with_its_error() {
        let mut seen = 0;
        let r = for_each_misp_event(r#"[{"a":1},{"a":2},{"a":3}]"#.as_bytes(), |i, _| {
            seen += 1;
            if i == 1 { Err("disk full") } else { Ok(()) }
        });
        assert!(matches!(r, Err(StreamError::Stopped("disk full"))));
        assert_eq!(seen, 2, "nothing after the failure is read");
    }
}
