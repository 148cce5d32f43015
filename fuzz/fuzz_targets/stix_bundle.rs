//! The STIX bundle import reader (`tandem_interop::stream`, behind `tandem import`, the HTTP
//! upload and `tandem validate`): any bytes, streamed object by object. Nothing may panic; the
//! stream accepts exactly the JSON documents serde_json accepts whole (of an object or array
//! shape) and hands over the objects the whole document holds, in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tandem_interop::stream;

#[path = "common/top_keys.rs"]
mod top_keys;

fuzz_target!(|data: &[u8]| {
    let mut seen = Vec::new();
    let streamed = stream::for_each_stix_object(data, |index, object| {
        assert_eq!(index as usize, seen.len(), "indices count from 0");
        let _ = tandem_model::check_object(&object);
        seen.push(object);
        Ok::<(), ()>(())
    });
    let whole = serde_json::from_slice::<Value>(data);
    match (&whole, &streamed) {
        (Err(_), Ok(n)) => panic!("the stream accepted {n} objects of a document that is not JSON"),
        (Ok(doc), Ok(_)) if !top_keys::top_keys(data).is_some_and(|k| top_keys::has_duplicates(&k)) => {
            let expected: Vec<Value> = match doc {
                Value::Array(a) => a.clone(),
                Value::Object(m) => match m.get("objects") {
                    Some(Value::Array(a)) => a.clone(),
                    _ => vec![doc.clone()],
                },
                other => vec![other.clone()],
            };
            assert_eq!(seen, expected, "the stream and the whole document disagree");
        }
        (Ok(doc @ Value::Array(_)), Err(e)) => panic!("the stream refused a list: {e:?} ({doc})"),
        (Ok(Value::Object(m)), Err(e)) if m.get("objects").is_none_or(Value::is_array) => {
            panic!("the stream refused a bundle-shaped document: {e:?}")
        }
        _ => {}
    }
});
