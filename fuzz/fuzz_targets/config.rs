//! The config loader: any text as `node.toml`, parsed and validated as `tandem serve` does
//! (`Config::load` is this plus reading the file). A bad config is an error naming the key,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = toml::from_str::<tandem_node::Config>(text) else { return };
    let _ = config.validate();
});
