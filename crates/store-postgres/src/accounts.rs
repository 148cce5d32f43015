//! Status resources, user accounts and API tokens, and the federation look-ups that need no
//! viewer (what this node holds, which markings do not resolve).

use serde_json::Value;
use tandem_model::Timestamp;
use tandem_store::{Result, StoreError, StoredToken, StoredUser};

use crate::{PgStore, pg};

impl PgStore {
    pub(crate) async fn put_status_impl(&self, id: &str, owner: &str, body: &Value) -> Result<()> {
        let conn = self.pool.get().await?;
        conn.execute(
            "INSERT INTO statuses (id, owner, created, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, created = excluded.created, body = excluded.body",
            &[&id, &owner, &Timestamp::now().as_micros(), &body.to_string()],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    pub(crate) async fn get_status_impl(&self, id: &str, owner: &str) -> Result<Option<Value>> {
        let conn = self.pool.get().await?;
        let row = conn
            .query_opt("SELECT body FROM statuses WHERE id = $1 AND owner = $2", &[&id, &owner])
            .await
            .map_err(pg)?;
        let Some(row) = row else { return Ok(None) };
        let body: String = row.try_get(0).map_err(pg)?;
        serde_json::from_str(&body).map(Some).map_err(|e| StoreError::Corrupt(format!("status {id}: {e}")))
    }

    pub(crate) async fn users_impl(&self) -> Result<Vec<StoredUser>> {
        let conn = self.pool.get().await?;
        let rows = conn
            .query("SELECT name, member, password_hash, clearance, roles FROM users ORDER BY name", &[])
            .await
            .map_err(pg)?;
        let mut out = Vec::new();
        for r in rows {
            let name: String = r.try_get(0).map_err(pg)?;
            let roles: String = r.try_get(4).map_err(pg)?;
            let roles = serde_json::from_str(&roles).map_err(|e| StoreError::Corrupt(format!("user {name}: {e}")))?;
            out.push(StoredUser {
                member: r.try_get(1).map_err(pg)?,
                password_hash: r.try_get(2).map_err(pg)?,
                clearance: r.try_get(3).map_err(pg)?,
                roles,
                name,
            });
        }
        Ok(out)
    }

    pub(crate) async fn put_user_impl(&self, user: &StoredUser) -> Result<()> {
        let roles = serde_json::to_string(&user.roles).map_err(StoreError::backend)?;
        let conn = self.pool.get().await?;
        conn.execute(
            "INSERT INTO users (name, member, password_hash, clearance, roles, rev)
             VALUES ($1, $2, $3, $4, $5, nextval('accounts_rev'))
             ON CONFLICT (name) DO UPDATE SET member = excluded.member, password_hash = excluded.password_hash,
                 clearance = excluded.clearance, roles = excluded.roles, rev = excluded.rev",
            &[&user.name, &user.member, &user.password_hash, &user.clearance, &roles],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    pub(crate) async fn tokens_impl(&self) -> Result<Vec<StoredToken>> {
        let conn = self.pool.get().await?;
        let rows = conn
            .query("SELECT token_id, \"user\", secret_hash, created, label FROM tokens ORDER BY created", &[])
            .await
            .map_err(pg)?;
        rows.into_iter()
            .map(|r| {
                Ok(StoredToken {
                    token_id: r.try_get(0).map_err(pg)?,
                    user: r.try_get(1).map_err(pg)?,
                    secret_hash: r.try_get(2).map_err(pg)?,
                    created: Timestamp::from_micros(r.try_get(3).map_err(pg)?),
                    label: r.try_get(4).map_err(pg)?,
                })
            })
            .collect()
    }

    pub(crate) async fn put_token_impl(&self, token: &StoredToken) -> Result<()> {
        let conn = self.pool.get().await?;
        conn.execute(
            "INSERT INTO tokens (token_id, \"user\", secret_hash, created, label, rev)
             VALUES ($1, $2, $3, $4, $5, nextval('accounts_rev'))",
            &[&token.token_id, &token.user, &token.secret_hash, &token.created.as_micros(), &token.label],
        )
        .await
        .map_err(pg)?;
        Ok(())
    }

    /// Every account write takes a new `rev` in its own transaction, so the largest revs and the
    /// counts move with every committed change, whichever process made it.
    pub(crate) async fn accounts_version_impl(&self) -> Result<Vec<i64>> {
        let conn = self.pool.get().await?;
        let r = conn
            .query_one(
                "SELECT (SELECT COALESCE(MAX(rev), 0) FROM users), (SELECT COUNT(*) FROM users),
                        (SELECT COALESCE(MAX(rev), 0) FROM tokens), (SELECT COUNT(*) FROM tokens)",
                &[],
            )
            .await
            .map_err(pg)?;
        (0..4).map(|i| r.try_get(i).map_err(pg)).collect()
    }

    pub(crate) async fn unresolved_markings_impl(&self) -> Result<Vec<(String, u64)>> {
        let conn = self.pool.get().await?;
        self.labels.refresh(&*conn).await?;
        // Resolved in the namespace of the objects' originator, as policy does.
        let unresolved = self.labels.read()?.cache.unresolved();
        let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
        for (label, marking) in &unresolved {
            let n: i64 = conn
                .query_one("SELECT COUNT(*) FROM objects WHERE label = $1", &[label])
                .await
                .map_err(pg)?
                .try_get(0)
                .map_err(pg)?;
            *counts.entry(marking.clone()).or_default() += n as u64;
        }
        Ok(counts.into_iter().filter(|(_, n)| *n > 0).collect())
    }

    pub(crate) async fn holds_versions_impl(
        &self,
        collection: &str,
        versions: &[(String, Timestamp, String)],
    ) -> Result<Vec<bool>> {
        let conn = self.pool.get().await?;
        let coll = conn.query_opt("SELECT id FROM collections WHERE uuid = $1", &[&collection]).await.map_err(pg)?;
        let Some(coll) = coll else {
            return Ok(vec![false; versions.len()]);
        };
        let coll: i64 = coll.try_get(0).map_err(pg)?;
        let stmt = conn
            .prepare(
                "SELECT EXISTS (SELECT 1 FROM objects WHERE collection = $1 AND stix_id = $2 AND originator = $4 AND version = $3)
                     OR EXISTS (SELECT 1 FROM tombstones WHERE collection = $1 AND stix_id = $2 AND originator = $4 AND version = $3)",
            )
            .await
            .map_err(pg)?;
        let mut out = Vec::with_capacity(versions.len());
        for (id, v, originator) in versions {
            let row = conn.query_one(&stmt, &[&coll, id, &v.sort_key(), originator]).await.map_err(pg)?;
            out.push(row.try_get(0).map_err(pg)?);
        }
        Ok(out)
    }

    pub(crate) async fn referenced_before_impl(
        &self,
        owner: &str,
        marking_id: &str,
        before: Timestamp,
    ) -> Result<bool> {
        let conn = self.pool.get().await?;
        self.labels.refresh(&*conn).await?;
        let labels = self.labels.read()?.cache.referencing(owner, marking_id);
        if labels.is_empty() {
            return Ok(false);
        }
        let row = conn
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM objects WHERE label = ANY($1) AND date_added < $2)",
                &[&labels, &before.as_micros()],
            )
            .await
            .map_err(pg)?;
        row.try_get(0).map_err(pg)
    }
}
