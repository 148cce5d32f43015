//! Stateless paging tokens.
//!
//! A `next` token is the position of the last delivered version (its `date_added`), so it
//! survives restarts and works on any replica. Tokens are client-supplied: the store re-applies
//! the viewer's releasability on every page, so a token grants nothing by itself.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tandem_model::Timestamp;

use crate::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub after: Timestamp,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{}", self.after.as_micros()))
    }

    pub fn decode(token: &str) -> Result<Self, StoreError> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| StoreError::BadCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| StoreError::BadCursor)?;
        let micros = text.strip_prefix("v1:").and_then(|m| m.parse::<i64>().ok()).ok_or(StoreError::BadCursor)?;
        Ok(Cursor { after: Timestamp::from_micros(micros) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let c = Cursor { after: Timestamp::from_micros(1_764_000_000_123_456) };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in ["", "!!", "djE6", "eDox", "djE6YWJj"] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }
}
