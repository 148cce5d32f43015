//! The one place analytics read: the viewer's incidents through `ObjectStore::incidents` (the
//! store's incident index, filtered, settled and, for a copy the viewer receives redacted, read
//! off that copy, exactly as `list` releases it), and its locations, `duplicate-of`
//! relationships and estimates (notes, opinions) paged through `ObjectStore::list`, both with
//! the viewer's own `ViewContext`.
//!
//! Never SQL, never a copy other than the viewer's: what `list` withholds or redacts cannot
//! reach any analysis, and results are exactly the pure functions over what `list` releases
//! (`tests/oracle.rs` compares them on both backends).

use tandem_store::{ObjectQuery, ObjectStore, Record, Result, VersionFilter, ViewContext};

use crate::dataset::Dataset;

/// The types analytics read.
pub const TYPES: [&str; 5] = ["incident", "location", "relationship", "note", "opinion"];

/// The types read through `list` beside the incidents.
const OTHER_TYPES: [&str; 4] = ["location", "relationship", "note", "opinion"];

/// Every record of `types` the viewer receives in `collection` (latest version per claim).
fn records_of(store: &dyn ObjectStore, ctx: &ViewContext, collection: &str, types: &[&str]) -> Result<Vec<Record>> {
    let mut q = ObjectQuery {
        types: types.iter().map(|t| t.to_string()).collect(),
        versions: VersionFilter::Last,
        limit: 1000,
        ..Default::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store.list(ctx, collection, &q)?;
        out.extend(page.items);
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Every record of [`TYPES`] the viewer receives in `collection` (latest version per claim).
pub fn viewer_records(store: &dyn ObjectStore, ctx: &ViewContext, collection: &str) -> Result<Vec<Record>> {
    records_of(store, ctx, collection, &TYPES)
}

/// The dataset of what `records` hold (the originator of each is the server's, from the record).
pub fn dataset_of(records: &[Record]) -> Dataset {
    Dataset::from_objects(records.iter().map(|r| (r.originator.as_str(), &r.object)))
}

/// The viewer's dataset in `collection`: incidents from the store's incident read, the rest
/// through `list`.
pub fn load(store: &dyn ObjectStore, ctx: &ViewContext, collection: &str) -> Result<Dataset> {
    let incidents = store.incidents(ctx, collection)?;
    let others = records_of(store, ctx, collection, &OTHER_TYPES)?;
    Ok(Dataset::from_parts(others.iter().map(|r| (r.originator.as_str(), &r.object)), incidents))
}
