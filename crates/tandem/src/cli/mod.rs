//! One module per subcommand.

pub mod accounts;
pub mod audit;
// demo.rs imports `tandem_store::Store`, which the store trait split made unnecessary (it
// holds `Arc<dyn Store>` now): drop this allow with that import at the next edit of demo.rs.
#[allow(unused_imports)]
pub mod demo;
pub mod doctor;
pub mod export;
pub mod import;
pub mod marking;
pub mod peer;
pub mod place;
pub mod roster;
pub mod serve;
pub mod stream;
pub mod validate;
