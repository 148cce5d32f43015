//! A version made ready to store before the writer's lock is taken.
//!
//! Everything about one incoming version that does not depend on what is stored (its content
//! hash over the RFC 8785 canonical form, the body text, its access label and that label's key,
//! its version key, its full-text keys) is computed here, on the caller's thread and the machine's other cores, before a backend takes its writer
//! lock or opens its transaction. Several writers (four TAXII connections, a feed, an import) then spend their CPU
//! in parallel and hold the lock only for the SQL: the commit is the one serialised step. Both
//! backends store exactly these values, so they cannot compute them differently.

use tandem_model::{StixObject, Timestamp, parallel};
use tandem_policy::AccessLabel;

use crate::{Incoming, Result, StoreError};

/// One incoming version with what storing it needs, computed once.
pub struct NewVersion {
    pub object: StixObject,
    pub id: String,
    /// `modified`, else `created`; `None` for an unversioned cyber-observable.
    pub version: Option<Timestamp>,
    /// The version's sort key (empty when unversioned), the stored `version` column.
    pub version_key: String,
    /// SHA-256 of the canonical form (`StixObject::content_hash`, computed once with the
    /// signer's commitment).
    pub hash: [u8; 32],
    /// The object as stored: its JSON text, exactly as received.
    pub body: String,
    pub provenance: Option<String>,
    /// The access label (originator and markings) the version is filed under.
    pub label: AccessLabel,
    /// The label's stored text and cache key (`crate::access::label_key`).
    pub label_key: String,
    /// Its full-text entry, the folded keys (`crate::text::index_text`); `None` for a type that
    /// is not searched.
    pub text: Option<String>,
}

impl NewVersion {
    /// Prepares `incoming` for storing as originated by `originator`.
    pub fn prepare(originator: &str, incoming: Incoming) -> Result<NewVersion> {
        let Incoming { object, provenance } = incoming;
        let version = object.version();
        let label = AccessLabel::of(originator, &object);
        Ok(NewVersion {
            id: object.id().to_string(),
            version,
            version_key: version.map(|v| v.sort_key()).unwrap_or_default(),
            hash: object.content_hash(),
            body: serde_json::to_string(object.as_map()).map_err(StoreError::backend)?,
            // `to_string` rather than `Display` (the same text): Display writes through a
            // `fmt::Formatter`, a string growing by small writes, and was 9% of an import's CPU.
            provenance: provenance.as_ref().map(serde_json::to_string).transpose().map_err(StoreError::backend)?,
            label_key: crate::access::label_key(&label)?,
            label,
            text: crate::text::index_text(object.as_map()),
            object,
        })
    }

    /// Prepares a whole batch, in order, over the machine's cores (`tandem_model::parallel`):
    /// the canonical form, hash and body text of 500 versions are most of a write's CPU.
    pub fn prepare_all(originator: &str, objects: Vec<Incoming>) -> Result<Vec<NewVersion>> {
        parallel::map(objects, |i| NewVersion::prepare(originator, i)).into_iter().collect()
    }
}
