//! Moving a node's data between backends (`tandem migrate`): the stored rows, copied exactly.
//!
//! It exists so that a member can move its node from SQLite to PostgreSQL (and back) without
//! re-ingesting anything: every table row is copied as stored, with its `date_added` and feed
//! positions, so paging tokens, peers' cursors and live-stream event ids stay valid after the
//! move, and the target's clock continues after the copied maximum.
//!
//! This is operator machinery, like [`crate::ObjectStore::feed_position`] and the meta keys: it
//! takes no `ViewContext`, decides nothing about releasability and never answers a request. Its
//! only callers are the `tandem migrate` command and its tests.
//!
//! The pieces:
//! - [`TABLES`]: the one description of the tables to copy, their columns as neutral kinds
//!   (collection and label ids travel as their uuid and label text, since each backend numbers
//!   its own), their keyset order and the rows left out (process leases, the migration marker).
//!   Each backend builds its copy SQL from it, so a column cannot be forgotten by one backend;
//! - [`RowStore`]: what a backend implements (SQLite in `sqlite::transfer`, PostgreSQL in
//!   `tandem_store_postgres`): read a table in key order, count, write a batch together with the
//!   migration marker in one transaction;
//! - [`copy`] (the batches, the marker, resumption) and [`verify`] (counts, an order-free digest
//!   of every table, every version compared row by row and its content hash recomputed on both
//!   sides).

mod copy;
mod verify;

pub use copy::{CopyEnd, CopyOptions, Progress, copy};
pub use verify::{TableCheck, Verification, verify};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Result, StoreError};

/// How a store is opened for a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A source: read-only (the backend refuses writes), and its schema must be this binary's
    /// (it is not migrated).
    Read,
    /// A target: created if absent, its schema brought up to date.
    Write,
}

/// A stored value, as neutral between backends as the schemas allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

impl Cell {
    /// The cell as JSON, distinguishing every kind (for digests and reports).
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(i) => json!({ "i": i }),
            Cell::Text(t) => json!({ "t": t }),
            Cell::Bytes(b) => json!({ "b": tandem_model::canonical::hex(b) }),
            Cell::Bool(b) => json!({ "o": b }),
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// How a column is stored, and so how each backend reads and binds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    Bytes,
    Bool,
    /// A `collections.id`, copied as the collection's uuid.
    Collection,
    /// An `access_labels.id`, copied as the label's text.
    Label,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

/// One table to copy.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    /// The source's own key columns (raw: a collection key is the source's id), in the order
    /// the table is read; only the source interprets them (the marker keeps them to resume).
    pub key: &'static [Column],
    /// The copied columns.
    pub columns: &'static [Column],
    /// An SQL condition (the same text in both dialects) on the rows to copy (`1 = 1`: all).
    pub filter: &'static str,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

/// Meta keys that are not copied: a process's lease (`node/lease/<name>`, held by a process of
/// the old node, expiring within seconds anyway) and the migration marker itself.
pub const META_FILTER: &str = "substr(key, 1, 11) <> 'node/lease/' AND substr(key, 1, 8) <> 'migrate/'";

/// The meta key of the migration marker in the target.
pub const MARKER_KEY: &str = "migrate/marker";

/// Every copied table, in copy order (what a row references is copied before it).
pub static TABLES: &[Table] = &[
    Table { name: "collections", key: &[col("id", Kind::Int)], columns: &[col("uuid", Kind::Text)], filter: "1 = 1" },
    Table {
        name: "access_labels",
        key: &[col("id", Kind::Int)],
        columns: &[col("label", Kind::Text)],
        filter: "1 = 1",
    },
    Table {
        name: "objects",
        key: &[col("date_added", Kind::Int)],
        columns: &[
            col("date_added", Kind::Int),
            col("collection", Kind::Collection),
            col("stix_id", Kind::Text),
            col("type", Kind::Text),
            col("spec_version", Kind::Text),
            col("version", Kind::Text),
            col("label", Kind::Label),
            col("latest", Kind::Bool),
            col("revoked", Kind::Bool),
            col("content_hash", Kind::Bytes),
            col("body", Kind::Text),
            col("provenance", Kind::Text),
            col("originator", Kind::Text),
        ],
        filter: "1 = 1",
    },
    Table {
        name: "tombstones",
        key: &[
            col("collection", Kind::Int),
            col("stix_id", Kind::Text),
            col("originator", Kind::Text),
            col("version", Kind::Text),
        ],
        columns: &[
            col("collection", Kind::Collection),
            col("stix_id", Kind::Text),
            col("originator", Kind::Text),
            col("version", Kind::Text),
            col("deleted_at", Kind::Int),
            col("deleted_by", Kind::Text),
            col("label", Kind::Label),
            col("added", Kind::Int),
            col("proof", Kind::Text),
        ],
        filter: "1 = 1",
    },
    Table {
        name: "contested",
        key: &[col("collection", Kind::Int), col("stix_id", Kind::Text)],
        columns: &[
            col("collection", Kind::Collection),
            col("stix_id", Kind::Text),
            col("first_seen", Kind::Int),
            col("conflicting", Kind::Bool),
        ],
        filter: "1 = 1",
    },
    Table {
        name: "statuses",
        key: &[col("id", Kind::Text)],
        columns: &[col("id", Kind::Text), col("owner", Kind::Text), col("created", Kind::Int), col("body", Kind::Text)],
        filter: "1 = 1",
    },
    Table {
        name: "users",
        key: &[col("name", Kind::Text)],
        columns: &[
            col("name", Kind::Text),
            col("member", Kind::Text),
            col("password_hash", Kind::Text),
            col("clearance", Kind::Text),
            col("roles", Kind::Text),
        ],
        filter: "1 = 1",
    },
    Table {
        name: "tokens",
        key: &[col("token_id", Kind::Text)],
        columns: &[
            col("token_id", Kind::Text),
            col("user", Kind::Text),
            col("secret_hash", Kind::Text),
            col("created", Kind::Int),
            col("label", Kind::Text),
        ],
        filter: "1 = 1",
    },
    Table {
        name: "sync_meta",
        key: &[col("key", Kind::Text)],
        columns: &[col("key", Kind::Text), col("value", Kind::Text)],
        filter: META_FILTER,
    },
];

/// The table named `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// One row read from a source: its key (in the source's terms) and its copied cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: Vec<Cell>,
    pub cells: Vec<Cell>,
}

/// The full-text entry (`date_added`, folded keys) a copied `objects` row needs in the target:
/// the index is derived from the body (`crate::text`), so it is not copied but rebuilt by the
/// target's `write_rows` in the batch's own transaction. `None` for other tables and for types
/// that are not searched.
pub fn text_entry(table: &Table, row: &Row) -> Option<(i64, String)> {
    if table.name != "objects" {
        return None;
    }
    let at = |name: &str| table.columns.iter().position(|c| c.name == name).and_then(|i| row.cells.get(i));
    let date_added = at("date_added")?.as_int()?;
    let body: serde_json::Map<String, Value> = serde_json::from_str(at("body")?.as_text()?).ok()?;
    crate::text::index_text(&body).map(|keys| (date_added, keys))
}

/// The SQL expression that reads `column` of table alias `t` in neutral form.
pub fn select_expr(column: &Column) -> String {
    match column.kind {
        Kind::Collection => format!("(SELECT c.uuid FROM collections c WHERE c.id = t.\"{}\")", column.name),
        Kind::Label => format!("(SELECT l.label FROM access_labels l WHERE l.id = t.\"{}\")", column.name),
        _ => format!("t.\"{}\"", column.name),
    }
}

/// The SQL expression that stores a neutral value bound at `placeholder` into `column`.
pub fn insert_expr(column: &Column, placeholder: &str) -> String {
    match column.kind {
        Kind::Collection => format!("(SELECT id FROM collections WHERE uuid = {placeholder})"),
        Kind::Label => format!("(SELECT id FROM access_labels WHERE label = {placeholder})"),
        _ => placeholder.to_string(),
    }
}

/// `SELECT key..., columns... FROM table t WHERE filter [AND (key) > (params)] ORDER BY key LIMIT n`,
/// with placeholders written by `ph(1..)`.
pub fn select_sql(table: &Table, after: bool, limit: usize, ph: impl Fn(usize) -> String) -> String {
    let keys: Vec<String> = table.key.iter().map(|k| format!("t.\"{}\"", k.name)).collect();
    let cols: Vec<String> = table.columns.iter().map(select_expr).collect();
    let mut sql =
        format!("SELECT {}, {} FROM \"{}\" t WHERE {}", keys.join(", "), cols.join(", "), table.name, table.filter);
    if after {
        let params: Vec<String> = (1..=table.key.len()).map(&ph).collect();
        sql.push_str(&format!(" AND ({}) > ({})", keys.join(", "), params.join(", ")));
    }
    sql.push_str(&format!(" ORDER BY {} LIMIT {limit}", keys.join(", ")));
    sql
}

/// `INSERT INTO table (columns..., extra...) VALUES (...)` with `extra` columns set to SQL
/// expressions of the backend's own (PostgreSQL's account revisions).
pub fn insert_sql(table: &Table, extra: &[(&str, &str)], ph: impl Fn(usize) -> String) -> String {
    let mut names: Vec<String> = table.columns.iter().map(|c| format!("\"{}\"", c.name)).collect();
    let mut values: Vec<String> = table.columns.iter().enumerate().map(|(i, c)| insert_expr(c, &ph(i + 1))).collect();
    for (name, expr) in extra {
        names.push(format!("\"{name}\""));
        values.push((*expr).to_string());
    }
    format!("INSERT INTO \"{}\" ({}) VALUES ({})", table.name, names.join(", "), values.join(", "))
}

/// `SELECT COUNT(*)` of the copied rows of `table`.
pub fn count_sql(table: &Table) -> String {
    format!("SELECT COUNT(*) FROM \"{}\" t WHERE {}", table.name, table.filter)
}

/// Object versions and tombstones per collection uuid (the same SQL in both dialects).
pub const PER_COLLECTION_SQL: &str = "SELECT c.uuid,
        (SELECT COUNT(*) FROM objects o WHERE o.collection = c.id),
        (SELECT COUNT(*) FROM tombstones s WHERE s.collection = c.id)
    FROM collections c ORDER BY c.uuid";

/// What a backend does for `tandem migrate`. A source is opened read-only (its writes fail);
/// a target read-write with its schema applied.
pub trait RowStore: Send + Sync {
    /// Up to `limit` rows of `table` after the key `after`, in key order.
    fn read_rows(&self, table: &Table, after: Option<&[Cell]>, limit: usize) -> Result<Vec<Row>>;
    /// How many rows of `table` are copied (its filter applied).
    fn count_rows(&self, table: &Table) -> Result<u64>;
    /// `(collection uuid, object versions, tombstones)` for every collection.
    fn per_collection(&self) -> Result<Vec<(String, u64, u64)>>;
    /// The latest position on the node's clock, 0 for none.
    fn clock(&self) -> Result<i64>;
    /// The migration marker, if a migration into this store began.
    fn marker(&self) -> Result<Option<Value>>;
    /// Stores `rows` of `table` and sets the marker to `marker`, in one transaction: either the
    /// batch and its marker are both stored, or neither.
    fn write_rows(&self, table: &Table, rows: &[Row], marker: &Value) -> Result<()>;
    /// Moves this store's clock to at least `position` (a no-op where the clock is the largest
    /// stored position, as on SQLite). Returns the clock after.
    fn continue_clock(&self, position: i64) -> Result<i64>;
}

/// Why a migration did not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("the target already holds data and no migration from this source began there (copy into an empty store)")]
    TargetNotEmpty,
    #[error("the target holds a migration from another source ({found}); refusing to mix two sources")]
    OtherSource { found: String },
    #[error("the target's migration marker is damaged: {0}")]
    BadMarker(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A [`Row`]'s key from its JSON form in the marker.
fn key_from_json(v: &Value) -> std::result::Result<Vec<Cell>, MigrateError> {
    serde_json::from_value(v.clone()).map_err(|e| MigrateError::BadMarker(e.to_string()))
}
