//! The decision: may this viewer receive this object, whole or redacted?

use serde::{Deserialize, Serialize};
use tandem_model::tlp::Tlp;

use crate::{Classification, MarkingKind, Roster};

/// Who is reading: a member of the coalition, through a user with a clearance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Viewer {
    pub member: String,
    pub clearance: Classification,
}

/// Everything about a stored object version that releasability depends on. Objects that share a
/// label share a decision, which lets storage decide once per label rather than once per object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccessLabel {
    /// The member whose user or node submitted the version (set by the server).
    pub originator: String,
    /// Marking-definitions carry no intelligence and are visible to every active member.
    #[serde(default)]
    pub public: bool,
    /// `object_marking_refs`, sorted and deduplicated.
    #[serde(default)]
    pub object_markings: Vec<String>,
    /// Granular markings that carry a `marking_ref`: (selectors, marking id).
    #[serde(default)]
    pub granular: Vec<(Vec<String>, String)>,
}

impl AccessLabel {
    pub fn of(originator: &str, object: &tandem_model::StixObject) -> Self {
        let mut object_markings = object.object_marking_refs();
        object_markings.sort();
        object_markings.dedup();
        let mut granular: Vec<(Vec<String>, String)> =
            object.granular_markings().into_iter().filter_map(|g| g.marking_ref.map(|r| (g.selectors, r))).collect();
        granular.sort();
        granular.dedup();
        AccessLabel {
            originator: originator.to_string(),
            public: object.object_type() == "marking-definition",
            object_markings,
            granular,
        }
    }

    /// Every marking id the label refers to.
    pub fn marking_refs(&self) -> impl Iterator<Item = &str> {
        self.object_markings.iter().map(String::as_str).chain(self.granular.iter().map(|(_, m)| m.as_str()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Deny,
    Full,
    /// Release a copy without the properties these selectors name.
    Redact(Vec<String>),
}

impl Decision {
    pub fn allows(&self) -> bool {
        !matches!(self, Decision::Deny)
    }
}

/// Decides what `viewer` may receive of an object labelled `label`. `lookup` resolves a marking
/// id to its meaning; `None` means unknown or unresolvable.
pub fn decide<'a>(
    viewer: &Viewer,
    roster: &Roster,
    label: &AccessLabel,
    lookup: &dyn Fn(&str) -> Option<&'a MarkingKind>,
) -> Decision {
    if !roster.is_active(&viewer.member) {
        return Decision::Deny;
    }
    if label.public || label.originator == viewer.member {
        return Decision::Full;
    }
    // One unresolvable marking anywhere (object-level or granular) withholds the whole object:
    // it may restrict something this node cannot interpret.
    if label.marking_refs().any(|m| lookup(m).is_none()) {
        return Decision::Deny;
    }
    let object_level: Vec<&str> = label.object_markings.iter().map(String::as_str).collect();
    if !releases(viewer, roster, &object_level, lookup) {
        return Decision::Deny;
    }
    let mut redacted = Vec::new();
    for (selectors, marking) in &label.granular {
        let mut refs = object_level.clone();
        refs.push(marking);
        if !releases(viewer, roster, &refs, lookup) {
            redacted.extend(selectors.iter().cloned());
        }
    }
    if redacted.is_empty() {
        Decision::Full
    } else {
        redacted.sort();
        redacted.dedup();
        Decision::Redact(redacted)
    }
}

/// Whether a set of markings, combined most-restrictively, releases to a viewer who is not the
/// originator.
fn releases<'a>(
    viewer: &Viewer,
    roster: &Roster,
    refs: &[&str],
    lookup: &dyn Fn(&str) -> Option<&'a MarkingKind>,
) -> bool {
    let mut most_restrictive_tlp: Option<Tlp> = None;
    let mut has_rel_to = false;
    for r in refs {
        match lookup(r) {
            None => return false,
            Some(MarkingKind::Neutral) => {}
            Some(MarkingKind::Tlp(t)) => {
                most_restrictive_tlp = Some(most_restrictive_tlp.map_or(*t, |m| m.max(*t)));
            }
            Some(MarkingKind::Releasability { rel_to, classification }) => {
                has_rel_to = true;
                if !rel_to.iter().any(|code| roster.names(code, &viewer.member)) {
                    return false;
                }
                if classification.is_some_and(|c| c > viewer.clearance) {
                    return false;
                }
            }
        }
    }
    has_rel_to || matches!(most_restrictive_tlp, Some(Tlp::Clear | Tlp::Green))
}
