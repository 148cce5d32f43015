//! The caller's view: its `ViewContext`, the intel collection, and every record of some types it
//! receives, read only through `ObjectStore::list` (the one chokepoint) as the caller.
//! Also "who can see this", computed by `tandem_policy::recipients` over the caller's copy.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tandem_policy::{AccessLabel, Classification, MarkingKind, Roster};
use tandem_store::{ObjectQuery, Record, Store, VersionFilter, ViewContext};
use tandem_taxii::{AppState, Principal, TaxiiError};

/// The current roster snapshot.
pub fn roster(state: &AppState) -> Arc<Roster> {
    state.roster()
}

/// The caller's view.
pub fn ctx(state: &AppState, p: &Principal) -> ViewContext {
    state.view(p)
}

/// The id of the collection the UI reads: the one aliased `intel`, else the first readable one.
pub fn collection(state: &AppState) -> Result<String, TaxiiError> {
    let cs = &state.config.collections;
    cs.iter()
        .find(|c| c.alias.as_deref() == Some("intel") && c.can_read)
        .or_else(|| cs.iter().find(|c| c.can_read))
        .map(|c| c.id.clone())
        .ok_or(TaxiiError::NotFound)
}

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Read {
    pub types: Vec<String>,
    pub ids: Vec<String>,
    pub versions: VersionFilter,
    /// Every member's claim the caller may see (marking-definitions: each is its owner's).
    pub every_claim: bool,
}

/// Every record matching `read` that `list` releases to the caller, all pages.
pub async fn records(state: &AppState, p: &Principal, read: Read) -> Result<Vec<Record>, TaxiiError> {
    let ctx = ctx(state, p);
    let collection = collection(state)?;
    let store: Arc<dyn Store> = Arc::clone(&state.store);
    let out = tokio::task::spawn_blocking(move || -> tandem_store::Result<Vec<Record>> {
        let mut q = ObjectQuery {
            types: read.types,
            ids: read.ids,
            versions: read.versions,
            every_claim: read.every_claim,
            limit: 1000,
            ..Default::default()
        };
        let mut out = Vec::new();
        loop {
            let page = store.list(&ctx, &collection, &q)?;
            out.extend(page.items);
            match page.next {
                Some(c) => q.cursor = Some(c),
                None => return Ok(out),
            }
        }
    })
    .await??;
    Ok(out)
}

/// The meaning of every marking-definition the caller sees, keyed by (owner, id): the lookup
/// `decide` resolves markings with, in the namespace of each object's originator.
pub type Meanings = HashMap<(String, String), MarkingKind>;

pub async fn meanings(state: &AppState, p: &Principal) -> Result<(Vec<Record>, Meanings), TaxiiError> {
    let defs =
        records(state, p, Read { types: vec!["marking-definition".into()], every_claim: true, ..Default::default() })
            .await?;
    let mut m = Meanings::new();
    for r in &defs {
        if let Some(kind) = tandem_policy::classify_marking(&r.object) {
            m.insert((r.originator.clone(), r.id.clone()), kind);
        }
    }
    Ok((defs, m))
}

/// `{"members":[{"code","name"}],"groups":[{"code","name"}],"summary"}`: the active members that
/// receive an object of `label` (through `tandem_policy::recipients`, `decide` per member), and
/// the groups whose active members all receive it.
pub fn who_can_see(roster: &Roster, label: &AccessLabel, meanings: &Meanings) -> Value {
    let lookup = |owner: &str, id: &str| meanings.get(&(owner.to_string(), id.to_string()));
    // A member receives what its most cleared users may: a classification above a user's
    // clearance still withholds it from that user (shown in the summary).
    let members = tandem_policy::recipients(roster, label, Classification::Secret, &lookup);
    let name = |code: &str| roster.member(code).map_or_else(|| code.to_string(), |m| m.name.clone());
    let groups: Vec<Value> = roster
        .groups()
        .filter(|g| {
            let active: Vec<&String> = g.members.iter().filter(|m| roster.is_active(m)).collect();
            !active.is_empty() && active.iter().all(|m| members.contains(m))
        })
        .map(|g| json!({"code": g.code, "name": g.name}))
        .collect();
    let classification = label
        .object_markings
        .iter()
        .filter_map(|m| match lookup(&label.originator, m) {
            Some(MarkingKind::Releasability { classification: Some(c), .. }) => Some(*c),
            _ => None,
        })
        .max();
    let active = roster.members().filter(|m| roster.is_active(&m.code)).count();
    // What the summary says, also as data: the UI words it in the reader's language.
    let kind = match members.len() {
        0 => "none",
        n if n == active && n > 1 => "all",
        1 if members[0] == label.originator => "originator",
        _ => "some",
    };
    let mut summary = match kind {
        "none" => "No member receives it.".to_string(),
        "all" => format!("Every active member ({}) receives it.", members.len()),
        "originator" => format!("Only {} (the originator) receives it.", name(&members[0])),
        _ => format!("Received by {}.", members.iter().map(|c| name(c)).collect::<Vec<_>>().join(", ")),
    };
    let banner = classification.map(|c| format!("{c:?}").to_uppercase());
    if let Some(b) = &banner {
        summary.push_str(&format!(" Only their users cleared to {b} or above see it."));
    }
    json!({
        "members": members.iter().map(|c| json!({"code": c, "name": name(c)})).collect::<Vec<_>>(),
        "groups": groups,
        "summary": summary,
        "kind": kind,
        "classification": banner,
    })
}
