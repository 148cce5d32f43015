//! Versioned schema migrations, applied in order at open and recorded in `schema_migrations`.
//! Most are SQL files in `migrations/`, each applied once in its own transaction; one that must
//! compute something SQL cannot (version 2: the full-text keys, folded in Rust) runs its Rust
//! step in the same transaction, after its SQL.
//!
//! An index on a table that may already be large (version 4) is built `CONCURRENTLY`, which
//! cannot run in a transaction: the node's other processes keep writing while it builds, where
//! a plain `CREATE INDEX` would hold their inserts for as long as the build takes. A concurrent
//! build that is interrupted (the process killed, the server restarted) leaves an *invalid*
//! index behind, which PostgreSQL keeps up to date but never reads, and which `IF NOT EXISTS`
//! would take for done: the step drops such an index and builds it again, and records the
//! version only once the index is valid.
//!
//! Several processes starting at once take turns on a session-level advisory lock, so each
//! migration runs once. The lock is taken by polling `pg_try_advisory_lock`, never by waiting
//! in `pg_advisory_lock`: a session blocked in that call holds a snapshot, a concurrent index
//! build waits for every older snapshot to go, and the two would wait for each other.

use std::time::Duration;

use tandem_store::{Result, StoreError};
use tokio_postgres::Client;

use crate::pg;

/// What a migration does.
enum Step {
    /// SQL applied in one transaction with the version's record.
    InTransaction(&'static str),
    /// `CREATE INDEX CONCURRENTLY` of the index `name`, outside any transaction.
    ConcurrentIndex { name: &'static str, create: &'static str },
}

const MIGRATIONS: &[(i64, Step)] = &[
    (1, Step::InTransaction(include_str!("../migrations/0001_init.sql"))),
    (2, Step::InTransaction(include_str!("../migrations/0002_text_search.sql"))),
    (3, Step::InTransaction(include_str!("../migrations/0003_audit.sql"))),
    (
        4,
        Step::ConcurrentIndex {
            name: "objects_by_label_type",
            create: include_str!("../migrations/0004_label_order.sql"),
        },
    ),
];

/// The advisory lock key migrations take (any constant of this crate's own).
const MIGRATION_LOCK: i64 = 0x7461_6e64_656d_0001;

/// How often a process waiting for another's migrations asks for the lock again.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// The newest schema version this binary knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map(|(v, _)| *v).unwrap_or(0)
}

/// The newest schema version recorded in the database (`None`: no Tandem schema there).
pub(crate) async fn applied_max(conn: &Client) -> Result<Option<i64>> {
    let exists: bool =
        conn.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await.map_err(pg)?.get(0);
    if !exists {
        return Ok(None);
    }
    conn.query_one("SELECT MAX(version) FROM schema_migrations", &[]).await.map_err(pg)?.try_get(0).map_err(pg)
}

/// Applies every pending migration, holding the migration lock throughout (released before
/// returning, whatever the outcome, so the connection goes back to the pool without it).
pub(crate) async fn apply(conn: &mut Client) -> Result<()> {
    loop {
        let got: bool = conn.query_one("SELECT pg_try_advisory_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg)?.get(0);
        if got {
            break;
        }
        tokio::time::sleep(LOCK_POLL).await;
    }
    let applied = apply_locked(conn).await;
    let unlocked = conn.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await.map_err(pg);
    applied?;
    unlocked.map(|_| ())
}

async fn apply_locked(conn: &mut Client) -> Result<()> {
    let latest = latest();
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied BIGINT NOT NULL)",
    )
    .await
    .map_err(pg)?;
    let newer: Option<i64> =
        conn.query_one("SELECT MAX(version) FROM schema_migrations", &[]).await.map_err(pg)?.get(0);
    if let Some(newer) = newer.filter(|n| *n > latest) {
        return Err(StoreError::backend(format!(
            "the database has schema version {newer}, newer than this binary's {latest}"
        )));
    }
    for (version, step) in MIGRATIONS {
        let done = conn
            .query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[version])
            .await
            .map_err(pg)?
            .is_some();
        if done {
            continue;
        }
        match step {
            Step::InTransaction(sql) => {
                let tx = conn.transaction().await.map_err(pg)?;
                tx.batch_execute(sql).await.map_err(pg)?;
                if *version == 2 {
                    backfill_text(&tx).await?;
                }
                record(&tx, *version).await?;
                tx.commit().await.map_err(pg)?;
            }
            Step::ConcurrentIndex { name, create } => {
                match index_valid(conn, name).await? {
                    Some(true) => {}
                    Some(false) => {
                        tracing::warn!(
                            index = name,
                            "an interrupted index build left an invalid index: building it again"
                        );
                        conn.batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}")).await.map_err(pg)?;
                        conn.batch_execute(create).await.map_err(pg)?;
                    }
                    None => conn.batch_execute(create).await.map_err(pg)?,
                }
                if index_valid(conn, name).await? != Some(true) {
                    return Err(StoreError::backend(format!(
                        "schema version {version}: the index {name} was built but is not valid"
                    )));
                }
                record(conn, *version).await?;
            }
        }
    }
    Ok(())
}

async fn record(conn: &impl tokio_postgres::GenericClient, version: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)",
        &[&version, &tandem_model::Timestamp::now().as_micros()],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// Whether the index `name` of the session's schema is valid (`None`: there is none).
async fn index_valid(conn: &Client, name: &str) -> Result<Option<bool>> {
    let row = conn
        .query_opt(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = current_schema()",
            &[&name],
        )
        .await
        .map_err(pg)?;
    row.map(|r| r.try_get(0)).transpose().map_err(pg)
}

/// Version 2: the full-text entry of every version already stored of a searched type, in
/// batches by position (the keys are folded in Rust with the gazetteer's rules).
async fn backfill_text(tx: &tokio_postgres::Transaction<'_>) -> Result<()> {
    let types: Vec<String> = tandem_store::text::INDEXED_TYPES.iter().map(|t| t.to_string()).collect();
    let select = tx
        .prepare("SELECT date_added, body FROM objects WHERE type = ANY($1) AND date_added > $2 ORDER BY date_added LIMIT 1000")
        .await
        .map_err(pg)?;
    let update =
        tx.prepare("UPDATE objects SET search = to_tsvector('simple', $2) WHERE date_added = $1").await.map_err(pg)?;
    let mut after = i64::MIN;
    let mut indexed = 0u64;
    loop {
        let rows = tx.query(&select, &[&types, &after]).await.map_err(pg)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let date_added: i64 = row.try_get(0).map_err(pg)?;
            let body: String = row.try_get(1).map_err(pg)?;
            after = date_added;
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&body).map_err(|e| {
                StoreError::Corrupt(format!(
                    "object at date_added {date_added} has a body that is not a JSON object: {e}"
                ))
            })?;
            if let Some(keys) = tandem_store::text::index_text(&object) {
                tx.execute(&update, &[&date_added, &keys]).await.map_err(pg)?;
                indexed += 1;
            }
        }
    }
    if indexed > 0 {
        tracing::info!(indexed, "full-text index built for the stored incidents and reports");
    }
    Ok(())
}
