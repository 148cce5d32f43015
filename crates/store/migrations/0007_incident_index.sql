-- Tandem store, schema version 7: the per-label incident index (`tandem_store::incidents`).
--
-- One row per stored incident version, keyed by the version's `date_added` (the rowid of
-- `objects`), with what a listing filters by (collection, id, originator, version key, access
-- label, latest, revoked: copied from the version's `objects` row) and the analytics fields
-- read from its body in Rust (`IncidentFacts`; `refs`: the JSON array of the five lists,
-- NULL when all are empty). Analytics read it instead of parsing bodies; it is filtered by the
-- reader's released labels and settled like a listing, and a row the reader receives redacted
-- is read from the reader's copy instead. Derived: `put` writes a row in its own transaction, a
-- trigger keeps `latest` equal to the version's and deletes the row with the version, rows for
-- versions stored before this version are written by the Rust migration, and `tandem migrate`
-- rebuilds them on the target rather than copying them.
CREATE TABLE incident_index (
    date_added      INTEGER PRIMARY KEY,
    collection      INTEGER NOT NULL,
    stix_id         TEXT    NOT NULL,
    originator      TEXT    NOT NULL,
    version         TEXT    NOT NULL,
    label           INTEGER NOT NULL,
    latest          INTEGER NOT NULL,
    revoked         INTEGER NOT NULL,
    event_type      TEXT,
    sub_event_type  TEXT,
    admin1          TEXT,
    start_day       INTEGER,
    end_day         INTEGER,
    precision       INTEGER,
    fatalities_best INTEGER NOT NULL,
    fatalities_low  INTEGER NOT NULL,
    fatalities_high INTEGER NOT NULL,
    arrests         INTEGER NOT NULL,
    seizures        INTEGER NOT NULL,
    refs            TEXT
);
-- The latest version of a claim the reader may see, when the latest stored one is hidden.
CREATE INDEX incident_index_by_claim ON incident_index(collection, stix_id, originator, version);

CREATE TRIGGER objects_incident_latest AFTER UPDATE OF latest ON objects WHEN new.type = 'incident' BEGIN
    UPDATE incident_index SET latest = new.latest WHERE date_added = new.date_added;
END;

CREATE TRIGGER objects_incident_delete AFTER DELETE ON objects WHEN old.type = 'incident' BEGIN
    DELETE FROM incident_index WHERE date_added = old.date_added;
END;
