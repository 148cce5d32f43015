//! The coalition's members (states by ISO 3166-1 alpha-3, bodies by four letters) and groups
//! (four-letter codes) used by the demo.
//!
//! Founding members carry the coalition's formation date, 2014-09-10; Syria joined on
//! 2025-11-13 as the 90th member.

/// Whether a member is a state or an international body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    State,
    Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// ISO 3166-1 alpha-3 for states, four letters for bodies.
    pub code: &'static str,
    pub name: &'static str,
    pub kind: MemberKind,
    /// `YYYY-MM-DD`.
    pub joined: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Four letters.
    pub code: &'static str,
    pub name: &'static str,
    pub members: &'static [&'static str],
}

pub const COALITION_FORMED: &str = "2014-09-10";

pub fn coalition_members() -> Vec<Member> {
    use MemberKind::{Body, State};
    let m = |code, name, kind, joined| Member { code, name, kind, joined };
    vec![
        m("USA", "United States", State, COALITION_FORMED),
        m("IRQ", "Iraq", State, COALITION_FORMED),
        m("JOR", "Jordan", State, COALITION_FORMED),
        m("GBR", "United Kingdom", State, COALITION_FORMED),
        m("FRA", "France", State, COALITION_FORMED),
        m("TUR", "Türkiye", State, COALITION_FORMED),
        m("CAN", "Canada", State, COALITION_FORMED),
        m("AUS", "Australia", State, COALITION_FORMED),
        m("NZL", "New Zealand", State, COALITION_FORMED),
        m("DEU", "Germany", State, COALITION_FORMED),
        m("ITA", "Italy", State, COALITION_FORMED),
        m("SAU", "Saudi Arabia", State, COALITION_FORMED),
        m("ARE", "United Arab Emirates", State, COALITION_FORMED),
        m("SYR", "Syria", State, "2025-11-13"),
        m("EUUN", "European Union", Body, COALITION_FORMED),
        m("NATO", "North Atlantic Treaty Organization", Body, "2017-05-25"),
    ]
}

pub fn coalition_groups() -> Vec<Group> {
    vec![
        Group { code: "LVNT", name: "Levant partners", members: &["IRQ", "SYR", "JOR"] },
        Group { code: "FVEY", name: "Five Eyes", members: &["USA", "GBR", "CAN", "AUS", "NZL"] },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_well_formed_and_groups_resolve() {
        let members = coalition_members();
        for m in &members {
            let len = if m.kind == MemberKind::State { 3 } else { 4 };
            assert_eq!(m.code.len(), len, "{}", m.code);
            assert!(tandem_model::incident::Date::parse(m.joined).is_some());
        }
        for g in coalition_groups() {
            assert_eq!(g.code.len(), 4);
            assert!(g.members.iter().all(|c| members.iter().any(|m| m.code == *c)), "{}", g.code);
        }
        assert_eq!(members.iter().find(|m| m.code == "SYR").unwrap().joined, "2025-11-13");
    }
}
