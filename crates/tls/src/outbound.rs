//! TLS towards servers that are not Tandem nodes: webhook receivers and external TAXII feeds.
//!
//! Those are ordinary HTTPS servers whose certificates a certificate authority issued, so they
//! are checked the ordinary way (WebPKI: a chain to a trusted root, the URL's host named in the
//! certificate), unlike peer nodes, which are checked against the roster's keys ([`crate::verify`])
//! and never against a CA. The trusted roots are the system's (`rustls-native-certs`:
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` when set, else the distribution's bundle) plus, for receivers
//! behind a private CA, every certificate of one configured PEM file (`[node] outbound_ca_file`).
//! Without either, every `https://` receiver is refused (an unknown issuer), never accepted
//! unverified.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::{TlsError, provider};

/// What [`client_config`] trusts, for the node's start-up log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roots {
    /// Roots read from the system's store.
    pub system: usize,
    /// Certificates read from the configured CA file.
    pub configured: usize,
    /// Why some of the system's roots could not be read (a missing bundle is not an error).
    pub system_errors: Vec<String>,
}

/// The client configuration for outbound HTTPS: the system's roots plus the certificates of
/// `ca_file` (PEM). A CA file that cannot be read, holds no certificate or holds one rustls
/// refuses is an error naming the file: a node configured for a private receiver does not start
/// without it.
pub fn client_config(ca_file: Option<&Path>) -> Result<(rustls::ClientConfig, Roots), TlsError> {
    let mut store = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (system, _unparsable) = store.add_parsable_certificates(native.certs);
    let mut roots =
        Roots { system, configured: 0, system_errors: native.errors.iter().map(|e| e.to_string()).collect() };
    if let Some(path) = ca_file {
        let pem = |reason: String| TlsError::Pem { path: path.to_path_buf(), reason };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| pem(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem(e.to_string()))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate { path: path.to_path_buf() });
        }
        for cert in certs {
            store.add(cert).map_err(|e| pem(format!("not a usable CA certificate: {e}")))?;
            roots.configured += 1;
        }
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(Arc::new(store))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, roots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_is_missing_empty_or_not_pem_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("tandem-outbound-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let err = client_config(Some(&missing)).unwrap_err().to_string();
        assert!(err.contains("missing.pem"), "{err}");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let err = client_config(Some(&empty)).unwrap_err().to_string();
        assert!(err.contains("empty.pem") && err.contains("no certificate"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_ca_file_adds_its_certificates_to_the_system_roots() {
        let dir = std::env::temp_dir().join(format!("tandem-outbound-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = params.self_signed(&key).unwrap();
        let file = dir.join("ca.pem");
        std::fs::write(&file, ca.pem()).unwrap();
        let (_, without) = client_config(None).unwrap();
        let (_, with) = client_config(Some(&file)).unwrap();
        assert_eq!((with.system, with.configured), (without.system, 1));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
