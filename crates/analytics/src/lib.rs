//! Analytics over the incidents a viewer may see: trends, spikes, hot spots, space-time
//! clusters, cell tracks and correlation across members.
//!
//! Everything here is computed over the viewer's own copies, as `Store::list` releases them
//! (`service` is the only part that reads, and it reads only through the viewer API with the
//! viewer's `ViewContext`). A property redacted for the viewer is missing from its copy and so
//! counts as missing here: analytics never see what the viewer may not. The rest of the crate is
//! pure functions over values ([`dataset::Dataset`]), so the same computation can be checked
//! against hand-computed cases and against any other listing.

pub mod calendar;
pub mod correlate;
pub mod dataset;
pub mod hotspots;
pub mod merge;
pub mod scan;
pub mod service;
pub mod spikes;
pub mod tracks;
pub mod trends;

pub use dataset::{Dataset, Incident};
