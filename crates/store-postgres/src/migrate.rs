//! Versioned schema migrations, applied in order at open: SQL files in `migrations/`, each
//! applied once in its own transaction and recorded in `schema_migrations`. Several processes
//! starting at once take turns on a transaction-level advisory lock, so each migration runs once.

use tandem_store::{Result, StoreError};
use tokio_postgres::Client;

use crate::pg;

const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/0001_init.sql"))];

/// The advisory lock key migrations take (any constant of this crate's own).
const MIGRATION_LOCK: i64 = 0x7461_6e64_656d_0001;

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

pub(crate) async fn apply(conn: &mut Client) -> Result<()> {
    let latest = MIGRATIONS.last().map(|(v, _)| *v).unwrap_or(0);
    for (version, sql) in MIGRATIONS {
        let tx = conn.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied BIGINT NOT NULL)",
        )
        .await
        .map_err(pg)?;
        let newer: Option<i64> =
            tx.query_one("SELECT MAX(version) FROM schema_migrations", &[]).await.map_err(pg)?.get(0);
        if let Some(newer) = newer.filter(|n| *n > latest) {
            return Err(StoreError::backend(format!(
                "the database has schema version {newer}, newer than this binary's {latest}"
            )));
        }
        let done =
            tx.query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[version]).await.map_err(pg)?.is_some();
        if !done {
            tx.batch_execute(sql).await.map_err(pg)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)",
                &[version, &tandem_model::Timestamp::now().as_micros()],
            )
            .await
            .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)?;
    }
    Ok(())
}
