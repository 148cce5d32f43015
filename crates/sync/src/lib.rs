//! Federation: nodes pull from their peers over TAXII 2.1, verify the originator's signature on
//! every version, and notify each other of new data.
//!
//! Architecture invariant: replication never decides releasability. A node pulls as a user of
//! its own member on the peer, so the peer's store releases only what policy allows that member;
//! what a node then serves onward goes through its own store's decision again. A replicated
//! version is stored under the originator named by its verified provenance, never under the
//! peer that delivered it.

pub mod client;
pub mod federation;
pub mod notify;
pub mod peers;
pub mod provenance;
pub mod puller;
pub mod sandbox;
pub mod signer;
pub mod status;
