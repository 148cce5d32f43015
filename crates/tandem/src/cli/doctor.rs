//! `tandem doctor`: report data problems an operator should fix.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::node;

pub fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let store = node::open_store(&config)?;
    let unresolved = store.unresolved_markings()?;
    let contested = store.contested()?;
    if unresolved.is_empty() {
        println!("ok: every marking reference resolves");
    }
    for (marking, count) in &unresolved {
        println!("unresolved marking {marking}: {count} object versions are visible to their originator only");
    }
    if contested.is_empty() {
        println!("ok: no id has conflicting claims by several members");
    }
    for c in &contested {
        println!(
            "conflicting claims on {} (since {}) by {}: readers of other members are served one only when it is the only signed claim they may see",
            c.id,
            c.first_seen.to_taxii(),
            c.claimants.join(", ")
        );
    }
    Ok(if unresolved.is_empty() && contested.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
