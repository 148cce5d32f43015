-- The audit log's schema (format 1). Entries are append-only; `hash` chains each entry to the
-- previous one (see chain.rs); `checkpoints` are signed snapshots of the chain head.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('format', '1');

CREATE TABLE IF NOT EXISTS entries (
    seq          INTEGER PRIMARY KEY,
    ts           TEXT NOT NULL,
    actor_user   TEXT,
    actor_member TEXT,
    action       TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    status       INTEGER NOT NULL,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      TEXT NOT NULL,
    ts        TEXT NOT NULL,
    signature TEXT NOT NULL
);
