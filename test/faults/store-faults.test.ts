/**
 * Store faults through the real fetch handler over a real SQLite file (test/support/faults.ts around the SQLite
 * transaction): for each step UpdatePhoneNumber answers 503 with Retry-After, a fault before or during the atomic
 * write leaves the row and the events byte for byte as they were, and the client's retry with the same
 * Idempotency-Key succeeds exactly once, with exactly one new event in all. After the commit the key's answer was
 * kept with the change, so the retry replays it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { FetchHandler } from "../../src/fetch-handler.js"
import { call, expectProblem } from "../support/client.js"
import { FAULT_STEPS, type Faults, makeFaults } from "../support/faults.js"
import { makeSqliteFixture, type SqliteFixture, type Tenant } from "../support/sqlite-fixture.js"
import { handlerOver } from "./support/handler.js"

let f: SqliteFixture
let faults: Faults
let faulty: FetchHandler
let tenant: Tenant
let service: string
let counter = 0

const update = (userId: string, phoneNumber: string, key: string) =>
  call(faulty.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, {
    token: service,
    apiKey: tenant.apiKey,
    body: { phoneNumber },
    headers: { "idempotency-key": key }
  })

/** Every column of the user's row and of the whole events table. */
const tables = (userId: string) => ({
  user: f.query("SELECT * FROM users WHERE organization_id = ? AND id = ?", tenant.organizationId, userId),
  events: f.query("SELECT * FROM events ORDER BY sequence")
})

beforeAll(async () => {
  f = await makeSqliteFixture()
  faults = makeFaults()
  faulty = handlerOver(f, { faults })
})
afterAll(async () => {
  await faulty.dispose()
  await f.dispose()
})
beforeEach(async () => {
  faults.disarm()
  tenant = await f.newTenant()
  service = await f.serviceToken("users:read users:write", tenant.organizationId)
})

describe.each(FAULT_STEPS)("a store fault %s the atomic write of UpdatePhoneNumber", (step) => {
  it("answers 503 with Retry-After; the retry with the same Idempotency-Key succeeds once, one new event in all", async () => {
    const userId = `faulted_${step}_${++counter}`
    const created = await call(faulty.fetch, "POST", "/users", {
      token: service,
      apiKey: tenant.apiKey,
      body: { id: userId, phoneNumber: "+1 415 555 2671" }
    })
    expect(created.status).toBe(201)
    const before = tables(userId)
    const key = crypto.randomUUID()

    faults.arm(step)
    const failed = await update(userId, "+1 415 555 2672", key)
    expectProblem(failed, 503, "store-unavailable")
    expect(failed.headers.get("retry-after")).toBe("1")
    expect(failed.text).not.toMatch(/4155552672|555 2672/)
    expect(faults.injected[step]).toBe(1)

    const afterFault = tables(userId)
    const kept = f.query("SELECT state FROM idempotency_keys WHERE idempotency_key = ?", key)
    if (step === "after") {
      // The write landed with its key's answer; only the answer sent was lost.
      expect(afterFault.user).toMatchObject([{ phone_number: "+14155552672", version: 2 }])
      expect(afterFault.events).toHaveLength(before.events.length + 1)
      expect(kept).toEqual([{ state: "completed" }])
    } else {
      expect(afterFault).toEqual(before)
      // A 503 is not kept: the key is free for the retry.
      expect(kept).toEqual([])
    }

    const retry = await update(userId, "+1 415 555 2672", key)
    expect(retry.status).toBe(200)
    expect(retry.headers.get("idempotent-replayed")).toBe(step === "after" ? "true" : null)
    expect(retry.body).toMatchObject({
      version: 2,
      event: { version: 2, data: { maskedPhoneNumber: "****2672", previousMaskedPhoneNumber: "****2671" } }
    })

    const final = tables(userId)
    expect(final.user).toMatchObject([{ phone_number: "+14155552672", version: 2 }])
    expect(final.events).toHaveLength(before.events.length + 1)
    expect(final.events.slice(0, before.events.length)).toEqual(before.events)
    expect(final.events.at(-1)).toMatchObject({ aggregate_id: userId, version: 2, type: "UserPhoneNumberUpdated" })

    // And from now on the key answers what the retry got, writing nothing.
    const replay = await update(userId, "+1 415 555 2672", key)
    expect(replay.headers.get("idempotent-replayed")).toBe("true")
    expect(replay.text).toBe(retry.text)
    expect(tables(userId)).toEqual(final)
  })
})

describe.each(FAULT_STEPS)("a store fault %s the atomic write of POST /users", (step) => {
  // Creating an existing id is a 409 whatever the number: a create whose answer was lost gets its 201 back only
  // because the key's answer was kept with the user it created.
  it(`answers 503; the retry with the same Idempotency-Key then ${step === "after" ? "replays the 201" : "creates it"}, one event in all`, async () => {
    const userId = `created_${step}_${++counter}`
    const key = crypto.randomUUID()
    const create = () =>
      call(faulty.fetch, "POST", "/users", {
        token: service,
        apiKey: tenant.apiKey,
        body: { id: userId, phoneNumber: "+1 415 555 2671" },
        headers: { "idempotency-key": key }
      })
    const before = tables(userId)
    const injectedBefore = faults.injected[step]

    faults.arm(step)
    const failed = await create()
    expectProblem(failed, 503, "store-unavailable")
    expect(faults.injected[step]).toBe(injectedBefore + 1)
    const kept = f.query("SELECT state FROM idempotency_keys WHERE idempotency_key = ?", key)
    expect(kept).toEqual(step === "after" ? [{ state: "completed" }] : [])
    if (step !== "after") expect(tables(userId)).toEqual(before)

    const retry = await create()
    expect(retry.status).toBe(201)
    expect(retry.headers.get("idempotent-replayed")).toBe(step === "after" ? "true" : null)
    expect(retry.body.event).toMatchObject({
      type: "UserCreated",
      version: 1,
      metadata: { actor: { type: "service", id: "svc_test" } }
    })
    const final = tables(userId)
    expect(final.user).toMatchObject([{ phone_number: "+14155552671", version: 1 }])
    expect(final.events).toHaveLength(before.events.length + 1)

    // The retry's answer is the key's from now on.
    const replay = await create()
    expect(replay.headers.get("idempotent-replayed")).toBe("true")
    expect(replay.text).toBe(retry.text)
  })
})
