//! Versioned schema migrations, applied in order at open. Each file in `migrations/` is applied
//! once, in its own transaction, and recorded in `schema_migrations`.

use rusqlite::Connection;

use crate::Result;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_federation.sql")),
    (3, include_str!("../../migrations/0003_tombstone_proofs.sql")),
    (4, include_str!("../../migrations/0004_member_namespaces.sql")),
];

pub(super) fn apply(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)",
    )?;
    let current: i64 = conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
    if let Some((latest, _)) = MIGRATIONS.last()
        && current > *latest
    {
        return Err(crate::StoreError::backend(format!(
            "the data directory has schema version {current}, newer than this binary's {latest}"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied) VALUES (?1, ?2)",
            (version, tandem_model::Timestamp::now().as_micros()),
        )?;
        tx.commit()?;
    }
    Ok(())
}
