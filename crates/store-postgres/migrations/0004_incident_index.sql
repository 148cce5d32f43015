-- Tandem store on PostgreSQL, schema version 4: the per-label incident index (SQLite's schema
-- version 7; see `tandem_store::incidents`).
--
-- One row per stored incident version, keyed by its `date_added`, with what a listing filters
-- by (collection, id, originator, version key, access label, latest, revoked: copied from the
-- version's `objects` row) and the analytics fields read from its body in Rust (`refs`: the JSON
-- array of the five lists, NULL when all are empty). Derived: `put` writes the row in the
-- version's transaction, the trigger keeps `latest` equal to the version's, the foreign key
-- deletes the row with the version, the migration's Rust step (`migrate::backfill_incidents`)
-- writes rows for incidents stored before, and `tandem migrate` rebuilds rows on the target.
CREATE TABLE incident_index (
    date_added      BIGINT  PRIMARY KEY REFERENCES objects(date_added) ON DELETE CASCADE,
    collection      BIGINT  NOT NULL,
    stix_id         TEXT    NOT NULL,
    originator      TEXT    NOT NULL,
    version         TEXT    COLLATE "C" NOT NULL,
    label           BIGINT  NOT NULL,
    latest          BOOLEAN NOT NULL,
    revoked         BOOLEAN NOT NULL,
    event_type      TEXT,
    sub_event_type  TEXT,
    admin1          TEXT,
    start_day       BIGINT,
    end_day         BIGINT,
    precision       SMALLINT,
    fatalities_best BIGINT  NOT NULL,
    fatalities_low  BIGINT  NOT NULL,
    fatalities_high BIGINT  NOT NULL,
    arrests         BIGINT  NOT NULL,
    seizures        BIGINT  NOT NULL,
    refs            TEXT
);
CREATE INDEX incident_index_by_claim ON incident_index(collection, stix_id, originator, version);
CREATE INDEX incident_index_by_collection ON incident_index(collection, date_added);

CREATE FUNCTION incident_index_latest() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE incident_index SET latest = NEW.latest WHERE date_added = NEW.date_added;
    RETURN NULL;
END;
$$;

CREATE TRIGGER objects_incident_latest AFTER UPDATE OF latest ON objects
    FOR EACH ROW WHEN (NEW.type = 'incident' AND NEW.latest IS DISTINCT FROM OLD.latest)
    EXECUTE FUNCTION incident_index_latest();
