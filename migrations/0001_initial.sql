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
  phone_number_verified INTEGER NOT NULL DEFAULT 0 CHECK (phone_number_verified IN (0, 1)),
  erased_at       TEXT,
  version         INTEGER NOT NULL CHECK (version >= 1),
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  PRIMARY KEY (organization_id, id)
);

-- A number belongs to at most one user of an organization (see docs/DECISIONS.md, "Phone numbers").
CREATE UNIQUE INDEX users_phone_number_unique ON users (organization_id, phone_number) WHERE phone_number IS NOT NULL;

-- The audit stream. UNIQUE (organization_id, aggregate_id, version) is the optimistic-concurrency guard.
-- Events of an organization form a hash chain: hash = SHA-256(prev_hash || canonical JSON of the event),
-- at chain_sequence 1, 2, 3... (src/audit/chain.ts). UNIQUE (organization_id, chain_sequence) makes two
-- writers that read the same chain head collide instead of forking the chain.
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
  chain_sequence  INTEGER NOT NULL CHECK (chain_sequence >= 1),
  prev_hash       TEXT NOT NULL,
  hash            TEXT NOT NULL,
  UNIQUE (organization_id, aggregate_id, version),
  UNIQUE (organization_id, chain_sequence)
);

-- An event must describe the row as written in the same atomic unit: its version is the row's.
CREATE TRIGGER events_match_user_version
BEFORE INSERT ON events
WHEN NEW.aggregate_type = 'User'
  AND NEW.version IS NOT (SELECT version FROM users WHERE organization_id = NEW.organization_id AND id = NEW.aggregate_id)
BEGIN
  SELECT RAISE(ABORT, 'event version does not match the user row');
END;

-- An event must link to the current head of its organization's chain (the genesis hash for the first).
CREATE TRIGGER events_extend_chain
BEFORE INSERT ON events
WHEN NEW.prev_hash IS NOT COALESCE(
  (SELECT hash FROM events WHERE organization_id = NEW.organization_id AND chain_sequence = NEW.chain_sequence - 1),
  CASE WHEN NEW.chain_sequence = 1 THEN '0000000000000000000000000000000000000000000000000000000000000000' END
)
BEGIN
  SELECT RAISE(ABORT, 'event does not extend the audit chain');
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
