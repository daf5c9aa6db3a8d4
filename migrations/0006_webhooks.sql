-- Migration number: 0006 	 webhook subscriptions, and the deliveries the relay derives from the events
-- The same file is applied to D1 by `wrangler d1 migrations apply` and to SQLite files at start-up.
--
-- Nothing here is written by the request path: a command still writes its users row and its event, and nothing else
-- (docs/DECISIONS.md, "Webhooks and the feed"). The relay (src/app/webhook-relay.ts) reads each active subscription's events after
-- its cursor, writes one delivery per matching event and moves the cursor, in one atomic unit; so an event committed
-- is either behind a cursor with its delivery written, or ahead of it, and none is lost in between. Every table lives
-- on the organization's shard, like its events.

-- A subscription's signing secret is not stored: it is derived from the server's WEBHOOK_SECRET_KEY, the id and the
-- generation (src/app/webhook-secrets.ts). A rotation bumps the generation and keeps signing with the previous one
-- until previous_until (24 h), so a receiver has a day to switch.
CREATE TABLE webhook_subscriptions (
  organization_id     TEXT NOT NULL REFERENCES organizations (id),
  id                  TEXT NOT NULL UNIQUE,
  url                 TEXT NOT NULL CHECK (length(url) <= 2048),
  -- A JSON array of event types, e.g. ["UserPhoneNumberUpdated"].
  event_types         TEXT NOT NULL,
  secret_generation   INTEGER NOT NULL CHECK (secret_generation >= 1),
  previous_generation INTEGER,
  previous_until      TEXT,
  status              TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  -- Why it was disabled: 'receiver-gone' when the receiver answered 410 Gone.
  disabled_reason     TEXT,
  disabled_at         TEXT,
  -- The last events.sequence of this shard turned into deliveries; a new subscription starts at the current end.
  cursor              INTEGER NOT NULL,
  created_at          TEXT NOT NULL,
  PRIMARY KEY (organization_id, id)
);

-- One per (subscription, event): the webhook-id a receiver sees is the event id, the same on every attempt.
CREATE TABLE webhook_deliveries (
  organization_id   TEXT NOT NULL,
  subscription_id   TEXT NOT NULL,
  event_sequence    INTEGER NOT NULL,
  event_id          TEXT NOT NULL,
  event_type        TEXT NOT NULL,
  aggregate_id      TEXT NOT NULL,
  version           INTEGER NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  -- Attempts since the delivery was created or last re-sent; the retry schedule counts these.
  attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at   TEXT NOT NULL,
  -- When the current retry window began (creation or re-send): past it plus a day, a failed attempt is the last.
  window_started_at TEXT NOT NULL,
  -- Who is sending it now, and until when: a relay that dies mid-send leaves a lease that simply expires.
  lease_owner       TEXT,
  lease_until       TEXT,
  created_at        TEXT NOT NULL,
  completed_at      TEXT,
  PRIMARY KEY (subscription_id, event_sequence)
);

-- What is due, for the relay's claim.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
-- A user's earlier deliveries to the same subscription, for the order check of every claim.
CREATE INDEX webhook_deliveries_user ON webhook_deliveries (subscription_id, aggregate_id, event_sequence);
-- A subscription's deliveries by status, for GET …/deliveries?status=, and one by its event id.
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (subscription_id, status, event_sequence);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (subscription_id, event_id);
-- A claim's own deliveries (its lease token), and what retention sweeps.
CREATE INDEX webhook_deliveries_lease ON webhook_deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX webhook_deliveries_completed ON webhook_deliveries (status, completed_at);

-- Every attempt, as the operator needs it: when, how long, and what came back (an HTTP status, or the kind of error;
-- at most 256 characters of the receiver's answer, never more).
CREATE TABLE webhook_attempts (
  id               INTEGER PRIMARY KEY,
  subscription_id  TEXT NOT NULL,
  event_sequence   INTEGER NOT NULL,
  attempted_at     TEXT NOT NULL,
  duration_ms      INTEGER NOT NULL,
  outcome          TEXT NOT NULL,
  http_status      INTEGER,
  response_excerpt TEXT CHECK (response_excerpt IS NULL OR length(response_excerpt) <= 256)
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (subscription_id, event_sequence, id);
