//! ACLED event types and sub-event types, with the exact strings ACLED publishes.
//!
//! The incident extension stores these strings verbatim so that exports line up with ACLED's own
//! data; the table is the single source both the validator and the JSON schema test rely on.

/// Every ACLED event type with its sub-event types.
pub const EVENT_TYPES: &[(&str, &[&str])] = &[
    ("Battles", &["Armed clash", "Government regains territory", "Non-state actor overtakes territory"]),
    (
        "Explosions/Remote violence",
        &[
            "Chemical weapon",
            "Air/drone strike",
            "Suicide bomb",
            "Shelling/artillery/missile attack",
            "Remote explosive/landmine/IED",
            "Grenade",
        ],
    ),
    ("Violence against civilians", &["Sexual violence", "Attack", "Abduction/forced disappearance"]),
    ("Protests", &["Peaceful protest", "Protest with intervention", "Excessive force against protesters"]),
    ("Riots", &["Violent demonstration", "Mob violence"]),
    (
        "Strategic developments",
        &[
            "Agreement",
            "Arrests",
            "Change to group/activity",
            "Disrupted weapons use",
            "Headquarters or base established",
            "Looting/property destruction",
            "Non-violent transfer of territory",
            "Other",
        ],
    ),
];

/// The sub-event types of an event type, or `None` if `event_type` is not an ACLED event type.
pub fn sub_event_types(event_type: &str) -> Option<&'static [&'static str]> {
    EVENT_TYPES.iter().find(|(t, _)| *t == event_type).map(|(_, subs)| *subs)
}

/// Whether `sub_event_type` is one of `event_type`'s sub-event types.
pub fn is_valid_pair(event_type: &str, sub_event_type: &str) -> bool {
    sub_event_types(event_type).is_some_and(|subs| subs.contains(&sub_event_type))
}

/// Whether ACLED counts events of this type as political violence (used by spike rules).
pub fn is_violent(event_type: &str) -> bool {
    matches!(event_type, "Battles" | "Explosions/Remote violence" | "Violence against civilians")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs() {
        assert!(is_valid_pair("Explosions/Remote violence", "Suicide bomb"));
        assert!(!is_valid_pair("Battles", "Suicide bomb"));
        assert!(!is_valid_pair("Battle", "Armed clash"));
        assert_eq!(EVENT_TYPES.iter().map(|(_, s)| s.len()).sum::<usize>(), 25);
    }
}
