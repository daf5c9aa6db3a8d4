-- Migration number: 0009 	 verified phone number changes: the pending change per user, the code-delivery endpoint
-- The same file is applied to D1 by `wrangler d1 migrations apply` and to SQLite files at start-up.
--
-- A pending change holds the new number (PII, like users.phone_number) and only a keyed hash of its code
-- (HMAC-SHA-256 under VERIFICATION_CODE_KEY): the code itself is never stored. One per user: a new request replaces
-- it; confirming, expiring and erasure delete it (src/layers/sql/phone-verification-rows.ts). A pending number
-- reserves nothing: uniqueness stays on users.phone_number.
CREATE TABLE IF NOT EXISTS pending_phone_changes (
  organization_id     TEXT NOT NULL,
  user_id             TEXT NOT NULL,
  id                  TEXT NOT NULL,
  phone_number        TEXT NOT NULL,
  masked_phone_number TEXT NOT NULL,
  code_hash           TEXT NOT NULL,
  attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  expires_at          TEXT NOT NULL,
  PRIMARY KEY (organization_id, user_id)
);

-- The organization's SMS gateway: codes are posted there, signed as event webhooks are.
CREATE TABLE IF NOT EXISTS code_delivery_endpoints (
  organization_id TEXT PRIMARY KEY,
  url             TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
