//! `tandem doctor`: report data problems an operator should fix.

use std::path::Path;
use std::process::ExitCode;

use tandem_store::Store;

use crate::config::Config;
use crate::node;

pub fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let store = node::open_store(&config)?;
    let unresolved = store.unresolved_markings()?;
    if unresolved.is_empty() {
        println!("ok: every marking reference resolves");
        return Ok(ExitCode::SUCCESS);
    }
    for (marking, count) in &unresolved {
        println!("unresolved marking {marking}: {count} object versions are visible to their originator only");
    }
    Ok(ExitCode::FAILURE)
}
