/**
 * Issue 9, finding 1: a token is bound to its organization. Every token carries `org_id`, and it must be the API
 * key's organization (403 organization-mismatch otherwise, before anything is read or written); the kind of token
 * is explicit (`token_use: "service"` marks a service; a `scope` or `org_id` on a user's token never makes it one).
 * Through the real fetch handler over a real SQLite file; tokens are signed here by the trusted key, claim by claim.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Answer, call, expectProblem } from "../support/client.js"
import { claims, signRaw } from "../support/forge.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture

const VICTIM = "victim_x"
const OWN = "own_user"

/** A token signed by the trusted key with the given claims (a user token of VICTIM by default, no org_id). */
const token = (overrides: Record<string, unknown> = {}) => signRaw(f.key, claims(VICTIM, overrides))

const snapshot = () => ({
  users: f.query("SELECT * FROM users ORDER BY organization_id, id"),
  events: f.query("SELECT * FROM events ORDER BY sequence"),
  keys: f.query("SELECT * FROM idempotency_keys ORDER BY organization_id, idempotency_key")
})

const ROUTES = [
  ["GET /users/{id}", "GET", `/users/${VICTIM}`, undefined],
  ["GET /users/{id}/events", "GET", `/users/${VICTIM}/events`, undefined],
  ["UpdatePhoneNumber", "POST", `/users/${VICTIM}/UpdatePhoneNumber`, { phoneNumber: "+44 20 7946 0958" }],
  ["ErasePersonalData", "POST", `/users/${VICTIM}/ErasePersonalData`, undefined],
  ["MarkPhoneNumberVerified", "POST", `/users/${VICTIM}/MarkPhoneNumberVerified`, { phoneNumber: "+14155552671" }]
] as const

const send = (method: string, path: string, body: unknown, jwt: string, apiKey: string): Promise<Answer> =>
  call(f.fetch, method, path, {
    token: jwt,
    apiKey,
    ...(body !== undefined
      ? { body }
      : method === "POST"
      ? { raw: "", headers: { "content-type": "application/json" } }
      : {}),
    headers: { "idempotency-key": `k-${Math.random()}` }
  })

/** Refused with 403 organization-mismatch on every route, and nothing read back or written. */
const expectMismatchEverywhere = async (jwt: string, apiKey: string, detail: RegExp) => {
  for (const [name, method, path, body] of ROUTES) {
    const before = snapshot()
    const answer = await send(method, path, body, jwt, apiKey)
    expectProblem(answer, 403, "organization-mismatch")
    expect(answer.body.detail, name).toMatch(detail)
    expect(answer.text, name).not.toContain("4155552671")
    expect(snapshot(), name).toEqual(before)
  }
}

beforeAll(async () => {
  f = await makeSqliteFixture()
  // The same user id in both organizations: B's is the victim, A's is the attacker's own account.
  for (const tenant of [f.tenant, f.other]) {
    const service = await f.serviceToken("users:read users:write", tenant.organizationId)
    for (const id of [VICTIM, OWN]) {
      const created = await call(f.fetch, "POST", "/users", {
        token: service,
        apiKey: tenant.apiKey,
        body: { id, ...(id === VICTIM ? { phoneNumber: "+1 415 555 2671" } : {}) }
      })
      expect(created.status, created.text).toBe(201)
    }
  }
})
afterAll(() => f.dispose())

describe("a user token is bound to its organization", () => {
  it("a user token of organization A with B's API key: 403 organization-mismatch on every route, B unchanged", async () => {
    await expectMismatchEverywhere(
      await token({ org_id: f.tenant.organizationId }),
      f.other.apiKey,
      /another organization/
    )
  })

  it("a user token without org_id: 403 organization-mismatch, with A's key and with B's", async () => {
    for (const apiKey of [f.tenant.apiKey, f.other.apiKey]) {
      await expectMismatchEverywhere(await token(), apiKey, /no org_id/)
    }
  })

  it("a user token with org_id null or token_use user and no org_id is missing it too", async () => {
    await expectMismatchEverywhere(await token({ org_id: null }), f.other.apiKey, /no org_id/)
    await expectMismatchEverywhere(await token({ token_use: "user" }), f.other.apiKey, /no org_id/)
  })

  it("a user token of its own organization works: reads and changes only itself", async () => {
    const own = await token({ org_id: f.other.organizationId })
    const read = await call(f.fetch, "GET", `/users/${VICTIM}`, { token: own, apiKey: f.other.apiKey })
    expect(read.status, read.text).toBe(200)
    expect(read.body.phoneNumber).toBe("+14155552671")
    const explicit = await token({ org_id: f.other.organizationId, token_use: "user" })
    const updated = await call(f.fetch, "POST", `/users/${VICTIM}/UpdatePhoneNumber`, {
      token: explicit,
      apiKey: f.other.apiKey,
      body: { phoneNumber: "+1 415 555 2672" }
    })
    expect(updated.status, updated.text).toBe(200)
    expect(updated.body.event.metadata).toMatchObject({
      organizationId: f.other.organizationId,
      actor: { type: "user", id: VICTIM }
    })
    const other = await call(f.fetch, "GET", `/users/${OWN}`, { token: own, apiKey: f.other.apiKey })
    expectProblem(other, 403, "not-own-user")
  })
})

describe("the kind of token is explicit", () => {
  it("a user token carrying org_id and scope users:write stays a user: no power over other users", async () => {
    const userWithScope = await token({ sub: OWN, org_id: f.tenant.organizationId, scope: "users:write users:read" })
    const before = snapshot()
    expectProblem(
      await call(f.fetch, "POST", `/users/${VICTIM}/UpdatePhoneNumber`, {
        token: userWithScope,
        apiKey: f.tenant.apiKey,
        body: { phoneNumber: "+44 20 7946 0958" }
      }),
      403,
      "not-own-user"
    )
    expectProblem(
      await call(f.fetch, "POST", "/users", { token: userWithScope, apiKey: f.tenant.apiKey, body: { id: "by_user" } }),
      403,
      "missing-scope"
    )
    expectProblem(
      await call(f.fetch, "GET", `/users/${VICTIM}`, { token: userWithScope, apiKey: f.tenant.apiKey }),
      403,
      "not-own-user"
    )
    expect(snapshot()).toEqual(before)
  })

  it('a service token is one with token_use "service": it acts on its organization\'s users within its scope', async () => {
    const service = await token({
      sub: "svc_binding",
      org_id: f.tenant.organizationId,
      token_use: "service",
      scope: "users:read users:write"
    })
    const created = await call(f.fetch, "POST", "/users", {
      token: service,
      apiKey: f.tenant.apiKey,
      body: { id: "made_by_service" }
    })
    expect(created.status, created.text).toBe(201)
    expect(created.body.event.metadata.actor).toEqual({ type: "service", id: "svc_binding" })
  })

  it('a service token (token_use "service") of A with B\'s key, or without org_id: 403 organization-mismatch', async () => {
    const base = { sub: "svc_binding", token_use: "service", scope: "users:read users:write users:erase" }
    await expectMismatchEverywhere(
      await token({ ...base, org_id: f.tenant.organizationId }),
      f.other.apiKey,
      /another organization/
    )
    await expectMismatchEverywhere(await token(base), f.other.apiKey, /no org_id/)
  })

  for (
    const [name, value] of [
      ["admin", "admin"],
      ["Service (another letter case)", "Service"],
      ["an empty string", ""],
      ["a number", 1],
      ["an array holding service", ["service"]],
      ["an object", { kind: "service" }]
    ] as const
  ) {
    it(`token_use ${name}: 401 invalid-token, nothing written`, async () => {
      const jwt = await token({ org_id: f.tenant.organizationId, token_use: value, scope: "users:write" })
      const before = snapshot()
      const answer = await call(f.fetch, "POST", `/users/${VICTIM}/UpdatePhoneNumber`, {
        token: jwt,
        apiKey: f.tenant.apiKey,
        body: { phoneNumber: "+44 20 7946 0958" }
      })
      expectProblem(answer, 401, "invalid-token")
      expect(answer.body.detail).toBe("The token's token_use claim is not accepted.")
      expect(snapshot()).toEqual(before)
    })
  }

  it("an org_id that is not a non-empty string: 401 invalid-token", async () => {
    for (const orgId of ["", 42, [f.tenant.organizationId], { id: f.tenant.organizationId }]) {
      const answer = await call(f.fetch, "GET", `/users/${VICTIM}`, {
        token: await token({ org_id: orgId }),
        apiKey: f.tenant.apiKey
      })
      expectProblem(answer, 401, "invalid-token")
    }
  })
})
