//! Federation: nodes pull from their peers over TAXII 2.1, verify the originator's signature on
//! every version, and notify each other of new data.
//!
//! Architecture invariant: replication never decides releasability. A node pulls as a user of
//! its own member on the peer, so the peer's store releases only what policy allows that member;
//! what a node then serves onward goes through its own store's decision again. A replicated
//! version is stored under the originator named by its verified provenance, never under the
//! peer that delivered it.
//!
//! Data flow for one version posted on USA and pulled by IRQ then SYR (`USA - IRQ - SYR`):
//! 1. USA's TAXII POST signs it ([`signer::NodeSigner`], [`provenance`]) and stores it with its
//!    provenance; the [`notify::NotifyHooks`] ring IRQ (`POST {root}tandem/notify/`).
//! 2. IRQ's [`puller`] for USA pages `GET .../objects/?added_after=<cursor>&match[version]=all`
//!    with `X-Tandem-Sync: 1` ([`client`]), validates and verifies each version against the
//!    roster's keys, stores it under its signer, persists the cursor, and its hooks ring SYR.
//! 3. SYR pulls from IRQ the same way; IRQ's store releases to SYR only what SYR may see,
//!    redacted where granular markings say so, with the proof reduced to match.
//!
//! Deletions travel the same way through the tombstone feed, signed by the originator. Roster
//! changes signed by the coalition's roster authority ([`roster_change`]) are pulled ahead of
//! the objects in every pass and applied in sequence order ([`roster_log`]).
//! [`federation::Federation`] wires one node (assembled by `tandem-node`; `tandem-testkit` runs
//! several in one process for tests).

pub mod backsign;
pub mod client;
pub mod federation;
pub mod fetch;
pub mod ingest;
pub mod notify;
pub mod peers;
pub mod provenance;
pub mod puller;
pub mod rate;
pub mod roster_change;
pub mod roster_log;
pub mod signer;
pub mod status;
