//! The one place analytics read: the viewer's incidents, locations, `duplicate-of`
//! relationships and estimates (notes, opinions), paged through `ObjectStore::list` with the viewer's own `ViewContext`.
//!
//! Never SQL, never a copy other than the viewer's: what `list` withholds or redacts cannot
//! reach any analysis, and results are exactly the pure functions over what `list` releases.

use tandem_store::{ObjectQuery, ObjectStore, Record, Result, VersionFilter, ViewContext};

use crate::dataset::Dataset;

/// The types analytics read.
pub const TYPES: [&str; 5] = ["incident", "location", "relationship", "note", "opinion"];

/// Every record of [`TYPES`] the viewer receives in `collection` (latest version per claim).
pub fn viewer_records(store: &dyn ObjectStore, ctx: &ViewContext, collection: &str) -> Result<Vec<Record>> {
    let mut q = ObjectQuery {
        types: TYPES.iter().map(|t| t.to_string()).collect(),
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

/// The dataset of what `records` hold (the originator of each is the server's, from the record).
pub fn dataset_of(records: &[Record]) -> Dataset {
    Dataset::from_objects(records.iter().map(|r| (r.originator.as_str(), &r.object)))
}

/// The viewer's dataset in `collection`.
pub fn load(store: &dyn ObjectStore, ctx: &ViewContext, collection: &str) -> Result<Dataset> {
    Ok(dataset_of(&viewer_records(store, ctx, collection)?))
}
