//! Status resources, user accounts and API tokens.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use tandem_model::Timestamp;

use super::SqliteStore;
use crate::{Result, StoreError, StoredToken, StoredUser};

impl SqliteStore {
    pub(super) fn put_status_impl(&self, id: &str, owner: &str, body: &Value) -> Result<()> {
        let writer = self.writer()?;
        writer.conn.execute(
            "INSERT OR REPLACE INTO statuses (id, owner, created, body) VALUES (?1, ?2, ?3, ?4)",
            params![id, owner, Timestamp::now().as_micros(), body.to_string()],
        )?;
        Ok(())
    }

    pub(super) fn get_status_impl(&self, id: &str, owner: &str) -> Result<Option<Value>> {
        self.with_reader(|conn| {
            let body: Option<String> = conn
                .prepare_cached("SELECT body FROM statuses WHERE id = ?1 AND owner = ?2")?
                .query_row(params![id, owner], |r| r.get(0))
                .optional()?;
            body.map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(format!("status {id}: {e}"))))
                .transpose()
        })
    }

    pub(super) fn users_impl(&self) -> Result<Vec<StoredUser>> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare("SELECT name, member, password_hash, clearance, roles FROM users ORDER BY name")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (name, member, password_hash, clearance, roles) = row?;
                let roles =
                    serde_json::from_str(&roles).map_err(|e| StoreError::Corrupt(format!("user {name}: {e}")))?;
                out.push(StoredUser { name, member, password_hash, clearance, roles });
            }
            Ok(out)
        })
    }

    pub(super) fn put_user_impl(&self, user: &StoredUser) -> Result<()> {
        let roles = serde_json::to_string(&user.roles).map_err(StoreError::backend)?;
        self.writer()?.conn.execute(
            "INSERT OR REPLACE INTO users (name, member, password_hash, clearance, roles) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![user.name, user.member, user.password_hash, user.clearance, roles],
        )?;
        Ok(())
    }

    pub(super) fn tokens_impl(&self) -> Result<Vec<StoredToken>> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare("SELECT token_id, user, secret_hash, created, label FROM tokens ORDER BY created")?;
            let rows = stmt.query_map([], |r| {
                Ok(StoredToken {
                    token_id: r.get(0)?,
                    user: r.get(1)?,
                    secret_hash: r.get(2)?,
                    created: Timestamp::from_micros(r.get(3)?),
                    label: r.get(4)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(StoreError::from)
        })
    }

    pub(super) fn put_token_impl(&self, token: &StoredToken) -> Result<()> {
        self.writer()?.conn.execute(
            "INSERT INTO tokens (token_id, user, secret_hash, created, label) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![token.token_id, token.user, token.secret_hash, token.created.as_micros(), token.label],
        )?;
        Ok(())
    }

    pub(super) fn unresolved_markings_impl(&self) -> Result<Vec<(String, u64)>> {
        // Resolved in the namespace of the objects' originator, as policy does.
        let unresolved = self.labels.read()?.cache.unresolved();
        let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
        self.with_reader(|conn| {
            for (label, marking) in &unresolved {
                let n: i64 = conn
                    .prepare_cached("SELECT COUNT(*) FROM objects WHERE label = ?1")?
                    .query_row([label], |r| r.get(0))?;
                *counts.entry(marking.clone()).or_default() += n as u64;
            }
            Ok(())
        })?;
        Ok(counts.into_iter().filter(|(_, n)| *n > 0).collect())
    }
}
