/**
 * Concurrent UpdatePhoneNumber calls on one user over D1, without If-Match: every call succeeds (a lost race is
 * retried against the fresh row), versions stay contiguous, and no update is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { SELF } from "cloudflare:test"
import { type ApiClient, eventRows, makeApiClient, makeD1Api, seedTenant, userRow } from "./support/d1-fixture.js"

const UPDATES = 20

// Twenty distinct valid numbers (+1 415 555 2600 ... 2619), so every call is a change.
const numbers = Array.from({ length: UPDATES }, (_, i) => `+1 415 555 ${2600 + i}`)

/** Sends all updates at once and checks what D1 holds afterwards. */
const expectNoLostUpdate = async (
  api: Pick<ApiClient, "tenant" | "createUser" | "updatePhoneNumber">,
  userId: string
) => {
  expect((await api.createUser(userId)).status).toBe(201)

  const responses = await Promise.all(numbers.map((n) => api.updatePhoneNumber(userId, n)))
  const bodies = await Promise.all(responses.map((r) => r.json() as Promise<any>))

  expect(responses.map((r) => r.status)).toEqual(numbers.map(() => 200))
  expect(bodies.map((b) => b.version).sort((a, b) => a - b)).toEqual(numbers.map((_, i) => i + 2))
  expect(bodies.every((b) => b.event?.type === "UserPhoneNumberUpdated")).toBe(true)

  const events = await eventRows(api.tenant.organizationId, userId)
  expect(events.map((e) => e.version)).toEqual(Array.from({ length: UPDATES + 1 }, (_, i) => i + 1))
  const updates = events.filter((e) => e.type === "UserPhoneNumberUpdated").map((e) => JSON.parse(e.data))
  expect(updates).toHaveLength(UPDATES)
  // Each event starts from the number the one before it set: no write was based on a stale row.
  updates.forEach((data, i) => {
    expect(data.previousMaskedPhoneNumber).toBe(i === 0 ? null : updates[i - 1].maskedPhoneNumber)
  })
  // Every number sent was written once, and the row holds the last event's number.
  expect(updates.map((d) => d.maskedPhoneNumber).sort()).toEqual(numbers.map((n) => `****${n.slice(-4)}`).sort())
  const row = await userRow(api.tenant.organizationId, userId)
  expect(row?.version).toBe(UPDATES + 1)
  expect(`****${row?.phone_number?.slice(-4)}`).toBe(updates[UPDATES - 1].maskedPhoneNumber)
}

describe("concurrent updates of one user on D1", () => {
  let api: ApiClient
  beforeAll(async () => {
    api = await makeD1Api()
  })
  afterAll(() => api.handler.dispose())

  it(`applies ${UPDATES} concurrent calls through the fetch handler, each once, at versions 2 to ${UPDATES + 1}`, () =>
    expectNoLostUpdate(api, "u_race"))

  it(`applies ${UPDATES} concurrent requests to the Worker, each in its own request context`, async () => {
    const client = await makeApiClient((request) => SELF.fetch(request), await seedTenant())
    await expectNoLostUpdate(client, "u_race_worker")
  })
})
