-- Tandem store on PostgreSQL, schema version 1: the SQLite schema as of its version 5, in one
-- step, plus the node's clock row. Text compared or ordered by value (version keys, meta keys)
-- uses the "C" collation: byte order, as SQLite compares, whatever the database's locale.

CREATE TABLE collections (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE
);

-- Distinct releasability labels (originator + markings). Policy decides once per label.
CREATE TABLE access_labels (
    id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label TEXT NOT NULL UNIQUE
);

-- One row per stored object version.
CREATE TABLE objects (
    date_added   BIGINT  PRIMARY KEY,  -- microseconds since the epoch; unique and strictly increasing
    collection   BIGINT  NOT NULL REFERENCES collections(id),
    stix_id      TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    spec_version TEXT    NOT NULL,
    version      TEXT    COLLATE "C" NOT NULL, -- fixed-width sort key; '' for unversioned SCOs
    label        BIGINT  NOT NULL REFERENCES access_labels(id),
    latest       BOOLEAN NOT NULL,     -- no newer version of this claim is stored
    revoked      BOOLEAN NOT NULL,
    content_hash BYTEA   NOT NULL,
    body         TEXT    NOT NULL,     -- the object as received (JSON text, not jsonb: kept byte for byte)
    provenance   TEXT,
    originator   TEXT    NOT NULL
);
CREATE UNIQUE INDEX objects_by_version ON objects(collection, stix_id, originator, version);
-- The releasability pre-filter: listing scans in date_added order, reading a row only when its
-- label is released to the viewer.
CREATE INDEX objects_by_added ON objects(collection, date_added, label, latest);
CREATE INDEX objects_by_type ON objects(collection, type, date_added);
CREATE INDEX objects_by_label ON objects(label, date_added);

-- Deleted versions: never stored again in their originator's namespace.
CREATE TABLE tombstones (
    collection BIGINT NOT NULL,
    stix_id    TEXT   NOT NULL,
    originator TEXT   NOT NULL,
    version    TEXT   COLLATE "C" NOT NULL,
    deleted_at BIGINT NOT NULL,
    deleted_by TEXT   NOT NULL,
    label      BIGINT REFERENCES access_labels(id),
    added      BIGINT,
    proof      TEXT,
    PRIMARY KEY (collection, stix_id, originator, version)
);
CREATE INDEX tombstones_by_added ON tombstones(collection, added);

-- Ids claimed by more than one member (see the SQLite schema version 4).
CREATE TABLE contested (
    collection  BIGINT  NOT NULL,
    stix_id     TEXT    NOT NULL,
    first_seen  BIGINT  NOT NULL,
    conflicting BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (collection, stix_id)
);

CREATE TABLE statuses (
    id      TEXT PRIMARY KEY,
    owner   TEXT   NOT NULL,
    created BIGINT NOT NULL,
    body    TEXT   NOT NULL
);
CREATE INDEX statuses_by_created ON statuses(created);

-- `rev` moves with every write of a row (from accounts_rev), so a running node notices account
-- changes made by any process.
CREATE SEQUENCE accounts_rev;
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    member        TEXT   NOT NULL,
    password_hash TEXT   NOT NULL,
    clearance     TEXT   NOT NULL,
    roles         TEXT   NOT NULL,  -- JSON list
    rev           BIGINT NOT NULL
);
CREATE TABLE tokens (
    token_id    TEXT PRIMARY KEY,
    "user"      TEXT   NOT NULL,
    secret_hash TEXT   NOT NULL,
    created     BIGINT NOT NULL,
    label       TEXT,
    rev         BIGINT NOT NULL
);

-- Small named state (federation peers, cursors, status; the roster log; live alerts), as JSON.
CREATE TABLE sync_meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

-- The node's clock: the last feed position handed out. Every transaction that hands out
-- positions locks this row first (FOR UPDATE), so positions commit in order across processes.
CREATE TABLE clock (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL
);
INSERT INTO clock (id, last) VALUES (1, 0);
