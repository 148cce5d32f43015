-- Tandem store, schema version 1.

CREATE TABLE collections (
    id   INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE
);

-- Distinct releasability labels (originator + markings). Policy decides once per label.
CREATE TABLE access_labels (
    id    INTEGER PRIMARY KEY,
    label TEXT NOT NULL UNIQUE
);

-- One row per stored object version.
CREATE TABLE objects (
    date_added   INTEGER PRIMARY KEY,  -- microseconds since the epoch; unique and strictly increasing
    collection   INTEGER NOT NULL REFERENCES collections(id),
    stix_id      TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    spec_version TEXT    NOT NULL,
    version      TEXT    NOT NULL,     -- fixed-width sort key of modified/created; '' for unversioned SCOs
    label        INTEGER NOT NULL REFERENCES access_labels(id),
    latest       INTEGER NOT NULL,     -- 1 when no newer version of this id is stored
    revoked      INTEGER NOT NULL,
    content_hash BLOB    NOT NULL,
    body         TEXT    NOT NULL
);
CREATE UNIQUE INDEX objects_by_version ON objects(collection, stix_id, version);
-- Covering for the releasability pre-filter: listing scans this index in date_added order and
-- reads a row only when its label is released to the viewer.
CREATE INDEX objects_by_added ON objects(collection, date_added, label, latest);
CREATE INDEX objects_by_type ON objects(collection, type, date_added);

-- Deleted versions: never stored again, whoever sends them.
CREATE TABLE tombstones (
    collection INTEGER NOT NULL,
    stix_id    TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    deleted_at INTEGER NOT NULL,
    deleted_by TEXT    NOT NULL,
    PRIMARY KEY (collection, stix_id, version)
);

CREATE TABLE statuses (
    id      TEXT PRIMARY KEY,
    owner   TEXT    NOT NULL,
    created INTEGER NOT NULL,
    body    TEXT    NOT NULL
);
CREATE INDEX statuses_by_created ON statuses(created);

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    member        TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    clearance     TEXT NOT NULL,
    roles         TEXT NOT NULL  -- JSON list
);

CREATE TABLE tokens (
    token_id    TEXT PRIMARY KEY,
    user        TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL,
    created     INTEGER NOT NULL,
    label       TEXT
);
