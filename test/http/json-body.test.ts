/**
 * The commands' bodies on `.handle` handlers (src/http/json-body.ts, the gates of src/api/users/Gates.ts): checked in
 * CONTRACT.md §4.1's order, read only once the caller may ask, and a payload the schema refuses is a 400 naming fields.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Answer, call, expectProblem } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture, type Tenant } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let tenant: Tenant
let service: string
let userId: string
let users = 0

const json = { "content-type": "application/json" }

const send = (path: string, options: { token?: string; raw?: string; headers?: Record<string, string> }) =>
  call(f.fetch, "POST", path, {
    token: options.token ?? service,
    apiKey: tenant.apiKey,
    ...(options.raw === undefined ? {} : { raw: options.raw }),
    headers: { ...json, ...options.headers }
  })

/** A body that counts what was pulled from it, chunked (no Content-Length), so nothing reads it ahead. */
const countedBody = () => {
  const counter = { pulls: 0 }
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      counter.pulls++
      controller.enqueue(new TextEncoder().encode("{".repeat(1024)))
      if (counter.pulls === 32) controller.close()
    }
  })
  return { counter, stream }
}

const snapshot = () => ({
  users: f.query("SELECT * FROM users ORDER BY organization_id, id"),
  keys: f.query("SELECT idempotency_key, response_status FROM idempotency_keys ORDER BY idempotency_key")
})

beforeAll(async () => {
  f = await makeSqliteFixture()
})
afterAll(() => f.dispose())
beforeEach(async () => {
  tenant = await f.newTenant()
  service = await f.serviceToken("users:read users:write", tenant.organizationId)
  userId = `body_${++users}`
  expect(
    (await call(f.fetch, "POST", "/users", { token: service, apiKey: tenant.apiKey, body: { id: userId } })).status
  )
    .toBe(201)
})

describe("the order of checks before the body", () => {
  it("a caller that may not act gets its 403 and the body is never pulled", async () => {
    const { counter, stream } = countedBody()
    const answer = await f.fetch(
      new Request(`http://127.0.0.1/users/${userId}/UpdatePhoneNumber`, {
        method: "POST",
        headers: {
          ...json,
          authorization: `Bearer ${await f.userToken("someone_else", tenant.organizationId)}`,
          "x-api-key": tenant.apiKey
        },
        body: stream,
        duplex: "half"
      } as RequestInit)
    )
    expect(answer.status).toBe(403)
    expect(((await answer.json()) as { code: string }).code).toBe("not-own-user")
    // The Request may buffer a chunk or two ahead on its own; a read would take all 32.
    expect(counter.pulls).toBeLessThan(4)
  })

  for (
    const [name, request, status, code] of [
      [
        "a 403 before a malformed, oversized or non-JSON body",
        async () => {
          const token = await f.serviceToken("users:read", tenant.organizationId)
          return [
            await send(`/users/${userId}/UpdatePhoneNumber`, { token, raw: "{" }),
            await send(`/users/${userId}/UpdatePhoneNumber`, { token, raw: "x".repeat(17 * 1024) }),
            await send(`/users/${userId}/UpdatePhoneNumber`, {
              token,
              raw: "{}",
              headers: { "content-type": "text/plain" }
            }),
            await send("/users", { token, raw: "{" }),
            await send(`/users/${userId}/MarkPhoneNumberVerified`, { token, raw: "{" }),
            await send(`/organizations/${tenant.organizationId}/webhooks`, { token, raw: "{" })
          ]
        },
        403,
        "missing-scope"
      ],
      [
        "a bad path id before the body",
        async () => [
          await send("/users/a.b/UpdatePhoneNumber", { raw: "{" }),
          await send("/users/a.b/MarkPhoneNumberVerified", { raw: "x".repeat(17 * 1024) })
        ],
        400,
        "invalid-user-id"
      ],
      [
        "another organization's webhooks before the body",
        async () => [
          await send("/organizations/elsewhere/webhooks", {
            token: await f.serviceToken("webhooks:write audit:read", tenant.organizationId),
            raw: "{"
          })
        ],
        404,
        "organization-not-found"
      ],
      [
        "a bad If-Match before the body",
        async () => [
          await send(`/users/${userId}/UpdatePhoneNumber`, { raw: "{", headers: { "if-match": "two" } })
        ],
        400,
        "invalid-if-match"
      ],
      [
        "a bad Idempotency-Key before the body",
        async () => [
          await send("/users", { raw: "{", headers: { "idempotency-key": "tab\there" } }),
          await send(`/users/${userId}/UpdatePhoneNumber`, {
            raw: "x".repeat(17 * 1024),
            headers: { "idempotency-key": "tab\there" }
          })
        ],
        400,
        "invalid-idempotency-key"
      ]
    ] as const
  ) {
    it(`${name}: ${status} ${code}`, async () => {
      const before = snapshot()
      for (const answer of await (request as () => Promise<Array<Answer>>)()) expectProblem(answer, status, code)
      expect(snapshot()).toEqual(before)
    })
  }
})

describe("a payload the schema refuses", () => {
  it("is a 400 invalid-body naming each field, never a value", async () => {
    const missing = await send(`/users/${userId}/UpdatePhoneNumber`, { raw: "{}" })
    expectProblem(missing, 400, "invalid-body")
    expect(missing.body.detail).toBe("phoneNumber is required.")
    const several = await send(`/users/${userId}/UpdatePhoneNumber`, {
      raw: JSON.stringify({ admin: true, "+14155552671": 1 })
    })
    expectProblem(several, 400, "invalid-body")
    expect(several.body.detail).toBe(
      "admin is not an accepted field; a field is not accepted; phoneNumber is required."
    )
    expect(several.text).not.toContain("4155552671")
  })

  it("a bad id in a create's body is the body's 400, not the path's", async () => {
    const answer = await send("/users", { raw: JSON.stringify({ id: "a.b" }) })
    expectProblem(answer, 400, "invalid-body")
    expect(answer.body.detail).toBe("id is not in the accepted form.")
  })

  it("takes application/*+json as JSON", async () => {
    const answer = await send(`/users/${userId}/UpdatePhoneNumber`, {
      raw: JSON.stringify({ phoneNumber: null }),
      headers: { "content-type": "application/merge-patch+json" }
    })
    expect(answer.status, answer.text).toBe(200)
  })

  it("keeps no Idempotency-Key: the key then runs the corrected request", async () => {
    const key = `body-${users}`
    expectProblem(
      await send(`/users/${userId}/UpdatePhoneNumber`, { raw: "{}", headers: { "idempotency-key": key } }),
      400,
      "invalid-body"
    )
    expectProblem(
      await send(`/users/${userId}/UpdatePhoneNumber`, { raw: "{", headers: { "idempotency-key": key } }),
      400,
      "malformed-json"
    )
    expect(f.query("SELECT idempotency_key FROM idempotency_keys WHERE idempotency_key = ?", key)).toEqual([])
    const corrected = await send(`/users/${userId}/UpdatePhoneNumber`, {
      raw: JSON.stringify({ phoneNumber: "+14155552671" }),
      headers: { "idempotency-key": key }
    })
    expect(corrected.status, corrected.text).toBe(200)
  })

  it("an Idempotency-Key's fingerprint is the body's bytes: the same fields spaced otherwise are another request", async () => {
    const key = `bytes-${users}`
    const first = await send(`/users/${userId}/UpdatePhoneNumber`, {
      raw: JSON.stringify({ phoneNumber: "+14155552671" }),
      headers: { "idempotency-key": key }
    })
    expect(first.status, first.text).toBe(200)
    const again = await send(`/users/${userId}/UpdatePhoneNumber`, {
      raw: JSON.stringify({ phoneNumber: "+14155552671" }),
      headers: { "idempotency-key": key }
    })
    expect(again.headers.get("idempotent-replayed")).toBe("true")
    const spaced = await send(`/users/${userId}/UpdatePhoneNumber`, {
      raw: JSON.stringify({ phoneNumber: "+14155552671" }, null, 2),
      headers: { "idempotency-key": key }
    })
    expectProblem(spaced, 422, "idempotency-key-reused")
  })
})
