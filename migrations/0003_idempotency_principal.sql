-- Migration number: 0003 	 idempotency keys per (organization, principal, key), with the user each record is about
-- The same file is applied to D1 by `wrangler d1 migrations apply` and to SQLite files at start-up.

-- (docs/DECISIONS.md, "Idempotency and faults".) A key was shared by all of an organization's callers and could
-- be squatted by one of them; now it belongs to the principal that sent it too (`service:<sub>` or `user:<sub>`),
-- so two callers never share a key space. `user_id` names the user the command acted on, so that erasing that user
-- also deletes its completed records (their answers and request hashes).
--
-- The rows of 0002 are dropped rather than copied under a principal that never matches: no request could replay
-- them (the request hash is now an HMAC under IDEMPOTENCY_HASH_KEY, theirs a plain SHA-256), and their plain hashes
-- over bodies that may hold a number were guessable. A client retrying across the upgrade runs its
-- request again, as after any expiry.
DROP TABLE idempotency_keys;

-- 'in_progress' rows are locks held by a running request (lock_token names it) until expires_at, so a crashed
-- request frees its key; 'completed' rows hold the answer (status, a few headers, body) until expires_at.
-- request_hash is an HMAC-SHA-256 over method, path, caller, If-Match and body bytes: a key sent again with another
-- request is refused. Bodies kept here are command answers: masked events or problems, never a raw number.
CREATE TABLE idempotency_keys (
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  principal        TEXT NOT NULL,
  idempotency_key  TEXT NOT NULL,
  user_id          TEXT,
  request_hash     TEXT NOT NULL,
  state            TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
  lock_token       TEXT,
  response_status  INTEGER,
  response_headers TEXT,
  response_body    TEXT,
  created_at       TEXT NOT NULL,
  expires_at       TEXT NOT NULL,
  PRIMARY KEY (organization_id, principal, idempotency_key),
  CHECK ((state = 'completed') = (response_status IS NOT NULL AND response_body IS NOT NULL))
);

-- The occasional sweep deletes a bounded batch of expired rows, oldest first.
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);

-- Erasure deletes a user's completed records inside its own atomic write.
CREATE INDEX idempotency_keys_user ON idempotency_keys (organization_id, user_id) WHERE user_id IS NOT NULL;
