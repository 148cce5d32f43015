//! Two processes append to one roster log at once (the node serving, `tandem roster submit`
//! beside it), modelled as two store handles on one data directory, each with its own
//! `RosterLog`: every seq is stored once, by exactly one of them, and the loser is told.

use std::sync::{Arc, Barrier, RwLock};

use ed25519_dalek::SigningKey;
use tandem_policy::{Member, MemberStatus, Roster};
use tandem_store::{SqliteStore, Store};
use tandem_sync::roster_change::{self, Action, ChangeError};
use tandem_sync::roster_log::{RosterLog, SubmitError};

fn log_on(store: Arc<dyn Store>, bootstrap: &Roster, key: &SigningKey) -> RosterLog {
    let shared = Arc::new(RwLock::new(Arc::new(bootstrap.clone())));
    RosterLog::new(store, bootstrap.clone(), Some(key.verifying_key()), shared)
}

#[test]
fn two_processes_never_both_append_one_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::from_bytes(&[7; 32]);
    let bootstrap = Roster::new(
        [Member {
            code: "IRQ".into(),
            name: "Iraq".into(),
            joined: None,
            status: MemberStatus::Active,
            public_key: None,
        }],
        [],
    );
    let open = || -> Arc<dyn Store> { Arc::new(SqliteStore::open(dir.path()).expect("open")) };
    let logs = [log_on(open(), &bootstrap, &key), log_on(open(), &bootstrap, &key)];
    const ROUNDS: u64 = 12;
    let barrier = Barrier::new(2);
    let outcomes: Vec<Vec<Result<u64, String>>> = std::thread::scope(|s| {
        let handles: Vec<_> = logs
            .iter()
            .enumerate()
            .map(|(who, log)| {
                let (barrier, key) = (&barrier, &key);
                s.spawn(move || {
                    (1..=ROUNDS)
                        .map(|seq| {
                            // Both offer seq N at once, with different content (issued at
                            // different instants), valid against the same roster.
                            let member = "IRQ".to_string();
                            let action =
                                if seq % 2 == 1 { Action::Suspend { member } } else { Action::Reinstate { member } };
                            let issued = format!("2025-11-13T09:00:{:02}Z", who);
                            let change = roster_change::sign(roster_change::new_change(key, seq, &issued, action), key);
                            barrier.wait();
                            let got = log.submit(&change);
                            barrier.wait();
                            got.map_err(|e| match e {
                                SubmitError::Refused(ChangeError::Conflict(n)) if n == seq => "conflict".to_string(),
                                other => other.to_string(),
                            })
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    for seq in 1..=ROUNDS {
        let round: Vec<&Result<u64, String>> = outcomes.iter().map(|o| &o[seq as usize - 1]).collect();
        let won = round.iter().filter(|r| r.as_ref().is_ok_and(|n| *n == seq)).count();
        assert_eq!(won, 1, "seq {seq}: exactly one process appends it: {round:?}");
        assert!(round.iter().any(|r| r.as_ref().is_err_and(|e| e == "conflict")), "seq {seq}: {round:?}");
    }
    // Both see the same log: one change per seq, in order.
    let a = logs[0].applied().expect("log");
    assert_eq!(a, logs[1].applied().expect("log"));
    assert_eq!(a.iter().map(|c| c.seq()).collect::<Vec<_>>(), (1..=ROUNDS).collect::<Vec<_>>());
}
