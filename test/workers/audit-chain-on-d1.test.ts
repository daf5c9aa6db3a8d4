/**
 * The audit trail on D1, where nothing is shared between writers: concurrent writers on different users of one
 * organization each extend their own user's chain, a checkpoint seals them all, and everything verifies.
 */
import { describe, expect, it } from "@effect/vitest"
import { auditOf, makeD1Api } from "./support/d1-fixture.js"

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
    const report = await auditOf()
    expect(report.broken).toBeUndefined()
    expect(report.organizations[api.tenant.organizationId]).toMatchObject({
      events: 15,
      users: 15,
      checkpoint: { sequence: 1, hash: head.body.hash },
      unsealedEvents: 0,
      redactedEvents: 0
    })
  })
})
