-- Tandem store, schema version 4: every member's claims on an id live in that member's own
-- namespace, so no member can pre-empt, take over or probe another member's versions, and a
-- marking-definition resolves in the namespace of the object that references it.

-- The originator of each version, as a column (it was only inside the access label): the key of
-- a version is now (collection, id, originator, version).
ALTER TABLE objects ADD COLUMN originator TEXT NOT NULL DEFAULT '';
UPDATE objects SET originator = (SELECT json_extract(l.label, '$.originator') FROM access_labels l WHERE l.id = objects.label);
DROP INDEX objects_by_version;
CREATE UNIQUE INDEX objects_by_version ON objects(collection, stix_id, originator, version);

-- Tombstones keep their id's owner: a deletion by one member never frees the id for another.
CREATE TABLE tombstones_v4 (
    collection INTEGER NOT NULL,
    stix_id    TEXT    NOT NULL,
    originator TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    deleted_at INTEGER NOT NULL,
    deleted_by TEXT    NOT NULL,
    label      INTEGER REFERENCES access_labels(id),
    added      INTEGER,
    proof      TEXT,
    PRIMARY KEY (collection, stix_id, originator, version)
);
INSERT INTO tombstones_v4 (collection, stix_id, originator, version, deleted_at, deleted_by, label, added, proof)
    SELECT t.collection, t.stix_id,
           COALESCE((SELECT json_extract(l.label, '$.originator') FROM access_labels l WHERE l.id = t.label), t.deleted_by),
           t.version, t.deleted_at, t.deleted_by, t.label, t.added, t.proof
    FROM tombstones t;
DROP TABLE tombstones;
ALTER TABLE tombstones_v4 RENAME TO tombstones;
CREATE INDEX tombstones_by_added ON tombstones(collection, added);

-- Ids claimed by more than one member (versions or tombstones): the read path settles which
-- claim a reader receives. `conflicting` once the claims differ (not the same versions with the
-- same contents, and not an observable's): `tandem doctor` lists those, from `first_seen`. Before
-- this version one member owned each id, so nothing is contested yet.
CREATE TABLE contested (
    collection  INTEGER NOT NULL,
    stix_id     TEXT    NOT NULL,
    first_seen  INTEGER NOT NULL,
    conflicting INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (collection, stix_id)
);
