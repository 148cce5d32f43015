//! The MISP event reader: any bytes through the streaming reader (`tandem_interop::stream`)
//! and every event it hands over through the converter. Nothing may panic; the stream accepts
//! exactly the JSON documents serde_json accepts whole (of an object or array shape), handing
//! over as many events as the whole document holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tandem_interop::misp::Mapping;
use tandem_interop::misp::import::{Options, event_to_stix};
use tandem_interop::{Report, stream};

#[path = "common/top_keys.rs"]
mod top_keys;

fuzz_target!(|data: &[u8]| {
    let opts = Options {
        member: "USA".into(),
        mapping: Mapping {
            community: Some(vec!["USA".into(), "IRQ".into()]),
            sharing_groups: [("7".to_string(), vec!["IRQ".to_string()])].into(),
            ..Mapping::default()
        },
    };
    let streamed = stream::for_each_misp_event(data, |index, event| {
        let mut report = Report::default();
        let _ = event_to_stix(&event, index, &opts, &mut report);
        Ok::<(), ()>(())
    });
    let whole = serde_json::from_slice::<Value>(data);
    let keys = top_keys::top_keys(data).unwrap_or_default();
    // The stream reads the first of `response` and `Event` in document order; `Value` keeps
    // neither order nor duplicates, so only documents where that cannot matter are compared.
    let plain = !top_keys::has_duplicates(&keys)
        && !(keys.iter().any(|k| k == "response") && keys.iter().any(|k| k == "Event"));
    match (&whole, &streamed) {
        (Err(_), Ok(n)) => panic!("the stream accepted {n} events of a document that is not JSON"),
        (Ok(Value::Array(a)), Ok(n)) => assert_eq!(*n, a.len() as u64, "events of a list"),
        (Ok(Value::Array(_)), Err(e)) => panic!("the stream refused a list of events: {e:?}"),
        (Ok(Value::Object(m)), result) if plain => match (m.get("response"), result) {
            (Some(Value::Array(a)), Ok(n)) => assert_eq!(*n, a.len() as u64, "events of a response"),
            (Some(Value::Array(_)), Err(e)) => panic!("the stream refused a restSearch answer: {e:?}"),
            (Some(_), Ok(n)) => panic!("the stream took {n} events from a response that is not a list"),
            (None, Ok(n)) => assert_eq!(*n, 1, "an object without `response` is one event"),
            (None, Err(e)) => panic!("the stream refused one event: {e:?}"),
            (Some(_), Err(_)) => {}
        },
        _ => {}
    }
});
