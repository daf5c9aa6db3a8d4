-- Migration number: 0007 	 event numbers per organization
-- The same file is applied to D1 by `wrangler d1 migrations apply` and to SQLite files at start-up.
--
-- events.sequence numbers every event of the store, so the gaps between one organization's numbers counted the
-- other organizations' writes. organization_sequence numbers each organization's events 1, 2, 3… in commit order,
-- gap-free, and is what a tenant sees (the feed, webhooks' chain.sequence, deliveries, checkpoints); sequence stays
-- the store's row id. The write takes the organization's next number in its own atomic unit (src/layers/sql/rows.ts);
-- a trigger refuses any other number, and UNIQUE refuses a number taken twice.
ALTER TABLE events ADD COLUMN organization_sequence INTEGER CHECK (organization_sequence >= 1);

DROP TRIGGER events_no_update;

UPDATE events SET organization_sequence = numbered.n
FROM (SELECT sequence, row_number() OVER (PARTITION BY organization_id ORDER BY sequence) AS n FROM events) AS numbered
WHERE numbered.sequence = events.sequence;

CREATE UNIQUE INDEX events_organization_number ON events (organization_id, organization_sequence);

CREATE TRIGGER events_no_update
BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

-- The next number or nothing: with UNIQUE, an organization's numbers are 1…n without a gap. A number already taken
-- passes here and fails on UNIQUE, so copying an organization again (src/admin/shards.ts) skips what is there.
CREATE TRIGGER events_organization_sequence
BEFORE INSERT ON events
WHEN NEW.organization_sequence IS NULL OR NEW.organization_sequence > 1 + COALESCE(
  (SELECT max(organization_sequence) FROM events WHERE organization_id = NEW.organization_id), 0)
BEGIN
  SELECT RAISE(ABORT, 'event does not take the next number of its organization');
END;

-- Checkpoints seal up to an organization number. Those sealed before this migration keep their hash, which covers the
-- store's number they were sealed at: it moves to legacy_up_to_event_sequence, and verification hashes that one.
ALTER TABLE audit_checkpoints ADD COLUMN legacy_up_to_event_sequence INTEGER;

DROP TRIGGER audit_checkpoints_no_update;

UPDATE audit_checkpoints SET legacy_up_to_event_sequence = up_to_event_sequence,
  up_to_event_sequence = COALESCE((SELECT e.organization_sequence FROM events e
    WHERE e.organization_id = audit_checkpoints.organization_id AND e.sequence <= audit_checkpoints.up_to_event_sequence
    ORDER BY e.sequence DESC LIMIT 1), 0);

CREATE TRIGGER audit_checkpoints_no_update
BEFORE UPDATE ON audit_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'checkpoints are append-only');
END;

-- Deliveries and attempts name their event by its organization number (a subscription belongs to one organization).
-- Deliveries in two steps, through negative numbers, so that no intermediate row collides on the primary key.
UPDATE webhook_attempts SET event_sequence =
  (SELECT organization_sequence FROM events WHERE events.sequence = webhook_attempts.event_sequence);

UPDATE webhook_deliveries SET event_sequence =
  -(SELECT organization_sequence FROM events WHERE events.sequence = webhook_deliveries.event_sequence);

UPDATE webhook_deliveries SET event_sequence = -event_sequence;
