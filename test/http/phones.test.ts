/**
 * The phones routes over a real SQLite file: the policy read and replaced, bad policies refused field by field,
 * lookup by number through the index, its record, and the routes it must not shadow.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, expectProblem } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let writer: string
let auditor: string
let looker: string

beforeAll(async () => {
  f = await makeSqliteFixture()
  writer = await f.serviceToken("users:read users:write policy:write")
  auditor = await f.serviceToken("audit:read")
  looker = await f.serviceToken("users:lookup")
})
afterAll(() => f.dispose())

const policyPath = (organizationId = f.tenant.organizationId) => `/organizations/${organizationId}/phone-policy`
const as = (token: string) => ({ token, apiKey: f.tenant.apiKey })

const DEFAULTS = {
  selfService: "direct",
  allowedRegions: null,
  allowedLineTypes: null,
  codeLimits: { perNumberPerHour: 5, perUserPerDay: 10, perOrganizationPerDay: 10_000 },
  onVerifiedConflict: "reject"
}

describe("GET/PUT /organizations/{id}/phone-policy", () => {
  it("answers the defaults, then the policy put, with absent fields at their defaults", async () => {
    const organization = await f.newTenant()
    const read = await f.serviceToken("audit:read", organization.organizationId)
    const write = await f.serviceToken("policy:write", organization.organizationId)
    const path = policyPath(organization.organizationId)
    const before = await call(f.fetch, "GET", path, { token: read, apiKey: organization.apiKey })
    expect(before.status).toBe(200)
    expect(before.body).toEqual({ success: true, organizationId: organization.organizationId, policy: DEFAULTS })
    const put = await call(f.fetch, "PUT", path, {
      token: write,
      apiKey: organization.apiKey,
      body: { selfService: "verify", allowedRegions: ["FR", "BE"], codeLimits: { perUserPerDay: 3 } }
    })
    expect(put.status).toBe(200)
    const expected = {
      ...DEFAULTS,
      selfService: "verify",
      allowedRegions: ["FR", "BE"],
      codeLimits: { ...DEFAULTS.codeLimits, perUserPerDay: 3 }
    }
    expect(put.body.policy).toEqual(expected)
    expect((await call(f.fetch, "GET", path, { token: read, apiKey: organization.apiKey })).body.policy).toEqual(
      expected
    )
  })

  it("needs audit:read to read and policy:write to replace, and only the caller's organization", async () => {
    expectProblem(await call(f.fetch, "GET", policyPath(), as(writer)), 403, "missing-scope")
    expectProblem(await call(f.fetch, "PUT", policyPath(), { ...as(auditor), body: {} }), 403, "missing-scope")
    const user = await f.userToken("u_policy")
    expectProblem(await call(f.fetch, "PUT", policyPath(), { ...as(user), body: {} }), 403, "missing-scope")
    expectProblem(
      await call(f.fetch, "GET", policyPath(f.other.organizationId), as(auditor)),
      404,
      "organization-not-found"
    )
  })

  it.each([
    [{ allowedRegions: ["fr"] }, "allowedRegions must be null or 1 to 300 ISO 3166-1 alpha-2"],
    [{ allowedRegions: ["ZZ"] }, "(entry 0)"],
    [{ allowedRegions: [] }, "allowedRegions must be null"],
    [{ allowedLineTypes: ["SATELLITE"] }, "allowedLineTypes must be null or a non-empty list of MOBILE"],
    [{ codeLimits: { perNumberPerHour: 0 } }, "codeLimits.perNumberPerHour must be a whole number from 1 to 100"],
    [{ codeLimits: { perOrganizationPerDay: 1e9 } }, "codeLimits.perOrganizationPerDay must be a whole number"],
    [{ codeLimits: { perHour: 3 } }, "codeLimits.perHour is not an accepted field"],
    [{ onVerifiedConflict: "steal" }, 'onVerifiedConflict must be "reject" or "release"'],
    [{ selfService: null }, 'selfService must be "direct" or "verify"'],
    [[], "the body must be a JSON object"]
  ])("refuses %j with a 400 naming the rule, and keeps the policy", async (body, rule) => {
    const organization = await f.newTenant()
    const write = await f.serviceToken("policy:write audit:read", organization.organizationId)
    const path = policyPath(organization.organizationId)
    const answer = await call(f.fetch, "PUT", path, { token: write, apiKey: organization.apiKey, body })
    expectProblem(answer, 400, "invalid-body")
    expect(answer.body.detail).toContain(rule)
    expect((await call(f.fetch, "GET", path, { token: write, apiKey: organization.apiKey })).body.policy).toEqual(
      DEFAULTS
    )
  })
})

const create = (id: string, phoneNumber: string | null) =>
  call(f.fetch, "POST", "/users", { ...as(writer), body: { id, phoneNumber } })

describe("POST /users/lookup", () => {
  it("answers the entries held by users of the organization, as written, masked and with their verified flag", async () => {
    await create("lk_1", "+14155550101")
    await create("lk_2", "+33612345678")
    await create("lk_3", null)
    const answer = await call(f.fetch, "POST", "/users/lookup", {
      ...as(looker),
      body: { phoneNumbers: ["+1 (415) 555-0101", "0033 6 12 34 56 78", "+14155550199", "tel:+1-415-555-0101"] }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({
      success: true,
      matches: [
        { phoneNumber: "+1 (415) 555-0101", userId: "lk_1", maskedPhoneNumber: "****0101", phoneNumberVerified: false },
        {
          phoneNumber: "0033 6 12 34 56 78",
          userId: "lk_2",
          maskedPhoneNumber: "****5678",
          phoneNumberVerified: false
        },
        {
          phoneNumber: "tel:+1-415-555-0101",
          userId: "lk_1",
          maskedPhoneNumber: "****0101",
          phoneNumberVerified: false
        }
      ]
    })
  })

  it("follows a change of number, and never finds an erased user or another organization's", async () => {
    await create("lk_move", "+14155550111")
    await call(f.fetch, "POST", "/users/lk_move/UpdatePhoneNumber", {
      ...as(writer),
      body: { phoneNumber: "+14155550112" }
    })
    await create("lk_gone", "+14155550113")
    const eraser = await f.serviceToken("users:erase")
    expect((await call(f.fetch, "POST", "/users/lk_gone/ErasePersonalData", as(eraser))).status).toBe(200)
    const otherWriter = await f.serviceToken("users:write", f.other.organizationId)
    await call(f.fetch, "POST", "/users", {
      token: otherWriter,
      apiKey: f.other.apiKey,
      body: { id: "lk_other", phoneNumber: "+14155550114" }
    })
    const answer = await call(f.fetch, "POST", "/users/lookup", {
      ...as(looker),
      body: { phoneNumbers: ["+14155550111", "+14155550112", "+14155550113", "+14155550114"] }
    })
    expect(answer.body.matches.map((m: { userId: string }) => m.userId)).toEqual(["lk_move"])
    expect(f.query("SELECT phone_number_key FROM users WHERE id = 'lk_gone'")).toEqual([{ phone_number_key: null }])
  })

  it("refuses a number it cannot read with a 422 naming its place, never its text, and records nothing", async () => {
    const before = f.query("SELECT count(*) AS n FROM phone_lookups")
    const answer = await call(f.fetch, "POST", "/users/lookup", {
      ...as(looker),
      body: { phoneNumbers: ["+14155550101", "4155550188", "+1415"] }
    })
    expectProblem(answer, 422, "invalid-phone-number")
    expect(answer.body.hint).toContain("phoneNumbers[1]")
    expect(answer.text).not.toContain("4155550188")
    expect(f.query("SELECT count(*) AS n FROM phone_lookups")).toEqual(before)
  })

  it.each([
    [{ phoneNumbers: [] }, "phoneNumbers must be a list of 1 to 100"],
    [{ phoneNumbers: Array.from({ length: 101 }, (_, i) => `+1415555${String(i).padStart(4, "0")}`) }, "1 to 100"],
    [{ phoneNumbers: ["+1".padEnd(65, "0")] }, "(entry 0)"],
    [{ phoneNumbers: [14155550101] }, "strings of at most 64"],
    [{ numbers: ["+14155550101"] }, "numbers is not an accepted field"]
  ])("refuses %# with a precise 400", async (body, rule) => {
    const answer = await call(f.fetch, "POST", "/users/lookup", { ...as(looker), body })
    expectProblem(answer, 400, "invalid-body")
    expect(answer.body.detail).toContain(rule)
  })

  it("needs a service with users:lookup", async () => {
    const body = { phoneNumbers: ["+14155550101"] }
    expectProblem(await call(f.fetch, "POST", "/users/lookup", { ...as(writer), body }), 403, "missing-scope")
    const user = await f.userToken("lk_1")
    expectProblem(await call(f.fetch, "POST", "/users/lookup", { ...as(user), body }), 403, "missing-scope")
  })

  it("leaves GET /users/lookup a read of the user whose id is lookup, and POST /users a create", async () => {
    expectProblem(await call(f.fetch, "GET", "/users/lookup", as(writer)), 404, "user-not-found")
    expect((await create("lookup", "+14155550177")).status).toBe(201)
    expect((await call(f.fetch, "GET", "/users/lookup", as(writer))).body.id).toBe("lookup")
  })

  it("records every lookup, masked, with its actor, for audit:read", async () => {
    const organization = await f.newTenant()
    const look = await f.serviceToken("users:lookup", organization.organizationId)
    const read = await f.serviceToken("audit:read", organization.organizationId)
    for (const phoneNumbers of [["+14155550101"], ["+33612345678", "+14155550102"]]) {
      const answer = await call(f.fetch, "POST", "/users/lookup", {
        token: look,
        apiKey: organization.apiKey,
        body: { phoneNumbers }
      })
      expect(answer.status).toBe(200)
    }
    const path = `/organizations/${organization.organizationId}/phone-lookups`
    const page = await call(f.fetch, "GET", `${path}?limit=1`, { token: read, apiKey: organization.apiKey })
    expect(page.body).toMatchObject({
      success: true,
      hasMore: true,
      lookups: [{ sequence: 1, actor: { type: "service", id: "svc_test" }, numbersCount: 1, matchesCount: 0 }]
    })
    expect(page.body.lookups[0].maskedPhoneNumbers).toEqual(["****0101"])
    const next = await call(f.fetch, "GET", `${path}?after=${page.body.nextCursor}`, {
      token: read,
      apiKey: organization.apiKey
    })
    expect(next.body.lookups).toMatchObject([{
      sequence: 2,
      numbersCount: 2,
      maskedPhoneNumbers: ["****5678", "****0102"]
    }])
    expect(next.body.hasMore).toBe(false)
    expect(JSON.stringify(f.query("SELECT * FROM phone_lookups"))).not.toMatch(/4155550101|612345678/)
    expectProblem(await call(f.fetch, "GET", path, { token: look, apiKey: organization.apiKey }), 403, "missing-scope")
  })

  it("puts none of the numbers looked up in a log line", () => {
    expect(f.logs.some((line) => line.route === "/users/lookup")).toBe(true)
    const logged = JSON.stringify(f.logs)
    for (const digits of ["4155550101", "612345678", "4155550188", "4155550111", "4155550113"]) {
      expect(logged).not.toContain(digits)
    }
  })
})
