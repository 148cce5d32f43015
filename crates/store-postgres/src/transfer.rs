//! The PostgreSQL side of `tandem migrate` ([`tandem_store::transfer::RowStore`]): a source whose
//! sessions run with `default_transaction_read_only = on` (the server refuses any write it might
//! attempt), or a target with its schema applied. Copy SQL is built from
//! [`tandem_store::transfer::TABLES`]; each batch that carries positions also moves the `clock`
//! row past them, in the batch's transaction, so the target hands out positions after the copied
//! maximum.

use serde_json::Value;
use tandem_store::transfer::{Cell, Kind, MARKER_KEY, Row, RowStore, Table, count_sql, insert_sql, select_sql};
use tandem_store::{Result, StoreError};
use tokio_postgres::types::ToSql;

use crate::labels::Labels;
use crate::pool::{Pool, PoolConfig};
use crate::{PgStore, migrate, pg};

pub use tandem_store::transfer::Access;

/// Opens the store at `url` for a migration: [`Access::Read`] for a source (read-only sessions,
/// its schema must be this binary's), [`Access::Write`] for a target (schema applied).
pub fn open(url: &str, access: Access) -> Result<PgStore> {
    let pg_config: tokio_postgres::Config =
        url.parse().map_err(|e| StoreError::backend(format!("invalid PostgreSQL url: {e}")))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tandem-postgres")
        .enable_all()
        .build()
        .map_err(|e| StoreError::backend(format!("starting the PostgreSQL runtime: {e}")))?;
    let mut pool = Pool::new(pg_config, PoolConfig { max_idle: 2, max_size: 4 }, rt.handle().clone());
    pool.read_only = access == Access::Read;
    let store = PgStore { rt: Some(rt), pool, labels: Labels::default() };
    store.run(async {
        let mut conn = store.pool.get().await?;
        match access {
            Access::Write => migrate::apply(&mut conn).await,
            Access::Read => {
                let newest = migrate::applied_max(&conn).await?;
                let latest = migrate::latest();
                if newest != Some(latest) {
                    return Err(StoreError::backend(format!(
                        "the database has schema version {}, this binary's is {latest}: run this tandem on it \
                         once (tandem doctor) to bring it up to date, or use the binary that wrote it",
                        newest.map_or("none (not a Tandem store)".to_string(), |v| v.to_string())
                    )));
                }
                Ok(())
            }
        }
    })?;
    Ok(store)
}

type Param = Box<dyn ToSql + Sync + Send>;

/// A cell bound for a column of `kind` (a NULL typed as the column, as the server checks).
fn bind(cell: &Cell, kind: Kind) -> Param {
    match (cell, kind) {
        (Cell::Int(i), _) => Box::new(*i),
        (Cell::Text(t), _) => Box::new(t.clone()),
        (Cell::Bytes(b), _) => Box::new(b.clone()),
        (Cell::Bool(b), _) => Box::new(*b),
        (Cell::Null, Kind::Int) => Box::new(None::<i64>),
        (Cell::Null, Kind::Bytes) => Box::new(None::<Vec<u8>>),
        (Cell::Null, Kind::Bool) => Box::new(None::<bool>),
        (Cell::Null, Kind::Text | Kind::Collection | Kind::Label) => Box::new(None::<String>),
    }
}

fn read_cell(row: &tokio_postgres::Row, i: usize, kind: Kind) -> Result<Cell> {
    Ok(match kind {
        Kind::Int => row.try_get::<_, Option<i64>>(i).map_err(pg)?.map_or(Cell::Null, Cell::Int),
        Kind::Text | Kind::Collection | Kind::Label => {
            row.try_get::<_, Option<String>>(i).map_err(pg)?.map_or(Cell::Null, Cell::Text)
        }
        Kind::Bytes => row.try_get::<_, Option<Vec<u8>>>(i).map_err(pg)?.map_or(Cell::Null, Cell::Bytes),
        Kind::Bool => row.try_get::<_, Option<bool>>(i).map_err(pg)?.map_or(Cell::Null, Cell::Bool),
    })
}

fn ph(i: usize) -> String {
    format!("${i}")
}

/// The most parameters one statement may carry (the protocol counts them in 16 bits).
const MAX_PARAMS: usize = 65_535;

/// Rows of `table` per `INSERT` statement: within [`MAX_PARAMS`], at most 500.
fn rows_per_insert(table: &Table) -> usize {
    (MAX_PARAMS / table.columns.len().max(1)).clamp(1, 500)
}

/// `INSERT INTO table (...) VALUES (...), (...)` for `rows` rows: row `r`'s cells are
/// parameters `r * columns + 1 ..= (r + 1) * columns`, the row's values as [`insert_sql`] writes
/// them.
fn multi_row_insert(table: &Table, rows: usize) -> String {
    const VALUES: &str = " VALUES ";
    let columns = table.columns.len();
    let mut sql = insert_sql(table, extra(table), ph);
    // The part before VALUES (table and column names) is the same for every row.
    let Some(at) = sql.find(VALUES).map(|i| i + VALUES.len()) else { return sql };
    for r in 1..rows {
        let row = insert_sql(table, extra(table), |i| ph(r * columns + i));
        sql.push_str(", ");
        sql.push_str(&row[at..]);
    }
    sql
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// Columns PostgreSQL keeps beyond the neutral ones: account revisions (see the schema).
fn extra(table: &Table) -> &'static [(&'static str, &'static str)] {
    match table.name {
        "users" | "tokens" => &[("rev", "nextval('accounts_rev')")],
        _ => &[],
    }
}

/// The column of `table` holding feed positions, if it has one.
fn position_column(table: &Table) -> Option<usize> {
    match table.name {
        "objects" => table.columns.iter().position(|c| c.name == "date_added"),
        "tombstones" => table.columns.iter().position(|c| c.name == "added"),
        _ => None,
    }
}

impl RowStore for PgStore {
    fn read_rows(&self, table: &Table, after: Option<&[Cell]>, limit: usize) -> Result<Vec<Row>> {
        let sql = select_sql(table, after.is_some(), limit, ph);
        let params: Vec<Param> =
            after.unwrap_or_default().iter().zip(table.key).map(|(cell, col)| bind(cell, col.kind)).collect();
        self.run(async {
            let conn = self.pool.get().await?;
            let rows = conn.query(&sql, &refs(&params)).await.map_err(pg)?;
            let nkey = table.key.len();
            rows.iter()
                .map(|r| {
                    let key =
                        table.key.iter().enumerate().map(|(i, c)| read_cell(r, i, c.kind)).collect::<Result<_>>()?;
                    let cells = table
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| read_cell(r, nkey + i, c.kind))
                        .collect::<Result<_>>()?;
                    Ok(Row { key, cells })
                })
                .collect()
        })
    }

    fn count_rows(&self, table: &Table) -> Result<u64> {
        let sql = count_sql(table);
        self.run(async {
            let n: i64 = self.pool.get().await?.query_one(&sql, &[]).await.map_err(pg)?.try_get(0).map_err(pg)?;
            Ok(n.max(0) as u64)
        })
    }

    fn per_collection(&self) -> Result<Vec<(String, u64, u64)>> {
        self.run(async {
            let rows =
                self.pool.get().await?.query(tandem_store::transfer::PER_COLLECTION_SQL, &[]).await.map_err(pg)?;
            rows.iter()
                .map(|r| {
                    let (o, d): (i64, i64) = (r.try_get(1).map_err(pg)?, r.try_get(2).map_err(pg)?);
                    Ok((r.try_get(0).map_err(pg)?, o.max(0) as u64, d.max(0) as u64))
                })
                .collect()
        })
    }

    fn clock(&self) -> Result<i64> {
        self.run(async { crate::clock(&*self.pool.get().await?).await })
    }

    fn marker(&self) -> Result<Option<Value>> {
        let text: Option<String> = self.run(async {
            let row = self
                .pool
                .get()
                .await?
                .query_opt("SELECT value FROM sync_meta WHERE key = $1", &[&MARKER_KEY])
                .await
                .map_err(pg)?;
            row.map(|r| r.try_get(0).map_err(pg)).transpose()
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("{MARKER_KEY}: {e}"))))
            .transpose()
    }

    fn write_rows(&self, table: &Table, rows: &[Row], marker: &Value) -> Result<()> {
        let per_statement = rows_per_insert(table);
        let batch: Vec<Vec<Param>> = rows
            .iter()
            .map(|r| r.cells.iter().zip(table.columns).map(|(cell, col)| bind(cell, col.kind)).collect())
            .collect();
        let last = position_column(table)
            .and_then(|i| rows.iter().filter_map(|r| r.cells.get(i).and_then(Cell::as_int)).max());
        let marker = marker.to_string();
        let texts: Vec<(i64, String)> =
            rows.iter().filter_map(|r| tandem_store::transfer::text_entry(table, r)).collect();
        self.run(async {
            let mut conn = self.pool.get().await?;
            let tx = conn.transaction().await.map_err(pg)?;
            if !batch.is_empty() {
                // Many rows per statement: a round trip per row was the copy's cost.
                for chunk in batch.chunks(per_statement) {
                    let params: Vec<&(dyn ToSql + Sync)> = chunk.iter().flat_map(|p| refs(p)).collect();
                    tx.execute(multi_row_insert(table, chunk.len()).as_str(), &params).await.map_err(pg)?;
                }
                // The full-text column is derived from the body: rebuilt, not copied.
                if !texts.is_empty() {
                    let (positions, keys): (Vec<i64>, Vec<String>) = texts.iter().cloned().unzip();
                    tx.execute(
                        "UPDATE objects o SET search = to_tsvector('simple', t.keys) \
                         FROM UNNEST($1::BIGINT[], $2::TEXT[]) AS t(date_added, keys) WHERE o.date_added = t.date_added",
                        &[&positions, &keys],
                    )
                    .await
                    .map_err(pg)?;
                }
            }
            if let Some(last) = last {
                let floor = crate::lock_clock(&tx).await?;
                crate::advance_clock(&tx, floor, last).await?;
            }
            tx.execute(
                "INSERT INTO sync_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&MARKER_KEY, &marker],
            )
            .await
            .map_err(pg)?;
            tx.commit().await.map_err(pg)
        })
    }

    fn continue_clock(&self, position: i64) -> Result<i64> {
        self.run(async {
            let mut conn = self.pool.get().await?;
            let tx = conn.transaction().await.map_err(pg)?;
            let floor = crate::lock_clock(&tx).await?;
            crate::advance_clock(&tx, floor, position).await?;
            tx.commit().await.map_err(pg)?;
            Ok(floor.max(position))
        })
    }
}
