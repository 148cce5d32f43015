//! Data tables for the ACLED mapping: rows that import (and export back field by field), rows
//! that are rejected with their reason, and what an export reports it cannot carry.

use super::export::incident_to_row;
use super::import::{Options, deletion, revocation, row_to_stix};
use super::*;
use crate::Report;

const CSV: &str = "\
event_id_cnty,event_date,time_precision,event_type,sub_event_type,actor1,inter1,actor2,inter2,civilian_targeting,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp,disorder_type
SYR1001,2025-11-12,1,Explosions/Remote violence,Remote explosive/landmine/IED,Islamic State (Syria),Rebel group,Civilians (Syria),Civilians,Civilian targeting,Deir ez-Zor,Al Mayadin,Thiban,Thiban,35.0142,40.5628,1,SOHR; Deir Ezzor 24,Subnational,\"An IED, planted on a road, hit a car.\",2,,1763000000,Political violence
SYR1002,2025-11-01,3,Battles,Armed clash,Islamic State (Syria),Rebel group,SDF,Rebel group,,Deir Ez Zor,,,,,,,SOHR,National,,0,crowd size=no report,1763100000,
IRQ2001,2025-10-08,2,Strategic developments,Arrests,Iraqi security forces,State forces,,,,Nineveh,Mosul,,Mosul,36.335,43.1189,2,Shafaq News,National,Five suspects arrested.,0,,1762000000,
";

fn import_all(csv: &str) -> (Vec<(u64, Vec<serde_json::Value>)>, Report) {
    let mut report = Report::default();
    let mut out = Vec::new();
    for row in rows(csv.as_bytes()) {
        let row = row.expect("readable");
        match row_to_stix(&row, &Options::default(), &mut report) {
            Ok(objects) => out.push((row.line, objects)),
            Err(reason) => report.reject(row.line, row.get("event_id_cnty"), reason),
        }
    }
    (out, report)
}

fn export_one(objects: &[serde_json::Value], report: &mut Report) -> Vec<String> {
    let incident = objects.iter().find(|o| o["type"] == "incident").expect("an incident");
    let location = objects.iter().find(|o| o["type"] == "location");
    incident_to_row(incident, location, report).expect("exports")
}

#[test]
fn rows_round_trip_field_by_field() {
    let (imported, report) = import_all(CSV);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let originals: Vec<Row> = rows(CSV.as_bytes()).map(|r| r.expect("readable")).collect();
    let mut export_report = Report::default();
    let mut differences = Vec::new();
    for ((_, objects), original) in imported.iter().zip(&originals) {
        for o in objects {
            assert!(tandem_model::check_object(o).is_ok(), "{o}: {:?}", tandem_model::check_object(o).err());
        }
        let row = export_one(objects, &mut export_report);
        for (column, value) in COLUMNS.iter().zip(&row) {
            if original.get(column) != value {
                differences.push(format!("line {} {column}: {:?} -> {value:?}", original.line, original.get(column)));
            }
        }
    }
    // The only changes are ACLED's own conventions made explicit: the gazetteer spelling is kept
    // as a label, so even admin1 comes back as written.
    assert!(differences.is_empty(), "{differences:#?}");
    // The extra column rides as a label, and the export says it cannot write it back.
    assert!(export_report.not_carried.contains_key("labels"));
}

#[test]
fn ids_are_deterministic_and_a_newer_timestamp_is_a_new_version() {
    let (a, _) = import_all(CSV);
    let newer = CSV.replace("1763000000", "1763500000");
    let (b, _) = import_all(&newer);
    let (ia, ib) = (&a[0].1[1], &b[0].1[1]);
    assert_eq!(ia["id"], ib["id"]);
    assert_eq!(ia["created"], ib["created"]);
    assert_ne!(ia["modified"], ib["modified"]);
    assert_eq!(ia["modified"], "2025-11-13T02:13:20.000Z");
    // A Tandem incident id as event_id_cnty is kept as the id.
    let id = "incident--6a1f3c8e-5d2b-4c7a-9e10-2b3c4d5e6f70";
    assert_eq!(import::incident_id(id), id);
}

#[test]
fn bad_rows_are_rejected_with_line_and_reason() {
    let header = CSV.lines().next().unwrap_or_default();
    let cases: &[(&str, &str)] = &[
        (",2025-11-12,1,Battles,Armed clash,,,,,,Idlib,,,,,,,,,,0,,1763000000,", "event_id_cnty is empty"),
        ("X1,2025-11-12,1,Battles,Suicide bomb,,,,,,Idlib,,,,,,,,,,0,,1763000000,", "is not an ACLED event type"),
        ("X2,12/11/2025,1,Battles,Armed clash,,,,,,Idlib,,,,,,,,,,0,,1763000000,", "event_date \"12/11/2025\""),
        ("X3,2025-11-12,4,Battles,Armed clash,,,,,,Idlib,,,,,,,,,,0,,1763000000,", "time_precision \"4\""),
        ("X4,2025-11-12,1,Battles,Armed clash,,,,,,Narnia,,,,,,,,,,0,,1763000000,", "admin1 \"Narnia\""),
        ("X5,2025-11-12,1,Battles,Armed clash,,,,,,Idlib,,,,35.9,,1,,,,0,,1763000000,", "both be given"),
        ("X6,2025-11-12,1,Battles,Armed clash,,,,,,Idlib,,,,95,36,1,,,,0,,1763000000,", "latitude"),
        ("X7,2025-11-12,1,Battles,Armed clash,,,,,,Idlib,,,,35.9,36.6,7,,,,0,,1763000000,", "geo_precision \"7\""),
        ("X8,2025-11-12,1,Battles,Armed clash,,,,,,Idlib,,,,,,,,,,many,,1763000000,", "fatalities \"many\""),
        ("X9,2025-11-12,1,Battles,Armed clash,,,,,,Idlib,,,,,,,,,,0,,yesterday,", "timestamp \"yesterday\""),
        // Found by fuzzing: milliseconds read as seconds are the year 560676, which STIX cannot carry.
        ("X10,2025-11-12,1,Battles,Armed clash,,,,,,Idlib,,,,,,,,,,0,,17631063000000,", "between 1970 and 9999"),
        ("X11,2025-11-12,1,Battles,Armed clash,,,,,,Idlib,,,,,,,,,,0,,-1,", "between 1970 and 9999"),
    ];
    for (k, (row, reason)) in cases.iter().enumerate() {
        let (ok, report) = import_all(&format!("{header}\n{row}\n"));
        assert!(ok.is_empty(), "case {k} imported");
        assert_eq!(report.rejected.len(), 1, "case {k}");
        assert_eq!(report.rejected[0].at, 2, "case {k}: line");
        assert!(report.rejected[0].reason.contains(reason), "case {k}: {}", report.rejected[0].reason);
    }
    // A row with the wrong number of fields is a read error with its line; the next row still reads.
    let text = format!("{header}\nY1,2025\n{}\n", CSV.lines().nth(1).unwrap_or_default());
    let read: Vec<_> = rows(text.as_bytes()).collect();
    assert_eq!(read.len(), 2);
    assert!(matches!(&read[0], Err(e) if e.line == 2 && e.reason.contains("fields")));
    assert!(read[1].is_ok());
}

#[test]
fn deletions_revoke_only_forward() {
    let (a, _) = import_all(CSV);
    let incident = &a[0].1[1];
    let row = Row::from_pairs(2, &[("event_id_cnty", "SYR1001"), ("deleted_timestamp", "1764000000")]);
    let (id, ts) = deletion(&row).expect("a deletion");
    assert_eq!(id, incident["id"].as_str().unwrap_or_default());
    let revoked = revocation(incident, ts).expect("revokes");
    assert_eq!(revoked["revoked"], true);
    assert!(tandem_model::check_object(&revoked).is_ok());
    assert!(revocation(incident, 1_700_000_000).unwrap_err().contains("not after"));
    assert!(revocation(&revoked, 1_765_000_000).unwrap_err().contains("already revoked"));
}

#[test]
fn export_reports_what_it_cannot_carry() {
    let (a, _) = import_all(CSV);
    let mut incident = a[0].1[1].clone();
    incident["object_marking_refs"] = serde_json::json!([tandem_model::tlp::TLP2_AMBER]);
    let ext = &mut incident["extensions"][tandem_model::incident::INCIDENT_EXTENSION_ID];
    ext["injured"] = serde_json::json!({"best": 3});
    ext["fatalities"] = serde_json::json!({"best": 2, "low": 1, "high": 4});
    ext["sources"][0]["reliability"] = serde_json::json!("B");
    let mut report = Report::default();
    incident_to_row(&incident, Some(&a[0].1[0]), &mut report).expect("exports");
    for field in ["object_marking_refs", "injured", "fatalities.low/high/note", "sources.grading"] {
        assert!(report.not_carried.contains_key(field), "{field} missing from {:?}", report.not_carried);
    }
}

/// Found by the `acled_csv` fuzz target: with lone-`\r` line ends the csv crate reports every
/// record on line 1, so rejected rows were all "at 1". And a row after a blank line was
/// reported one line early (the crate gives the line its read began on, before the blank lines
/// it skips). Lines are now counted from the bytes, for every kind of line end.
#[test]
fn lines_count_in_files_with_lone_carriage_returns() {
    let lines = |text: &str| -> Vec<u64> {
        rows(text.as_bytes()).map(|r| r.map(|row| row.line).unwrap_or_else(|e| e.line)).collect()
    };
    assert_eq!(lines("event_id_cnty,notes\rA,1\rB,2,extra\rC,3\r"), [2, 3, 4]);
    assert_eq!(lines("event_id_cnty,notes\nA,1\nB,\"two\nlines\"\nC,3\n"), [2, 3, 5]);
    assert_eq!(lines("event_id_cnty,notes\r\nA,1\r\nB,2\r\n"), [2, 3]);
    // Blank lines before, between and after rows, and inside a quoted field.
    assert_eq!(lines("event_id_cnty,notes\n\nA,1\n\n\nB,2,extra\nC,\"x\n\ny\"\nD,4\n\n"), [3, 6, 7, 10]);
    assert_eq!(lines("event_id_cnty,notes\r\n\r\nA,1\r\n\r\nB,2\r\n"), [3, 5]);
    assert_eq!(lines("event_id_cnty,notes\r\rA,1\r\r\rB,2"), [3, 6]);
    // A header after blank lines, and a row whose fields are all blank, skipped but counted.
    assert_eq!(lines("\n\nevent_id_cnty,notes\nA,1\n , \nB,2\n"), [4, 6]);
}

/// The line of a rejected row through the whole reader: a row after a blank line is reported
/// at its own line.
#[test]
fn a_rejected_row_after_a_blank_line_is_reported_at_its_line() {
    let header = CSV.lines().next().unwrap_or_default();
    let good = CSV.lines().nth(1).unwrap_or_default();
    let bad = good.replace("2025-11-12", "12/11/2025");
    let (ok, report) = import_all(&format!("{header}\n{good}\n\n{bad}\n"));
    assert_eq!(ok.len(), 1);
    assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);
    assert_eq!(report.rejected[0].at, 4, "{:?}", report.rejected);
}
