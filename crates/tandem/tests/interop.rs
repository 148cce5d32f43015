//! `tandem import|export --format csv` against a real node data directory: a dry run stores
//! nothing and lists every row it would store or reject, an import then an export gives back the
//! rows field by field, a newer `timestamp` makes new versions (not duplicates), and a deletions
//! file revokes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

const HEADER: &str = "event_id_cnty,event_date,time_precision,event_type,sub_event_type,actor1,inter1,actor2,inter2,civilian_targeting,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp";
const ROWS: &[&str] = &[
    "SYR1001,2025-11-12,1,Explosions/Remote violence,Remote explosive/landmine/IED,Islamic State (Syria),Rebel group,Civilians (Syria),Civilians,Civilian targeting,Deir ez-Zor,Al Mayadin,Thiban,Thiban,35.0142,40.5628,1,SOHR; Deir Ezzor 24,Subnational,\"An IED, planted on a road, hit a car.\",2,,1763000000",
    "SYR1002,2025-11-01,3,Battles,Armed clash,Islamic State (Syria),Rebel group,SDF,Rebel group,,Deir Ez Zor,,,,,,,SOHR,National,,0,crowd size=no report,1763100000",
    "IRQ2001,2025-10-08,2,Strategic developments,Arrests,Iraqi security forces,State forces,,,,Nineveh,Mosul,,Mosul,36.335,43.1189,2,Shafaq News,National,Five suspects arrested.,0,,1762000000",
];
const BAD: &str = "SYR1003,2025-11-12,1,Battles,Suicide bomb,,,,,,Idlib,,,,,,,,,,0,,1763000000";

fn run(args: &[&str], config: &Path) -> Output {
    Command::new(bin()).args(args).arg("--config").arg(config).env("RUST_LOG", "warn").output().expect("run tandem")
}

fn write(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write csv");
    path
}

/// The exported rows keyed by event_id_cnty, each as (column, value) pairs.
fn export(config: &Path, dir: &Path) -> Vec<Vec<(String, String)>> {
    let out_path = dir.join("out.csv");
    let out = run(&["export", "--format", "csv", "--output", p(&out_path)], config);
    assert!(out.status.success(), "{}", text(&out));
    parse(&std::fs::read_to_string(&out_path).expect("read export"))
}

fn parse(csv: &str) -> Vec<Vec<(String, String)>> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_string).collect();
    let mut rows: Vec<Vec<(String, String)>> = reader
        .records()
        .map(|r| header.iter().cloned().zip(r.expect("record").iter().map(str::to_string)).collect())
        .collect();
    rows.sort_by(|a, b| a[0].1.cmp(&b[0].1));
    rows
}

#[test]
fn csv_dry_run_import_export_update_and_delete() {
    let (dir, config) = usa_node_dir();
    let mut lines = vec![HEADER];
    lines.extend(ROWS);
    lines.push(BAD);
    let input = write(dir.path(), "in.csv", &lines);

    // Dry run: lists what it would store and the bad row with its line, stores nothing.
    let out = run(&["import", "--quiet", "--format", "csv", "--dry-run", p(&input)], &config);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert_eq!(said.matches("would store incident--").count(), 3, "{said}");
    assert_eq!(said.matches("would store location--").count(), 2, "{said}");
    assert!(said.contains("rejected at 5 (SYR1003)") && said.contains("Suicide bomb"), "{said}");
    assert!(export(&config, dir.path()).is_empty(), "a dry run stored something");

    // Import, then export: every column of every good row comes back as written.
    let report_path = dir.path().join("report.json");
    let out = run(&["import", "--quiet", "--format", "csv", "--report", p(&report_path), p(&input)], &config);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).expect("report")).expect("report json");
    assert_eq!(report["counts"]["stored"], 5, "{report}");
    assert_eq!(report["rejected"][0]["at"], 5, "{report}");
    let exported = export(&config, dir.path());
    let expected = parse(&[HEADER].iter().chain(ROWS).copied().collect::<Vec<_>>().join("\n"));
    let mut differences = Vec::new();
    assert_eq!(exported.len(), expected.len());
    for (got, want) in exported.iter().zip(&expected) {
        for ((column, g), (_, w)) in got.iter().zip(want) {
            if g != w {
                differences.push(format!("{} {column}: {w:?} -> {g:?}", want[0].1));
            }
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");

    // The same file again is a no-op; a newer timestamp is a new version of the same incident.
    let out = run(&["import", "--quiet", "--format", "csv", p(&input)], &config);
    assert!(text(&out).contains("unchanged: 5"), "{}", text(&out));
    let newer = ROWS[0].replace("1763000000", "1763600000").replace(",2,,", ",3,,");
    let update = write(dir.path(), "update.csv", &[HEADER, &newer]);
    let out = run(&["import", "--quiet", "--format", "csv", p(&update)], &config);
    assert!(out.status.success() && text(&out).contains("stored: 2"), "{}", text(&out));
    let exported = export(&config, dir.path());
    assert_eq!(exported.len(), 3, "an update duplicated the incident");
    let syr1001 = exported.iter().find(|r| r[0].1 == "SYR1001").expect("SYR1001");
    let col = |row: &Vec<(String, String)>, c: &str| row.iter().find(|(k, _)| k == c).map(|(_, v)| v.clone());
    assert_eq!(col(syr1001, "timestamp").as_deref(), Some("1763600000"));
    assert_eq!(col(syr1001, "fatalities").as_deref(), Some("3"));

    // A deletions file revokes; a deletion older than the stored version is refused.
    let deletions = write(
        dir.path(),
        "deleted.csv",
        &["event_id_cnty,deleted_timestamp", "SYR1002,1764000000", "IRQ2001,1700000000"],
    );
    let out = run(&["import", "--quiet", "--format", "csv", "--deletions", p(&deletions)], &config);
    let said = text(&out);
    assert!(said.contains("revocations: 1") && said.contains("rejected at 3 (IRQ2001)"), "{said}");
    let left: Vec<String> = export(&config, dir.path()).iter().map(|r| r[0].1.clone()).collect();
    assert_eq!(left, ["IRQ2001", "SYR1001"]);
}

/// A MISP restSearch answer of `events` events, each an incident with one indicator and an
/// organisation description of `pad` bytes (which the import drops: a large file, a small store).
fn misp_search(path: &Path, events: u32, pad: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let padding = "x".repeat(pad);
    write!(f, "{{\"response\": [").expect("write");
    for i in 0..events {
        let event = serde_json::json!({"Event": {
            "uuid": format!("5f0c7d52-3a1e-4b8f-9c2d-{i:012}"), "info": format!("event {i}"),
            "date": "2025-11-12", "timestamp": (1763000000 + i).to_string(), "distribution": "0",
            "Orgc": {"name": "Synthetic", "description": padding},
            "Attribute": [{"uuid": format!("a1b2c3d4-0001-4a5b-8c6d-{i:012}"), "type": "domain",
                           "category": "Network activity", "value": format!("host{i}.example.org"),
                           "to_ids": true, "timestamp": (1763000000 + i).to_string(), "distribution": "5"}]}});
        if i > 0 {
            f.write_all(b",\n").expect("write");
        }
        serde_json::to_writer(&mut f, &event).expect("write");
    }
    f.write_all(b"]}\n").expect("write");
    f.flush().expect("flush");
}

/// Thousands of MISP events in one file import in memory bounded by one event: the importer's
/// peak resident set (GNU time, as `bench/misp_import.sh` measures it) stays below the file's
/// size, which reading the document whole could not (its bytes alone are that size).
#[test]
fn a_large_misp_file_imports_every_event_in_bounded_memory() {
    let (dir, config) = usa_node_dir();
    let input = dir.path().join("events.json");
    let events = 2500;
    misp_search(&input, events, 40_000);
    let size = std::fs::metadata(&input).expect("size").len();
    let time = dir.path().join("time.txt");
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&time)
        .arg(bin())
        .args(["import", "--quiet", "--format", "misp", "--batch", "2000", "--config", p(&config), p(&input)])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run tandem under /usr/bin/time (Debian package `time`)");
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains(&format!("events: {events}")), "{said}");
    // Each event: its incident, its indicator and the indicates relationship; the TLP-less
    // distribution-0 releasability marking once.
    assert!(said.contains(&format!("stored: {}", 3 * events + 1)), "{said}");
    let peak_kib: u64 = std::fs::read_to_string(&time)
        .expect("time output")
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("max RSS in KiB");
    let peak = peak_kib * 1024;
    eprintln!("{events} events, {} MiB file, importer peak {} MiB", size >> 20, peak >> 20);
    assert!(peak < size, "peak {peak} bytes for a file of {size}: the document was held whole");
}

/// A MISP feed directory (`manifest.json` plus one `<uuid>.json` per event) imports its events
/// through the manifest: the manifest is the index, never reported as a bad event; an event it
/// lists without a file, and a file it does not list, are each reported.
#[test]
fn a_misp_feed_directory_imports_through_its_manifest() {
    let (dir, config) = usa_node_dir();
    let feed = dir.path().join("feed");
    std::fs::create_dir(&feed).expect("feed dir");
    let uuids = ["5f0c7d52-3a1e-4b8f-9c2d-000000000001", "5f0c7d52-3a1e-4b8f-9c2d-000000000002"];
    let missing = "5f0c7d52-3a1e-4b8f-9c2d-000000000003";
    let mut manifest = serde_json::Map::new();
    for (i, uuid) in uuids.iter().chain([&missing]).enumerate() {
        manifest.insert(
            uuid.to_string(),
            serde_json::json!({"info": format!("event {i}"), "date": "2025-11-12", "timestamp": "1763000000",
                               "analysis": 2, "threat_level_id": 3, "Orgc": {"name": "Feed", "uuid": uuid}}),
        );
    }
    std::fs::write(feed.join("manifest.json"), serde_json::Value::Object(manifest).to_string()).expect("manifest");
    for (i, uuid) in uuids.iter().enumerate() {
        let event = serde_json::json!({"Event": {"uuid": uuid, "info": format!("event {i}"), "date": "2025-11-12",
            "timestamp": "1763000000", "distribution": "0"}});
        std::fs::write(feed.join(format!("{uuid}.json")), event.to_string()).expect("event");
    }
    std::fs::write(feed.join("hashes.json"), "{}").expect("stray");
    let out = run(&["import", "--quiet", "--format", "misp", p(&feed)], &config);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "something was rejected: {said}");
    assert!(said.contains("events: 2"), "the two events with files: {said}");
    assert!(!said.contains("manifest.json (") && !said.contains("(-)"), "the manifest is no event: {said}");
    assert!(said.contains(&format!("({missing}): listed in manifest.json but")), "{said}");
    assert!(said.contains("hashes.json): not an event of manifest.json"), "{said}");
    let exported = dir.path().join("out.json");
    let out = run(&["export", "--format", "misp", "--output", p(&exported)], &config);
    assert!(out.status.success(), "{}", text(&out));
    let misp: serde_json::Value = serde_json::from_slice(&std::fs::read(&exported).expect("export")).expect("json");
    let mut got: Vec<String> = misp["response"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["Event"]["uuid"].as_str().map(str::to_string))
        .collect();
    got.sort();
    assert_eq!(got, uuids);
}

/// The MISP export streams a page of events at a time: with a store of large indicators, the
/// exporter's peak resident set (GNU time) stays below the size of what it writes, which
/// gathering the reader's view first could not (the objects alone are that size).
#[test]
fn a_large_misp_export_streams_in_bounded_memory() {
    use std::io::Write;
    let (dir, config) = usa_node_dir();
    let input = dir.path().join("events.json");
    let events = 2000;
    let comment = "c".repeat(40_000);
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).expect("create"));
        write!(f, "{{\"response\": [").expect("write");
        for i in 0..events {
            let event = serde_json::json!({"Event": {
                "uuid": format!("5f0c7d52-3a1e-4b8f-9c2d-{i:012}"), "info": format!("event {i}"),
                "date": "2025-11-12", "timestamp": (1763000000 + i).to_string(), "distribution": "0",
                // Kept: an attribute's comment is its indicator's description.
                "Attribute": [{"uuid": format!("a1b2c3d4-0001-4a5b-8c6d-{i:012}"), "type": "domain",
                               "category": "Network activity", "value": format!("host{i}.example.org"),
                               "comment": comment, "to_ids": true,
                               "timestamp": (1763000000 + i).to_string(), "distribution": "5"}]}});
            if i > 0 {
                f.write_all(b",\n").expect("write");
            }
            serde_json::to_writer(&mut f, &event).expect("write");
        }
        f.write_all(b"]}\n").expect("write");
        f.flush().expect("flush");
    }
    let out = run(&["import", "--quiet", "--format", "misp", "--batch", "1000", p(&input)], &config);
    assert!(out.status.success(), "{}", text(&out));
    let exported = dir.path().join("out.json");
    let time = dir.path().join("time.txt");
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&time)
        .arg(bin())
        .args(["export", "--format", "misp", "--config", p(&config), "--output", p(&exported)])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run tandem under /usr/bin/time (Debian package `time`)");
    assert!(out.status.success(), "{}", text(&out));
    let size = std::fs::metadata(&exported).expect("size").len();
    let misp: serde_json::Value = serde_json::from_slice(&std::fs::read(&exported).expect("read")).expect("json");
    let written = misp["response"].as_array().map(Vec::len).unwrap_or_default();
    assert_eq!(written, events as usize, "every event, each with its indicator");
    assert!(misp["response"][0]["Event"]["Attribute"][0]["comment"] == comment.as_str());
    let peak_kib: u64 = std::fs::read_to_string(&time)
        .expect("time output")
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("max RSS in KiB");
    let peak = peak_kib * 1024;
    eprintln!("{events} events, {} MiB written, exporter peak {} MiB", size >> 20, peak >> 20);
    assert!(peak < size, "peak {peak} bytes for an export of {size}: the view was gathered");
}
