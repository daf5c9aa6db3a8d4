-- Migration number: 0001 	 initial schema: tenants, API keys, users (PII), append-only events
-- The same file is applied to D1 by `wrangler d1 migrations apply` and to SQLite files at start-up.

CREATE TABLE organizations (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL
);

-- Only the SHA-256 of a key is stored; the key itself is shown once when it is created.
CREATE TABLE api_keys (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  key_hash        TEXT NOT NULL UNIQUE,
  label           TEXT,
  created_at      TEXT NOT NULL,
  revoked_at      TEXT
);

-- The aggregate's current state. It holds the raw number (E.164), so it can be erased.
-- Ids are scoped to the organization: tenants never see or collide with each other's users.
CREATE TABLE users (
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  id              TEXT NOT NULL,
  phone_number    TEXT,
  version         INTEGER NOT NULL CHECK (version >= 1),
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  PRIMARY KEY (organization_id, id)
);

-- The audit stream. UNIQUE (organization_id, aggregate_id, version) is the optimistic-concurrency guard.
CREATE TABLE events (
  sequence        INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id        TEXT NOT NULL UNIQUE,
  organization_id TEXT NOT NULL,
  aggregate_type  TEXT NOT NULL,
  aggregate_id    TEXT NOT NULL,
  version         INTEGER NOT NULL,
  type            TEXT NOT NULL,
  data            TEXT NOT NULL,
  metadata        TEXT NOT NULL,
  occurred_at     TEXT NOT NULL,
  UNIQUE (organization_id, aggregate_id, version)
);

-- An event must describe the row as written in the same atomic unit: its version is the row's.
CREATE TRIGGER events_match_user_version
BEFORE INSERT ON events
WHEN NEW.aggregate_type = 'User'
  AND NEW.version IS NOT (SELECT version FROM users WHERE organization_id = NEW.organization_id AND id = NEW.aggregate_id)
BEGIN
  SELECT RAISE(ABORT, 'event version does not match the user row');
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
