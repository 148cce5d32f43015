//! A small connection pool: idle clients kept for reuse, a client whose connection closed
//! dropped instead of returned, new ones opened on demand. Every session is set up the same way
//! (`synchronous_commit = on`), so durability does not depend on the server's defaults.

use std::sync::Mutex;

use tandem_store::Result;
use tokio_postgres::{Client, NoTls};

use crate::{pg, poisoned};

/// How many connections a store keeps.
#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    /// Idle connections kept for reuse.
    pub max_idle: usize,
    /// Connections open at once; a call beyond waits for one (so many processes stay within the
    /// server's `max_connections`).
    pub max_size: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig { max_idle: 8, max_size: 16 }
    }
}

pub(crate) struct Pool {
    config: tokio_postgres::Config,
    limits: PoolConfig,
    idle: Mutex<Vec<Client>>,
    /// One permit per connection in use.
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    /// The store's runtime, which drives every connection.
    handle: tokio::runtime::Handle,
    /// Sessions refuse writes (`default_transaction_read_only`): a migration's source.
    pub read_only: bool,
}

/// A client borrowed from the pool, returned to it when dropped.
pub(crate) struct Conn<'a> {
    pool: &'a Pool,
    client: Option<Client>,
    /// Released after the client went back (declared after it: dropped last).
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("a pooled client is present until drop")
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("a pooled client is present until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        // A client dropped in the middle of a transaction (a future cancelled) rolls back when
        // its connection closes; only a healthy idle one goes back.
        if client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.pool.idle.lock()
            && idle.len() < self.pool.limits.max_idle
        {
            idle.push(client);
        }
    }
}

impl Pool {
    pub fn new(config: tokio_postgres::Config, limits: PoolConfig, handle: tokio::runtime::Handle) -> Self {
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_size.max(1)));
        Pool { config, limits, idle: Mutex::new(Vec::new()), permits, handle, read_only: false }
    }

    pub async fn get(&self) -> Result<Conn<'_>> {
        let permit = std::sync::Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| tandem_store::StoreError::backend("the connection pool is closed"))?;
        loop {
            let client = self.idle.lock().map_err(|_| poisoned())?.pop();
            match client {
                Some(c) if c.is_closed() => continue,
                Some(c) => return Ok(Conn { pool: self, client: Some(c), _permit: permit }),
                None => break,
            }
        }
        let (client, connection) = self.config.connect(NoTls).await.map_err(pg)?;
        self.handle.spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "postgresql connection closed");
            }
        });
        client
            .batch_execute("SET synchronous_commit = on; SET default_transaction_isolation = 'read committed'")
            .await
            .map_err(pg)?;
        if self.read_only {
            client.batch_execute("SET default_transaction_read_only = on").await.map_err(pg)?;
        }
        Ok(Conn { pool: self, client: Some(client), _permit: permit })
    }
}
