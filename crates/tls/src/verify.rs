//! The two TLS configurations of a node, with the roster as the PKI.
//!
//! - [`server_config`]: serves the node's certificate and asks for a client certificate
//!   without requiring one (analysts log in with passwords). A client certificate is accepted
//!   whatever it names, if it carries an Ed25519 key and the handshake is signed with that key;
//!   *who* it is, is decided per request against the roster (`tandem_taxii::transport`).
//! - [`client_config`]: accepts a server only when its certificate carries the key the roster
//!   names for the member it was asked to reach (read at each handshake, so a roster change
//!   takes effect on the next connection), and presents the node's certificate.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};

use crate::{Identity, TlsError, provider, spki};

/// Whether a client accepts a server holding this key (for a peer: the key its roster names
/// for the member it asked for, read at each handshake; none named, none accepted).
pub type ExpectedKey = Arc<dyn Fn(&[u8; 32]) -> bool + Send + Sync>;

/// Accepts exactly these keys (tools and tests that talk to known nodes).
pub fn accept_keys(keys: Vec<[u8; 32]>) -> ExpectedKey {
    Arc::new(move |k| keys.contains(k))
}

/// The listener's configuration, client certificates optional: the node's certificate to a
/// client offering [`crate::NODE_ALPN`] (a peer node, a Tandem tool), the web certificate to
/// any other (browsers cannot verify Ed25519); without a web certificate, the node's to all.
pub fn server_config(identity: &Identity, web: Option<&crate::WebIdentity>) -> Result<rustls::ServerConfig, TlsError> {
    let provider = provider();
    let certified = |chain: &[CertificateDer<'static>], key: &rustls::pki_types::PrivateKeyDer<'static>| {
        let signer = provider.key_provider.load_private_key(key.clone_key())?;
        Ok::<_, Error>(Arc::new(rustls::sign::CertifiedKey::new(chain.to_vec(), signer)))
    };
    let resolver = ByClient {
        node: certified(&identity.chain, &identity.key)?,
        web: web.map(|w| certified(&w.chain, &w.key)).transpose()?,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(AnyEd25519Client))
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Picks the certificate by what the client says it is (see [`server_config`]).
#[derive(Debug)]
struct ByClient {
    node: Arc<rustls::sign::CertifiedKey>,
    web: Option<Arc<rustls::sign::CertifiedKey>>,
}

impl rustls::server::ResolvesServerCert for ByClient {
    fn resolve(&self, hello: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let node_client = hello.alpn().is_some_and(|mut offered| offered.any(|p| p == crate::NODE_ALPN));
        match &self.web {
            Some(web) if !node_client => Some(Arc::clone(web)),
            _ => Some(Arc::clone(&self.node)),
        }
    }
}

/// A client's configuration towards one peer: the server must carry `expected`'s key; the
/// node's own certificate is presented when `identity` is given.
pub fn client_config(identity: Option<&Identity>, expected: ExpectedKey) -> Result<rustls::ClientConfig, TlsError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(RosterServer { expected }));
    let mut config = match identity {
        Some(id) => builder.with_client_auth_cert(id.chain.clone(), id.key.clone_key())?,
        None => builder.with_no_client_auth(),
    };
    // `http/1.1` is what the listener negotiates; the second says "a Tandem node": it is
    // served the node certificate, whose key this client checks.
    config.alpn_protocols = vec![b"http/1.1".to_vec(), crate::NODE_ALPN.to_vec()];
    Ok(config)
}

/// The handshake signature, checked against the key we read from the certificate ourselves, so
/// the key a request is attributed to is exactly the key that signed.
fn verify_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, Error> {
    let spki = spki::spki_der(cert).ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
    rustls::crypto::verify_tls13_signature_with_raw_key(
        message,
        &SubjectPublicKeyInfoDer::from(spki),
        dss,
        &provider().signature_verification_algorithms,
    )
}

fn tls12_refused() -> Result<HandshakeSignatureValid, Error> {
    Err(Error::General("TLS 1.2 is not offered".into()))
}

#[derive(Debug)]
struct AnyEd25519Client;

impl ClientCertVerifier for AnyEd25519Client {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        match spki::ed25519_key(end_entity) {
            Some(_) => Ok(ClientCertVerified::assertion()),
            None => Err(Error::InvalidCertificate(CertificateError::BadEncoding)),
        }
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls12_refused()
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

struct RosterServer {
    expected: ExpectedKey,
}

impl std::fmt::Debug for RosterServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RosterServer")
    }
}

impl ServerCertVerifier for RosterServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        // The roster is the PKI: the name and the validity dates say nothing the key does not.
        let presented =
            spki::ed25519_key(end_entity).ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
        if (self.expected)(&presented) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls12_refused()
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}
