//! Tandem's demo data set: the public seed facts about the Global Coalition to Defeat ISIS
//! modelled as STIX 2.1 ([`seed_facts`]), a clearly labelled synthetic history of incidents in
//! Iraq and Syria 2014-2025 ([`synthetic_history`]), and the coalition's members and groups
//! ([`coalition_members`], [`coalition_groups`]).
//!
//! Every object comes with the member that originates it ([`Originated`]). Ids are
//! deterministic (UUIDv5), so loading the same data twice is a no-op. Nothing here does I/O: the
//! seed facts are compiled in.

pub mod markings;
pub mod members;
pub mod places;
pub mod rng;
pub mod seed;
pub mod stix;
pub mod synthetic;

pub use members::{Group, Member, MemberKind, coalition_groups, coalition_members};
pub use seed::seed_facts;
pub use synthetic::{DEFAULT_COUNT, synthetic_history};

/// A STIX object and the coalition member (code) that originates it.
#[derive(Debug, Clone, PartialEq)]
pub struct Originated {
    pub originator: String,
    pub object: serde_json::Value,
}

/// Tandem's published extension definitions (and its identity), the TLP marking-definitions,
/// the demo's releasability markings as every originating member defines them, the seed facts
/// and a synthetic history: everything the demo loads, in load order.
///
/// A marking-definition counts only for objects of the member that defined it (see
/// ARCHITECTURE.md, *Ownership*), so each member that marks objects with `usa-irq` or `lvnt`
/// defines its own copy (the same content under the same id); USA's come with the seed facts.
pub fn demo_dataset(seed: u64, synthetic_count: usize) -> Vec<Originated> {
    let meta = tandem_model::incident::published_extension_definitions()
        .into_iter()
        .chain(tandem_model::tlp::published_definitions().into_iter().take(5))
        .map(|object| Originated { originator: "USA".into(), object });
    let data: Vec<Originated> = seed_facts().into_iter().chain(synthetic_history(seed, synthetic_count)).collect();
    let originators: std::collections::BTreeSet<String> =
        data.iter().map(|o| o.originator.clone()).filter(|m| m != "USA").collect();
    let own_markings = originators.into_iter().flat_map(|originator| {
        markings::releasability_markings()
            .into_iter()
            .map(move |object| Originated { originator: originator.clone(), object })
    });
    meta.chain(own_markings).chain(data).collect()
}
