/**
 * Beyond setting a number (issue 5), over the real handler and a real SQLite file: verification state,
 * one number per organization, erasure that keeps the audit trail, reading a user without leaking PII,
 * and the audit chain's head.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { headsOf, headsRoot } from "../../src/audit/checkpoint.js"
import { verifyAudit } from "../../src/audit/verify.js"
import { readAuditInput } from "../../src/layers/sql/audit-input.js"
import { call, expectProblem } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture, type Tenant } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let tenant: Tenant
let admin: string
const ALL_SCOPES = "users:read users:write users:erase users:pii:read audit:read"

const as = (token: string, apiKey = tenant.apiKey) => ({ token, apiKey })
const create = (id: string, phoneNumber?: string) =>
  call(f.fetch, "POST", "/users", { ...as(admin), body: phoneNumber === undefined ? { id } : { id, phoneNumber } })
const setNumber = (id: string, phoneNumber: string | null, token = admin) =>
  call(f.fetch, "POST", `/users/${id}/UpdatePhoneNumber`, { ...as(token), body: { phoneNumber } })
const verify = (id: string, phoneNumber: string, token = admin) =>
  call(f.fetch, "POST", `/users/${id}/MarkPhoneNumberVerified`, { ...as(token), body: { phoneNumber } })
const erase = (id: string, token = admin) => call(f.fetch, "POST", `/users/${id}/ErasePersonalData`, as(token))
const read = (id: string, token = admin) => call(f.fetch, "GET", `/users/${id}`, as(token))

beforeAll(async () => {
  f = await makeSqliteFixture()
})
afterAll(() => f.dispose())
beforeEach(async () => {
  tenant = await f.newTenant()
  admin = await f.serviceToken(ALL_SCOPES, tenant.organizationId)
})

describe("phone verification", () => {
  it("marks the current number verified with its own event, and a new number is unverified again", async () => {
    await create("v1", "+14155552671")
    const verified = await verify("v1", "+1 415 555 2671")
    expect(verified.status).toBe(200)
    expect(verified.body.event).toMatchObject({
      type: "UserPhoneNumberVerified",
      version: 2,
      data: { maskedPhoneNumber: "****2671" }
    })
    expect((await read("v1")).body.phoneNumberVerified).toBe(true)

    const changed = await setNumber("v1", "+442079460958")
    expect(changed.body.event.data.phoneNumberVerified).toBe(false)
    expect((await read("v1")).body.phoneNumberVerified).toBe(false)
  })

  it("answers event null when the number is verified already", async () => {
    await create("v2", "+14155552671")
    await verify("v2", "+14155552671")
    const again = await verify("v2", "+14155552671")
    expect(again.body).toMatchObject({ version: 2, event: null })
  })

  it("refuses to verify a removed number: 409 no-phone-number", async () => {
    await create("v3", "+14155552671")
    await setNumber("v3", null)
    expectProblem(await verify("v3", "+14155552671"), 409, "no-phone-number")
  })

  it("refuses to verify a number that is no longer the user's: 409 phone-number-mismatch", async () => {
    await create("v4", "+14155552671")
    await setNumber("v4", "+442079460958")
    const answer = await verify("v4", "+14155552671")
    expectProblem(answer, 409, "phone-number-mismatch")
    expect(answer.text).not.toContain("4155552671")
  })

  it("lets no user verify its own number: 403", async () => {
    await create("v5", "+14155552671")
    expectProblem(
      await verify("v5", "+14155552671", await f.userToken("v5", tenant.organizationId)),
      403,
      "missing-scope"
    )
  })
})

describe("one number per organization", () => {
  it("refuses a number another user holds, without saying who: 409 phone-number-in-use", async () => {
    await create("holder", "+14155552671")
    await create("taker")
    const answer = await setNumber("taker", "+1 (415) 555-2671")
    expectProblem(answer, 409, "phone-number-in-use")
    expect(answer.text).not.toContain("holder")
    expect(answer.text).not.toContain("4155552671")
    expect(f.query("SELECT phone_number FROM users WHERE organization_id = ? AND id = 'taker'", tenant.organizationId))
      .toEqual([{ phone_number: null }])
  })

  it("refuses it at creation too", async () => {
    await create("holder", "+14155552671")
    expectProblem(await create("second", "+14155552671"), 409, "phone-number-in-use")
  })

  it("frees a number when its holder removes it (a recycled number can be taken)", async () => {
    await create("old_owner", "+14155552671")
    await setNumber("old_owner", null)
    await create("new_owner")
    expect((await setNumber("new_owner", "+14155552671")).status).toBe(200)
  })

  it("lets two organizations each have a user with the same number", async () => {
    await create("here", "+14155552671")
    const other = await f.newTenant()
    const otherAdmin = await f.serviceToken(ALL_SCOPES, other.organizationId)
    const answer = await call(f.fetch, "POST", "/users", {
      token: otherAdmin,
      apiKey: other.apiKey,
      body: { id: "there", phoneNumber: "+14155552671" }
    })
    expect(answer.status).toBe(201)
  })
})

describe("ErasePersonalData", () => {
  it("deletes the raw number, appends UserPersonalDataErased, and keeps the masked trail", async () => {
    await create("e1", "+14155552671")
    await verify("e1", "+14155552671")
    const erased = await erase("e1")
    expect(erased.status).toBe(200)
    expect(erased.body.event).toMatchObject({
      type: "UserPersonalDataErased",
      version: 3,
      data: { erasedFields: ["phoneNumber"] }
    })
    expect(
      f.query(
        "SELECT phone_number, phone_number_verified, erased_at IS NOT NULL AS erased FROM users WHERE organization_id = ? AND id = 'e1'",
        tenant.organizationId
      )
    )
      .toEqual([{ phone_number: null, phone_number_verified: 0, erased: 1 }])
    const events = await call(f.fetch, "GET", "/users/e1/events", as(admin))
    expect(events.body.events.map((e: any) => e.type)).toEqual([
      "UserCreated",
      "UserPhoneNumberVerified",
      "UserPersonalDataErased"
    ])
    expect(events.text).not.toContain("4155552671")
    expect(JSON.stringify(f.query("SELECT * FROM users WHERE organization_id = ?", tenant.organizationId))).not
      .toContain("4155552671")
  })

  it("answers event null when erased twice", async () => {
    await create("e2", "+14155552671")
    await erase("e2")
    expect((await erase("e2")).body).toMatchObject({ success: true, version: 2, event: null })
  })

  it("refuses a new number afterwards: 410 user-erased", async () => {
    await create("e3", "+14155552671")
    await erase("e3")
    expectProblem(await setNumber("e3", "+442079460958"), 410, "user-erased")
  })

  it("may be asked by the user itself, but not by a service without users:erase", async () => {
    await create("e4")
    const writer = await f.serviceToken("users:write", tenant.organizationId)
    expectProblem(await erase("e4", writer), 403, "missing-scope")
    expect((await erase("e4", await f.userToken("e4", tenant.organizationId))).status).toBe(200)
  })

  it("leaves the audit chain verifiable", async () => {
    await create("e5", "+14155552671")
    await erase("e5")
    const head = await call(f.fetch, "GET", `/organizations/${tenant.organizationId}/audit/head`, as(admin))
    const [last] = f.query<{ sequence: number }>(
      "SELECT max(organization_sequence) AS sequence FROM events WHERE organization_id = ?",
      tenant.organizationId
    )
    expect(head.body).toMatchObject({ success: true, organizationId: tenant.organizationId })
    expect(head.body.upToEventSequence).toBe(last!.sequence)
    expect(head.body.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(verifyAudit(readAuditInput((sql) => f.query(sql))).broken).toBeUndefined()
  })
})

describe("GET /users/{id}", () => {
  it("shows the raw number to the user itself, with an ETag", async () => {
    await create("r1", "+14155552671")
    const answer = await read("r1", await f.userToken("r1", tenant.organizationId))
    expect(answer.status).toBe(200)
    expect(answer.headers.get("etag")).toBe('"1"')
    expect(answer.body).toEqual({
      success: true,
      id: "r1",
      version: 1,
      phoneNumber: "+14155552671",
      phoneNumberForm: "raw",
      phoneNumberVerified: false,
      erased: false
    })
  })

  it("shows the raw number to a service with users:pii:read", async () => {
    await create("r2", "+14155552671")
    expect((await read("r2")).body.phoneNumber).toBe("+14155552671")
  })

  it("shows only the masked form to a service without users:pii:read", async () => {
    await create("r3", "+14155552671")
    const reader = await f.serviceToken("users:read", tenant.organizationId)
    const answer = await read("r3", reader)
    expect(answer.body).toMatchObject({ phoneNumber: "****2671", phoneNumberForm: "masked" })
    expect(answer.text).not.toContain("4155552671")
  })

  it("answers 404 for another tenant's user and 403 for another user's token", async () => {
    await create("r4", "+14155552671")
    const other = await f.newTenant()
    const otherAdmin = await f.serviceToken(ALL_SCOPES, other.organizationId)
    expectProblem(await read("r4", otherAdmin), 403, "organization-mismatch")
    expectProblem(
      await call(f.fetch, "GET", "/users/r4", { token: otherAdmin, apiKey: other.apiKey }),
      404,
      "user-not-found"
    )
    expectProblem(await read("r4", await f.userToken("someone", tenant.organizationId)), 403, "not-own-user")
  })
})

describe("GET /organizations/{id}/audit/head", () => {
  it("seals the organization's events in a checkpoint whose root is over the heads of the users they touched", async () => {
    await create("h1", "+14155552671")
    await setNumber("h1", null)
    const answer = await call(f.fetch, "GET", `/organizations/${tenant.organizationId}/audit/head`, as(admin))
    const events = f.query<{ sequence: number; aggregate_id: string; version: number; hash: string }>(
      "SELECT organization_sequence AS sequence, aggregate_id, version, hash FROM events WHERE organization_id = ? " +
        "ORDER BY sequence",
      tenant.organizationId
    )
    expect(answer.body.upToEventSequence).toBe(events.at(-1)!.sequence)
    const [row] = f.query<{ root: string; event_count: number }>(
      "SELECT root, event_count FROM audit_checkpoints WHERE organization_id = ? AND sequence = ?",
      tenant.organizationId,
      answer.body.sequence
    )
    expect(answer.body.root).toBe(row!.root)
    expect(answer.body.eventCount).toBe(row!.event_count)
    const h1 = events.filter((e) => e.aggregate_id === "h1").at(-1)!
    expect(events.filter((e) => e.aggregate_id === "h1").map((e) => e.version)).toEqual([1, 2])
    expect(answer.body.root).not.toBe(headsRoot([]))
    expect(
      headsRoot(headsOf(
        events.slice(-answer.body.eventCount).map((e) => ({
          aggregateId: e.aggregate_id,
          version: e.version,
          hash: e.hash
        }))
      ))
    ).toBe(answer.body.root)
    expect(h1.version).toBe(2)
  })

  it("hides other organizations (404) and needs audit:read (403)", async () => {
    expectProblem(
      await call(f.fetch, "GET", `/organizations/${f.other.organizationId}/audit/head`, as(admin)),
      404,
      "organization-not-found"
    )
    const writer = await f.serviceToken("users:write", tenant.organizationId)
    expectProblem(
      await call(f.fetch, "GET", `/organizations/${tenant.organizationId}/audit/head`, as(writer)),
      403,
      "missing-scope"
    )
  })
})
