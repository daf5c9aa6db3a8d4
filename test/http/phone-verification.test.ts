/**
 * The verified change of number through the real fetch handler over a real SQLite file: codes delivered to a real
 * receiver on 127.0.0.1 that checks their Standard Webhooks signature, confirmed, refused, used up, expired, and a
 * recycled number released from its holder in the same write.
 */
import Database from "better-sqlite3"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { Webhook } from "standardwebhooks"
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest"
import { verifyFeed } from "../../src/client.js"
import { DEV_CODES_FILE, devCodeSender, recentDevCodes } from "../../src/layers/code-sender-dev.js"
import { CodeLimits, PhonePolicies, PhonePolicy } from "../../src/services/phone-policy.js"
import { type Answer, call, expectProblem } from "../support/client.js"
import { BIN, ROOT } from "../support/processes.js"
import { makeSqliteFixture, type SqliteFixture, type Tenant } from "../support/sqlite-fixture.js"
import { type Receiver, startReceiver } from "../support/webhook-receiver.js"

let f: SqliteFixture
let receiver: Receiver
let tenant: Tenant
let service: string
let codeDeliverySecret: string
let counter = 0
let userId: string

const NEW = "+14155552671"
const OLD = "+442079460958"

const as = (token: string) => ({ token, apiKey: tenant.apiKey })
const request = (body: unknown, options: { token?: string; id?: string; headers?: Record<string, string> } = {}) =>
  call(f.fetch, "POST", `/users/${options.id ?? userId}/UpdatePhoneNumber`, {
    ...as(options.token ?? service),
    body,
    ...(options.headers === undefined ? {} : { headers: options.headers })
  })
const confirm = (code: unknown, options: { token?: string; id?: string } = {}) =>
  call(f.fetch, "POST", `/users/${options.id ?? userId}/ConfirmPhoneNumberChange`, {
    ...as(options.token ?? service),
    body: { code }
  })
const getUser = (id = userId) => call(f.fetch, "GET", `/users/${id}`, as(service))
const createUser = async (id: string, phoneNumber: string | null) =>
  expect((await call(f.fetch, "POST", "/users", { ...as(service), body: { id, phoneNumber } })).status).toBe(201)

/** The code the receiver got, after checking its signature. */
const deliveredCode = (changeId: string) => {
  const [delivery] = receiver.withId(changeId)
  expect(delivery).toBeDefined()
  const payload = new Webhook(codeDeliverySecret).verify(delivery!.body, delivery!.headers) as {
    type: string
    data: { userId: string; phoneNumber: string; code: string; expiresAt: string }
  }
  expect(payload.type).toBe("phone.verification-code")
  return payload.data
}

const wrong = (code: string) => code === "000000" ? "000001" : "000000"

beforeAll(async () => {
  f = await makeSqliteFixture()
  receiver = await startReceiver()
})
afterAll(async () => {
  await receiver.close()
  await f.dispose()
})
beforeEach(async () => {
  tenant = await f.newTenant()
  service = await f.serviceToken(
    "users:read users:write users:pii:read webhooks:write phone:code:return",
    tenant.organizationId
  )
  const configured = await call(f.fetch, "PUT", `/organizations/${tenant.organizationId}/code-delivery`, {
    ...as(service),
    body: { url: receiver.url }
  })
  expect(configured.status).toBe(200)
  codeDeliverySecret = configured.body.secret
  userId = `user_${++counter}`
  await createUser(userId, OLD)
})

describe("UpdatePhoneNumber with verification, then ConfirmPhoneNumberChange", () => {
  it("send-code: 202 with the pending change, the old number kept, the code signed to the endpoint, then applied", async () => {
    const requested = await request({ phoneNumber: NEW, verification: "send-code" })
    expect(requested.status).toBe(202)
    expect(requested.body).toMatchObject({
      success: true,
      aggregateId: userId,
      version: 2,
      event: { type: "UserPhoneNumberChangeRequested", version: 2, data: { maskedPhoneNumber: "****2671" } },
      pendingChange: { maskedPhoneNumber: "****2671" }
    })
    expect(requested.body.verificationCode).toBeUndefined()
    expect(JSON.stringify(requested.body)).not.toContain("5552671")
    const { expiresAt, id } = requested.body.pendingChange
    const validFor = Date.parse(expiresAt) - Date.parse(requested.body.event.occurredAt)
    expect(validFor).toBeGreaterThan(10 * 60 * 1000 - 1000)
    expect(validFor).toBeLessThanOrEqual(10 * 60 * 1000)
    const delivered = deliveredCode(id)
    expect(delivered).toMatchObject({ userId, phoneNumber: NEW, expiresAt })
    expect(delivered.code).toMatch(/^[0-9]{6}$/)

    const before = await getUser()
    expect(before.body).toMatchObject({
      phoneNumber: OLD,
      phoneNumberVerified: false,
      pendingPhoneNumberChange: { maskedPhoneNumber: "****2671", expiresAt }
    })
    // The code is never readable back from storage: only its keyed hash.
    const [row] = f.query<{ code_hash: string }>(
      "SELECT code_hash FROM pending_phone_changes WHERE user_id = ?",
      userId
    )
    expect(row!.code_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.stringify(f.query("SELECT * FROM pending_phone_changes"))).not.toContain(delivered.code)

    const confirmed = await confirm(delivered.code)
    expect(confirmed.status).toBe(200)
    expect(confirmed.body).toMatchObject({
      aggregateId: userId,
      version: 3,
      event: {
        type: "UserPhoneNumberUpdated",
        data: { maskedPhoneNumber: "****2671", previousMaskedPhoneNumber: "****0958", phoneNumberVerified: true }
      }
    })
    const after = await getUser()
    expect(after.body).toMatchObject({ phoneNumber: NEW, phoneNumberVerified: true, version: 3 })
    expect(after.body.pendingPhoneNumberChange).toBeUndefined()
    expect(f.query("SELECT * FROM pending_phone_changes WHERE user_id = ?", userId)).toEqual([])
    expectProblem(await confirm(delivered.code), 404, "no-pending-change")
  })

  it("return-code: the code in the answer for a service with phone:code:return, and a 403 without the scope", async () => {
    const narrow = await f.serviceToken("users:read users:write", tenant.organizationId)
    expectProblem(
      await request({ phoneNumber: NEW, verification: "return-code" }, { token: narrow }),
      403,
      "missing-scope"
    )
    const user = await f.userToken(userId, tenant.organizationId)
    expectProblem(
      await request({ phoneNumber: NEW, verification: "return-code" }, { token: user }),
      403,
      "missing-scope"
    )
    const requested = await request({ phoneNumber: NEW, verification: "return-code" })
    expect(requested.status).toBe(202)
    expect(requested.body.verificationCode).toMatch(/^[0-9]{6}$/)
    expect(receiver.withId(requested.body.pendingChange.id)).toHaveLength(0)
    // The user itself confirms.
    expect((await confirm(requested.body.verificationCode, { token: user })).status).toBe(200)
  })

  it("with an Idempotency-Key, an answer holding a code is not kept: the retry gets a new change and code", async () => {
    const headers = { "idempotency-key": `key-${userId}` }
    const first = await request({ phoneNumber: NEW, verification: "return-code" }, { headers })
    const retry = await request({ phoneNumber: NEW, verification: "return-code" }, { headers })
    expect(retry.status).toBe(202)
    expect(retry.headers.get("idempotent-replayed")).toBeNull()
    expect(retry.body.pendingChange.id).not.toBe(first.body.pendingChange.id)
    expect(f.query("SELECT * FROM idempotency_keys WHERE response_body LIKE '%verificationCode%'")).toEqual([])
  })

  it("a wrong code is a 422 with attemptsLeft; the fifth is a 410 and the change is gone, the right code too", async () => {
    const requested = await request({ phoneNumber: NEW, verification: "return-code" })
    const code: string = requested.body.verificationCode
    for (const left of [4, 3, 2, 1]) {
      const answer = await confirm(wrong(code))
      expectProblem(answer, 422, "invalid-verification-code")
      expect(answer.body.attemptsLeft).toBe(left)
    }
    expectProblem(await confirm(wrong(code)), 410, "verification-expired")
    expectProblem(await confirm(code), 404, "no-pending-change")
    expect((await getUser()).body).toMatchObject({ phoneNumber: OLD, version: 2 })
  })

  it("an expired change is a 410 verification-expired, and its number is forgotten", async () => {
    const requested = await request({ phoneNumber: NEW, verification: "return-code" })
    const writer = new Database(f.filename)
    writer.prepare("UPDATE pending_phone_changes SET expires_at = ? WHERE user_id = ?")
      .run("2000-01-01T00:00:00.000Z", userId)
    writer.close()
    expect((await getUser()).body.pendingPhoneNumberChange).toBeUndefined()
    expectProblem(await confirm(requested.body.verificationCode), 410, "verification-expired")
    expect(f.query("SELECT * FROM pending_phone_changes WHERE user_id = ?", userId)).toEqual([])
  })

  it("an expired change is deleted by the organization's next request, its number with it", async () => {
    await request({ phoneNumber: NEW, verification: "return-code" })
    const writer = new Database(f.filename)
    writer.prepare("UPDATE pending_phone_changes SET expires_at = ? WHERE user_id = ?")
      .run("2000-01-01T00:00:00.000Z", userId)
    writer.close()
    const other = `${userId}_other`
    await createUser(other, null)
    expect((await request({ phoneNumber: "+16175550123", verification: "return-code" }, { id: other })).status)
      .toBe(202)
    expect(f.query("SELECT user_id FROM pending_phone_changes WHERE organization_id = ?", tenant.organizationId))
      .toEqual([{ user_id: other }])
  })

  it("malformed codes are 400 invalid-body and count no attempt", async () => {
    await request({ phoneNumber: NEW, verification: "return-code" })
    for (const code of ["12345", "1234567", "abcdef", 123456, null, " 12345"]) {
      expectProblem(await confirm(code), 400, "invalid-body")
    }
    expect(f.query("SELECT attempts FROM pending_phone_changes WHERE user_id = ?", userId)).toEqual([{ attempts: 0 }])
    expectProblem(await request({ phoneNumber: NEW, verification: "sms" }), 400, "invalid-body")
  })

  it("a new request replaces the pending one: the old code proves nothing", async () => {
    const first = await request({ phoneNumber: NEW, verification: "return-code" })
    const second = await request({ phoneNumber: "+16175550123", verification: "return-code" })
    expect(second.body.version).toBe(3)
    const refused = await confirm(first.body.verificationCode)
    if (first.body.verificationCode !== second.body.verificationCode) {
      expectProblem(refused, 422, "invalid-verification-code")
    }
    expect((await confirm(second.body.verificationCode)).body.event.data.maskedPhoneNumber).toBe("****0123")
  })

  it("requesting the current number re-verifies it: UserPhoneNumberVerified", async () => {
    const requested = await request({ phoneNumber: OLD, verification: "return-code" })
    const confirmed = await confirm(requested.body.verificationCode)
    expect(confirmed.body.event).toMatchObject({
      type: "UserPhoneNumberVerified",
      data: { maskedPhoneNumber: "****0958" }
    })
    expect((await getUser()).body).toMatchObject({ phoneNumber: OLD, phoneNumberVerified: true })
  })

  it("a pending number reserves nothing: another user may take it meanwhile", async () => {
    await request({ phoneNumber: NEW, verification: "return-code" })
    await createUser(`${userId}_b`, NEW)
  })

  it("a recycled number: released from an unverified holder in the same write, with its event", async () => {
    const holder = `${userId}_holder`
    await createUser(holder, NEW)
    const requested = await request({ phoneNumber: NEW, verification: "return-code" })
    const confirmed = await confirm(requested.body.verificationCode)
    expect(confirmed.status).toBe(200)
    expect((await getUser(holder)).body).toMatchObject({ phoneNumber: null, version: 2 })
    const events = await call(f.fetch, "GET", `/users/${holder}/events`, as(service))
    expect(events.body.events[1]).toMatchObject({
      type: "UserPhoneNumberReleased",
      version: 2,
      data: { maskedPhoneNumber: "****2671", reason: "verified-by-another-user" }
    })
    expect(events.body.events[1].metadata.requestId).toBe(confirmed.body.event.metadata.requestId)
    // Both chains, the feed and the audit head verify with the new event types in them.
    const auditor = await f.serviceToken("audit:read", tenant.organizationId)
    const head = await call(f.fetch, "GET", `/organizations/${tenant.organizationId}/audit/head`, as(auditor))
    const feed = await call(f.fetch, "GET", `/organizations/${tenant.organizationId}/events?limit=100`, as(auditor))
    expect(feed.body.events.map((e: { event: { type: string } }) => e.event.type)).toEqual(expect.arrayContaining([
      "UserPhoneNumberChangeRequested",
      "UserPhoneNumberReleased"
    ]))
    expect(await verifyFeed(feed.body.events, head.body)).toMatchObject({ ok: true })
  })

  it("a verified holder keeps its number: 409 phone-number-in-use, and the change stays pending", async () => {
    const holder = `${userId}_holder`
    await createUser(holder, NEW)
    const verified = await call(f.fetch, "POST", `/users/${holder}/MarkPhoneNumberVerified`, {
      ...as(service),
      body: { phoneNumber: NEW }
    })
    expect(verified.status).toBe(200)
    const requested = await request({ phoneNumber: NEW, verification: "return-code" })
    expectProblem(await confirm(requested.body.verificationCode), 409, "phone-number-in-use")
    expect((await getUser(holder)).body).toMatchObject({ phoneNumber: NEW, version: 2 })
    expect((await getUser()).body).toMatchObject({ phoneNumber: OLD, pendingPhoneNumberChange: {} })
  })

  it("a code-delivery endpoint that is down: 503, the change pending, nothing sent twice, a new code next time", async () => {
    receiver.respond(() => ({ status: 500 }))
    try {
      const failed = await request({ phoneNumber: NEW, verification: "send-code" })
      expectProblem(failed, 503, "code-delivery-unavailable")
      expect((await getUser()).body.pendingPhoneNumberChange).toMatchObject({ maskedPhoneNumber: "****2671" })
    } finally {
      receiver.respond(() => ({ status: 204 }))
    }
    const again = await request({ phoneNumber: NEW, verification: "send-code" })
    expect(again.status).toBe(202)
    const first = receiver.received.filter((r) => r.headers["webhook-id"] !== again.body.pendingChange.id)
      .filter((r) => JSON.parse(r.body).data.userId === userId)
    expect(new Set(first.map((r) => r.headers["webhook-id"])).size).toBe(1)
    expect(receiver.withId(again.body.pendingChange.id)).toHaveLength(1)
    const firstCode = JSON.parse(first[0]!.body).data.code
    const code = deliveredCode(again.body.pendingChange.id).code
    if (firstCode !== code) expectProblem(await confirm(firstCode), 422, "invalid-verification-code")
    expect((await confirm(code)).status).toBe(200)
  })

  it("without a code-delivery endpoint: 503 code-delivery-unavailable", async () => {
    const other = await f.newTenant()
    const token = await f.serviceToken("users:write", other.organizationId)
    await call(f.fetch, "POST", "/users", { token, apiKey: other.apiKey, body: { id: "u1" } })
    const answer = await call(f.fetch, "POST", "/users/u1/UpdatePhoneNumber", {
      token,
      apiKey: other.apiKey,
      body: { phoneNumber: NEW, verification: "send-code" }
    })
    expectProblem(answer, 503, "code-delivery-unavailable")
  })

  it("PUT code-delivery: webhooks:write, the caller's organization, the webhook URL rules", async () => {
    const path = `/organizations/${tenant.organizationId}/code-delivery`
    const narrow = await f.serviceToken("users:write", tenant.organizationId)
    expectProblem(
      await call(f.fetch, "PUT", path, { ...as(narrow), body: { url: receiver.url } }),
      403,
      "missing-scope"
    )
    expectProblem(
      await call(f.fetch, "PUT", "/organizations/org_a/code-delivery", { ...as(service), body: { url: receiver.url } }),
      404,
      "organization-not-found"
    )
    expectProblem(
      await call(f.fetch, "PUT", path, { ...as(service), body: { url: "ftp://x" } }),
      400,
      "invalid-webhook-url"
    )
    expectProblem(await call(f.fetch, "PUT", path, { ...as(service), body: {} }), 400, "invalid-body")
  })

  it("ConfirmPhoneNumberChange: another user is 403, an unknown user 404, no pending change 404", async () => {
    const other = await f.userToken("someone_else", tenant.organizationId)
    expectProblem(await confirm("123456", { token: other }), 403, "not-own-user")
    expectProblem(await confirm("123456", { id: "nobody" }), 404, "user-not-found")
    expectProblem(await confirm("123456"), 404, "no-pending-change")
  })

  it("erasure deletes the pending change, and confirming after it is a 410 user-erased", async () => {
    const requested = await request({ phoneNumber: NEW, verification: "return-code" })
    const erase = await f.serviceToken("users:erase", tenant.organizationId)
    expect((await call(f.fetch, "POST", `/users/${userId}/ErasePersonalData`, as(erase))).status).toBe(200)
    expect(f.query("SELECT * FROM pending_phone_changes WHERE user_id = ?", userId)).toEqual([])
    expectProblem(await confirm(requested.body.verificationCode), 410, "user-erased")
  })
})

describe("the organization's phone policy in the verified change", () => {
  const setPolicy = (policy: ConstructorParameters<typeof PhonePolicy>[0]) =>
    f.handler.run(Effect.orDie(Effect.asVoid(
      Effect.flatMap(PhonePolicies, (policies) => policies.put(tenant.organizationId, PhonePolicy.make(policy)))
    ))).done

  it("a number outside allowedRegions is a 422 phone-number-not-allowed, before any code or event", async () => {
    await setPolicy({ allowedRegions: ["GB"] })
    const refused = await request({ phoneNumber: NEW, verification: "send-code" })
    expectProblem(refused, 422, "phone-number-not-allowed")
    expect(refused.text).not.toContain("5552671")
    expect((await getUser()).body).toMatchObject({ version: 1 })
    expect(receiver.received.filter((r) => JSON.parse(r.body).data.userId === userId)).toEqual([])
  })

  it("a code over perNumberPerHour is a 429 with Retry-After and RateLimit headers, and no new code", async () => {
    await setPolicy({ codeLimits: CodeLimits.make({ perNumberPerHour: 1 }) })
    const first = await request({ phoneNumber: NEW, verification: "return-code" })
    expect(first.status).toBe(202)
    const limited = await request({ phoneNumber: NEW, verification: "return-code" })
    expectProblem(limited, 429, "verification-rate-limited")
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0)
    expect(limited.headers.get("ratelimit-policy")).toBe('"per-number";q=1;w=3600')
    expect((await confirm(first.body.verificationCode)).status).toBe(200)
  })

  it("onVerifiedConflict release: a verified holder's number is released to whoever proves possession", async () => {
    await setPolicy({ onVerifiedConflict: "release" })
    const holder = `${userId}_holder`
    await createUser(holder, NEW)
    await call(f.fetch, "POST", `/users/${holder}/MarkPhoneNumberVerified`, {
      ...as(service),
      body: { phoneNumber: NEW }
    })
    const requested = await request({ phoneNumber: NEW, verification: "return-code" })
    expect((await confirm(requested.body.verificationCode)).status).toBe(200)
    expect((await getUser(holder)).body).toMatchObject({ phoneNumber: null, phoneNumberVerified: false, version: 3 })
  })

  it("selfService verify: a user's own UpdatePhoneNumber is a send-code change; a service's stays direct", async () => {
    await setPolicy({ selfService: "verify" })
    const user = await f.userToken(userId, tenant.organizationId)
    const own = await request({ phoneNumber: NEW }, { token: user })
    expect(own.status).toBe(202)
    expect(own.body.event.data.delivery).toBe("send-code")
    expect(receiver.withId(own.body.pendingChange.id)).toHaveLength(1)
    expect((await request({ phoneNumber: "+16175550123" })).status).toBe(200)
  })
})

void ({} as Answer)

describe("local dev mode: codes of an organization without an endpoint on the console", () => {
  it("prints the code with the masked number through the Logger, keeps it for tooling, and it confirms", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "users-api-dev-codes-"))
    const dev = await makeSqliteFixture({ verification: { devSink: devCodeSender(join(dataDir, DEV_CODES_FILE)) } })
    const lines: Array<string> = []
    const spy = vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) =>
      void lines.push(args.join(" "))
    )
    try {
      const token = await dev.serviceToken("users:read users:write", dev.tenant.organizationId)
      const auth = { token, apiKey: dev.tenant.apiKey }
      expect((await call(dev.fetch, "POST", "/users", { ...auth, body: { id: "u1", phoneNumber: OLD } })).status)
        .toBe(201)
      const requested = await call(dev.fetch, "POST", "/users/u1/UpdatePhoneNumber", {
        ...auth,
        body: { phoneNumber: NEW, verification: "send-code" }
      })
      expect(requested.status).toBe(202)
      const [shown] = recentDevCodes()
      expect(shown).toMatchObject({ userId: "u1", maskedPhoneNumber: "****2671" })
      const printed = lines.find((line) => line.includes(shown!.code))
      expect(printed).toContain("****2671")
      expect(printed).not.toContain("5552671")
      const confirmed = await call(dev.fetch, "POST", "/users/u1/ConfirmPhoneNumberChange", {
        ...auth,
        body: { code: shown!.code }
      })
      expect(confirmed.status).toBe(200)
      // What `npm run dev:codes` reads from the data directory, with the raw number nowhere.
      expect(readFileSync(join(dataDir, DEV_CODES_FILE), "utf8")).not.toContain("5552671")
      const { stdout } = await promisify(execFile)(BIN.bun, ["scripts/dev-codes.ts"], {
        cwd: ROOT,
        env: { ...process.env, USERS_API_DATA_DIR: dataDir }
      })
      expect(stdout.split("\n")[0]).toBe(`${shown!.code}  u1  ****2671  until ${shown!.expiresAt}`)
    } finally {
      spy.mockRestore()
      await dev.dispose()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
