/**
 * Issue 9, what `idempotency_keys` kept of a user's number. Through the real fetch handler over a real SQLite file.
 *
 * - The request hash was a plain SHA-256 of the request, body included, so a number was recovered from
 *   `idempotency_keys.request_hash` by hashing guesses (178 of them). It is now an HMAC-SHA-256 under the
 *   deployment's IDEMPOTENCY_HASH_KEY.
 * - Erasure left the user's Idempotency-Key records (their answers and request hashes) for up to 24 hours.
 *   ErasePersonalData now deletes the user's completed records in its own atomic write, keeping only the running
 *   erase request's own row, so that its answer is still kept.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { signServiceToken } from "../../src/dev/signing.js"
import { sha256Hex } from "../../src/sha256.js"
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

describe("the kept request hash", () => {
  it("cannot be matched by hashing guessed numbers: it is keyed, not the SHA-256 of the request", async () => {
    const userId = await newUser()
    const path = `/users/${userId}/UpdatePhoneNumber`
    expect((await post(path, { phoneNumber: "+14155552671" }, "guess-me")).status).toBe(200)
    const [stored] = rows().filter((r) => r.idempotency_key === "guess-me")
    expect(stored!.request_hash).toMatch(/^[0-9a-f]{64}$/)

    // The attack: the framing is public (src/http/idempotency.ts), the rest is known to the attacker but the number.
    const unkeyed = (phoneNumber: string) => {
      const head = JSON.stringify(["users-api/idempotency/1", "POST", path, "service", "svc_records", null]) + "\n"
      return sha256Hex(head + JSON.stringify({ phoneNumber }))
    }
    const guesses = Array.from({ length: 200 }, (_, i) => `+1415555${String(2571 + i).padStart(4, "0")}`)
    expect(guesses).toContain("+14155552671")
    const hits: Array<string> = []
    for (const guess of guesses) if ((await unkeyed(guess)) === stored!.request_hash) hits.push(guess)
    expect(hits).toEqual([])
    // Nor is it the plain SHA-256 of the body alone.
    expect(await sha256Hex(JSON.stringify({ phoneNumber: "+14155552671" }))).not.toBe(stored!.request_hash)
  })

  it("differs between two deployments (two keys) for the same request", async () => {
    const other = await makeSqliteFixture({ idempotencyHashKey: "another-deployment-".padEnd(40, "x") })
    try {
      const hashOf = async (fixture: SqliteFixture) => {
        const token = await signServiceToken(fixture.key, "svc_same", fixture.tenant.organizationId, "users:write")
        const answer = await call(fixture.fetch, "POST", "/users", {
          token,
          apiKey: fixture.tenant.apiKey,
          body: { id: "same_user", phoneNumber: "+14155552671" },
          headers: { "idempotency-key": "same-key" }
        })
        expect(answer.status).toBe(201)
        return fixture.query<{ request_hash: string }>(
          "SELECT request_hash FROM idempotency_keys WHERE idempotency_key = 'same-key'"
        )[0]!.request_hash
      }
      expect(await hashOf(f)).not.toBe(await hashOf(other))
    } finally {
      await other.dispose()
    }
  })
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
