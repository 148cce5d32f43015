//! Streaming CSV rows with their line numbers: one record in memory at a time, whatever the
//! file's size.
//!
//! The lines are counted here, not taken from the csv crate: the crate gives a record the
//! position where its read began, which is before the blank lines it skips (so a row after a
//! blank line was reported one line early), and it counts `\n` only (so in a file of lone-`\r`
//! line ends every record was "line 1"). [`LineTap`] watches the bytes the crate reads and
//! notes where each non-empty line starts; a record starts at the first of those at or after
//! the byte its read began at.

use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::sync::{Arc, Mutex};

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
    let starts = Arc::new(Mutex::new(LineStarts::default()));
    let tap = LineTap { inner: reader, starts: Arc::clone(&starts) };
    let mut csv = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(tap);
    let header: Result<Vec<String>, RowError> = csv
        .headers()
        .map(|h| h.iter().map(|c| c.trim_start_matches('\u{feff}').to_string()).collect())
        .map_err(|e| RowError { line: 1, reason: format!("unreadable header: {e}") });
    let mut done = false;
    let mut record = csv::StringRecord::new();
    // A record starts at least one line after the one before it; should the tap know no line
    // start for a position (it always should), the line is one past the previous.
    let mut last_line: u64 = 1;
    let mut next_line = move |read_from: Option<&csv::Position>| {
        let counted = read_from.and_then(|p| starts.lock().ok().and_then(|mut s| s.line_at(p.byte())));
        last_line = counted.unwrap_or(last_line + 1).max(last_line + 1);
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
                    let line = next_line(record.position());
                    if record.iter().all(str::is_empty) {
                        continue;
                    }
                    let fields = header.iter().cloned().zip(record.iter().map(str::to_string)).collect();
                    return Some(Ok(Row { line, fields }));
                }
                Err(e) => {
                    let line = next_line(e.position());
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

/// Where the non-empty lines the csv crate has read so far start: `(byte offset, line)`, oldest
/// first; those before the record being read are dropped, so this holds about one buffer's
/// lines.
#[derive(Default)]
struct LineStarts {
    starts: VecDeque<(u64, u64)>,
    offset: u64,
    line: u64,
    at_line_start: bool,
    after_cr: bool,
}

impl LineStarts {
    fn watch(&mut self, bytes: &[u8]) {
        if self.line == 0 {
            (self.line, self.at_line_start) = (1, true);
        }
        for &b in bytes {
            match b {
                // `\r\n` is one line end, counted at its `\r`.
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.line += 1;
                    self.at_line_start = true;
                    self.after_cr = b == b'\r';
                }
                _ => {
                    self.after_cr = false;
                    if self.at_line_start {
                        self.starts.push_back((self.offset, self.line));
                        self.at_line_start = false;
                    }
                }
            }
            self.offset += 1;
        }
    }

    /// The line of the first non-empty line starting at or after byte `from`.
    fn line_at(&mut self, from: u64) -> Option<u64> {
        while self.starts.front().is_some_and(|&(at, _)| at < from) {
            self.starts.pop_front();
        }
        self.starts.front().map(|&(_, line)| line)
    }
}

/// The reader the csv crate reads through: every byte it reads passes [`LineStarts::watch`].
struct LineTap<R> {
    inner: R,
    starts: Arc<Mutex<LineStarts>>,
}

impl<R: Read> Read for LineTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut s) = self.starts.lock() {
            s.watch(&buf[..n]);
        }
        Ok(n)
    }
}
