//! How a request reached the node: over TLS or not, and the key of the client certificate
//! presented in the handshake (the node's accept loop puts a [`Transport`] in every request's
//! extensions; a request without one, as in `oneshot` tests, is plain and certificate-less).
//!
//! Why here: the peer-certificate rule is part of authentication ([`crate::auth::Caller`]),
//! and the web UI reads [`Transport::tls`] to mark its cookies `Secure`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tandem_policy::Roster;

/// The connection a request came over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transport {
    /// Served over TLS (HSTS is sent, cookies may be `Secure`).
    pub tls: bool,
    /// The Ed25519 key of the client certificate, verified by the handshake signature.
    pub client_key: Option<[u8; 32]>,
}

impl Transport {
    /// The transport of a request (plain when the accept loop did not set one).
    pub fn of(extensions: &axum::http::Extensions) -> Transport {
        extensions.get::<Transport>().copied().unwrap_or_default()
    }
}

/// Why a peer account's request is refused, if it is: over TLS, a peer account must come with
/// a client certificate carrying its member's roster key, so a stolen peer password alone
/// opens nothing, and a node presenting another member's certificate is refused. A plain
/// listener (loopback, or `allow_plain_http`) has no certificates to check.
pub fn peer_refusal(transport: Transport, roster: &Roster, member: &str) -> Option<&'static str> {
    if !transport.tls {
        return None;
    }
    let Some(presented) = transport.client_key else {
        return Some("a peer account must present its node's client certificate");
    };
    let expected = roster.member(member).and_then(|m| m.public_key.as_deref()).and_then(roster_key);
    match expected {
        None => Some("the roster names no key for this peer's member"),
        Some(k) if k == presented => None,
        Some(_) => Some("the client certificate is not this peer member's roster key"),
    }
}

/// The raw bytes of a roster key (`ed25519:<base64>`).
pub fn roster_key(s: &str) -> Option<[u8; 32]> {
    STANDARD.decode(s.trim().strip_prefix("ed25519:")?).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_policy::{Member, MemberStatus};

    fn roster(key: Option<[u8; 32]>) -> Roster {
        let public_key = key.map(|k| format!("ed25519:{}", STANDARD.encode(k)));
        let irq =
            Member { code: "IRQ".into(), name: "Iraq".into(), joined: None, status: MemberStatus::Active, public_key };
        Roster::new([irq], [])
    }

    #[test]
    fn a_peer_over_tls_needs_its_members_roster_key() {
        let r = roster(Some([1; 32]));
        let tls = |client_key| Transport { tls: true, client_key };
        assert_eq!(peer_refusal(tls(Some([1; 32])), &r, "IRQ"), None);
        assert!(peer_refusal(tls(Some([2; 32])), &r, "IRQ").is_some(), "another member's key");
        assert!(peer_refusal(tls(None), &r, "IRQ").is_some(), "no certificate");
        assert!(peer_refusal(tls(Some([1; 32])), &roster(None), "IRQ").is_some(), "no roster key");
        assert!(peer_refusal(tls(Some([1; 32])), &r, "SYR").is_some(), "not on the roster");
        // A plain listener has no certificates to check.
        assert_eq!(peer_refusal(Transport::default(), &r, "IRQ"), None);
        assert_eq!(roster_key("ed25519:AAAA"), None);
    }
}
