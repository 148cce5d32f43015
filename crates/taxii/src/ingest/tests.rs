//! The pipeline over a real SQLite store, with a signer and hooks that record what they saw.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tandem_policy::{Classification, Member, MemberStatus, Roster, Viewer};
use tandem_store::{Incoming, ObjectQuery, ObjectStore, PutOutcome, SqliteStore, VersionFilter, ViewContext};

use super::*;
use tandem_model::check_object;

const COLL: &str = "365fed99-08fa-4fdc-a1b3-fb247eb41d01";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";

/// Signs for `member` by putting the batch's size into each proof, and remembers each batch.
struct FakeSigner {
    member: String,
    batches: Mutex<Vec<Vec<String>>>,
}

impl Signer for FakeSigner {
    fn member(&self) -> &str {
        &self.member
    }

    fn sign(&self, batch: &mut [Incoming]) {
        let n = batch.len();
        for i in batch.iter_mut() {
            i.provenance = Some(json!({ "fake": n }));
        }
        self.batches.lock().unwrap().push(batch.iter().map(|i| i.object.id().to_string()).collect());
    }

    fn proof_for(&self, _record: &tandem_store::Record) -> Option<Value> {
        None
    }
}

/// Records every `after_write` call.
#[derive(Default)]
struct Hooks(Mutex<Vec<(String, String, Vec<PutOutcome>)>>);

impl WriteHooks for Hooks {
    fn after_write(&self, collection: &str, member: &str, outcomes: &[PutOutcome]) {
        self.0.lock().unwrap().push((collection.into(), member.into(), outcomes.to_vec()));
    }
}

struct Rig {
    ingest: Ingest,
    store: Arc<SqliteStore>,
    signer: Arc<FakeSigner>,
    hooks: Arc<Hooks>,
    _dir: tempfile::TempDir,
}

/// A pipeline whose node signs for USA.
fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let signer = Arc::new(FakeSigner { member: "USA".into(), batches: Mutex::default() });
    let hooks = Arc::new(Hooks::default());
    let ingest = Ingest::new(store.clone())
        .with_signer(Some(signer.clone() as Arc<dyn Signer>))
        .with_hooks(hooks.clone() as Arc<dyn WriteHooks>);
    Rig { ingest, store, signer, hooks, _dir: dir }
}

fn indicator(n: u32, name: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
        "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-02T00:00:00.000Z",
        "name": name, "pattern": "[ipv4-addr:value = '10.0.0.1']",
        "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z",
        "object_marking_refs": [GREEN]
    })
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// `check_object`'s own message for an invalid object.
fn invalid_reason(v: &Value) -> String {
    check_object(v).unwrap_err().iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// An entry as `(index, id, raw version, what happened)`, for exact comparison.
fn shape(s: &Summary) -> Vec<(usize, String, Option<String>, String)> {
    s.entries
        .iter()
        .map(|e| {
            let what = match &e.outcome {
                Outcome::Accepted { .. } => "accepted".to_string(),
                Outcome::Duplicate { .. } => "duplicate".to_string(),
                Outcome::Rejected { reason, stage: Stage::Invalid, .. } => format!("invalid: {reason}"),
                Outcome::Rejected { reason, stage: Stage::Store, .. } => format!("refused: {reason}"),
            };
            (e.index, e.id.clone(), e.raw_version.clone(), what)
        })
        .collect()
}

fn stored_provenance(store: &SqliteStore, member: &str, object_id: &str) -> Option<Value> {
    let m = |code: &str| Member {
        code: code.into(),
        name: code.into(),
        joined: None,
        status: MemberStatus::Active,
        public_key: None,
    };
    let ctx = ViewContext {
        viewer: Viewer { member: member.into(), clearance: Classification::Secret },
        roster: Arc::new(Roster::new([m("USA"), m("IRQ")], [])),
    };
    let query = ObjectQuery {
        ids: vec![object_id.into()],
        versions: VersionFilter::All,
        with_provenance: true,
        limit: 10,
        ..Default::default()
    };
    let page = store.list(&ctx, COLL, &query).unwrap();
    assert_eq!(page.items.len(), 1, "{object_id} is stored once");
    page.items[0].provenance.clone()
}

#[test]
fn mixed_batch_has_an_exact_summary_per_object() {
    let r = rig();
    let (old, new, conflicting) = (indicator(1, "old"), indicator(2, "new"), indicator(3, "first"));
    r.ingest.submit(COLL, "USA", vec![old.clone(), conflicting.clone()]).unwrap();

    let not_a_uuid = json!({"type": "indicator", "id": "indicator--not-a-uuid", "spec_version": "2.1"});
    let other_content = indicator(3, "second");
    let batch = vec![new.clone(), not_a_uuid.clone(), old.clone(), json!("not an object"), other_content];
    let summary = r.ingest.submit(COLL, "USA", batch).unwrap();
    let version = Some("2025-01-02T00:00:00.000Z".to_string());
    assert_eq!(
        shape(&summary),
        vec![
            (0, id(&new), version.clone(), "accepted".into()),
            (1, "indicator--not-a-uuid".into(), None, format!("invalid: {}", invalid_reason(&not_a_uuid))),
            (2, id(&old), version.clone(), "duplicate".into()),
            (3, String::new(), None, format!("invalid: {}", invalid_reason(&json!("not an object")))),
            (
                4,
                id(&conflicting),
                version,
                "refused: conflict: a different content is already stored under this id and modified timestamp".into()
            ),
        ]
    );
    assert_eq!((summary.accepted(), summary.duplicate(), summary.rejected()), (1, 1, 3));
    let invalid: Vec<usize> = summary.rejected_at(Stage::Invalid).map(|e| e.index).collect();
    assert_eq!(invalid, vec![1, 3]);
    let refused: Vec<usize> = summary.rejected_at(Stage::Store).map(|e| e.index).collect();
    assert_eq!(refused, vec![4]);
}

#[test]
fn only_the_nodes_own_member_is_signed_once_per_batch() {
    let r = rig();
    let (a, b, c) = (indicator(1, "a"), indicator(2, "b"), indicator(3, "c"));
    let bad = json!({"type": "indicator"});
    r.ingest.submit(COLL, "USA", vec![a.clone(), bad.clone(), b.clone()]).unwrap();
    // One signature over the valid objects of the batch, stored with each.
    assert_eq!(*r.signer.batches.lock().unwrap(), vec![vec![id(&a), id(&b)]]);
    assert_eq!(stored_provenance(&r.store, "USA", &id(&a)), Some(json!({"fake": 2})));
    assert_eq!(stored_provenance(&r.store, "USA", &id(&b)), Some(json!({"fake": 2})));

    // Another member's write here is stored unsigned; a batch with nothing valid signs nothing.
    let summary = r.ingest.submit(COLL, "IRQ", vec![c.clone()]).unwrap();
    assert_eq!(summary.accepted(), 1);
    r.ingest.submit(COLL, "USA", vec![bad]).unwrap();
    assert_eq!(r.signer.batches.lock().unwrap().len(), 1, "no further signature");
    assert_eq!(stored_provenance(&r.store, "IRQ", &id(&c)), None);

    // Without a signer nothing is signed.
    let unsigned = Ingest::new(r.store.clone());
    let d = indicator(4, "d");
    unsigned.submit(COLL, "USA", vec![d.clone()]).unwrap();
    assert_eq!(stored_provenance(&r.store, "USA", &id(&d)), None);
}

#[test]
fn hooks_ring_once_per_batch_with_the_added_outcomes_only() {
    let r = rig();
    let (a, b, c) = (indicator(1, "a"), indicator(2, "b"), indicator(3, "c"));
    r.ingest.submit(COLL, "USA", vec![a.clone()]).unwrap();
    r.hooks.0.lock().unwrap().clear();

    let summary = r.ingest.submit(COLL, "USA", vec![b.clone(), a.clone(), json!({}), c.clone()]).unwrap();
    let calls = std::mem::take(&mut *r.hooks.0.lock().unwrap());
    assert_eq!(calls.len(), 1, "one call for the batch: {calls:?}");
    let (collection, member, outcomes) = &calls[0];
    assert_eq!((collection.as_str(), member.as_str()), (COLL, "USA"));
    let added: Vec<&str> = outcomes
        .iter()
        .map(|o| match o {
            PutOutcome::Added { id, .. } => id.as_str(),
            other => panic!("only added outcomes reach the hooks: {other:?}"),
        })
        .collect();
    assert_eq!(added, vec![id(&b), id(&c)]);
    // The hooks saw the same versions and positions the summary reports.
    for (o, e) in outcomes.iter().zip(summary.entries.iter().filter(|e| matches!(e.outcome, Outcome::Accepted { .. })))
    {
        if let (PutOutcome::Added { version, date_added, .. }, Outcome::Accepted { version: v, date_added: d }) =
            (o, &e.outcome)
        {
            assert_eq!((version, date_added), (v, d));
        }
    }

    // A batch of duplicates and invalid objects adds nothing and rings no one.
    r.ingest.submit(COLL, "USA", vec![a, b, json!({})]).unwrap();
    assert!(r.hooks.0.lock().unwrap().is_empty());
}

#[test]
fn a_large_batch_keeps_submission_order_over_several_threads() {
    // 1,000 objects (several validation threads where there are cores), every seventh invalid.
    let r = rig();
    let batch: Vec<Value> = (0..1000)
        .map(|n| if n % 7 == 3 { json!({"type": "indicator", "n": n}) } else { indicator(n, &format!("n{n}")) })
        .collect();
    let summary = r.ingest.submit(COLL, "USA", batch.clone()).unwrap();
    assert_eq!(summary.entries.len(), 1000);
    for (n, (entry, submitted)) in summary.entries.iter().zip(&batch).enumerate() {
        assert_eq!(entry.index, n);
        if n % 7 == 3 {
            assert!(matches!(entry.outcome, Outcome::Rejected { stage: Stage::Invalid, .. }), "{n}");
            assert_eq!(entry.id, "");
        } else {
            assert!(matches!(entry.outcome, Outcome::Accepted { .. }), "{n}: {:?}", entry.outcome);
            assert_eq!(entry.id, id(submitted));
        }
    }
    // date_added follows submission order among the accepted.
    let added: Vec<Timestamp> = summary
        .entries
        .iter()
        .filter_map(|e| match e.outcome {
            Outcome::Accepted { date_added, .. } => Some(date_added),
            _ => None,
        })
        .collect();
    assert!(added.windows(2).all(|w| w[0] < w[1]));
    // One signature over the valid objects, in submission order.
    let signed = r.signer.batches.lock().unwrap().clone();
    let valid: Vec<String> = batch.iter().enumerate().filter(|(n, _)| n % 7 != 3).map(|(_, v)| id(v)).collect();
    assert_eq!(signed, vec![valid]);
}

#[test]
fn the_status_is_made_once_from_the_summary_and_stored() {
    use tandem_store::AccountStore;
    let r = rig();
    let (a, b) = (indicator(1, "a"), indicator(2, "b"));
    let mut calls = 0;
    let summary = r
        .ingest
        .submit_reporting(COLL, "USA", vec![a.clone(), json!({}), b.clone()], |s| {
            calls += 1;
            let counts = json!([s.accepted(), s.duplicate(), s.rejected()]);
            Some(NewStatus { id: "s1".into(), owner: "alice".into(), body: counts.to_string() })
        })
        .unwrap();
    assert_eq!(calls, 1);
    assert_eq!((summary.accepted(), summary.rejected()), (2, 1));
    assert_eq!(r.store.get_status("s1", "alice").unwrap(), Some(json!([2, 0, 1])));

    // A batch with nothing valid still gets its status (no objects' transaction to ride on).
    let summary = r
        .ingest
        .submit_reporting(COLL, "USA", vec![json!({}), json!(7)], |s| {
            Some(NewStatus { id: "s2".into(), owner: "alice".into(), body: json!([s.rejected()]).to_string() })
        })
        .unwrap();
    assert_eq!(summary.rejected(), 2);
    assert_eq!(r.store.get_status("s2", "alice").unwrap(), Some(json!([2])));
}
