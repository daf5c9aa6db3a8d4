/**
 * The audit trail on D1, where nothing is shared between writers: concurrent writers on different users of one
 * organization each extend their own user's chain, a checkpoint seals them all, and everything verifies.
 */
import { describe, expect, it } from "@effect/vitest"
import { verifyAudit } from "../../src/audit/verify.js"
import {
  type CheckpointRow,
  type EventRow,
  SELECT_ALL_CHECKPOINTS,
  SELECT_ALL_EVENTS,
  SELECT_USER_VERSIONS,
  toCheckpoint,
  toStoredEvent
} from "../../src/layers/sql/rows.js"
import { makeD1Api, rows } from "./support/d1-fixture.js"

describe("the audit trail on D1", () => {
  it("links each user's events, seals them with a checkpoint, and verifies, under 15 concurrent writers", async () => {
    const api = await makeD1Api()
    const created = await Promise.all(
      Array.from({ length: 15 }, (_, i) => api.createUser(`chain_${i}`, `+1 415 555 ${2700 + i}`))
    )
    expect(created.map((r) => r.status)).toEqual(created.map(() => 201))
    const head = await api.auditHead()
    expect(head.status).toBe(200)
    expect(head.body).toMatchObject({ sequence: 1, eventCount: 15 })
    const report = verifyAudit({
      events: (await rows<EventRow>(SELECT_ALL_EVENTS)).map(toStoredEvent),
      checkpoints: (await rows<CheckpointRow>(SELECT_ALL_CHECKPOINTS)).map(toCheckpoint),
      users: (await rows<{ organization_id: string; id: string; version: number }>(SELECT_USER_VERSIONS)).map((r) => ({
        organizationId: r.organization_id,
        userId: r.id,
        version: r.version
      }))
    })
    expect(report.broken).toBeUndefined()
    expect(report.organizations[api.tenant.organizationId]).toMatchObject({
      events: 15,
      users: 15,
      checkpoint: { sequence: 1, hash: head.body.hash },
      unsealedEvents: 0
    })
  })
})
