//! The SQLite side of `tandem migrate` ([`crate::transfer::RowStore`]): a source opened
//! read-only (`SQLITE_OPEN_READ_ONLY`: nothing it does can change the database), or a target
//! with its schema applied. Copy SQL is built from [`crate::transfer::TABLES`]; the clock of an
//! SQLite store is its largest stored position, so copying the rows carries it over.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::Value;

use crate::transfer::{Access, Cell, Kind, MARKER_KEY, Row, RowStore, Table, count_sql, insert_sql, select_sql};
use crate::{Result, StoreError};

/// An SQLite store opened for a migration.
pub struct SqliteRows {
    conn: Mutex<Connection>,
}

/// Opens the store in the data directory `dir` for a migration.
pub fn open(dir: &Path, access: Access) -> Result<SqliteRows> {
    let path = dir.join("tandem.sqlite");
    let conn = match access {
        Access::Read => {
            if !path.is_file() {
                return Err(StoreError::backend(format!("no store in {} (no tandem.sqlite)", dir.display())));
            }
            let conn =
                Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
            conn.busy_timeout(std::time::Duration::from_secs(30))?;
            let (newest, latest) = (super::migrate::applied_max(&conn)?, super::migrate::latest());
            if newest != Some(latest) {
                return Err(StoreError::backend(format!(
                    "the store in {} has schema version {}, this binary's is {latest}: run this tandem on it \
                     once (tandem doctor) to bring it up to date, or use the binary that wrote it",
                    dir.display(),
                    newest.map_or("none (not a Tandem store)".to_string(), |v| v.to_string())
                )));
            }
            conn
        }
        Access::Write => {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::backend(format!("creating {}: {e}", dir.display())))?;
            let mut conn = super::open_conn(&path, true, super::DEFAULT_CACHE_KIB)?;
            super::migrate::apply(&mut conn)?;
            conn
        }
    };
    Ok(SqliteRows { conn: Mutex::new(conn) })
}

impl SqliteRows {
    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| super::poisoned())
    }
}

fn ph(i: usize) -> String {
    format!("?{i}")
}

fn read_cell(row: &rusqlite::Row<'_>, i: usize, kind: Kind) -> rusqlite::Result<Cell> {
    Ok(match kind {
        Kind::Int => row.get::<_, Option<i64>>(i)?.map_or(Cell::Null, Cell::Int),
        Kind::Text | Kind::Collection | Kind::Label => row.get::<_, Option<String>>(i)?.map_or(Cell::Null, Cell::Text),
        Kind::Bytes => row.get::<_, Option<Vec<u8>>>(i)?.map_or(Cell::Null, Cell::Bytes),
        Kind::Bool => row.get::<_, Option<bool>>(i)?.map_or(Cell::Null, Cell::Bool),
    })
}

fn bind(cell: &Cell) -> ToSqlOutput<'_> {
    match cell {
        Cell::Null => ToSqlOutput::Owned(SqlValue::Null),
        Cell::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
        Cell::Text(t) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(t.as_bytes())),
        Cell::Bytes(b) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Blob(b)),
        Cell::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(i64::from(*b))),
    }
}

impl RowStore for SqliteRows {
    fn read_rows(&self, table: &Table, after: Option<&[Cell]>, limit: usize) -> Result<Vec<Row>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&select_sql(table, after.is_some(), limit, ph))?;
        let params: Vec<ToSqlOutput<'_>> = after.unwrap_or_default().iter().map(bind).collect();
        let nkey = table.key.len();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let key = table
                .key
                .iter()
                .enumerate()
                .map(|(i, c)| read_cell(row, i, c.kind))
                .collect::<rusqlite::Result<_>>()?;
            let cells = table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| read_cell(row, nkey + i, c.kind))
                .collect::<rusqlite::Result<_>>()?;
            out.push(Row { key, cells });
        }
        Ok(out)
    }

    fn count_rows(&self, table: &Table) -> Result<u64> {
        let n: i64 = self.conn()?.query_row(&count_sql(table), [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    fn per_collection(&self) -> Result<Vec<(String, u64, u64)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(crate::transfer::PER_COLLECTION_SQL)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64, r.get::<_, i64>(2)?.max(0) as u64)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn clock(&self) -> Result<i64> {
        super::clock_floor(&*self.conn()?)
    }

    fn marker(&self) -> Result<Option<Value>> {
        let text: Option<String> = self
            .conn()?
            .query_row("SELECT value FROM sync_meta WHERE key = ?1", [MARKER_KEY], |r| r.get(0))
            .optional()?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("{MARKER_KEY}: {e}"))))
            .transpose()
    }

    fn write_rows(&self, table: &Table, rows: &[Row], marker: &Value) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(&insert_sql(table, &[], ph))?;
            let mut index = tx.prepare_cached("INSERT INTO object_text (rowid, keys) VALUES (?1, ?2)")?;
            for row in rows {
                insert.execute(rusqlite::params_from_iter(row.cells.iter().map(bind)))?;
                if let Some((date_added, keys)) = crate::transfer::text_entry(table, row) {
                    index.execute(rusqlite::params![date_added, keys])?;
                }
            }
        }
        tx.execute(
            "INSERT INTO sync_meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            rusqlite::params![MARKER_KEY, marker.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn continue_clock(&self, _position: i64) -> Result<i64> {
        // The clock is the largest stored position: the copied rows carry it.
        self.clock()
    }
}

#[cfg(test)]
mod tests {
    use crate::transfer::TABLES;

    /// Every table and column of the SQLite schema is copied (but the source's own ids and the
    /// migration bookkeeping): a migration that adds a column must add it to `TABLES`, or
    /// `tandem migrate` would drop it without noticing.
    #[test]
    fn the_copy_covers_every_column_of_the_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rows = super::open(dir.path(), crate::transfer::Access::Write).expect("open");
        let conn = rows.conn().expect("conn");
        let mut tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("names");
        // The full-text index (FTS5's table and its shadow tables) is rebuilt from the copied
        // bodies, not copied (`transfer::text_entry`).
        tables.retain(|t| t != "schema_migrations" && !t.starts_with("object_text"));
        let mut copied: Vec<String> = TABLES.iter().map(|t| t.name.to_string()).collect();
        copied.sort();
        assert_eq!(tables, copied);
        for t in TABLES {
            let mut columns: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{}') ORDER BY name", t.name))
                .expect("prepare")
                .query_map([], |r| r.get(0))
                .expect("query")
                .collect::<rusqlite::Result<_>>()
                .expect("columns");
            // A collection's or label's own id is the source's numbering, not copied.
            if matches!(t.name, "collections" | "access_labels") {
                columns.retain(|c| c != "id");
            }
            let mut spec: Vec<String> = t.columns.iter().map(|c| c.name.to_string()).collect();
            spec.sort();
            assert_eq!(columns, spec, "{}", t.name);
        }
    }
}
