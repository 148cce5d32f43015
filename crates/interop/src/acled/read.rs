//! Streaming CSV rows with their line numbers: one record in memory at a time, whatever the
//! file's size.

use std::collections::BTreeMap;
use std::io::Read;

/// One row: column name to value (trimmed), and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    pub line: u64,
    pub fields: BTreeMap<String, String>,
}

impl Row {
    /// A column's value, `""` when absent.
    pub fn get(&self, column: &str) -> &str {
        self.fields.get(column).map(String::as_str).unwrap_or("")
    }

    /// A row from `(column, value)` pairs (tests and generators).
    pub fn from_pairs(line: u64, pairs: &[(&str, &str)]) -> Row {
        Row { line, fields: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }
}

/// A row that could not even be read as CSV (not a mapping error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

/// The rows of a CSV with a header line. A malformed row is an `Err` with its line and the
/// iteration goes on; a failure to read the header ends it with one `Err`.
pub fn rows(reader: impl Read) -> impl Iterator<Item = Result<Row, RowError>> {
    let mut csv = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(reader);
    let header: Result<Vec<String>, RowError> = csv
        .headers()
        .map(|h| h.iter().map(|c| c.trim_start_matches('\u{feff}').to_string()).collect())
        .map_err(|e| RowError { line: 1, reason: format!("unreadable header: {e}") });
    let mut done = false;
    let mut record = csv::StringRecord::new();
    // The csv crate counts `\n` only, so in a file of lone-`\r` line ends every record is
    // "line 1". A record starts at least one line after the one before it (each ends with a
    // line terminator): the line reported is the crate's, or one past the previous when the
    // crate's is not, which is exact for `\n` and `\r\n` files and never goes backwards.
    let mut last_line: u64 = 1;
    let mut next_line = move |reported: u64| {
        last_line = reported.max(last_line + 1);
        last_line
    };
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let header = match &header {
            Ok(h) => h,
            Err(e) => {
                done = true;
                return Some(Err(e.clone()));
            }
        };
        loop {
            match csv.read_record(&mut record) {
                Ok(false) => return None,
                Ok(true) => {
                    let line = next_line(record.position().map(|p| p.line()).unwrap_or(0));
                    if record.iter().all(str::is_empty) {
                        continue;
                    }
                    let fields = header.iter().cloned().zip(record.iter().map(str::to_string)).collect();
                    return Some(Ok(Row { line, fields }));
                }
                Err(e) => {
                    let line = next_line(e.position().map(|p| p.line()).unwrap_or(0));
                    let reason = match e.kind() {
                        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                            format!("{len} fields where the header has {expected_len}")
                        }
                        _ => e.to_string(),
                    };
                    // An I/O error would repeat forever: stop after reporting it.
                    done = matches!(e.kind(), csv::ErrorKind::Io(_));
                    return Some(Err(RowError { line, reason }));
                }
            }
        }
    })
}
