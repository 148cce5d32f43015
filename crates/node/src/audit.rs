//! The node's audit log as the TAXII server sees it: opened in the data directory, written
//! by the one audit layer of the assembled app ([`crate::http::app`]).

use std::sync::Arc;

use anyhow::Context;
use serde_json::Value;
use tandem_audit::{AuditLog, Entry};
use tandem_model::Timestamp;
use tandem_taxii::{AuditEvent, AuditSink};

use crate::config::Config;

/// Opens the node's audit log (creating it and the node key on first use).
pub fn open_log(config: &Config) -> anyhow::Result<Arc<AuditLog>> {
    let log = AuditLog::open_in(&config.node.data_dir)
        .with_context(|| format!("opening the audit log in {}", config.node.data_dir.display()))?;
    Ok(Arc::new(log))
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
