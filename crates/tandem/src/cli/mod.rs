//! One module per subcommand.

pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod backup;
pub mod convert;
pub mod demo;
pub mod doctor;
pub mod export;
pub mod extract;
pub mod feed;
pub mod import;
pub mod marking;
pub mod migrate;
pub mod peer;
pub mod place;
pub mod roster;
pub mod serve;
pub mod tail;
pub mod validate;
pub mod watch;
