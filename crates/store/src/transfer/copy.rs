//! The copy: table by table in [`super::TABLES`] order, in batches read in the source's key
//! order, each batch stored in the target together with the marker that names the source and the
//! last copied key (one transaction), so a copy killed at any moment resumes exactly after its
//! last stored batch and never stores a row twice.

use serde_json::{Value, json};

use super::{Cell, MigrateError, RowStore, TABLES, key_from_json};

/// The marker's format, in the marker.
const MARKER_FORMAT: u64 = 1;

#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Rows per batch (one target transaction each).
    pub batch_rows: usize,
    /// Stop after this many batches, as if interrupted (tests, and an operator who wants to
    /// copy in sittings); the next run resumes.
    pub stop_after_batches: Option<u64>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions { batch_rows: 1_000, stop_after_batches: None }
    }
}

/// How a [`copy`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyEnd {
    /// Every table copied (`resumed`: the run went on from an earlier one's marker).
    Complete { rows: u64, batches: u64, resumed: bool },
    /// Stopped by [`CopyOptions::stop_after_batches`]; run again to go on.
    Stopped { rows: u64, batches: u64 },
    /// An earlier run already completed the copy from this source: nothing copied.
    AlreadyComplete,
}

/// Told about the copy's progress (a progress bar, or plain lines).
pub trait Progress {
    /// A table starts: `total` rows in the source, `done` already in the target.
    fn table(&mut self, name: &str, total: u64, done: u64);
    /// `rows` more rows of the current table are stored.
    fn rows(&mut self, rows: u64);
}

/// Copies every table of `source` into `target`. `source_id` names the source (its location,
/// without credentials): the target's marker keeps it, and a target holding anything but a
/// migration from that very source is refused.
pub fn copy(
    source: &dyn RowStore,
    source_id: &str,
    target: &dyn RowStore,
    options: &CopyOptions,
    progress: &mut dyn Progress,
) -> Result<CopyEnd, MigrateError> {
    let batch_rows = options.batch_rows.max(1);
    let (start_table, mut after, resumed) = match target.marker()? {
        None => {
            for table in TABLES {
                if target.count_rows(table)? > 0 {
                    return Err(MigrateError::TargetNotEmpty);
                }
            }
            (0, None, false)
        }
        Some(marker) => {
            let found = marker.get("source").and_then(Value::as_str).unwrap_or_default();
            if found != source_id {
                return Err(MigrateError::OtherSource { found: found.to_string() });
            }
            if marker.get("format").and_then(Value::as_u64) != Some(MARKER_FORMAT) {
                return Err(MigrateError::BadMarker(format!("format {}", marker["format"])));
            }
            if marker.get("complete").and_then(Value::as_bool) == Some(true) {
                return Ok(CopyEnd::AlreadyComplete);
            }
            let name = marker.get("table").and_then(Value::as_str).unwrap_or_default();
            let index = TABLES
                .iter()
                .position(|t| t.name == name)
                .ok_or_else(|| MigrateError::BadMarker(format!("unknown table {name:?}")))?;
            let after = match marker.get("after") {
                None | Some(Value::Null) => None,
                Some(v) => Some(key_from_json(v)?),
            };
            (index, after, true)
        }
    };

    let marker = |table: &str, after: &[Cell]| json!({"format": MARKER_FORMAT, "source": source_id, "table": table, "after": after, "complete": false});
    let (mut rows_copied, mut batches) = (0u64, 0u64);
    for table in &TABLES[start_table..] {
        let done = if after.is_some() { target.count_rows(table)? } else { 0 };
        progress.table(table.name, source.count_rows(table)?, done);
        loop {
            let rows = source.read_rows(table, after.as_deref(), batch_rows)?;
            let Some(last) = rows.last() else { break };
            let key = last.key.clone();
            target.write_rows(table, &rows, &marker(table.name, &key))?;
            batches += 1;
            rows_copied += rows.len() as u64;
            progress.rows(rows.len() as u64);
            after = Some(key);
            if options.stop_after_batches.is_some_and(|n| batches >= n) {
                return Ok(CopyEnd::Stopped { rows: rows_copied, batches });
            }
            if rows.len() < batch_rows {
                break;
            }
        }
        after = None;
    }
    let clock = source.clock()?;
    target.continue_clock(clock)?;
    let last = TABLES.last().ok_or_else(|| MigrateError::BadMarker("no tables".into()))?;
    let complete = json!({"format": MARKER_FORMAT, "source": source_id, "complete": true, "source_clock": clock,
                          "completed": tandem_model::Timestamp::now()});
    target.write_rows(last, &[], &complete)?;
    Ok(CopyEnd::Complete { rows: rows_copied, batches, resumed })
}
