// For src/audit/verify.ts, through any synchronous query function.
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
