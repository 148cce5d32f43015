-- Tandem store on PostgreSQL, schema version 3: the node's audit log, one hash chain for every
-- process on this database (tandem_audit's chain; `PgAudit` in src/audit.rs).
--
-- The columns are those of `audit.sqlite` (tandem-audit's schema.sql), stored exactly as hashed.
-- `audit_head` is one row that every appender locks `FOR UPDATE` before it reads the chain head:
-- appends from any number of processes take turns, so the chain never forks and `seq` never gaps.
CREATE TABLE audit_entries (
    seq          BIGINT PRIMARY KEY,
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

CREATE TABLE audit_checkpoints (
    seq       BIGINT PRIMARY KEY,
    hash      TEXT NOT NULL,
    ts        TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1)
);
INSERT INTO audit_head (id) VALUES (1);
