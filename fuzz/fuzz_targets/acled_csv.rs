//! The ACLED-style CSV reader: any bytes as a CSV file (and as a deletions file), every row
//! through the converter. Nothing may panic; a bad row is an error with its line, and what a
//! row converts to is valid STIX (the ingest pipeline would otherwise refuse it after the dry
//! run said it would store it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_interop::{Report, acled};

fuzz_target!(|data: &[u8]| {
    let opts = acled::import::Options { markings: vec![tandem_model::tlp::TLP2_GREEN.to_string()] };
    let mut last_line = 0;
    for row in acled::rows(data) {
        match row {
            Ok(row) => {
                assert!(row.line > last_line, "lines increase: {} after {last_line}", row.line);
                last_line = row.line;
                let mut report = Report::default();
                if let Ok(objects) = acled::import::row_to_stix(&row, &opts, &mut report) {
                    for o in &objects {
                        if let Err(v) = tandem_model::check_object(o) {
                            panic!("row {} converted to invalid STIX: {v:?}\n{o}", row.line);
                        }
                    }
                }
                let _ = acled::import::deletion(&row);
            }
            Err(e) => assert!(e.line >= last_line, "an error's line {} before {last_line}", e.line),
        }
    }
});
