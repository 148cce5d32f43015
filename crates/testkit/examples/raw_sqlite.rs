//! The storage limit that `bench/perf.py` compares Tandem's ingest with (issue 18): the same
//! objects inserted straight into SQLite, with the durability Tandem's store promises (WAL,
//! `synchronous = FULL`, one transaction per envelope) and the indexes any object store needs
//! (a unique (id, version) key, a feed position, a type index), but nothing else: no TAXII, no
//! validation, no canonical form, no signature, no releasability labels.
//!
//! Reads `--objects` (one STIX object per line, as `perf.py` writes them), parses them before the
//! clock starts, inserts them in transactions of `--envelope` rows into a new database at `--db`,
//! and prints one JSON line: rows, seconds, rows/s, MB/s of object text.
//!
//! `cargo run --release -p tandem-testkit --example raw_sqlite -- --objects objects.ndjson --db /tmp/raw.sqlite`

use std::time::Instant;

use anyhow::{Context, bail};

#[derive(clap::Parser)]
#[command(about = "Raw SQLite insert of STIX objects, the reference for Tandem's ingest")]
struct Args {
    /// One STIX object per line.
    #[arg(long)]
    objects: std::path::PathBuf,
    /// The database to create (must not exist).
    #[arg(long)]
    db: std::path::PathBuf,
    /// Rows per transaction (Tandem commits once per TAXII envelope).
    #[arg(long, default_value_t = 500)]
    envelope: usize,
}

struct Row {
    id: String,
    object_type: String,
    version: String,
    text: String,
}

fn main() -> anyhow::Result<()> {
    let args: Args = clap::Parser::parse();
    if args.db.exists() {
        bail!("{} exists; give a new path", args.db.display());
    }
    let text = std::fs::read_to_string(&args.objects).with_context(|| format!("reading {}", args.objects.display()))?;
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).with_context(|| format!("line {}", n + 1))?;
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
        let version = if v.get("modified").is_some() { field("modified") } else { field("created") };
        rows.push(Row { id: field("id"), object_type: field("type"), version, text: line.to_string() });
    }
    let bytes: usize = rows.iter().map(|r| r.text.len()).sum();

    let mut db = rusqlite::Connection::open(&args.db)?;
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE objects (
           position INTEGER PRIMARY KEY, id TEXT NOT NULL, version TEXT NOT NULL,
           type TEXT NOT NULL, date_added INTEGER NOT NULL, object TEXT NOT NULL,
           UNIQUE (id, version));
         CREATE INDEX objects_by_type ON objects (type, position);",
    )?;
    let started = Instant::now();
    let mut added = 0i64;
    for chunk in rows.chunks(args.envelope.max(1)) {
        let tx = db.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO objects (id, version, type, date_added, object) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for r in chunk {
                added += 1;
                insert.execute(rusqlite::params![r.id, r.version, r.object_type, added, r.text])?;
            }
        }
        tx.commit()?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "rows": rows.len(), "secs": secs, "rows_per_s": rows.len() as f64 / secs,
            "mb_per_s": bytes as f64 / 1e6 / secs, "bytes": bytes, "envelope": args.envelope,
        })
    );
    Ok(())
}
