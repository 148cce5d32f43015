//! Releasability: the one place that decides what a viewer may receive.
//!
//! Everything here is pure: the store hands in the object's access label (originator, markings),
//! the marking definitions it knows and the current roster, and gets back a [`Decision`]. Storage
//! enforces the decision where data leaves it; no other crate decides visibility.
//!
//! The rule, in order:
//! 1. A viewer whose member is not an active member of the roster sees nothing.
//! 2. Marking-definitions are visible to every active member (they carry no intelligence).
//! 3. The originator always sees its own objects, whole.
//! 4. Any marking reference (object-level or granular) that does not resolve to a known marking
//!    makes the object originator-only.
//! 5. Releasability markings (`rel_to`) intersect: the object is released to the members named
//!    in every one of them (groups expand to their members at the time of the read). With no
//!    `rel_to` marking, TLP:CLEAR and TLP:GREEN release to every active member, and anything else
//!    (AMBER, AMBER+STRICT, RED, unmarked) is originator-only.
//! 6. The viewer's clearance must dominate every classification on the object.
//! 7. Granular markings redact: a granular marking is evaluated together with the object-level
//!    markings, and when that combination does not release to the viewer, the properties it
//!    selects are removed from the viewer's copy.

pub mod decide;
pub mod marking;
pub mod redact;
pub mod roster;

pub use decide::{AccessLabel, Decision, Viewer, decide, recipients};
pub use marking::{Classification, MarkingKind, classify_marking};
pub use redact::{REDACTION_EXTENSION_ID, redact};
pub use roster::{Group, Member, MemberStatus, Roster};
