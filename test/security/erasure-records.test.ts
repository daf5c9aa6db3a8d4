/**
 * Issue 9: erasure left the user's Idempotency-Key records (their answers and request hashes) in `idempotency_keys`
 * for up to 24 hours. ErasePersonalData now deletes the user's completed records in its own atomic write, keeping
 * only the running erase request's own row, so that its answer is still kept. Through the real fetch handler over a
 * real SQLite file.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { signServiceToken } from "../../src/dev/signing.js"
import { call } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture, type Tenant } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let tenant: Tenant
let service: string
let counter = 0

const ALL_SCOPES = "users:read users:write users:erase users:pii:read"

const post = (path: string, body: unknown, key?: string, token = service) =>
  call(f.fetch, "POST", path, {
    token,
    apiKey: tenant.apiKey,
    ...(body === undefined ? {} : { body }),
    headers: key === undefined ? {} : { "idempotency-key": key }
  })

const newUser = async (phoneNumber?: string, key?: string) => {
  const id = `rec_${++counter}`
  const created = await post("/users", phoneNumber === undefined ? { id } : { id, phoneNumber }, key)
  expect(created.status).toBe(201)
  return id
}

const rows = () =>
  f.query<{ idempotency_key: string; state: string; request_hash: string; response_body: string | null }>(
    "SELECT * FROM idempotency_keys WHERE organization_id = ? ORDER BY idempotency_key",
    tenant.organizationId
  )

beforeAll(async () => {
  f = await makeSqliteFixture()
})
afterAll(() => f.dispose())
beforeEach(async () => {
  tenant = await f.newTenant()
  service = await signServiceToken(f.key, "svc_records", tenant.organizationId, ALL_SCOPES)
})

describe("ErasePersonalData", () => {
  it("deletes the user's completed idempotency records, keeps its own, and leaves other users' alone", async () => {
    const userId = await newUser("+14155552671", "create-erased")
    const bystander = await newUser("+14155552672", "create-bystander")
    const path = (id: string) => `/users/${id}/UpdatePhoneNumber`
    expect((await post(path(userId), { phoneNumber: "+14155552673" }, "update-erased")).status).toBe(200)
    // A refusal about the user is a record of it too: its hash covers the number that was sent.
    expect((await post(path(userId), { phoneNumber: "+1 415 555" }, "invalid-erased")).status).toBe(422)
    const userToken = await f.userToken(userId, tenant.organizationId)
    expect((await post(path(userId), { phoneNumber: "+14155552674" }, "self-erased", userToken)).status).toBe(200)
    expect((await post(path(bystander), { phoneNumber: "+14155552675" }, "update-bystander")).status).toBe(200)
    expect(rows().map((r) => r.idempotency_key)).toEqual([
      "create-bystander",
      "create-erased",
      "invalid-erased",
      "self-erased",
      "update-bystander",
      "update-erased"
    ])

    const erased = await post(`/users/${userId}/ErasePersonalData`, undefined, "erase")
    expect(erased.status).toBe(200)
    expect(erased.body.event.type).toBe("UserPersonalDataErased")

    // Only the erasure's own answer is left of the user's, and it is kept: a retry replays it.
    const left = rows()
    expect(left.map((r) => r.idempotency_key)).toEqual(["create-bystander", "erase", "update-bystander"])
    expect(left.find((r) => r.idempotency_key === "erase")).toMatchObject({ state: "completed" })
    const replay = await post(`/users/${userId}/ErasePersonalData`, undefined, "erase")
    expect(replay.headers.get("idempotent-replayed")).toBe("true")
    expect(replay.text).toBe(erased.text)
    // The bystander's records still replay.
    const again = await post(path(bystander), { phoneNumber: "+14155552675" }, "update-bystander")
    expect(again.headers.get("idempotent-replayed")).toBe("true")
  })

  it("deletes the records of a user created without an id, found by the id it was given", async () => {
    const created = await post("/users", { phoneNumber: "+14155552676" }, "create-anonymous")
    expect(created.status).toBe(201)
    const userId = created.body.aggregateId as string
    expect((await post(`/users/${userId}/ErasePersonalData`, undefined)).status).toBe(200)
    expect(rows().map((r) => r.idempotency_key)).toEqual([])
  })
})
