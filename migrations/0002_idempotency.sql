-- Migration number: 0002 	 idempotency keys: the first completed answer per (organization, Idempotency-Key)
-- The same file is applied to D1 by `wrangler d1 migrations apply` and to SQLite files at start-up.

-- One row per key an organization's clients sent (src/layers/sql/idempotency-store.ts, docs/DECISIONS.md).
-- 'in_progress' rows are locks held by a running request (lock_token names it) until expires_at, so a crashed
-- request frees its key; 'completed' rows hold the answer (status, a few headers, body) until expires_at.
-- request_hash is SHA-256 over method, path, caller, If-Match and body bytes: a key sent again with another
-- request is refused. Bodies kept here are command answers: masked events or problems, never a raw number.
CREATE TABLE idempotency_keys (
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  idempotency_key  TEXT NOT NULL,
  request_hash     TEXT NOT NULL,
  state            TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
  lock_token       TEXT,
  response_status  INTEGER,
  response_headers TEXT,
  response_body    TEXT,
  created_at       TEXT NOT NULL,
  expires_at       TEXT NOT NULL,
  PRIMARY KEY (organization_id, idempotency_key),
  CHECK ((state = 'completed') = (response_status IS NOT NULL AND response_body IS NOT NULL))
);

-- The occasional sweep deletes a bounded batch of expired rows, oldest first.
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
