//! Invariants of the operational commands that only show across processes or on a terminal:
//! `date_added` handed out by two `tandem import` processes writing to one store at once,
//! `tandem doctor`'s failure branch, and the progress bar `tandem import` draws.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};

/// How long an eventually-true condition may take (generous: the machine may be loaded).
const WAIT: Duration = Duration::from_secs(60);

fn indicator(markings: &[&str]) -> Value {
    reported_indicator(markings, "[ipv4-addr:value = '10.0.0.1']")
}

/// Writes a bundle of `objects` and returns its path.
fn bundle(dir: &Path, name: &str, objects: &[Value]) -> PathBuf {
    let path = dir.join(name);
    let b = json!({"type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()), "objects": objects});
    std::fs::write(&path, b.to_string()).expect("write bundle");
    path
}

fn tandem(args: &[&str], config: &Path) -> Output {
    Command::new(bin()).args(args).arg("--config").arg(config).output().expect("run tandem")
}

/// `(stix_id, date_added)` of every stored version whose `date_added` is above `after`.
fn rows_after(conn: &Connection, after: i64) -> Vec<(String, i64)> {
    let mut stmt = conn
        .prepare("SELECT stix_id, date_added FROM objects WHERE date_added > ?1 ORDER BY date_added")
        .expect("prepare");
    stmt.query_map([after], |r| Ok((r.get(0)?, r.get(1)?))).expect("query").map(|r| r.expect("row")).collect()
}

/// Two `tandem import` processes write to one data directory at the same time, in small
/// transactions. Every version gets a distinct `date_added`, each process's versions get them
/// in the order it wrote them, and a reader tailing the store by `date_added` meanwhile (as a
/// TAXII `added_after` poller does) misses none: no commit ever lands behind one already seen.
#[test]
fn two_importing_processes_hand_out_increasing_date_added() {
    const PER_FILE: usize = 600;
    let (dir, config) = usa_node_dir();
    // Create the store (and its schema) before the writers race for it.
    let first = bundle(dir.path(), "first.json", &[indicator(&[GREEN])]);
    let out = tandem(&["import", "--quiet", first.to_str().expect("path")], &config);
    assert!(out.status.success(), "{}", text(&out));
    let files: Vec<Vec<Value>> = (0..2).map(|_| (0..PER_FILE).map(|_| indicator(&[GREEN])).collect()).collect();
    let paths: Vec<PathBuf> =
        files.iter().enumerate().map(|(i, f)| bundle(dir.path(), &format!("part{i}.json"), f)).collect();

    let db = dir.path().join("data").join("tandem.sqlite");
    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open the store file");
    conn.busy_timeout(Duration::from_secs(30)).expect("busy timeout");
    let mut seen = rows_after(&conn, 0);

    let mut children: Vec<Proc> = paths
        .iter()
        .map(|p| {
            Proc(
                Command::new(bin())
                    .args(["import", "--quiet", "--batch", "7", "--config"])
                    .arg(&config)
                    .arg(p)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn import"),
            )
        })
        .collect();
    let start = Instant::now();
    let mut done = vec![None; children.len()];
    while done.iter().any(Option::is_none) {
        assert!(start.elapsed() < WAIT * 3, "the imports never finished");
        let cursor = seen.last().map_or(0, |r| r.1);
        seen.extend(rows_after(&conn, cursor));
        for (i, c) in children.iter_mut().enumerate() {
            if done[i].is_none() {
                done[i] = c.0.try_wait().expect("wait");
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for (i, status) in done.iter().enumerate() {
        assert!(status.is_some_and(|s| s.success()), "import {i} failed: {status:?}");
    }
    let cursor = seen.last().map_or(0, |r| r.1);
    seen.extend(rows_after(&conn, cursor));

    let all = rows_after(&conn, 0);
    assert_eq!(all.len(), 1 + 2 * PER_FILE, "every version stored");
    let mut added: Vec<i64> = all.iter().map(|r| r.1).collect();
    added.dedup();
    assert_eq!(added.len(), all.len(), "a date_added was handed out twice");
    assert_eq!(seen, all, "the tailing reader missed a version: a later commit got an earlier date_added");
    // Each process's versions are numbered in the order it wrote them.
    let position: std::collections::HashMap<&str, i64> = all.iter().map(|(id, a)| (id.as_str(), *a)).collect();
    for (i, f) in files.iter().enumerate() {
        let order: Vec<i64> = f.iter().map(|o| position[o["id"].as_str().expect("id")]).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "process {i} wrote versions out of date_added order");
    }
    // The two really interleaved: otherwise this test shows nothing about concurrency.
    let owner: std::collections::HashMap<&str, usize> =
        files.iter().enumerate().flat_map(|(i, f)| f.iter().map(move |o| (o["id"].as_str().expect("id"), i))).collect();
    let switches = all.windows(2).filter(|w| owner.get(w[0].0.as_str()) != owner.get(w[1].0.as_str())).count();
    println!("the two imports' transactions alternated {switches} times");
}

/// `tandem doctor` on a store holding a version under a marking nobody defined: it lists the
/// marking with its count and exits non-zero; a store whose markings all resolve passes.
#[test]
fn doctor_lists_an_unresolvable_marking_and_fails() {
    let (dir, config) = usa_node_dir();
    let missing = format!("marking-definition--{}", uuid::Uuid::new_v4());
    let file = bundle(dir.path(), "b.json", &[indicator(&[&missing]), indicator(&[&missing]), indicator(&[GREEN])]);
    let out = tandem(&["import", "--quiet", file.to_str().expect("path")], &config);
    assert!(out.status.success(), "{}", text(&out));

    let out = tandem(&["doctor"], &config);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        report.trim(),
        format!(
            "unresolved marking {missing}: 2 object versions are visible to their originator only\n\
             ok: no id has conflicting claims by several members"
        ),
        "{report}"
    );

    // A store whose every marking resolves passes.
    let clean = usa_node_dir();
    let out = tandem(&["doctor"], &clean.1);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok: every marking reference resolves\nok: no id has conflicting claims by several members"
    );
}

/// `tandem import` on a terminal draws a progress bar naming the file and its size, then prints
/// the summary. Run under `script`, which gives the child a pseudo-terminal.
#[test]
fn import_draws_a_progress_bar_on_a_terminal() {
    let (dir, config) = usa_node_dir();
    let objects: Vec<Value> = (0..300).map(|_| indicator(&[GREEN])).collect();
    let file = bundle(dir.path(), "progress.json", &objects);
    let size = std::fs::metadata(&file).expect("size").len();
    let command = format!("{} import --batch 50 --config {} {}", bin(), config.display(), file.display());
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .expect("run script");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{tty}");
    assert!(tty.contains("accepted: 300  duplicate: 0  rejected: 0"), "{tty}");
    let bar = tty.lines().find(|l| l.contains(&file.display().to_string()) && l.contains('[')).unwrap_or_default();
    assert!(!bar.is_empty(), "no progress bar line naming the file: {tty:?}");
    // indicatif prints the total as binary bytes (e.g. `KiB`); the bar reaches it.
    assert!(bar.contains('/') && bar.contains("iB"), "{bar:?}");
    assert!(size > 1024, "the file is big enough for a KiB figure");

    // Without a terminal (or with --quiet) only the summary is printed.
    let out = tandem(&["import", "--batch", "50", file.to_str().expect("path")], &config);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "accepted: 0  duplicate: 300  rejected: 0\n");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("iB"), "{}", String::from_utf8_lossy(&out.stderr));
}
