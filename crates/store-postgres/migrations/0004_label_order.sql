-- Tandem store on PostgreSQL, schema version 4: an index to read one released label in
-- date_added order, of one type or of all (src/read.rs, `listing_sql`'s `per_label`). A viewer
-- released some labels reads each of them through it up to a batch, instead of one scan that
-- reads and drops the withheld rows (or reads every released row after the position and sorts).
-- Built CONCURRENTLY, outside a transaction (src/migrate.rs, `Step::ConcurrentIndex`): the
-- node's other processes keep writing while it builds on a large store.
CREATE INDEX CONCURRENTLY objects_by_label_type ON objects(collection, label, type, date_added)
