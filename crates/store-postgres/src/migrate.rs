//! Versioned schema migrations, applied in order at open: SQL files in `migrations/`, each
//! applied once in its own transaction and recorded in `schema_migrations`. Several processes
//! starting at once take turns on a transaction-level advisory lock, so each migration runs once.
//! A migration that must compute something SQL cannot (version 2: the full-text keys, folded in
//! Rust) runs its Rust step in the same transaction, after its SQL.

use tandem_store::{Result, StoreError};
use tokio_postgres::Client;

use crate::pg;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_text_search.sql")),
    (3, include_str!("../migrations/0003_audit.sql")),
    (4, include_str!("../migrations/0004_label_order.sql")),
];

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
            if *version == 2 {
                backfill_text(&tx).await?;
            }
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
