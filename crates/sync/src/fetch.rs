//! Fetching one page of a peer's object feed, whole or manifest first.
//!
//! In a mesh a version reaches a node over every path on which both ends may see it: a hub with
//! sixty peers is offered each version up to sixty times. Fetched whole, every offer costs the
//! version's bytes, its parsing and its verification. Manifest first, the puller reads the page's
//! `(id, version)` list, asks its own store which versions it already holds (or has deleted),
//! and fetches only the missing ones by id — an offer of a version already held costs one
//! manifest entry. A node far behind (a backfill) holds almost nothing it is offered, so there
//! the extra round trip is pure cost: [`Mode`] is chosen per pass from what the previous pages
//! showed ([`Mode::after`]).

use std::collections::HashSet;
use std::sync::Arc;

use tandem_model::Timestamp;
use tandem_store::Store;

use crate::client::{IDS_PER_REQUEST, ObjectPage, PeerClient};

/// How a pass reads the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Object pages with their proofs (a node that is behind).
    #[default]
    Whole,
    /// Manifest pages, then only the versions not held (a node that is mostly up to date).
    ManifestFirst,
}

/// How much of a page this node already held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    pub offered: u64,
    pub held: u64,
}

impl Mode {
    /// The mode for the next pass: manifest first once at least half of what the last pages
    /// offered was already held, whole otherwise. Nothing offered keeps the mode.
    pub fn after(self, held: Held) -> Mode {
        if held.offered == 0 {
            self
        } else if held.held * 2 >= held.offered {
            Mode::ManifestFirst
        } else {
            Mode::Whole
        }
    }
}

/// Everything needed to fetch pages for one peer.
#[derive(Clone)]
pub struct Fetcher {
    pub client: PeerClient,
    pub root: String,
    pub store: Arc<dyn Store>,
    pub collection: String,
}

impl Fetcher {
    /// One page after `after` (or continuing at `next`, a token from a page of the same mode).
    /// Manifest first, the page's objects are the versions this node did not hold; its `more`,
    /// `next` and `resume_after` are the manifest's, so the cursor moves over held versions too.
    pub async fn page(
        &self,
        mode: Mode,
        after: Option<Timestamp>,
        next: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<(ObjectPage, Held)> {
        if mode == Mode::Whole {
            let page = self.client.objects(&self.root, after, next, limit).await?;
            return Ok((page, Held::default()));
        }
        let manifest = self.client.manifest(&self.root, after, next, limit).await?;
        // An entry that names no originator is fetched (a duplicate is a no-op), never assumed held.
        let named: Vec<(usize, (String, Timestamp, String))> = manifest
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, (id, v, o))| o.as_ref().map(|o| (i, (id.clone(), *v, o.clone()))))
            .collect();
        let (store, coll) = (Arc::clone(&self.store), self.collection.clone());
        let asked: Vec<(String, Timestamp, String)> = named.iter().map(|(_, e)| e.clone()).collect();
        let answers = tokio::task::spawn_blocking(move || store.holds_versions(&coll, &asked)).await??;
        let mut holds = vec![false; manifest.entries.len()];
        for ((i, _), held) in named.iter().zip(answers) {
            holds[*i] = held;
        }
        let mut seen = HashSet::new();
        let missing: Vec<String> = manifest
            .entries
            .iter()
            .zip(&holds)
            .filter(|(_, held)| !**held)
            .map(|((id, _, _), _)| id.clone())
            .filter(|id| seen.insert(id.clone()))
            .collect();
        let held = Held { offered: holds.len() as u64, held: holds.iter().filter(|h| **h).count() as u64 };
        let mut page = ObjectPage {
            more: manifest.more,
            next: manifest.next,
            resume_after: manifest.resume_after,
            epoch: manifest.epoch,
            ..Default::default()
        };
        for ids in missing.chunks(IDS_PER_REQUEST) {
            let part = self.client.objects_by_id(&self.root, ids).await?;
            page.objects.extend(part.objects);
            page.proofs.extend(part.proofs);
        }
        Ok((page, held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_follows_what_was_held() {
        let h = |offered, held| Held { offered, held };
        assert_eq!(Mode::Whole.after(h(1000, 990)), Mode::ManifestFirst);
        assert_eq!(Mode::ManifestFirst.after(h(1000, 10)), Mode::Whole);
        assert_eq!(Mode::ManifestFirst.after(h(0, 0)), Mode::ManifestFirst);
        assert_eq!(Mode::Whole.after(h(0, 0)), Mode::Whole);
        assert_eq!(Mode::Whole.after(h(2, 1)), Mode::ManifestFirst);
    }
}
