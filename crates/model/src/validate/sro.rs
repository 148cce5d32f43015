//! Type-specific rules of the STIX 2.1 relationship objects: `relationship` and `sighting`.
//!
//! SROs are what the graph views and the sync engine follow, so their endpoints are checked
//! for the object kinds STIX allows.

use super::ctx::{Ctx, Target, target};

pub(crate) fn check_sro(cx: &mut Ctx<'_>, ty: &str) {
    match ty {
        "relationship" => {
            if let Some(rt) = cx.string("relationship_type", true)
                && (rt.is_empty() || !rt.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'))
            {
                cx.err("relationship_type", format!("must be non-empty a-z, 0-9 and hyphens only, found {rt:?}"));
            }
            cx.reference("source_ref", true, Target::SDO_OR_SCO);
            cx.reference("target_ref", true, Target::SDO_OR_SCO);
            cx.timestamp("start_time", false);
            cx.timestamp("stop_time", false);
            cx.order("start_time", "stop_time", true);
        }
        "sighting" => {
            cx.reference("sighting_of_ref", true, Target::SDO);
            cx.ref_list("observed_data_refs", false, target!("an observed-data", "observed-data"));
            cx.ref_list("where_sighted_refs", false, target!("an identity or location", "identity", "location"));
            cx.integer("count", false, Some(0), Some(999_999_999));
            cx.timestamp("first_seen", false);
            cx.timestamp("last_seen", false);
            cx.order("first_seen", "last_seen", false);
            cx.boolean("summary", false);
        }
        // Extension-defined (new-sro) relationship types: common rules only.
        _ => {}
    }
}
