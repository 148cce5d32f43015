//! `tandem cert`: a node's self-signed certificate whose key is the node key.
//!
//! The certificate is bound to the member's roster `public_key` by being signed with, and
//! carrying, that very key; peers check the key, never a CA or a name. The names (`--hosts`)
//! are for ordinary clients (curl, browsers after an exception, taxii2-client with the file as
//! its CA bundle).

use ed25519_dalek::SigningKey;

use crate::TlsError;

/// A generated certificate and its key, both PEM.
pub struct Generated {
    pub cert_pem: String,
    /// PKCS#8 of the node key: the listener's `tls_key`.
    pub key_pem: String,
}

/// PKCS#8 v2 (RFC 8410, RFC 5958) of an Ed25519 key: the seed and the public key.
pub fn pkcs8_der(key: &SigningKey) -> Vec<u8> {
    let mut der = vec![0x30, 0x53, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    der.extend_from_slice(&key.to_bytes());
    der.extend_from_slice(&[0xa1, 0x23, 0x03, 0x21, 0x00]);
    der.extend_from_slice(&key.verifying_key().to_bytes());
    der
}

/// A self-signed certificate for `hosts` (DNS names or IP addresses) with `key`.
pub fn generate(key: &SigningKey, hosts: &[String]) -> Result<Generated, TlsError> {
    let err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let pkcs8 = rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8_der(key));
    let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519).map_err(err)?;
    let mut params = rcgen::CertificateParams::new(hosts.to_vec()).map_err(err)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, "Tandem node");
    let cert = params.self_signed(&pair).map_err(err)?;
    Ok(Generated { cert_pem: cert.pem(), key_pem: pair.serialize_pem() })
}

/// A self-signed ECDSA P-256 certificate for `hosts` with a new key: what browsers are served
/// (they cannot verify Ed25519). An operator may use a CA-issued one instead.
pub fn generate_web(hosts: &[String]) -> Result<Generated, TlsError> {
    let err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut params = rcgen::CertificateParams::new(hosts.to_vec()).map_err(err)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, "Tandem node (web)");
    let cert = params.self_signed(&pair).map_err(err)?;
    Ok(Generated { cert_pem: cert.pem(), key_pem: pair.serialize_pem() })
}
