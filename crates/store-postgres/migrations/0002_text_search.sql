-- Tandem store on PostgreSQL, schema version 2: full-text search over incidents and reports
-- (SQLite's schema version 6).
--
-- `search` holds the folded keys of a searched version's properties
-- (`tandem_store::text::index_text`: folded and lowercased in Rust, space-separated) as a
-- `tsvector` of the `simple` configuration, which keeps each key as it is; NULL for the types
-- that are not searched. `put` fills it in the version's own insert, so it is as durable as the
-- row and goes with it when the row is deleted. The index proposes candidates only: every match
-- is checked again on the reader's copy (`tandem_store::access::release_matching`). Versions
-- stored before this version are filled by the migration's Rust step (`migrate::backfill_text`).
ALTER TABLE objects ADD COLUMN search tsvector;
CREATE INDEX objects_by_text ON objects USING GIN (search);
