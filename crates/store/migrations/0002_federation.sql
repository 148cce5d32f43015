-- Tandem store, schema version 2: federation.

-- The originator's signed provenance of each version (JSON; NULL for versions stored before
-- federation or imported without a key).
ALTER TABLE objects ADD COLUMN provenance TEXT;

-- Tombstones become a feed: `added` is a position on the same clock as objects.date_added
-- (unique, increasing), and `label` keeps the deleted version's releasability so the feed
-- releases a deletion only to members that could see the version.
ALTER TABLE tombstones ADD COLUMN label INTEGER REFERENCES access_labels(id);
ALTER TABLE tombstones ADD COLUMN added INTEGER;
UPDATE tombstones SET added = deleted_at;
CREATE INDEX tombstones_by_added ON tombstones(collection, added);

-- Small federation state (peers added at run time, per-peer cursors and status), as JSON.
CREATE TABLE sync_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
