-- Tandem store, schema version 6: full-text search over incidents and reports.
--
-- One FTS5 row per stored version of a searched type, keyed by the version's `date_added` (the
-- rowid of `objects`), holding the folded keys of its searchable properties
-- (`tandem_store::text::index_text`: already folded and lowercased in Rust, space-separated, so
-- the tokenizer only splits on spaces and changes nothing). Contentless: the keys are only ever
-- matched, never read back. `put` writes the row in its own transaction; deleting a version
-- deletes its row (the trigger), whichever path deletes. The index proposes candidates only:
-- every match is checked again on the reader's copy (`tandem_store::access::release_matching`).
-- Rows for versions stored before this version are written by the Rust migration (backfill).
CREATE VIRTUAL TABLE object_text USING fts5(
    keys,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);

CREATE TRIGGER objects_text_delete AFTER DELETE ON objects BEGIN
    DELETE FROM object_text WHERE rowid = old.date_added;
END;
