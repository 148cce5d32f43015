//! The Ed25519 key a certificate carries, read with a minimal DER walk.
//!
//! Peers are identified by the key in their certificate, so the key must be read from the one
//! place X.509 puts it (`tbsCertificate.subjectPublicKeyInfo`), never found by searching the
//! bytes (an extension could embed another member's key). Only definite lengths, as DER
//! requires; anything unexpected yields `None`.

use rustls::pki_types::CertificateDer;

/// `SubjectPublicKeyInfo` of an Ed25519 key, up to the key itself (RFC 8410).
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// One DER element: (tag, content, the whole element, what follows it).
type Element<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

fn element(input: &[u8]) -> Option<Element<'_>> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    Some((tag, &rest[..len], &input[..header + len], &rest[len..]))
}

/// The DER `SubjectPublicKeyInfo` of a certificate.
pub fn spki_der<'a>(cert: &'a CertificateDer<'_>) -> Option<&'a [u8]> {
    const SEQUENCE: u8 = 0x30;
    let (tag, cert, _, _) = element(cert.as_ref())?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, mut tbs, _, _) = element(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    // [0] EXPLICIT version, optional.
    if tbs.first() == Some(&0xa0) {
        tbs = element(tbs)?.3;
    }
    // serialNumber, signature, issuer, validity, subject.
    for expected in [0x02, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE] {
        let (tag, _, _, rest) = element(tbs)?;
        if tag != expected {
            return None;
        }
        tbs = rest;
    }
    let (tag, _, whole, _) = element(tbs)?;
    (tag == SEQUENCE).then_some(whole)
}

/// The raw Ed25519 public key of a certificate, `None` when it carries another kind of key.
pub fn ed25519_key(cert: &CertificateDer<'_>) -> Option<[u8; 32]> {
    let spki = spki_der(cert)?;
    let key = spki.strip_prefix(&ED25519_SPKI_PREFIX[..])?;
    key.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_key_of_a_generated_certificate() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let made = crate::cert::generate(&key, &["localhost".into()]).unwrap();
        let der = CertificateDer::from_pem_slice(made.cert_pem.as_bytes()).unwrap();
        assert_eq!(ed25519_key(&der), Some(key.verifying_key().to_bytes()));
    }

    #[test]
    fn refuses_truncated_and_foreign_input() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let made = crate::cert::generate(&key, &["localhost".into()]).unwrap();
        let der = CertificateDer::from_pem_slice(made.cert_pem.as_bytes()).unwrap();
        for cut in [0, 1, 10, der.len() / 2] {
            assert_eq!(ed25519_key(&CertificateDer::from(der[..cut].to_vec())), None, "cut at {cut}");
        }
        assert_eq!(ed25519_key(&CertificateDer::from(vec![0x30, 0x00])), None);
    }

    use rustls::pki_types::pem::PemObject;
}
