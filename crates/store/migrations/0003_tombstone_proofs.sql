-- Tandem store, schema version 3: a deletion carries its originator's signature (JSON), so a
-- peer cannot forge one; NULL for deletions made before this version.
ALTER TABLE tombstones ADD COLUMN proof TEXT;
