use ed25519_dalek::{Signer, SigningKey};
use serde_json::json;
use tandem_policy::{Group, Member, MemberStatus, Roster};

use super::*;

const ISSUED: &str = "2025-11-13T09:00:00Z";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn pk(seed: u8) -> String {
    tandem_audit::keys::public_key_string(&key(seed).verifying_key())
}

fn authority() -> SigningKey {
    key(1)
}

fn bootstrap() -> Roster {
    let member = |code: &str, seed: u8| Member {
        code: code.into(),
        name: code.into(),
        joined: None,
        status: MemberStatus::Active,
        public_key: Some(pk(seed)),
    };
    Roster::new(
        [member("USA", 10), member("IRQ", 11)],
        [Group { code: "LVNT".into(), name: "Levant partners".into(), members: ["IRQ".to_string()].into() }],
    )
}

fn join_syr() -> Action {
    Action::Join {
        member: "SYR".into(),
        name: "Syria".into(),
        public_key: pk(12),
        joined: Some("2025-11-13".into()),
        groups: vec!["LVNT".into()],
    }
}

fn signed(seq: u64, action: Action) -> SignedChange {
    sign(new_change(&authority(), seq, ISSUED, action), &authority())
}

fn accept_on(roster: &Roster, latest: u64, c: &SignedChange) -> Result<Roster, ChangeError> {
    accept(Some(&authority().verifying_key()), latest, roster, c)
}

/// Applies `actions` as changes 1..=n on the bootstrap roster, each through `accept`.
fn after(actions: Vec<Action>) -> Result<Roster, ChangeError> {
    let mut roster = bootstrap();
    for (i, a) in actions.into_iter().enumerate() {
        roster = accept_on(&roster, i as u64, &signed(i as u64 + 1, a))?;
    }
    Ok(roster)
}

fn suspend(m: &str) -> Action {
    Action::Suspend { member: m.into() }
}

#[test]
fn the_document_has_the_documented_shape_and_round_trips() {
    let c = signed(1, join_syr());
    let v = c.to_value();
    assert_eq!(v["change"]["type"], "tandem-roster-change");
    assert_eq!(v["change"]["version"], 1);
    assert_eq!(v["change"]["seq"], 1);
    assert_eq!(v["change"]["authority"], pk(1));
    assert_eq!(
        v["change"]["action"],
        json!({"type": "join", "member": "SYR", "name": "Syria", "public_key": pk(12),
               "joined": "2025-11-13", "groups": ["LVNT"]})
    );
    assert_eq!(SignedChange::from_value(&v).unwrap(), c);
    verify(&c, &authority().verifying_key()).unwrap();
    let kebab = signed(2, Action::SetKey { member: "IRQ".into(), public_key: pk(13) }).to_value();
    assert_eq!(kebab["change"]["action"]["type"], "set-key");
}

#[test]
fn a_join_takes_effect_with_its_groups() {
    let r = after(vec![join_syr()]).unwrap();
    let syr = r.member("SYR").unwrap();
    assert_eq!(syr.status, MemberStatus::Active);
    assert_eq!(syr.public_key.as_deref(), Some(pk(12).as_str()));
    assert_eq!(syr.joined.as_deref(), Some("2025-11-13"));
    assert!(r.names("LVNT", "SYR") && r.names("LVNT", "IRQ"));
}

#[test]
fn forged_signature_is_refused() {
    // Claims the authority, signed by another key.
    let forged = sign(new_change(&authority(), 1, ISSUED, join_syr()), &key(99));
    assert_eq!(accept_on(&bootstrap(), 0, &forged), Err(ChangeError::BadSignature));
    // Signed properly, then altered.
    let mut altered = signed(1, join_syr());
    altered.change.action =
        Action::Join { member: "SYR".into(), name: "Syria".into(), public_key: pk(66), joined: None, groups: vec![] };
    assert_eq!(accept_on(&bootstrap(), 0, &altered), Err(ChangeError::BadSignature));
    let mut garbage = signed(1, join_syr());
    garbage.signature = "not base64!".into();
    assert_eq!(accept_on(&bootstrap(), 0, &garbage), Err(ChangeError::BadSignature));
}

#[test]
fn a_signature_without_the_domain_prefix_does_not_verify() {
    let change = new_change(&authority(), 1, ISSUED, join_syr());
    let bare = serde_json::to_value(&change).unwrap();
    let sig = authority().sign(tandem_model::canonical::canonical_json(&bare).as_bytes());
    let c = SignedChange { change, signature: STANDARD.encode(sig.to_bytes()) };
    assert_eq!(verify(&c, &authority().verifying_key()), Err(ChangeError::BadSignature));
}

#[test]
fn another_authority_is_refused() {
    let other = key(42);
    let c = sign(new_change(&other, 1, ISSUED, join_syr()), &other);
    assert_eq!(accept_on(&bootstrap(), 0, &c), Err(ChangeError::WrongAuthority(pk(42))));
}

#[test]
fn a_node_without_an_authority_refuses_everything() {
    assert_eq!(accept(None, 0, &bootstrap(), &signed(1, join_syr())), Err(ChangeError::NoAuthority));
}

#[test]
fn sequence_is_strict_and_gap_free() {
    let r = bootstrap();
    assert_eq!(accept_on(&r, 1, &signed(1, join_syr())), Err(ChangeError::Stale { seq: 1, latest: 1 }));
    assert_eq!(accept_on(&r, 5, &signed(3, join_syr())), Err(ChangeError::Stale { seq: 3, latest: 5 }));
    assert_eq!(accept_on(&r, 0, &signed(2, join_syr())), Err(ChangeError::Gap { seq: 2, expected: 1 }));
    assert!(matches!(accept_on(&r, 0, &signed(0, join_syr())), Err(ChangeError::Malformed(_))));
    assert!(accept_on(&r, 0, &signed(1, join_syr())).is_ok());
}

#[test]
fn form_is_checked() {
    let mut v = signed(1, join_syr()).to_value();
    v["change"]["extra"] = json!(1);
    assert!(matches!(SignedChange::from_value(&v), Err(ChangeError::Malformed(_))));
    let mut c = new_change(&authority(), 1, ISSUED, join_syr());
    c.version = 2;
    assert_eq!(accept_on(&bootstrap(), 0, &sign(c, &authority())), Err(ChangeError::UnsupportedVersion(2)));
    let c = new_change(&authority(), 1, "yesterday", join_syr());
    assert!(matches!(accept_on(&bootstrap(), 0, &sign(c, &authority())), Err(ChangeError::Malformed(_))));
    let unknown = json!({"change": {"type": "tandem-roster-change", "version": 1, "authority": pk(1), "seq": 1,
        "issued": ISSUED, "action": {"type": "promote", "member": "SYR"}}, "signature": ""});
    assert!(matches!(SignedChange::from_value(&unknown), Err(ChangeError::Malformed(_))));
}

#[test]
fn suspend_reinstate_leave() {
    let r = after(vec![join_syr(), suspend("SYR")]).unwrap();
    assert_eq!(r.member("SYR").unwrap().status, MemberStatus::Suspended);
    assert!(!r.is_active("SYR"));
    let r = after(vec![join_syr(), suspend("SYR"), Action::Reinstate { member: "SYR".into() }]).unwrap();
    assert!(r.is_active("SYR"));
    let r = after(vec![join_syr(), Action::Leave { member: "SYR".into() }]).unwrap();
    assert_eq!(r.member("SYR").unwrap().status, MemberStatus::Removed);
    assert!(!r.names("LVNT", "SYR"), "a member that leaves leaves its groups");
    // Coming back after leaving is a join.
    let r = after(vec![join_syr(), Action::Leave { member: "SYR".into() }, join_syr()]).unwrap();
    assert!(r.is_active("SYR") && r.names("LVNT", "SYR"));
}

#[test]
fn actions_on_the_wrong_member_are_refused() {
    assert_eq!(after(vec![suspend("SYR")]), Err(ChangeError::UnknownMember("SYR".into())));
    assert_eq!(
        after(vec![Action::Reinstate { member: "IRQ".into() }]),
        Err(ChangeError::WrongStatus {
            member: "IRQ".into(),
            status: MemberStatus::Active,
            expected: MemberStatus::Suspended
        })
    );
    assert!(matches!(after(vec![suspend("IRQ"), suspend("IRQ")]), Err(ChangeError::WrongStatus { .. })));
    assert!(matches!(
        after(vec![Action::Leave { member: "IRQ".into() }, Action::Leave { member: "IRQ".into() }]),
        Err(ChangeError::WrongStatus { .. })
    ));
    assert_eq!(
        after(vec![Action::SetKey { member: "JOR".into(), public_key: pk(5) }]),
        Err(ChangeError::UnknownMember("JOR".into()))
    );
}

#[test]
fn joining_an_existing_code_is_refused_unless_it_confirms() {
    let usa = Action::Join { member: "USA".into(), name: "X".into(), public_key: pk(50), joined: None, groups: vec![] };
    assert_eq!(after(vec![usa]), Err(ChangeError::AlreadyMember("USA".into())));
    assert_eq!(after(vec![join_syr(), join_syr_with_key(51)]), Err(ChangeError::AlreadyMember("SYR".into())));
    // The joining node's own config lists it with its key: the join confirms it.
    let mut own = bootstrap();
    own.upsert_member(Member {
        code: "SYR".into(),
        name: "Syria".into(),
        joined: None,
        status: MemberStatus::Suspended,
        public_key: Some(pk(12)),
    });
    let r = accept_on(&own, 0, &signed(1, join_syr())).unwrap();
    assert!(r.is_active("SYR"));
    assert_eq!(
        after(vec![Action::Join {
            member: "LVNT".into(),
            name: "x".into(),
            public_key: pk(3),
            joined: None,
            groups: vec![]
        }]),
        Err(ChangeError::Invalid("LVNT is a group code".into()))
    );
}

fn join_syr_with_key(seed: u8) -> Action {
    Action::Join { member: "SYR".into(), name: "Syria".into(), public_key: pk(seed), joined: None, groups: vec![] }
}

#[test]
fn join_fields_are_checked() {
    let bad_key = Action::Join {
        member: "SYR".into(),
        name: "Syria".into(),
        public_key: "ed25519:AAAA".into(),
        joined: None,
        groups: vec![],
    };
    assert!(matches!(after(vec![bad_key]), Err(ChangeError::Invalid(_))));
    let bad_code =
        Action::Join { member: "syr".into(), name: "Syria".into(), public_key: pk(12), joined: None, groups: vec![] };
    assert!(matches!(after(vec![bad_code]), Err(ChangeError::Invalid(_))));
    let bad_date = Action::Join {
        member: "SYR".into(),
        name: "Syria".into(),
        public_key: pk(12),
        joined: Some("13/11/2025".into()),
        groups: vec![],
    };
    assert!(matches!(after(vec![bad_date]), Err(ChangeError::Invalid(_))));
    let bad_group = Action::Join {
        member: "SYR".into(),
        name: "Syria".into(),
        public_key: pk(12),
        joined: None,
        groups: vec!["GULF".into()],
    };
    assert_eq!(after(vec![bad_group]), Err(ChangeError::UnknownGroup("GULF".into())));
}

#[test]
fn set_key_and_group() {
    let r = after(vec![Action::SetKey { member: "IRQ".into(), public_key: pk(77) }]).unwrap();
    assert_eq!(r.member("IRQ").unwrap().public_key.as_deref(), Some(pk(77).as_str()));
    let r = after(vec![
        join_syr(),
        Action::Group { group: "GULF".into(), name: Some("Gulf".into()), members: vec!["USA".into(), "SYR".into()] },
        Action::Group { group: "LVNT".into(), name: None, members: vec!["SYR".into()] },
    ])
    .unwrap();
    assert!(r.names("GULF", "USA") && r.names("GULF", "SYR"));
    assert_eq!(r.group("GULF").unwrap().name, "Gulf");
    assert!(!r.names("LVNT", "IRQ") && r.names("LVNT", "SYR"));
    assert_eq!(r.group("LVNT").unwrap().name, "Levant partners");
    assert_eq!(
        after(vec![Action::Group { group: "GULF".into(), name: None, members: vec!["QAT".into()] }]),
        Err(ChangeError::UnknownMember("QAT".into()))
    );
}

#[test]
fn effective_applies_in_order_and_reports_what_no_longer_applies() {
    let log = vec![signed(1, join_syr()), signed(2, suspend("SYR")), signed(3, suspend("IRQ"))];
    let (r, skipped) = effective(&bootstrap(), &log);
    assert_eq!(r.member("SYR").unwrap().status, MemberStatus::Suspended);
    assert_eq!(r.member("IRQ").unwrap().status, MemberStatus::Suspended);
    assert!(skipped.is_empty());
    // A config without IRQ: change 3 is skipped, the others still apply.
    let bare = Roster::new([], [Group { code: "LVNT".into(), name: "L".into(), members: Default::default() }]);
    let (r, skipped) = effective(&bare, &log);
    assert_eq!(r.member("SYR").unwrap().status, MemberStatus::Suspended);
    assert_eq!(skipped, vec![(3, ChangeError::UnknownMember("IRQ".into()))]);
}

#[test]
fn the_v1_golden_document_still_reads_and_verifies() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/roster_change/golden-v1.json");
    let current = serde_json::to_string_pretty(&signed(1, join_syr()).to_value()).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &current).unwrap();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let stored = SignedChange::from_value(&serde_json::from_str(&text).unwrap()).unwrap();
    verify(&stored, &authority().verifying_key()).unwrap();
    assert_eq!(accept_on(&bootstrap(), 0, &stored).unwrap(), after(vec![join_syr()]).unwrap());
    assert_eq!(text, current, "the v1 document changed: stored and replicated changes must stay readable");
}

/// Roster changes hold only strings and integers, whose RFC 8785 form is the legacy form
/// byte for byte: changes signed before canonical JSON became RFC 8785 verify unchanged.
#[test]
fn roster_changes_sign_the_same_bytes_as_before_rfc_8785() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/roster_change/golden-v1.json");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let change = &stored["change"];
    assert_eq!(
        tandem_model::canonical::canonical_json(change),
        tandem_model::canonical::legacy::canonical_json(change)
    );
    let parsed = SignedChange::from_value(&stored).unwrap();
    let mut legacy_msg = SIGNING_DOMAIN.to_vec();
    legacy_msg.extend_from_slice(tandem_model::canonical::legacy::canonical_json(change).as_bytes());
    assert_eq!(signing_message(&parsed.change), legacy_msg);
}
