//! TAXII request headers: any text as an `Accept` header, a `Content-Type` and an
//! `Authorization` header, through the parsers the server uses (`tandem_taxii::media`,
//! `tandem_taxii::auth::parse_authorization`). Nothing may panic; adding a media range never
//! takes acceptance away; a TAXII content type is one the server accepts back (unless the
//! range refuses itself with `q=0`); a parsed Basic credential re-encodes to itself.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use tandem_taxii::auth::{Credential, parse_authorization};
use tandem_taxii::media::{accepts_taxii, is_taxii_content_type};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let accepted = accepts_taxii(Some(text));
    if accepted {
        assert!(accepts_taxii(Some(&format!("{text}, text/html"))), "a further range took acceptance away");
        assert!(accepts_taxii(Some(&format!("text/html,{text}"))), "a range before took acceptance away");
    }
    if is_taxii_content_type(Some(text)) && !text.to_ascii_lowercase().contains('q') && !text.contains(',') {
        assert!(accepted, "{text:?} is a TAXII content type but not an accepted media range");
    }
    match parse_authorization(text) {
        Some(Credential::Basic { user, password }) => {
            assert!(!user.contains(':'), "a Basic user name cannot hold ':'");
            let again =
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
            assert_eq!(
                parse_authorization(&again),
                Some(Credential::Basic { user: user.clone(), password: password.clone() })
            );
        }
        Some(Credential::Bearer { token_id, secret }) => {
            assert!(!token_id.is_empty() && token_id.bytes().all(|c| c.is_ascii_alphanumeric()));
            assert!(!secret.is_empty());
        }
        None => {}
    }
});
