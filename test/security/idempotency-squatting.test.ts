/**
 * Issue 9, finding 4: Idempotency-Keys could be squatted. Keys were shared by the whole organization and claimed
 * before authorization, so a user that sent a backend's predictable key on a request it was not allowed to make had
 * its 403 kept for 24 hours, and the backend's real request then got 422 idempotency-key-reused. Now a key belongs
 * to (organization, principal), and it is claimed only once authorization has passed.
 * Through the real fetch handler over a real SQLite file.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { signServiceToken } from "../../src/dev/signing.js"
import { type Answer, call, expectProblem } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture, type Tenant } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let tenant: Tenant
let backend: string
let counter = 0

const post = (token: string, path: string, body: unknown, key: string) =>
  call(f.fetch, "POST", path, {
    token,
    apiKey: tenant.apiKey,
    ...(body === undefined ? {} : { body }),
    headers: { "idempotency-key": key }
  })
const update = (token: string, userId: string, phoneNumber: string | null, key: string) =>
  post(token, `/users/${userId}/UpdatePhoneNumber`, { phoneNumber }, key)

const rowsOf = (key: string) => f.query("SELECT * FROM idempotency_keys WHERE idempotency_key = ?", key)

const newUser = async () => {
  const id = `squat_${++counter}`
  const created = await call(f.fetch, "POST", "/users", { token: backend, apiKey: tenant.apiKey, body: { id } })
  expect(created.status).toBe(201)
  return id
}

const expectOwnAnswer = (answer: Answer, userId: string, version: number) => {
  expect(answer.status, answer.text).toBe(200)
  expect(answer.headers.get("idempotent-replayed")).toBeNull()
  expect(answer.body).toMatchObject({
    aggregateId: userId,
    version,
    event: { type: "UserPhoneNumberUpdated", version }
  })
}

beforeAll(async () => {
  f = await makeSqliteFixture()
})
afterAll(() => f.dispose())
beforeEach(async () => {
  tenant = await f.newTenant()
  backend = await signServiceToken(f.key, "svc_backend", tenant.organizationId, "users:read users:write")
})

describe("a key sent on a forbidden request", () => {
  it("is not kept: the user's 403 stores no row, and the backend's request with that key then runs (200, not 422)", async () => {
    const victim = await newUser()
    const mallory = await f.userToken(`mallory_${counter}`, tenant.organizationId)
    // A predictable key, as a backend deriving keys from its own job ids would send.
    const key = `update-phone-${victim}-1`

    const forbidden = await update(mallory, victim, "+14155552671", key)
    expectProblem(forbidden, 403, "not-own-user")
    expect(rowsOf(key)).toEqual([])

    const real = await update(backend, victim, "+14155552672", key)
    expectOwnAnswer(real, victim, 2)
    expect(real.body.event.data.maskedPhoneNumber).toBe("****2672")
    expect(rowsOf(key)).toHaveLength(1)
  })

  it("is not kept for any command or kind of refusal: a user creating, a reader writing, verifying or erasing", async () => {
    const victim = await newUser()
    const reader = await signServiceToken(f.key, "svc_reader", tenant.organizationId, "users:read")
    const refusals: Array<[string, Answer]> = [
      [
        "create by a user",
        await post(await f.userToken("u_x", tenant.organizationId), "/users", { id: "u_x" }, "k-create")
      ],
      ["update by a reader", await update(reader, victim, "+14155552671", "k-update")],
      [
        "verify by a reader",
        await post(reader, `/users/${victim}/MarkPhoneNumberVerified`, { phoneNumber: "+1" }, "k-verify")
      ],
      ["erase by a reader", await post(reader, `/users/${victim}/ErasePersonalData`, undefined, "k-erase")]
    ]
    for (const [name, answer] of refusals) {
      expect(answer.status, name).toBe(403)
      expectProblem(answer, 403, "missing-scope")
    }
    expect(f.query("SELECT * FROM idempotency_keys WHERE organization_id = ?", tenant.organizationId)).toEqual([])
  })

  it("is refused with 403 before its body is looked at: a forbidden 415 or 413 is a 403 too", async () => {
    const victim = await newUser()
    const mallory = await f.userToken("mallory_body", tenant.organizationId)
    const path = `/users/${victim}/UpdatePhoneNumber`
    const asMallory = { token: mallory, apiKey: tenant.apiKey }
    expectProblem(
      await call(f.fetch, "POST", path, { ...asMallory, raw: "x", headers: { "content-type": "text/plain" } }),
      403,
      "not-own-user"
    )
    expectProblem(
      await call(f.fetch, "POST", path, {
        ...asMallory,
        raw: JSON.stringify({ phoneNumber: null, pad: "x".repeat(17 * 1024) }),
        headers: { "content-type": "application/json" }
      }),
      403,
      "not-own-user"
    )
  })
})

describe("two principals of one organization with the same key", () => {
  it("each get their own answer, and each retry replays its own", async () => {
    const first = await newUser()
    const second = await newUser()
    const other = await signServiceToken(f.key, "svc_other", tenant.organizationId, "users:read users:write")
    const self = await f.userToken(second, tenant.organizationId)
    const key = "job-1"

    const a = await update(backend, first, "+14155552671", key)
    expectOwnAnswer(a, first, 2)
    const b = await update(other, second, "+14155552672", key)
    expectOwnAnswer(b, second, 2)
    const c = await update(self, second, "+14155552673", key)
    expectOwnAnswer(c, second, 3)
    expect(rowsOf(key)).toHaveLength(3)

    for (
      const [token, userId, number, answer] of [
        [backend, first, "+14155552671", a],
        [other, second, "+14155552672", b],
        [self, second, "+14155552673", c]
      ] as const
    ) {
      const replay = await update(token, userId, number, key)
      expect(replay.headers.get("idempotent-replayed")).toBe("true")
      expect(replay.text).toBe(answer.text)
    }
  })
})
