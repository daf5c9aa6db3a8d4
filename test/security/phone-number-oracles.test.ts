/**
 * Issue 9, finding 2: answers that depended on a guessed raw number. A service with users:write but without
 * users:pii:read confirmed a user's number by guessing: POST /users for the existing id answered 200 `event: null` on
 * a match and 409 otherwise, and MarkPhoneNumberVerified answered 409 phone-number-mismatch on a wrong number. Now
 * both answers are the same for the right and a wrong number, and nothing is written either way.
 * Through the real fetch handler over a real SQLite file.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Answer, call, expectProblem } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture, type Tenant } from "../support/sqlite-fixture.js"

const NUMBER = "+14155552671"
const WRONG = "+14155552672"
const ALL_SCOPES = "users:read users:write users:erase users:pii:read audit:read"

let f: SqliteFixture
let tenant: Tenant
let admin: string
/** A backend that may write users but not read their numbers: the prober of the finding. */
let writer: string
let counter = 0

const as = (token: string) => ({ token, apiKey: tenant.apiKey })
const create = (token: string, id: string, phoneNumber?: string) =>
  call(f.fetch, "POST", "/users", { ...as(token), body: phoneNumber === undefined ? { id } : { id, phoneNumber } })
const verify = (token: string, id: string, phoneNumber: string) =>
  call(f.fetch, "POST", `/users/${id}/MarkPhoneNumberVerified`, { ...as(token), body: { phoneNumber } })

/** Everything the organization's users and events (and kept answers) hold, every column. */
const snapshot = () => ({
  users: f.query("SELECT * FROM users WHERE organization_id = ? ORDER BY id", tenant.organizationId),
  events: f.query("SELECT * FROM events WHERE organization_id = ? ORDER BY sequence", tenant.organizationId)
})

/** An answer as the prober sees it, minus the one thing that differs per request anyway. */
const observable = (answer: Answer) => {
  const { requestId: _requestId, ...body } = answer.body ?? {}
  return {
    status: answer.status,
    contentType: answer.headers.get("content-type"),
    etag: answer.headers.get("etag"),
    body
  }
}

/** A user created by the admin, with NUMBER unless told otherwise (null: no number). */
const newVictim = async (phoneNumber: string | null = NUMBER) => {
  const id = `victim_${++counter}`
  expect((await create(admin, id, phoneNumber ?? undefined)).status).toBe(201)
  return id
}

beforeAll(async () => {
  f = await makeSqliteFixture()
})
afterAll(() => f.dispose())
beforeEach(async () => {
  tenant = await f.newTenant()
  admin = await f.serviceToken(ALL_SCOPES, tenant.organizationId)
  writer = await f.serviceToken("users:write", tenant.organizationId)
})

describe("POST /users for an id that exists", () => {
  it("answers the same 409 user-already-exists for the right number, a wrong one and none, and writes nothing", async () => {
    const victim = await newVictim()
    const before = snapshot()
    const right = await create(writer, victim, NUMBER)
    const rightOtherFormat = await create(writer, victim, "+1 (415) 555-2671")
    const wrong = await create(writer, victim, WRONG)
    const none = await create(writer, victim)
    for (const answer of [right, rightOtherFormat, wrong, none]) expectProblem(answer, 409, "user-already-exists")
    expect(observable(right)).toEqual(observable(wrong))
    expect(observable(rightOtherFormat)).toEqual(observable(wrong))
    expect(observable(none)).toEqual(observable(wrong))
    expect(snapshot()).toEqual(before)
  })

  it("answers the same for a user without a number, whatever number is guessed", async () => {
    const victim = await newVictim(null)
    const before = snapshot()
    const none = await create(writer, victim)
    const guess = await create(writer, victim, NUMBER)
    expectProblem(none, 409, "user-already-exists")
    expect(observable(guess)).toEqual(observable(none))
    expect(snapshot()).toEqual(before)
  })

  it("answers 410 user-erased for an erased user, whatever number is guessed", async () => {
    const victim = await newVictim()
    expect((await call(f.fetch, "POST", `/users/${victim}/ErasePersonalData`, as(admin))).status).toBe(200)
    const before = snapshot()
    const answers = [await create(writer, victim, NUMBER), await create(writer, victim, WRONG)]
    for (const answer of answers) expectProblem(answer, 410, "user-erased")
    expect(observable(answers[0]!)).toEqual(observable(answers[1]!))
    expect(snapshot()).toEqual(before)
  })
})

describe("MarkPhoneNumberVerified without users:pii:read", () => {
  it("answers the same 403 missing-scope for the right and a wrong number, and changes nothing", async () => {
    const victim = await newVictim()
    const before = snapshot()
    const right = await verify(writer, victim, NUMBER)
    const wrong = await verify(writer, victim, WRONG)
    expectProblem(right, 403, "missing-scope")
    expectProblem(wrong, 403, "missing-scope")
    expect(right.body.detail).toContain("users:pii:read")
    expect(observable(right)).toEqual(observable(wrong))
    expect(snapshot()).toEqual(before)
  })

  it("is refused before the user or the number is looked at: the same 403 for a missing user and for no number", async () => {
    const victim = await newVictim()
    const refusal = observable(await verify(writer, victim, NUMBER))
    expect(observable(await verify(writer, "nobody_here", NUMBER))).toEqual(refusal)
    expect(observable(await verify(writer, victim, "not a number"))).toEqual(refusal)
    expect(observable(await verify(writer, await newVictim(null), NUMBER))).toEqual(refusal)
  })

  it("is refused to users:pii:read without users:write, and to a user token, as before", async () => {
    const victim = await newVictim()
    const before = snapshot()
    const reader = await f.serviceToken("users:read users:pii:read", tenant.organizationId)
    const refused = await verify(reader, victim, NUMBER)
    expectProblem(refused, 403, "missing-scope")
    expect(refused.body.detail).toContain("users:write")
    expectProblem(await verify(await f.userToken(victim, tenant.organizationId), victim, NUMBER), 403, "missing-scope")
    expect(snapshot()).toEqual(before)
  })
})

describe("MarkPhoneNumberVerified with users:write and users:pii:read", () => {
  it("still verifies the stored number, and still refuses another one with 409 phone-number-mismatch", async () => {
    const victim = await newVictim()
    const verifier = await f.serviceToken("users:write users:pii:read", tenant.organizationId)
    const mismatch = await verify(verifier, victim, WRONG)
    expectProblem(mismatch, 409, "phone-number-mismatch")
    const verified = await verify(verifier, victim, NUMBER)
    expect(verified.status).toBe(200)
    expect(verified.body.event).toMatchObject({
      type: "UserPhoneNumberVerified",
      version: 2,
      data: { maskedPhoneNumber: "****2671" }
    })
    expect(
      f.query(
        "SELECT phone_number_verified FROM users WHERE organization_id = ? AND id = ?",
        tenant.organizationId,
        victim
      )
    )
      .toEqual([{ phone_number_verified: 1 }])
  })
})
