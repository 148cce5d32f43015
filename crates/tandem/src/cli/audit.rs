//! `tandem audit verify|show`, and the adapter that lets the TAXII server write to the audit
//! log.
//!
//! It exists so that an operator or auditor can check the node's audit log offline (exit 1
//! when the chain is broken) and read it without the HTTP endpoint, and so that the TAXII
//! crate stays independent of `tandem-audit` (it only knows the `AuditSink` trait).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use tandem_audit::keys;

use crate::config::Config;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and check every checkpoint signature; exit 1 with a report
    /// naming the first broken entry when anything was edited, dropped or reordered.
    Verify {
        #[arg(long, short)]
        config: PathBuf,
        /// Verify against this key (`ed25519:<base64>`) instead of the node's own key file:
        /// what an auditor holding the published key should do.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Print audit entries as JSON lines, oldest first.
    Show {
        #[arg(long, short)]
        config: PathBuf,
        /// Only entries with a sequence number above this.
        #[arg(long, default_value_t = 0)]
        after: u64,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

pub fn run(command: &AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { config, public_key } => {
            let config = Config::load(config)?;
            let key = match public_key {
                Some(k) => keys::parse_public_key(k)?,
                None => keys::load_node_key(&config.node.data_dir)
                    .context("reading the node key (or pass --public-key)")?
                    .verifying_key(),
            };
            let chain = tandem_node::audit::open_chain(&config)?;
            let report = tandem_audit::verify_chain(chain.as_ref(), &key)?;
            print!("{report}");
            println!("key: {}", keys::public_key_string(&key));
            Ok(if report.is_intact() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        AuditCommand::Show { config, after, limit } => {
            let config = Config::load(config)?;
            let chain = tandem_node::audit::open_chain(&config)?;
            for r in chain.read(*after, *limit)? {
                println!("{}", r.to_json());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tandem_node::audit::{Sink, open_log};
    use tandem_taxii::{AuditEvent, AuditSink};

    use super::*;

    #[test]
    fn verify_exits_1_on_a_tampered_log() {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("node.toml");
        let toml = "[node]\nmember = \"USA\"\nlisten = \"127.0.0.1:0\"\ndata_dir = \"data\"\n\n\
                    [[members]]\ncode = \"USA\"\nname = \"United States\"\n";
        std::fs::write(&config_path, toml).unwrap();
        let config = Config::load(&config_path).unwrap();
        let log = open_log(&config).unwrap();
        for n in 0..3 {
            Sink(Arc::clone(&log)).record(AuditEvent {
                user: Some(format!("user{n}")),
                member: Some("USA".into()),
                action: "discovery".into(),
                method: "GET".into(),
                path: "/taxii2/".into(),
                status: 200,
                detail: serde_json::json!({}),
            });
        }
        log.close().unwrap();
        let verify = |public_key: Option<String>| {
            let code = run(&AuditCommand::Verify { config: config_path.clone(), public_key }).unwrap();
            format!("{code:?}")
        };
        let ok = format!("{:?}", ExitCode::SUCCESS);
        assert_eq!(verify(None), ok);
        let key = keys::load_node_key(&config.node.data_dir).unwrap().verifying_key();
        assert_eq!(verify(Some(keys::public_key_string(&key))), ok);
        let tampered = tamper_bytes(&tandem_audit::audit_path(&config.node.data_dir));
        assert!(tampered, "user1 not found in the file");
        assert_ne!(verify(None), ok);
    }

    /// Rewrites one byte of an entry's user name in the SQLite file (no SQL dependency needed
    /// here): `user1` becomes `userX`, leaving the file well-formed.
    fn tamper_bytes(path: &std::path::Path) -> bool {
        let mut bytes = std::fs::read(path).unwrap();
        let Some(at) = bytes.windows(5).position(|w| w == b"user1") else { return false };
        bytes[at + 4] = b'X';
        std::fs::write(path, bytes).unwrap();
        true
    }
}
