-- Migration number: 0004 	 per-user audit chains and organization checkpoints
-- The same file is applied to D1 by `wrangler d1 migrations apply` and to SQLite files at start-up.
--
-- Until now every event of an organization extended one chain (chain_sequence 1, 2, 3…), so every writer of the
-- organization contended for its head: one write at a time per organization, across every Workers isolate. From
-- here on an event links to the previous event of the same user (prev_hash = that event's hash, or 64 zeros at
-- version 1), which only writers of the same user ever contend for, and audit_checkpoints periodically seals
-- what each organization wrote (src/audit/checkpoint.ts). Events already stored keep their organization-chain
-- position and links and verify under their rule (src/audit/chain.ts legacyLinkHash); chain_sequence becomes
-- NULL for new events, which SQLite's unique constraints let repeat. The table is rebuilt because SQLite cannot
-- change a column's constraints in place; its rows, global sequence and ids are copied unchanged.

CREATE TABLE events_next (
  sequence        INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id        TEXT NOT NULL UNIQUE,
  organization_id TEXT NOT NULL,
  aggregate_type  TEXT NOT NULL,
  aggregate_id    TEXT NOT NULL,
  version         INTEGER NOT NULL CHECK (version >= 1),
  type            TEXT NOT NULL,
  data            TEXT NOT NULL,
  metadata        TEXT NOT NULL,
  occurred_at     TEXT NOT NULL,
  chain_sequence  INTEGER CHECK (chain_sequence IS NULL OR chain_sequence >= 1),
  prev_hash       TEXT NOT NULL,
  hash            TEXT NOT NULL,
  UNIQUE (organization_id, aggregate_id, version),
  UNIQUE (organization_id, chain_sequence)
);

INSERT INTO events_next (sequence, event_id, organization_id, aggregate_type, aggregate_id, version, type, data,
  metadata, occurred_at, chain_sequence, prev_hash, hash)
SELECT sequence, event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata,
  occurred_at, chain_sequence, prev_hash, hash
FROM events ORDER BY sequence;

DROP TABLE events;
ALTER TABLE events_next RENAME TO events;

-- An organization's events in commit order: checkpoints and the organization's feed read them this way.
CREATE INDEX events_organization_sequence ON events (organization_id, sequence);

-- An event must describe the row as written in the same atomic unit: its version is the row's.
CREATE TRIGGER events_match_user_version
BEFORE INSERT ON events
WHEN NEW.aggregate_type = 'User'
  AND NEW.version IS NOT (SELECT version FROM users WHERE organization_id = NEW.organization_id AND id = NEW.aggregate_id)
BEGIN
  SELECT RAISE(ABORT, 'event version does not match the user row');
END;

-- An event must link to its user's previous event (the genesis hash for the first): two writers that read the same
-- head cannot both extend it, and an event cannot be slipped into the middle of a chain.
CREATE TRIGGER events_extend_user_chain
BEFORE INSERT ON events
WHEN NEW.prev_hash IS NOT COALESCE(
  (SELECT hash FROM events
   WHERE organization_id = NEW.organization_id AND aggregate_id = NEW.aggregate_id AND version = NEW.version - 1),
  CASE WHEN NEW.version = 1 THEN '0000000000000000000000000000000000000000000000000000000000000000' END
)
BEGIN
  SELECT RAISE(ABORT, 'event does not extend its user chain');
END;

-- The organization-wide chain is closed: no new event takes a place in it.
CREATE TRIGGER events_no_organization_chain
BEFORE INSERT ON events
WHEN NEW.chain_sequence IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'the organization-wide chain is closed');
END;

CREATE TRIGGER events_no_update
BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete
BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

-- Each checkpoint seals the organization's events since the previous one (src/audit/checkpoint.ts).
CREATE TABLE audit_checkpoints (
  organization_id      TEXT NOT NULL,
  sequence             INTEGER NOT NULL CHECK (sequence >= 1),
  up_to_event_sequence INTEGER NOT NULL,
  event_count          INTEGER NOT NULL CHECK (event_count >= 0),
  root                 TEXT NOT NULL,
  prev_hash            TEXT NOT NULL,
  hash                 TEXT NOT NULL,
  created_at           TEXT NOT NULL,
  PRIMARY KEY (organization_id, sequence)
);

-- A checkpoint extends the organization's previous one and seals nothing twice: two that raced, one is refused.
CREATE TRIGGER audit_checkpoints_extend
BEFORE INSERT ON audit_checkpoints
WHEN NEW.prev_hash IS NOT COALESCE(
  (SELECT hash FROM audit_checkpoints WHERE organization_id = NEW.organization_id AND sequence = NEW.sequence - 1),
  CASE WHEN NEW.sequence = 1 THEN '0000000000000000000000000000000000000000000000000000000000000000' END
) OR NEW.up_to_event_sequence < COALESCE(
  (SELECT up_to_event_sequence FROM audit_checkpoints
   WHERE organization_id = NEW.organization_id AND sequence = NEW.sequence - 1),
  0
)
BEGIN
  SELECT RAISE(ABORT, 'checkpoint does not extend the organization checkpoints');
END;

CREATE TRIGGER audit_checkpoints_no_update
BEFORE UPDATE ON audit_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'checkpoints are append-only');
END;

CREATE TRIGGER audit_checkpoints_no_delete
BEFORE DELETE ON audit_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'checkpoints are append-only');
END;
