/**
 * A store's whole audit trail as src/audit/verify.ts reads it: every event, checkpoint and users row version, through
 * any synchronous query function (bun:sqlite for `npm run audit:verify`, better-sqlite3 in tests).
 */
import type { AuditInput } from "../../audit/verify.js"
import {
  type CheckpointRow,
  type EventRow,
  SELECT_ALL_CHECKPOINTS,
  SELECT_ALL_EVENTS,
  SELECT_USER_VERSIONS,
  toCheckpoint,
  toStoredEvent
} from "./rows.js"

export const readAuditInput = (all: (sql: string) => ReadonlyArray<unknown>) =>
  ({
    events: (all(SELECT_ALL_EVENTS) as ReadonlyArray<EventRow>).map(toStoredEvent),
    checkpoints: (all(SELECT_ALL_CHECKPOINTS) as ReadonlyArray<CheckpointRow>).map(toCheckpoint),
    users: (all(SELECT_USER_VERSIONS) as ReadonlyArray<{ organization_id: string; id: string; version: number }>).map((
      row
    ) => ({ organizationId: row.organization_id, userId: row.id, version: Number(row.version) }))
  }) satisfies AuditInput
