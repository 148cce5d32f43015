//! The coalition as the UI shows it: `GET /ui/api/roster`, `GET /ui/api/coalition` (the node and
//! its peers' sync status), `GET /ui/api/markings` (what a report can be marked with),
//! `GET /ui/api/cells`, and `POST /ui/api/releasability/preview` (exactly which members would
//! receive a report with these markings: `tandem_policy::recipients`, `decide` per member).

use std::collections::HashMap;

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use tandem_policy::{AccessLabel, MarkingKind};
use tandem_taxii::auth::ActiveCaller;
use tandem_taxii::{AppState, TaxiiError};

use crate::view::{self, Read};
use crate::{Web, json};

pub async fn roster(ActiveCaller(p): ActiveCaller, State(state): State<AppState>) -> Result<Response, TaxiiError> {
    let r = view::roster(&state);
    let members: Vec<Value> =
        r.members().map(|m| json!({"code": m.code, "name": m.name, "status": m.status, "joined": m.joined})).collect();
    let groups: Vec<Value> =
        r.groups().map(|g| json!({"code": g.code, "name": g.name, "members": g.members})).collect();
    json(&json!({"members": members, "groups": groups, "me": p.member}))
}

/// A peer's state in one word, from its sync status.
fn peer_state(s: &Value) -> &'static str {
    let n = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
    if n("errors") > 0 {
        "failing"
    } else if s.get("last_success").is_none_or(Value::is_null) {
        "connecting"
    } else if n("lag_objects") > 0 {
        "syncing"
    } else {
        "ok"
    }
}

pub async fn coalition(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    Extension(web): Extension<Web>,
) -> Result<Response, TaxiiError> {
    // Another member's user is not told about this node's peers (as `/api/tandem/peers/`).
    let peers: Vec<Value> = match (web.peers)(&p) {
        Ok(list) => list
            .into_iter()
            .map(|mut s| {
                let st = peer_state(&s);
                if let Some(o) = s.as_object_mut() {
                    o.insert("status".into(), json!(st));
                }
                s
            })
            .collect(),
        Err(TaxiiError::Forbidden(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    json(&json!({
        "node": {
            "member": state.config.node_member,
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": web.started.elapsed().as_secs(),
            "store": "sqlite",
        },
        "peers": peers,
    }))
}

/// TLP 2.0 markings, whose meaning the standard fixes.
const TLP: [(&str, &str); 5] = [
    (tandem_model::tlp::TLP2_CLEAR, "TLP:CLEAR"),
    (tandem_model::tlp::TLP2_GREEN, "TLP:GREEN"),
    (tandem_model::tlp::TLP2_AMBER, "TLP:AMBER"),
    (tandem_model::tlp::TLP2_AMBER_STRICT, "TLP:AMBER+STRICT"),
    (tandem_model::tlp::TLP2_RED, "TLP:RED"),
];

pub async fn markings(ActiveCaller(p): ActiveCaller, State(state): State<AppState>) -> Result<Response, TaxiiError> {
    let mut out: Vec<Value> = TLP
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name, "kind": "tlp", "rel_to": [], "classification": null}))
        .collect();
    // Only the caller's own member's releasability markings: another member's would not
    // resolve in the namespace of a report the caller's member originates.
    let (defs, _) = view::meanings(&state, &p).await?;
    for r in defs.iter().filter(|r| r.originator == p.member) {
        if let Some(MarkingKind::Releasability { rel_to, classification }) = tandem_policy::classify_marking(&r.object)
        {
            let name = r
                .object
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("REL TO {}", rel_to.join(", ")), str::to_string);
            out.push(json!({
                "id": r.id, "name": name, "kind": "releasability", "rel_to": rel_to,
                "classification": classification.map(|c| format!("{c:?}").to_uppercase()),
            }));
        }
    }
    json(&out)
}

pub async fn cells(ActiveCaller(p): ActiveCaller, State(state): State<AppState>) -> Result<Response, TaxiiError> {
    let records = view::records(
        &state,
        &p,
        Read { types: vec!["intrusion-set".into(), "incident".into()], ..Default::default() },
    )
    .await?;
    let mut counts: HashMap<String, u64> = HashMap::new();
    for r in records.iter().filter(|r| r.object_type == "incident") {
        for c in crate::incidents::cells_of(&r.object) {
            *counts.entry(c).or_default() += 1;
        }
    }
    let out: Vec<Value> = records
        .iter()
        .filter(|r| r.object_type == "intrusion-set")
        .map(|r| {
            json!({"id": r.id, "name": r.object.get("name").cloned().unwrap_or(Value::Null),
                   "incidents": counts.get(&r.id).copied().unwrap_or(0)})
        })
        .collect();
    json(&out)
}

/// The most marking references a preview takes.
const MAX_PREVIEW_REFS: usize = 64;

pub async fn preview(
    ActiveCaller(p): ActiveCaller,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, TaxiiError> {
    let bad = || TaxiiError::BadRequest("the body must be JSON {\"object_marking_refs\": [marking ids]}".into());
    // Bytes, not a String: a body that is not UTF-8 is refused as not JSON, like any other.
    let v: Value = serde_json::from_slice(&body).map_err(|_| bad())?;
    let refs = v.get("object_marking_refs").and_then(Value::as_array).ok_or_else(bad)?;
    if refs.len() > MAX_PREVIEW_REFS {
        return Err(bad());
    }
    let mut object_markings: Vec<String> =
        refs.iter().map(|r| r.as_str().map(str::to_string)).collect::<Option<_>>().ok_or_else(bad)?;
    object_markings.sort();
    object_markings.dedup();
    // The label the report will carry: the caller's member originates it.
    let label = AccessLabel { originator: p.member.clone(), public: false, object_markings, granular: Vec::new() };
    let (_, meanings) = view::meanings(&state, &p).await?;
    json(&view::who_can_see(&view::roster(&state), &label, &meanings))
}
