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

/// Decides what `viewer` may receive of an object labelled `label`.
///
/// `lookup(owner, id)` gives the meaning of the marking-definition `id` **as the member `owner`
/// defined it**; `None` means that member holds no usable definition under that id. Markings are
/// always resolved in the namespace of the label's originator (the TLP ids are fixed by the
/// standard and resolve the same for everyone): a marking-definition created by another member
/// can neither widen nor change who receives an object, whatever it says and whenever it arrived.
pub fn decide<'a>(
    viewer: &Viewer,
    roster: &Roster,
    label: &AccessLabel,
    lookup: &dyn Fn(&str, &str) -> Option<&'a MarkingKind>,
) -> Decision {
    if !roster.is_active(&viewer.member) {
        return Decision::Deny;
    }
    if label.public {
        return Decision::Full;
    }
    let resolve = |id: &str| -> Option<&'a MarkingKind> { builtin(id).or_else(|| lookup(&label.originator, id)) };
    if label.originator == viewer.member {
        return for_originator(viewer, label, &resolve);
    }
    // One unresolvable marking anywhere (object-level or granular) withholds the whole object:
    // it may restrict something this node cannot interpret.
    if label.marking_refs().any(|m| resolve(m).is_none()) {
        return Decision::Deny;
    }
    let object_level: Vec<&str> = label.object_markings.iter().map(String::as_str).collect();
    if !releases(viewer, roster, &object_level, &resolve) {
        return Decision::Deny;
    }
    let mut redacted = Vec::new();
    for (selectors, marking) in &label.granular {
        let mut refs = object_level.clone();
        refs.push(marking);
        if !releases(viewer, roster, &refs, &resolve) {
            redacted.extend(selectors.iter().cloned());
        }
    }
    redacted_or_full(redacted)
}

/// The active members of `roster` that receive an object labelled `label` (whole or redacted),
/// each as a user of that member cleared to `clearance` would: [`decide`] asked once per member,
/// never a second rule. In roster order (by code). For "who can see this" and the preview of a
/// report's releasability.
pub fn recipients<'a>(
    roster: &Roster,
    label: &AccessLabel,
    clearance: Classification,
    lookup: &dyn Fn(&str, &str) -> Option<&'a MarkingKind>,
) -> Vec<String> {
    roster
        .members()
        .filter(|m| roster.is_active(&m.code))
        .filter(|m| decide(&Viewer { member: m.code.clone(), clearance }, roster, label, lookup).allows())
        .map(|m| m.code.clone())
        .collect()
}

/// The originator's own users see its objects whole, except what their clearance does not
/// dominate: a classified object-level marking above the clearance withholds the object, a
/// classified granular marking above it redacts what it selects. A marking the originator has
/// not defined (yet) restricts nothing it could know of, so its own users keep seeing the object.
fn for_originator<'a>(
    viewer: &Viewer,
    label: &AccessLabel,
    resolve: &dyn Fn(&str) -> Option<&'a MarkingKind>,
) -> Decision {
    let above = |m: &str| matches!(resolve(m), Some(MarkingKind::Releasability { classification: Some(c), .. }) if *c > viewer.clearance);
    if label.object_markings.iter().any(|m| above(m)) {
        return Decision::Deny;
    }
    let redacted =
        label.granular.iter().filter(|(_, m)| above(m)).flat_map(|(selectors, _)| selectors.iter().cloned()).collect();
    redacted_or_full(redacted)
}

fn redacted_or_full(mut redacted: Vec<String>) -> Decision {
    if redacted.is_empty() {
        Decision::Full
    } else {
        redacted.sort();
        redacted.dedup();
        Decision::Redact(redacted)
    }
}

/// The meaning of the marking-definitions whose ids the standards fix (TLP 1.0 and 2.0): the
/// same for every member, whoever stored a copy of the definition.
pub fn builtin(id: &str) -> Option<&'static MarkingKind> {
    static BUILTIN: std::sync::OnceLock<Vec<(&'static str, MarkingKind)>> = std::sync::OnceLock::new();
    let table = BUILTIN.get_or_init(|| {
        use tandem_model::tlp::*;
        [TLP2_CLEAR, TLP2_GREEN, TLP2_AMBER, TLP2_AMBER_STRICT, TLP2_RED, TLP1_WHITE, TLP1_GREEN, TLP1_AMBER, TLP1_RED]
            .into_iter()
            .filter_map(|id| tandem_model::tlp::tlp_of(id).map(|t| (id, MarkingKind::Tlp(t))))
            .collect()
    });
    table.iter().find(|(known, _)| *known == id).map(|(_, kind)| kind)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Group, Member, MemberStatus};

    fn member(code: &str, status: MemberStatus) -> Member {
        Member { code: code.into(), name: code.into(), joined: None, status, public_key: None }
    }

    #[test]
    fn recipients_are_the_members_decide_releases_to() {
        let roster = Roster::new(
            [
                member("USA", MemberStatus::Active),
                member("GBR", MemberStatus::Active),
                member("IRQ", MemberStatus::Active),
                member("SYR", MemberStatus::Suspended),
            ],
            [Group {
                code: "FVEY".into(),
                name: "Five Eyes".into(),
                members: ["USA".into(), "GBR".into(), "SYR".into()].into(),
            }],
        );
        let rel = MarkingKind::Releasability { rel_to: vec!["FVEY".into()], classification: None };
        let secret =
            MarkingKind::Releasability { rel_to: vec!["IRQ".into()], classification: Some(Classification::Secret) };
        let lookup = |owner: &str, id: &str| match (owner, id) {
            ("USA", "marking-definition--fvey") => Some(&rel),
            ("USA", "marking-definition--secret") => Some(&secret),
            _ => None,
        };
        let label = |refs: &[&str]| AccessLabel {
            originator: "USA".into(),
            public: false,
            object_markings: refs.iter().map(|s| s.to_string()).collect(),
            granular: vec![],
        };
        let who = |refs: &[&str], c| recipients(&roster, &label(refs), c, &lookup);
        // A group at the time of the read, without its suspended member.
        assert_eq!(who(&["marking-definition--fvey"], Classification::Secret), ["GBR", "USA"]);
        assert_eq!(who(&[tandem_model::tlp::TLP2_GREEN], Classification::Secret), ["GBR", "IRQ", "USA"]);
        assert_eq!(who(&[tandem_model::tlp::TLP2_AMBER], Classification::Secret), ["USA"]);
        // Intersection, and a marking not defined by the originator is originator-only.
        assert_eq!(who(&["marking-definition--fvey", "marking-definition--secret"], Classification::Secret), ["USA"]);
        assert_eq!(who(&["marking-definition--other"], Classification::Secret), ["USA"]);
        assert_eq!(who(&["marking-definition--secret"], Classification::Secret), ["IRQ", "USA"]);
        assert!(who(&["marking-definition--secret"], Classification::Unclassified).is_empty(), "clearance counts");
    }
}
