-- Migration number: 0008 	 erasure that forgets: fingerprints beside the events, and redaction of older events
-- The same file is applied to D1 by `wrangler d1 migrations apply` and to SQLite files at start-up.
--
-- From here on an event keeps only a salted commitment to each fingerprint (src/layers/masker.ts); the fingerprint
-- and its salt are kept in phone_fingerprints, one row per event, which the user's erasure deletes
-- (src/layers/sql/fingerprint-rows.ts). Events written before carry the fingerprint itself inside their hashed data:
-- erasure removes those two fields in place (the one UPDATE the events table allows) and lists the event in
-- redacted_events, whose link is then checked by its stored hash only (docs/DECISIONS.md, "Erasure that forgets").
-- Copy before redaction, and every statement can run again: stopped half-way (SQLite rolls the whole file back),
-- every fingerprint is still readable somewhere, and applying the file again completes it.

CREATE TABLE IF NOT EXISTS phone_fingerprints (
  organization_id TEXT NOT NULL,
  aggregate_id    TEXT NOT NULL,
  version         INTEGER NOT NULL,
  -- JSON: phoneNumberFingerprint and phoneNumberSalt, previousPhoneNumberFingerprint and previousPhoneNumberSalt
  -- (no salts for events written before this migration, which hashed the fingerprint itself).
  fingerprints    TEXT NOT NULL,
  PRIMARY KEY (organization_id, aggregate_id, version)
);

-- The older events' fingerprints are served from here too, so a tenant reads them in one place.
INSERT INTO phone_fingerprints (organization_id, aggregate_id, version, fingerprints)
SELECT organization_id, aggregate_id, version, json_patch('{}', json_object(
  'phoneNumberFingerprint', json_extract(data, '$.phoneNumberFingerprint'),
  'previousPhoneNumberFingerprint', json_extract(data, '$.previousPhoneNumberFingerprint')))
FROM events
WHERE json_type(data, '$.phoneNumberFingerprint') IS NOT NULL
  OR json_type(data, '$.previousPhoneNumberFingerprint') IS NOT NULL
ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS redacted_events (
  organization_id TEXT NOT NULL,
  aggregate_id    TEXT NOT NULL,
  version         INTEGER NOT NULL,
  PRIMARY KEY (organization_id, aggregate_id, version)
);

CREATE TRIGGER IF NOT EXISTS redacted_events_erased_only
BEFORE INSERT ON redacted_events
WHEN (SELECT erased_at FROM users WHERE organization_id = NEW.organization_id AND id = NEW.aggregate_id) IS NULL
BEGIN
  SELECT RAISE(ABORT, 'only the events of an erased user are redacted');
END;

CREATE TRIGGER IF NOT EXISTS redacted_events_no_update
BEFORE UPDATE ON redacted_events
BEGIN
  SELECT RAISE(ABORT, 'redactions are append-only');
END;

CREATE TRIGGER IF NOT EXISTS redacted_events_no_delete
BEFORE DELETE ON redacted_events
BEGIN
  SELECT RAISE(ABORT, 'redactions are append-only');
END;

-- Still append-only, but for one change: a listed event loses its two fingerprint fields, and nothing else changes.
DROP TRIGGER IF EXISTS events_no_update;
CREATE TRIGGER events_no_update
BEFORE UPDATE ON events
WHEN NOT (
  NEW.data IS json_remove(OLD.data, '$.phoneNumberFingerprint', '$.previousPhoneNumberFingerprint')
  AND NEW.sequence IS OLD.sequence AND NEW.event_id IS OLD.event_id AND NEW.organization_id IS OLD.organization_id
  AND NEW.aggregate_type IS OLD.aggregate_type AND NEW.aggregate_id IS OLD.aggregate_id
  AND NEW.version IS OLD.version AND NEW.type IS OLD.type AND NEW.metadata IS OLD.metadata
  AND NEW.occurred_at IS OLD.occurred_at AND NEW.chain_sequence IS OLD.chain_sequence
  AND NEW.prev_hash IS OLD.prev_hash AND NEW.hash IS OLD.hash AND NEW.organization_sequence IS OLD.organization_sequence
  AND EXISTS (SELECT 1 FROM redacted_events r WHERE r.organization_id = OLD.organization_id
    AND r.aggregate_id = OLD.aggregate_id AND r.version = OLD.version)
)
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

-- Users erased before this migration: forget now what their events still hold.
DELETE FROM phone_fingerprints WHERE EXISTS (SELECT 1 FROM users u
  WHERE u.organization_id = phone_fingerprints.organization_id AND u.id = phone_fingerprints.aggregate_id
    AND u.erased_at IS NOT NULL);

INSERT INTO redacted_events (organization_id, aggregate_id, version)
SELECT e.organization_id, e.aggregate_id, e.version FROM events e
JOIN users u ON u.organization_id = e.organization_id AND u.id = e.aggregate_id
WHERE u.erased_at IS NOT NULL
  AND (json_type(e.data, '$.phoneNumberFingerprint') IS NOT NULL
    OR json_type(e.data, '$.previousPhoneNumberFingerprint') IS NOT NULL)
ON CONFLICT DO NOTHING;

UPDATE events SET data = json_remove(data, '$.phoneNumberFingerprint', '$.previousPhoneNumberFingerprint')
WHERE EXISTS (SELECT 1 FROM redacted_events r WHERE r.organization_id = events.organization_id
  AND r.aggregate_id = events.aggregate_id AND r.version = events.version);
