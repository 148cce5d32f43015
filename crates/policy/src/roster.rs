//! The coalition roster: members, their status, and named groups of members.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    #[default]
    Active,
    Suspended,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined: Option<String>,
    #[serde(default)]
    pub status: MemberStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

impl Member {
    /// An active member named by its code, with no join date and no key (test rosters, and a
    /// roster entry before the authority has set anything else).
    pub fn active(code: &str) -> Self {
        Member { code: code.into(), name: code.into(), joined: None, status: MemberStatus::Active, public_key: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub code: String,
    pub name: String,
    pub members: BTreeSet<String>,
}

impl Group {
    pub fn new(code: &str, name: &str, members: &[&str]) -> Self {
        Group { code: code.into(), name: name.into(), members: members.iter().map(|m| m.to_string()).collect() }
    }
}

/// A snapshot of the roster. Readers hold an `Arc<Roster>`; changes build a new snapshot, so a
/// read decides against one consistent roster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    members: BTreeMap<String, Member>,
    groups: BTreeMap<String, Group>,
}

impl Roster {
    pub fn new(members: impl IntoIterator<Item = Member>, groups: impl IntoIterator<Item = Group>) -> Self {
        Roster {
            members: members.into_iter().map(|m| (m.code.clone(), m)).collect(),
            groups: groups.into_iter().map(|g| (g.code.clone(), g)).collect(),
        }
    }

    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    pub fn member(&self, code: &str) -> Option<&Member> {
        self.members.get(code)
    }

    pub fn group(&self, code: &str) -> Option<&Group> {
        self.groups.get(code)
    }

    pub fn is_active(&self, code: &str) -> bool {
        self.members.get(code).is_some_and(|m| m.status == MemberStatus::Active)
    }

    /// Adds or replaces a member.
    pub fn upsert_member(&mut self, member: Member) {
        self.members.insert(member.code.clone(), member);
    }

    pub fn upsert_group(&mut self, group: Group) {
        self.groups.insert(group.code.clone(), group);
    }

    pub fn set_status(&mut self, code: &str, status: MemberStatus) -> bool {
        match self.members.get_mut(code) {
            Some(m) => {
                m.status = status;
                true
            }
            None => false,
        }
    }

    /// Whether `member` is named by `code`, directly or through a group. Unknown codes name no one.
    pub fn names(&self, code: &str, member: &str) -> bool {
        code == member && self.members.contains_key(code)
            || self.groups.get(code).is_some_and(|g| g.members.contains(member))
    }
}
