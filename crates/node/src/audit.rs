//! The node's audit log as the TAXII server sees it: opened where the node's store is (its own
//! `audit.sqlite` in the data directory on the embedded store; the PostgreSQL database, one chain
//! for every process, with `backend = "postgres"`), written by the one audit layer of the
//! assembled app ([`crate::http::app`]).

use std::sync::Arc;

use anyhow::Context;
use serde_json::Value;
use tandem_audit::{AuditLog, AuditOptions, ChainStore, Entry, SqliteChain};
use tandem_model::Timestamp;
use tandem_taxii::{AuditEvent, AuditSink};

use crate::config::{Config, StorageBackend};

/// Opens the node's audit log (creating it and the node key on first use). On PostgreSQL every
/// process appends to the one chain in the database, signing checkpoints with its node key: the
/// processes of one node must share `node.key`.
pub fn open_log(config: &Config) -> anyhow::Result<Arc<AuditLog>> {
    let data_dir = &config.node.data_dir;
    let log = match config.storage.backend {
        StorageBackend::Sqlite => AuditLog::open_in(data_dir),
        StorageBackend::Postgres => {
            let key = crate::federation::node_key(config)?;
            AuditLog::on(pg_chain(config)?, key, AuditOptions::default())
        }
    };
    let log = log.with_context(|| format!("opening the audit log in {}", location(config)))?;
    Ok(Arc::new(log))
}

/// The node's audit chain, to read and verify (`tandem audit show|verify`): nothing is created.
pub fn open_chain(config: &Config) -> anyhow::Result<Arc<dyn ChainStore>> {
    match config.storage.backend {
        StorageBackend::Sqlite => {
            let path = tandem_audit::audit_path(&config.node.data_dir);
            Ok(Arc::new(SqliteChain::read_only(&path)?))
        }
        StorageBackend::Postgres => pg_chain(config),
    }
}

fn pg_chain(config: &Config) -> anyhow::Result<Arc<dyn ChainStore>> {
    let url = config.storage.url.as_deref().context("storage.url: required with backend = \"postgres\"")?;
    let location = crate::wiring::redact_url(url);
    let chain = tandem_store_postgres::PgAudit::open(url, &location)
        .with_context(|| format!("opening the audit log in the PostgreSQL database {location}"))?;
    Ok(Arc::new(chain))
}

fn location(config: &Config) -> String {
    match (config.storage.backend, &config.storage.url) {
        (StorageBackend::Postgres, Some(url)) => crate::wiring::redact_url(url),
        _ => config.node.data_dir.display().to_string(),
    }
}

/// The TAXII server's view of the audit log.
pub struct Sink(pub Arc<AuditLog>);

impl AuditSink for Sink {
    fn record(&self, e: AuditEvent) {
        self.0.record(Entry {
            ts: Timestamp::now().to_taxii(),
            actor_user: e.user,
            actor_member: e.member,
            action: e.action,
            method: e.method,
            path: e.path,
            status: e.status,
            detail: e.detail,
        });
    }

    fn read(&self, after: u64, limit: usize) -> Option<Result<Vec<Value>, String>> {
        Some(self.0.read(after, limit).map(|rs| rs.iter().map(|r| r.to_json()).collect()).map_err(|e| e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_audit::keys;

    #[test]
    fn sink_records_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(AuditLog::open_in(dir.path()).unwrap());
        let sink = Sink(Arc::clone(&log));
        sink.record(AuditEvent {
            user: Some("alice".into()),
            member: Some("USA".into()),
            action: "objects.read".into(),
            method: "GET".into(),
            path: "/api/collections/intel/objects/".into(),
            status: 200,
            detail: serde_json::json!({"returned": 2}),
        });
        log.flush().unwrap();
        let got = sink.read(0, 10).unwrap().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["actor_user"], "alice");
        assert_eq!(got[0]["detail"]["returned"], 2);
        log.close().unwrap();
        let key = keys::load_node_key(dir.path()).unwrap().verifying_key();
        let report = tandem_audit::verify(&tandem_audit::audit_path(dir.path()), &key).unwrap();
        assert!(report.is_intact() && report.unsigned_tail == 0, "{report}");
    }
}
