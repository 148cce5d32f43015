//! Checking a copy: the target must hold exactly the source's rows.
//!
//! Per table, the row counts and an order-free digest of every row (the sum of each row's
//! SHA-256, so the two backends' own key orders do not matter); object versions, the bulk of a
//! store, are instead compared row by row in `date_added` order (the same on both sides) and each
//! one's content hash is recomputed from its stored body with `tandem_model`'s canonical form and
//! compared with the stored hash, on both sides, so a damaged version is named. Then the object
//! and tombstone counts per collection, and the clocks (the target's must not be behind).

use tandem_model::canonical::{content_hash, map_hash};

use super::{Cell, RowStore, TABLES, Table};
use crate::Result;

/// Problems listed by name at most (the count is always exact).
const LISTED: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    pub name: &'static str,
    pub source_rows: u64,
    pub target_rows: u64,
    /// The row digests agree.
    pub same_rows: bool,
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    pub tables: Vec<TableCheck>,
    /// `(collection, source versions, target versions, source tombstones, target tombstones)`.
    pub collections: Vec<(String, u64, u64, u64, u64)>,
    /// Versions whose content hash was recomputed (on each side).
    pub versions_hashed: u64,
    pub source_clock: i64,
    pub target_clock: i64,
    /// Every mismatch, described (at most [`LISTED`], then a count of the rest).
    pub problems: Vec<String>,
    pub problem_count: u64,
}

impl Verification {
    /// Whether the target is an identical copy.
    pub fn ok(&self) -> bool {
        self.problem_count == 0
    }

    fn problem(&mut self, text: String) {
        self.problem_count += 1;
        if self.problems.len() < LISTED {
            self.problems.push(text);
        }
    }
}

/// An order-free digest of a multiset of rows: the lane-wise wrapping sum of their hashes.
#[derive(Default, PartialEq, Eq)]
struct Digest([u64; 4]);

impl Digest {
    fn add(&mut self, cells: &[Cell]) {
        let hash = content_hash(&serde_json::Value::Array(cells.iter().map(Cell::to_json).collect()));
        for (lane, chunk) in self.0.iter_mut().zip(hash.chunks_exact(8)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            *lane = lane.wrapping_add(u64::from_le_bytes(bytes));
        }
    }
}

fn digest(store: &dyn RowStore, table: &Table, batch: usize) -> Result<Digest> {
    let mut d = Digest::default();
    let mut after: Option<Vec<Cell>> = None;
    loop {
        let rows = store.read_rows(table, after.as_deref(), batch)?;
        let Some(last) = rows.last() else { return Ok(d) };
        after = Some(last.key.clone());
        for row in &rows {
            d.add(&row.cells);
        }
    }
}

/// Compares `target` with `source` (see the module doc), reading `batch` rows at a time.
/// `progress` is told how many object versions were checked as it goes.
pub fn verify(
    source: &dyn RowStore,
    target: &dyn RowStore,
    batch: usize,
    progress: &mut dyn super::Progress,
) -> Result<Verification> {
    let batch = batch.max(1);
    let mut v = Verification::default();
    for t in TABLES {
        let (source_rows, target_rows) = (source.count_rows(t)?, target.count_rows(t)?);
        let same_rows = if t.name == "objects" {
            // Compared row by row below (the same rows in the same order on both sides).
            let before = v.problem_count;
            compare_versions(source, target, t, batch, &mut v, progress)?;
            v.problem_count == before
        } else {
            digest(source, t, batch)? == digest(target, t, batch)?
        };
        if source_rows != target_rows {
            v.problem(format!("{}: {source_rows} rows in the source, {target_rows} in the target", t.name));
        } else if !same_rows && t.name != "objects" {
            v.problem(format!("{}: the same number of rows but not the same rows", t.name));
        }
        v.tables.push(TableCheck { name: t.name, source_rows, target_rows, same_rows });
    }
    let (s, t) = (source.per_collection()?, target.per_collection()?);
    let mut names: Vec<&String> = s.iter().chain(t.iter()).map(|(c, ..)| c).collect();
    names.sort();
    names.dedup();
    for name in names {
        let find = |side: &[(String, u64, u64)]| side.iter().find(|(c, ..)| c == name).map(|(_, o, d)| (*o, *d));
        let (so, sd) = find(&s).unwrap_or_default();
        let (to, td) = find(&t).unwrap_or_default();
        if (so, sd) != (to, td) {
            v.problem(format!(
                "collection {name}: {so} versions and {sd} tombstones in the source, {to} and {td} in the target"
            ));
        }
        v.collections.push((name.clone(), so, to, sd, td));
    }
    v.source_clock = source.clock()?;
    v.target_clock = target.clock()?;
    if v.target_clock < v.source_clock {
        v.problem(format!("the target's clock ({}) is behind the source's ({})", v.target_clock, v.source_clock));
    }
    Ok(v)
}

/// Column positions in the objects table's cells.
struct ObjectColumns {
    date_added: usize,
    stix_id: usize,
    version: usize,
    originator: usize,
    hash: usize,
    body: usize,
}

fn object_columns(t: &Table) -> Option<ObjectColumns> {
    let at = |name: &str| t.columns.iter().position(|c| c.name == name);
    Some(ObjectColumns {
        date_added: at("date_added")?,
        stix_id: at("stix_id")?,
        version: at("version")?,
        originator: at("originator")?,
        hash: at("content_hash")?,
        body: at("body")?,
    })
}

fn compare_versions(
    source: &dyn RowStore,
    target: &dyn RowStore,
    objects: &Table,
    batch: usize,
    v: &mut Verification,
    progress: &mut dyn super::Progress,
) -> Result<()> {
    let Some(cols) = object_columns(objects) else {
        return Err(crate::StoreError::backend("the objects table lacks a column verify needs"));
    };
    let name = |cells: &[Cell]| {
        let text = |i: usize| cells.get(i).and_then(Cell::as_text).unwrap_or("?");
        format!("{}|{}|{}", text(cols.stix_id), text(cols.version), text(cols.originator))
    };
    let check_hash = |side: &str, cells: &[Cell], v: &mut Verification| {
        v.versions_hashed += 1;
        let stored = match cells.get(cols.hash) {
            Some(Cell::Bytes(b)) => Some(b.as_slice()),
            _ => None,
        };
        let body = cells.get(cols.body).and_then(Cell::as_text);
        let intact = body
            .and_then(|b| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(b).ok())
            .is_some_and(|map| stored == Some(map_hash(&map).as_slice()));
        if !intact {
            v.problem(format!("{side}: version {} does not match its content hash", name(cells)));
        }
    };
    progress.table("verify", source.count_rows(objects)?, 0);
    let (mut s_after, mut t_after): (Option<Vec<Cell>>, Option<Vec<Cell>>) = (None, None);
    let (mut s_rows, mut t_rows) = (Vec::new().into_iter(), Vec::new().into_iter());
    let (mut s_done, mut t_done) = (false, false);
    let mut s_next = None;
    let mut t_next = None;
    loop {
        if s_next.is_none() && !s_done {
            s_next = next_row(source, objects, &mut s_rows, &mut s_after, batch, &mut s_done)?;
        }
        if t_next.is_none() && !t_done {
            t_next = next_row(target, objects, &mut t_rows, &mut t_after, batch, &mut t_done)?;
        }
        let position = |cells: &Vec<Cell>| cells.get(cols.date_added).and_then(Cell::as_int).unwrap_or(i64::MIN);
        match (s_next.take(), t_next.take()) {
            (None, None) => return Ok(()),
            (Some(s), None) => {
                check_hash("source", &s, v);
                v.problem(format!("version {} at {} is missing from the target", name(&s), position(&s)));
            }
            (None, Some(t)) => {
                check_hash("target", &t, v);
                v.problem(format!("version {} at {} is in the target only", name(&t), position(&t)));
            }
            (Some(s), Some(t)) => {
                let (ps, pt) = (position(&s), position(&t));
                if ps < pt {
                    check_hash("source", &s, v);
                    v.problem(format!("version {} at {ps} is missing from the target", name(&s)));
                    t_next = Some(t);
                } else if pt < ps {
                    check_hash("target", &t, v);
                    v.problem(format!("version {} at {pt} is in the target only", name(&t)));
                    s_next = Some(s);
                } else {
                    check_hash("source", &s, v);
                    check_hash("target", &t, v);
                    if s != t {
                        v.problem(format!("version {} at {ps} differs between source and target", name(&s)));
                    }
                    progress.rows(1);
                }
            }
        }
    }
}

/// The next row of a table read in batches (`None` once it is exhausted).
fn next_row(
    store: &dyn RowStore,
    table: &Table,
    buffered: &mut std::vec::IntoIter<super::Row>,
    after: &mut Option<Vec<Cell>>,
    batch: usize,
    done: &mut bool,
) -> Result<Option<Vec<Cell>>> {
    if let Some(row) = buffered.next() {
        return Ok(Some(row.cells));
    }
    let rows = store.read_rows(table, after.as_deref(), batch)?;
    let Some(last) = rows.last() else {
        *done = true;
        return Ok(None);
    };
    *after = Some(last.key.clone());
    *buffered = rows.into_iter();
    Ok(buffered.next().map(|r| r.cells))
}
