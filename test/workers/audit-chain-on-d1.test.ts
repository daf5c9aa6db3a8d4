/**
 * The audit chain on D1, where the head is read before the batch rather than inside a transaction: concurrent
 * writers on different users of one organization never fork the chain, and every link recomputes.
 */
import { describe, expect, it } from "@effect/vitest"
import { verifyChain } from "../../src/audit/chain.js"
import { type EventRow, SELECT_CHAIN, toStoredLink } from "../../src/layers/sql/rows.js"
import { makeD1Api, rows } from "./support/d1-fixture.js"

describe("the audit chain on D1", () => {
  it("stays one unbroken, verifiable sequence under 15 concurrent writers", async () => {
    const api = await makeD1Api()
    const created = await Promise.all(
      Array.from({ length: 15 }, (_, i) => api.createUser(`chain_${i}`, `+1 415 555 ${2700 + i}`))
    )
    expect(created.map((r) => r.status)).toEqual(created.map(() => 201))
    const organization = await rows<{ chain_sequence: number }>(
      "SELECT chain_sequence FROM events WHERE organization_id = ? ORDER BY chain_sequence",
      api.tenant.organizationId
    )
    expect(organization.map((r) => r.chain_sequence)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1))
    const result = await verifyChain((await rows<EventRow>(SELECT_CHAIN)).map(toStoredLink))
    expect(result.broken).toBeUndefined()
    expect(result.heads[api.tenant.organizationId]?.sequence).toBe(15)
  })
})
