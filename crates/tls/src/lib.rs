//! Transport security of a node, with the roster as the PKI.
//!
//! A node's TLS certificate is self-signed with the node's own Ed25519 key (`node.key`, whose
//! public half is the member's `public_key` in the signed roster), so no certificate authority
//! is involved: a peer is who the roster says holds that key. This crate makes the certificate
//! ([`cert`]), reads the key a certificate carries ([`spki`]), and builds the two rustls
//! configurations a node needs ([`verify`]): a server that accepts an optional client
//! certificate (analysts log in with passwords; peer nodes present their node certificate), and
//! a client that accepts a server only when its certificate carries the key the roster names.
//!
//! Browsers cannot verify an Ed25519 certificate (Chromium and Firefox do not offer Ed25519 in
//! TLS), so a listener also serves a **web certificate** of an ordinary key type (ECDSA P-256
//! from `tandem cert`, or one an operator's CA issued) to every client that does not say it is
//! a Tandem node: a node's client offers the ALPN protocol [`NODE_ALPN`] besides `http/1.1`, and
//! only then does the listener present the roster-bound node certificate
//! ([`verify::server_config`]). Nothing is decided by that choice: a peer still verifies the
//! key it receives, and a peer account is still refused without its own client certificate.
//!
//! Servers that are not nodes (webhook receivers, external TAXII feeds) are checked the ordinary
//! way, against the system's roots and an optional configured CA ([`outbound`]).
//!
//! One crypto provider, ring, passed explicitly to every builder (no process default needed).
//! TLS 1.3 only: every client we serve speaks it, and its handshake signature is checked
//! against the very key we extract ([`rustls::crypto::verify_tls13_signature_with_raw_key`]).

pub mod cert;
pub mod outbound;
pub mod spki;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use verify::{client_config, server_config};

/// What can go wrong loading or using a node's TLS material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("{path}: no certificate in the file")]
    NoCertificate { path: PathBuf },
    #[error("the certificate does not carry an Ed25519 key")]
    NotEd25519,
    #[error("the certificate's key is not the key of tls_key")]
    KeyMismatch,
    #[error("generating the certificate: {0}")]
    Generate(String),
    #[error("tls configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The one crypto provider every configuration is built with.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The ALPN protocol a Tandem node's client offers (besides `http/1.1`, which is what is
/// negotiated): the listener then presents the node certificate instead of the web one.
pub const NODE_ALPN: &[u8] = b"tandem-node/1";

/// The certificate served to browsers and other ordinary clients: any key type rustls supports.
pub struct WebIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for WebIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebIdentity").field("chain", &self.chain.len()).finish_non_exhaustive()
    }
}

impl WebIdentity {
    /// Loads `cert` (PEM, leaf first) and `key` (PEM).
    pub fn load(cert: &Path, key: &Path) -> Result<WebIdentity, TlsError> {
        let pem = |path: &Path, e: rustls::pki_types::pem::Error| TlsError::Pem {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| pem(cert, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem(cert, e))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate { path: cert.to_path_buf() });
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| pem(key, e))?;
        Ok(WebIdentity { chain, key })
    }
}

/// A node's certificate chain and private key: served by its listener and presented to peers.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// The Ed25519 public key the leaf certificate carries.
    pub public_key: [u8; 32],
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity { chain: self.chain.clone(), key: self.key.clone_key(), public_key: self.public_key }
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("Identity").field("public_key", &self.public_key).finish_non_exhaustive()
    }
}

/// The Ed25519 key of the (first) certificate in a PEM file: how a tool trusts one node by its
/// certificate file (`tandem tail --node-cert`).
pub fn certificate_key(path: &Path) -> Result<[u8; 32], TlsError> {
    let der = CertificateDer::from_pem_file(path)
        .map_err(|e| TlsError::Pem { path: path.to_path_buf(), reason: e.to_string() })?;
    spki::ed25519_key(&der).ok_or(TlsError::NotEd25519)
}

impl Identity {
    /// Loads `cert` (PEM, leaf first) and `key` (PEM, PKCS#8). The leaf must carry an Ed25519
    /// key (our peers verify nodes by their roster key, which is Ed25519).
    pub fn load(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
        let pem = |path: &Path, e: rustls::pki_types::pem::Error| TlsError::Pem {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| pem(cert, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem(cert, e))?;
        let leaf = chain.first().ok_or_else(|| TlsError::NoCertificate { path: cert.to_path_buf() })?;
        let public_key = spki::ed25519_key(leaf).ok_or(TlsError::NotEd25519)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| pem(key, e))?;
        Ok(Identity { chain, key, public_key })
    }
}
