-- Migration number: 0010 	 phone policies, verification-code counts, lookup by number and its record
-- The same file is applied to D1 by `wrangler d1 migrations apply` and to SQLite files at start-up.

-- One row per organization that set a policy; the others have the defaults (src/domain/phone-policy.ts).
CREATE TABLE IF NOT EXISTS phone_policies (
  organization_id TEXT PRIMARY KEY,
  policy          TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);

-- Codes counted per fixed window. An allowance adds one to each of its three rows in one atomic write; the CHECK
-- makes the write fail, counting nothing, when one would pass its quota (src/layers/sql/phone-policy-store.ts).
-- subject: the hashed number key, the user id, or '' for the organization.
CREATE TABLE IF NOT EXISTS verification_code_counts (
  organization_id TEXT NOT NULL,
  limit_name      TEXT NOT NULL,
  subject         TEXT NOT NULL,
  window_start    INTEGER NOT NULL,
  window_end      INTEGER NOT NULL,
  count           INTEGER NOT NULL,
  quota           INTEGER NOT NULL,
  CONSTRAINT verification_code_quota CHECK (count <= quota),
  PRIMARY KEY (organization_id, limit_name, subject, window_start)
);
CREATE INDEX IF NOT EXISTS verification_code_counts_expiry ON verification_code_counts (organization_id, window_end);

-- The keyed fingerprint of the current number (HMAC-SHA-256 under PHONE_FINGERPRINT_KEY, as events commit to):
-- lookup by number reads this index, never the numbers. Written with the number, cleared with it.
ALTER TABLE users ADD COLUMN phone_number_key TEXT;
CREATE INDEX IF NOT EXISTS users_phone_number_key ON users (organization_id, phone_number_key)
WHERE phone_number_key IS NOT NULL;

-- Numbers not keyed yet (written before this migration): the next lookup of their organization keys them.
CREATE INDEX IF NOT EXISTS users_phone_number_unkeyed ON users (organization_id)
WHERE phone_number IS NOT NULL AND phone_number_key IS NULL;

CREATE TRIGGER IF NOT EXISTS users_number_key_needs_number_insert
BEFORE INSERT ON users
WHEN NEW.phone_number IS NULL AND NEW.phone_number_key IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'a phone number key without a phone number');
END;

CREATE TRIGGER IF NOT EXISTS users_number_key_needs_number_update
BEFORE UPDATE ON users
WHEN NEW.phone_number IS NULL AND NEW.phone_number_key IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'a phone number key without a phone number');
END;

-- Every lookup by number, for the organization's auditors: who asked, how many, and the masked forms only.
CREATE TABLE IF NOT EXISTS phone_lookups (
  organization_id TEXT NOT NULL,
  sequence        INTEGER NOT NULL CHECK (sequence >= 1),
  id              TEXT NOT NULL,
  occurred_at     TEXT NOT NULL,
  actor           TEXT NOT NULL,
  request_id      TEXT NOT NULL,
  numbers_count   INTEGER NOT NULL,
  matches_count   INTEGER NOT NULL,
  -- JSON array of masked numbers, in the order asked.
  masked_phone_numbers TEXT NOT NULL,
  PRIMARY KEY (organization_id, sequence)
);
