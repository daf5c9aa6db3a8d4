/**
 * The HTTP contract of UpdatePhoneNumber (docs/CONTRACT.md §4) through the real fetch handler over a real SQLite
 * file: every status code, the response and event shapes, and that a rejected request writes nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { signUserToken } from "../../src/dev/signing.js"
import { generateSigningKey } from "../../src/dev/signing.js"
import { type Answer, call, expectProblem } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture, type Tenant } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let tenant: Tenant
const serviceToken = (scope = "users:read users:write", organizationId = tenant.organizationId) =>
  f.serviceToken(scope, organizationId)
let service: string
let userCounter = 0
let userId: string

const update = (
  phoneNumber: unknown,
  options: { token?: string; apiKey?: string; headers?: Record<string, string>; id?: string } = {}
) =>
  call(f.fetch, "POST", `/users/${options.id ?? userId}/UpdatePhoneNumber`, {
    token: options.token ?? service,
    apiKey: options.apiKey ?? tenant.apiKey,
    body: { phoneNumber },
    ...(options.headers ? { headers: options.headers } : {})
  })

const snapshot = () => ({
  users: f.query("SELECT * FROM users ORDER BY organization_id, id"),
  events: f.query("SELECT * FROM events ORDER BY sequence")
})

beforeAll(async () => {
  f = await makeSqliteFixture()
})
afterAll(() => f.dispose())
beforeEach(async () => {
  tenant = await f.newTenant()
  service = await serviceToken()
  userId = `user_${++userCounter}`
  const created = await call(f.fetch, "POST", "/users", { token: service, apiKey: tenant.apiKey, body: { id: userId } })
  expect(created.status).toBe(201)
})

describe("POST /users/{id}/UpdatePhoneNumber", () => {
  it("sets the number: 200, the next version, a masked event, and an ETag", async () => {
    const answer = await update("+1 (415) 555-2671")
    expect(answer.status).toBe(200)
    expect(answer.headers.get("etag")).toBe('"2"')
    expect(answer.body).toMatchObject({
      success: true,
      aggregateId: userId,
      version: 2,
      event: {
        type: "UserPhoneNumberUpdated",
        aggregateType: "User",
        aggregateId: userId,
        version: 2,
        data: { maskedPhoneNumber: "****2671", previousMaskedPhoneNumber: null },
        metadata: { organizationId: tenant.organizationId, actor: { type: "service", id: "svc_test" } }
      }
    })
    expect(answer.body.event.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Date(answer.body.event.occurredAt).toISOString()).toBe(answer.body.event.occurredAt)
    expect(answer.body.event.metadata.requestId).toBe(answer.headers.get("x-request-id"))
    expect(f.query("SELECT phone_number, version FROM users WHERE id = ?", userId)).toEqual([
      { phone_number: "+14155552671", version: 2 }
    ])
  })

  it("answers event null and keeps the version when the same number is sent again in another format", async () => {
    await update("+14155552671")
    const again = await update("001 415 555 2671")
    expect(again.status).toBe(200)
    expect(again.body).toEqual({ success: true, aggregateId: userId, version: 2, event: null })
    expect(f.query("SELECT COUNT(*) AS n FROM events WHERE aggregate_id = ?", userId)).toEqual([{ n: 2 }])
  })

  it("removes the number with JSON null", async () => {
    await update("+14155552671")
    const removed = await update(null)
    expect(removed.status).toBe(200)
    expect(removed.body.event.data).toEqual({
      maskedPhoneNumber: null,
      previousMaskedPhoneNumber: "****2671",
      phoneNumberVerified: false
    })
    expect(f.query("SELECT phone_number FROM users WHERE id = ?", userId)).toEqual([{ phone_number: null }])
  })

  it("lets a user change its own number", async () => {
    const answer = await update("+44 20 7946 0958", { token: await f.userToken(userId, tenant.organizationId) })
    expect(answer.status).toBe(200)
    expect(answer.body.event.metadata.actor).toEqual({ type: "user", id: userId })
  })

  it("echoes a sane X-Request-Id and replaces an insane one", async () => {
    const sane = await update("+14155552671", { headers: { "x-request-id": "trace-123" } })
    expect(sane.headers.get("x-request-id")).toBe("trace-123")
    const insane = await update("+14155552671", { headers: { "x-request-id": "<script>" } })
    expect(insane.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
  })

  describe("rejects, writing nothing", () => {
    const rejects = (
      name: string,
      status: number,
      code: string,
      send: () => Promise<Answer>
    ) =>
      it(`${name}: ${status} ${code}`, async () => {
        const before = snapshot()
        const answer = await send()
        expectProblem(answer, status, code)
        expect(answer.text).not.toMatch(/4155552671|2079460958/)
        expect(snapshot()).toEqual(before)
      })

    rejects("malformed JSON", 400, "malformed-json", () =>
      call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, {
        token: service,
        apiKey: tenant.apiKey,
        raw: '{"phoneNumber": "+14155552671"',
        headers: { "content-type": "application/json" }
      }))
    rejects(
      "a missing field",
      400,
      "invalid-body",
      () =>
        call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, { token: service, apiKey: tenant.apiKey, body: {} })
    )
    rejects("a number as a JSON number", 400, "invalid-body", () => update(14155552671))
    rejects("an empty string", 400, "invalid-body", () => update(""))
    rejects("a string over 64 characters", 400, "invalid-body", () => update("+1" + "4".repeat(70)))
    rejects("an unknown field", 400, "invalid-body", () =>
      call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, {
        token: service,
        apiKey: tenant.apiKey,
        body: { phoneNumber: "+14155552671", admin: true }
      }))
    rejects(
      "a JSON array body",
      400,
      "invalid-body",
      () =>
        call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, {
          token: service,
          apiKey: tenant.apiKey,
          body: ["+14155552671"]
        })
    )
    rejects("an empty body", 400, "malformed-json", () =>
      call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, {
        token: service,
        apiKey: tenant.apiKey,
        headers: { "content-type": "application/json" }
      }))
    rejects("an id with a dot", 400, "invalid-user-id", () => update("+14155552671", { id: "a.b" }))
    rejects("an id with an encoded slash", 400, "invalid-user-id", () => update("+14155552671", { id: "a%2Fb" }))
    rejects("an id over 64 characters", 400, "invalid-user-id", () => update("+14155552671", { id: "x".repeat(65) }))
    rejects(
      "a malformed If-Match",
      400,
      "invalid-if-match",
      () => update("+14155552671", { headers: { "if-match": "version two" } })
    )
    rejects(
      "no API key",
      401,
      "missing-api-key",
      () =>
        call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, {
          token: service,
          body: { phoneNumber: "+14155552671" }
        })
    )
    rejects("an unknown API key", 401, "invalid-api-key", () => update("+14155552671", { apiKey: "uak_nope" }))
    rejects("no token", 401, "missing-token", () =>
      call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, {
        apiKey: tenant.apiKey,
        body: { phoneNumber: "+14155552671" }
      }))
    rejects(
      "a token signed by another key",
      401,
      "invalid-token",
      async () =>
        update("+14155552671", {
          token: await signUserToken(await generateSigningKey("test-key"), userId, tenant.organizationId)
        })
    )
    rejects("an alg none token", 401, "invalid-token", () => {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")
      const now = Math.floor(Date.now() / 1000)
      const token = `${encode({ alg: "none", typ: "JWT" })}.${
        encode({ sub: userId, iss: "https://dev.users-api.local/", aud: "users-api", exp: now + 600 })
      }.`
      return update("+14155552671", { token })
    })
    rejects(
      "an expired token",
      401,
      "invalid-token",
      async () =>
        update("+14155552671", {
          token: await signUserToken(f.key, userId, tenant.organizationId, {
            expiresIn: Math.floor(Date.now() / 1000) - 60
          })
        })
    )
    rejects(
      "a service token of another organization",
      403,
      "organization-mismatch",
      async () => update("+14155552671", { token: await serviceToken("users:write", f.other.organizationId) })
    )
    rejects(
      "a service token without users:write",
      403,
      "missing-scope",
      async () => update("+14155552671", { token: await serviceToken("users:read") })
    )
    rejects(
      "a user token for another user",
      403,
      "not-own-user",
      async () => update("+14155552671", { token: await f.userToken("someone_else", tenant.organizationId) })
    )
    rejects("a user that does not exist", 404, "user-not-found", () => update("+14155552671", { id: "ghost" }))
    rejects(
      "a user of another organization",
      404,
      "user-not-found",
      async () =>
        update("+14155552671", {
          apiKey: f.other.apiKey,
          token: await serviceToken("users:write", f.other.organizationId)
        })
    )
    rejects(
      "a stale If-Match",
      412,
      "version-mismatch",
      () => update("+14155552671", { headers: { "if-match": '"7"' } })
    )
    rejects(
      "a body over 16 KiB",
      413,
      "payload-too-large",
      () =>
        call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, {
          token: service,
          apiKey: tenant.apiKey,
          raw: JSON.stringify({ phoneNumber: "+14155552671", pad: "x".repeat(17 * 1024) }),
          headers: { "content-type": "application/json" }
        })
    )
    rejects(
      "a form body",
      415,
      "unsupported-media-type",
      () =>
        call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, {
          token: service,
          apiKey: tenant.apiKey,
          raw: "phoneNumber=%2B14155552671",
          headers: { "content-type": "application/x-www-form-urlencoded" }
        })
    )
    rejects(
      "no content type",
      415,
      "unsupported-media-type",
      () =>
        call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, {
          token: service,
          apiKey: tenant.apiKey,
          raw: JSON.stringify({ phoneNumber: "+14155552671" })
        })
    )
    rejects("an invalid number", 422, "invalid-phone-number", () => update("+1 415 555 267"))
    rejects("a national number", 422, "invalid-phone-number", () => update("415 555 2671"))
    rejects(
      "an unknown route",
      404,
      "route-not-found",
      () => call(f.fetch, "POST", `/users/${userId}/UpdateEmail`, { token: service, apiKey: tenant.apiKey, body: {} })
    )
  })

  it('explains that the string "null" is not JSON null', async () => {
    const answer = await update("null")
    expectProblem(answer, 422, "invalid-phone-number")
    expect(answer.body.hint).toMatch(/JSON null/)
  })

  it("says WWW-Authenticate: Bearer on a 401", async () => {
    const answer = await update("+14155552671", { token: "not.a.jwt" })
    expect(answer.status).toBe(401)
    expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer /)
  })

  it("writes with a matching If-Match", async () => {
    const answer = await update("+14155552671", { headers: { "if-match": '"1"' } })
    expect(answer.status).toBe(200)
    expect(answer.body.version).toBe(2)
  })
})

describe("POST /users", () => {
  it("creates with a masked number in UserCreated: 201, version 1", async () => {
    const answer = await call(f.fetch, "POST", "/users", {
      token: service,
      apiKey: tenant.apiKey,
      body: { id: "created_1", phoneNumber: "+44 20 7946 0958" }
    })
    expect(answer.status).toBe(201)
    expect(answer.body).toMatchObject({
      success: true,
      aggregateId: "created_1",
      version: 1,
      event: { type: "UserCreated", version: 1, data: { maskedPhoneNumber: "****0958" } }
    })
    expect(answer.text).not.toContain("2079460958")
  })

  it("answers 409 when the same user is created again with the same number (issue 9: no oracle on the number)", async () => {
    const body = { id: "created_2", phoneNumber: "+14155552671" }
    await call(f.fetch, "POST", "/users", { token: service, apiKey: tenant.apiKey, body })
    const again = await call(f.fetch, "POST", "/users", { token: service, apiKey: tenant.apiKey, body })
    expectProblem(again, 409, "user-already-exists")
  })

  it("answers 409 when the id exists with another number", async () => {
    await call(f.fetch, "POST", "/users", { token: service, apiKey: tenant.apiKey, body: { id: "created_3" } })
    const other = await call(f.fetch, "POST", "/users", {
      token: service,
      apiKey: tenant.apiKey,
      body: { id: "created_3", phoneNumber: "+14155552671" }
    })
    expectProblem(other, 409, "user-already-exists")
  })

  it("keeps tenants apart: the same id in another organization is another user", async () => {
    const otherService = await serviceToken("users:write", f.other.organizationId)
    const answer = await call(f.fetch, "POST", "/users", {
      token: otherService,
      apiKey: f.other.apiKey,
      body: { id: userId }
    })
    expect(answer.status).toBe(201)
  })

  it("refuses a user token: 403", async () => {
    const answer = await call(f.fetch, "POST", "/users", {
      token: await f.userToken("u", tenant.organizationId),
      apiKey: tenant.apiKey,
      body: {}
    })
    expectProblem(answer, 403, "missing-scope")
  })
})

describe("GET /users/{id}/events", () => {
  it("pages the masked audit trail, oldest first", async () => {
    for (const n of ["+14155552671", "+442079460958", null]) await update(n)
    const page1 = await call(f.fetch, "GET", `/users/${userId}/events?limit=2`, {
      token: service,
      apiKey: tenant.apiKey
    })
    expect(page1.status).toBe(200)
    expect(page1.body.events.map((e: any) => e.version)).toEqual([1, 2])
    expect(page1.body.nextAfterVersion).toBe(2)
    const page2 = await call(f.fetch, "GET", `/users/${userId}/events?afterVersion=2&limit=2`, {
      token: service,
      apiKey: tenant.apiKey
    })
    expect(page2.body.events.map((e: any) => e.data.maskedPhoneNumber)).toEqual(["****0958", null])
    expect(page2.body.nextAfterVersion).toBeNull()
    expect(page1.text + page2.text).not.toMatch(/4155552671|2079460958/)
  })

  it("rejects a limit over 100: 400", async () => {
    const answer = await call(f.fetch, "GET", `/users/${userId}/events?limit=1000`, {
      token: service,
      apiKey: tenant.apiKey
    })
    expectProblem(answer, 400, "invalid-query")
  })
})

describe("GET /healthz and /openapi.json", () => {
  it("answers 200 without credentials when the store answers", async () => {
    const answer = await call(f.fetch, "GET", "/healthz")
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ status: "ok" })
  })

  it("documents both security schemes as required together, and problem+json errors", async () => {
    const answer = await call(f.fetch, "GET", "/openapi.json")
    const operation = answer.body.paths["/users/{id}/UpdatePhoneNumber"].post
    expect(answer.body.components.securitySchemes).toMatchObject({
      bearer: { type: "http", scheme: "bearer" },
      apiKey: { type: "apiKey", in: "header", name: "X-API-Key" }
    })
    expect(operation.security).toEqual([{ apiKey: [], bearer: [] }])
    expect(Object.keys(operation.responses).sort()).toEqual(
      ["200", "202", "400", "401", "403", "404", "409", "410", "412", "413", "415", "422", "429", "503"]
    )
    expect(Object.keys(operation.responses["422"].content)).toEqual(["application/problem+json"])
  })
})
