/**
 * No phone number leaks: a realistic session through the real handler over a real SQLite file, twice (once logging
 * to the fixture's sink, once to the console as in production), capturing every log line, everything written to
 * the console, every response (status, headers, body), the whole events table, and every webhook the relay delivered
 * (to a real receiver on 127.0.0.1 subscribed to every event type: headers and body as received). None may contain
 * any of the numbers used, in any of the forms a number is written in; no webhook carries a token or an API key.
 * The masked last four digits are allowed. The first handler has a fingerprint key: its events carry commitments,
 * and the fingerprints themselves are only in phone_fingerprints, which is scanned too.
 */
import { Effect } from "effect"
import { parsePhoneNumber } from "libphonenumber-js/max"
import { format } from "node:util"
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from "vitest"
import { relayForever } from "../../src/app/webhook-relay.js"
import { makeWakeSignal, type RelayLogLine } from "../../src/app/webhook-relay.js"
import { webhookSecretDeriver } from "../../src/app/webhook-secrets.js"
import { DEV_AUDIENCE, DEV_ISSUER, jwksOf } from "../../src/dev/signing.js"
import { type FetchHandler, type Job, makeFetchHandler } from "../../src/fetch-handler.js"
import { SqliteNodeServices } from "../../src/layers/sqlite/node.js"
import { FetchWebhookTransport } from "../../src/layers/webhooks/transport.js"
import { WEBHOOK_EVENT_TYPES } from "../../src/services/webhooks.js"
import { type Answer, call, type Fetch } from "../support/client.js"
import { eventually } from "../support/eventually.js"
import { keepLogs } from "../support/logs.js"
import {
  makeSqliteFixture,
  type SqliteFixture,
  type Tenant,
  TEST_WEBHOOK_SECRET_KEY
} from "../support/sqlite-fixture.js"
import { type Receiver, startReceiver } from "../support/webhook-receiver.js"

/** Every phone-like string sent during the session, exactly as sent. */
const SENT_NUMBERS = [
  "+1 (415) 555-2671",
  "001 415 555 2671",
  "+44 20 7946 0958",
  "0044 20 7946 0958",
  "+33 1 23 45 67 89",
  "0033 1 23 45 67 89",
  "+61 412 345 678",
  "+81 3-1234-5678",
  "+49 1512 3456789",
  "+55 11 98765-4321",
  "+12125550123",
  "+1 415 555 267",
  "+44 20 7946 095",
  "020 7946 0958",
  "+1 212 555 0123 ext. 5",
  "+\uff11 \uff14\uff11\uff15 \uff15\uff15\uff15 \uff12\uff16\uff17\uff11"
] as const

const digitsOnly = (text: string) => text.replace(/\D/g, "")

/** Every form of every number, at least 6 characters long (so the masked last four never count). */
const forbiddenForms = (): Map<string, string> => {
  const forms = new Map<string, string>()
  const add = (form: string, origin: string) => {
    if (form.length >= 6) forms.set(form, origin)
  }
  for (const raw of SENT_NUMBERS) {
    add(raw, `${raw} as sent`)
    add(digitsOnly(raw), `${raw} digits`)
    let parsed
    try {
      parsed = parsePhoneNumber(raw.replace(/^00/, "+"))
    } catch {
      continue
    }
    const written: Record<string, string> = {
      "E.164": parsed.number,
      "E.164 without +": parsed.number.slice(1),
      "national significant number": parsed.nationalNumber,
      "national format": parsed.formatNational(),
      "international format": parsed.formatInternational()
    }
    for (const [name, form] of Object.entries(written)) {
      add(form, `${raw} ${name}`)
      add(digitsOnly(form), `${raw} ${name}, digits only`)
    }
  }
  return forms
}

const TEMPLATES = new Set([
  "/users",
  "/users/:id/UpdatePhoneNumber",
  "/users/:id/ConfirmPhoneNumberChange",
  "/users/:id/events",
  "/users/:id",
  "/organizations/:organizationId/webhooks",
  "(unmatched)"
])

let f: SqliteFixture
let receiver: Receiver
let relay: Job
const relayLogs: Array<RelayLogLine> = []
let consoleHandler: FetchHandler
let consoleTenant: Tenant
const spies: Array<MockInstance> = []
const consoleOutput: Array<{ readonly method: string; readonly args: Array<unknown>; readonly text: string }> = []
const answers: Array<{ readonly step: string; readonly answer: Answer }> = []
/** Every verification code issued: none may appear anywhere but the return-code answer that carried it. */
const codes: Array<string> = []
/** Every credential the session used: none may reach a log line. */
const credentials: Array<string> = []

interface Expected {
  readonly step: string
  readonly status: number
  readonly code?: string
}

/**
 * The session: create users with numbers, set, change, remove, no-ops, invalid numbers, wrong types, oversize,
 * the string "null", 401/403/404/409/412/413/415 cases, and reading the audit trail.
 */
const runSession = async (fetch: Fetch, tenant: Tenant, prefix: string): Promise<number> => {
  const service = await f.serviceToken("users:read users:write", tenant.organizationId)
  const readOnly = await f.serviceToken("users:read", tenant.organizationId)
  const otherOrg = await f.serviceToken("users:read users:write", f.other.organizationId)
  const alice = `${prefix}_alice`
  const bob = `${prefix}_bob`
  const carol = `${prefix}_carol`
  const aliceToken = await f.userToken(alice, tenant.organizationId)
  const mallory = await f.userToken(`${prefix}_mallory`, tenant.organizationId)
  const webhooks = await f.serviceToken("webhooks:write audit:read", tenant.organizationId)
  const codeReturner = await f.serviceToken("users:read users:write phone:code:return", tenant.organizationId)
  credentials.push(
    service,
    readOnly,
    otherOrg,
    aliceToken,
    mallory,
    webhooks,
    codeReturner,
    tenant.apiKey,
    f.other.apiKey
  )
  let requests = 0

  const step = async (
    expected: Expected,
    method: string,
    path: string,
    options: Parameters<typeof call>[3] = {}
  ) => {
    requests++
    const answer = await call(fetch, method, path, { token: service, apiKey: tenant.apiKey, ...options })
    answers.push({ step: `${prefix}: ${expected.step}`, answer })
    expect(answer.status, `${expected.step}: ${answer.text}`).toBe(expected.status)
    if (expected.code !== undefined) expect(answer.body?.code, expected.step).toBe(expected.code)
    return answer
  }
  const update = (expected: Expected, id: string, body: unknown, options: Parameters<typeof call>[3] = {}) =>
    step(expected, "POST", `/users/${id}/UpdatePhoneNumber`, { body, ...options })
  const raw = (expected: Expected, id: string, text: string, contentType = "application/json") =>
    step(expected, "POST", `/users/${id}/UpdatePhoneNumber`, { raw: text, headers: { "content-type": contentType } })

  // A receiver hears every event of the organization from here on.
  await step(
    { step: "subscribe the receiver to every event", status: 201 },
    "POST",
    `/organizations/${tenant.organizationId}/webhooks`,
    {
      token: webhooks,
      body: {
        url: receiver.url,
        eventTypes: [...WEBHOOK_EVENT_TYPES]
      }
    }
  )

  // Creating users, with and without numbers, idempotently, and in conflict.
  await step({ step: "create alice with a number", status: 201 }, "POST", "/users", {
    body: { id: alice, phoneNumber: "+1 (415) 555-2671" }
  })
  await step({ step: "create bob without a number", status: 201 }, "POST", "/users", { body: { id: bob } })
  await step(
    { step: "create alice again, same number in another format", status: 409, code: "user-already-exists" },
    "POST",
    "/users",
    { body: { id: alice, phoneNumber: "001 415 555 2671" } }
  )
  await step(
    { step: "create alice again with another number", status: 409, code: "user-already-exists" },
    "POST",
    "/users",
    {
      body: { id: alice, phoneNumber: "+44 20 7946 0958" }
    }
  )

  // Set, change, no-op, conflict, remove, no-op.
  await update({ step: "set bob's number", status: 200 }, bob, { phoneNumber: "0044 20 7946 0958" })
  await update({ step: "change bob's number", status: 200 }, bob, { phoneNumber: "+33 1 23 45 67 89" })
  await update({ step: "send bob's number again (no-op)", status: 200 }, bob, { phoneNumber: "0033 1 23 45 67 89" })
  await update({ step: "give bob alice's number", status: 409, code: "phone-number-in-use" }, bob, {
    phoneNumber: "+1 (415) 555-2671"
  })
  await update({ step: "remove bob's number", status: 200 }, bob, { phoneNumber: null })
  await update({ step: "remove it again (no-op)", status: 200 }, bob, { phoneNumber: null })
  await update({ step: "alice changes her own number", status: 200 }, alice, { phoneNumber: "+61 412 345 678" }, {
    token: aliceToken
  })

  // Numbers that are refused.
  const invalid = { status: 422, code: "invalid-phone-number" }
  await update({ ...invalid, step: "a number one digit short" }, bob, { phoneNumber: "+1 415 555 267" })
  await update({ ...invalid, step: "a UK number one digit short" }, bob, { phoneNumber: "+44 20 7946 095" })
  await update({ ...invalid, step: "a national number" }, bob, { phoneNumber: "020 7946 0958" })
  await update({ ...invalid, step: "the string null" }, bob, { phoneNumber: "null" })
  await update({ ...invalid, step: "a number with an extension" }, bob, { phoneNumber: "+1 212 555 0123 ext. 5" })
  await update({ ...invalid, step: "full-width digits" }, bob, { phoneNumber: SENT_NUMBERS[15] })

  // Bodies that are refused.
  const badBody = { status: 400, code: "invalid-body" }
  await update({ ...badBody, step: "the number as a JSON number" }, bob, { phoneNumber: 12125550123 })
  await update({ ...badBody, step: "the number in an array" }, bob, { phoneNumber: ["+12125550123"] })
  await update({ ...badBody, step: "the number in an object" }, bob, { phoneNumber: { e164: "+12125550123" } })
  await update({ ...badBody, step: "the number in an unknown field" }, bob, {
    phoneNumber: null,
    backup: "+12125550123"
  })
  await update({ ...badBody, step: "the number as a field name" }, bob, { "+12125550123": true })
  await update({ ...badBody, step: "the number repeated past 64 characters" }, bob, {
    phoneNumber: "+12125550123 ".repeat(6)
  })
  await raw(
    { step: "a 17 KiB body holding the number", status: 413, code: "payload-too-large" },
    bob,
    JSON.stringify({
      phoneNumber: "+12125550123",
      pad: "+12125550123 ".repeat(1400)
    })
  )
  await raw(
    { step: "malformed JSON holding the number", status: 400, code: "malformed-json" },
    bob,
    '{"phoneNumber": "+12125550123"'
  )
  await raw(
    { step: "a form body holding the number", status: 415, code: "unsupported-media-type" },
    bob,
    "phoneNumber=%2B12125550123",
    "application/x-www-form-urlencoded"
  )
  await raw(
    { step: "a text body holding the number", status: 415, code: "unsupported-media-type" },
    bob,
    "+12125550123",
    "text/plain"
  )

  // Credentials and authorization, each carrying a number that must never be stored or echoed.
  const number = { phoneNumber: "+55 11 98765-4321" }
  await update({ step: "no token", status: 401, code: "missing-token" }, alice, number, { token: undefined })
  await update({ step: "a broken token", status: 401, code: "invalid-token" }, alice, number, { token: "not.a.jwt" })
  await update({ step: "an unknown API key", status: 401, code: "invalid-api-key" }, alice, number, {
    apiKey: "uak_unknown"
  })
  await update({ step: "another user's token", status: 403, code: "not-own-user" }, alice, number, { token: mallory })
  await update({ step: "a read-only service", status: 403, code: "missing-scope" }, alice, number, { token: readOnly })
  await update({ step: "another organization's service", status: 403, code: "organization-mismatch" }, alice, number, {
    token: otherOrg
  })
  await update({ step: "a user that does not exist", status: 404, code: "user-not-found" }, `${prefix}_ghost`, number)
  await update({ step: "another organization's key and token", status: 404, code: "user-not-found" }, alice, number, {
    token: otherOrg,
    apiKey: f.other.apiKey
  })
  await update(
    { step: "a number's digits as the user id", status: 404, code: "user-not-found" },
    "5511987654321",
    number
  )
  await update({ step: "a number as the user id", status: 400, code: "invalid-user-id" }, "+5511987654321", number)
  await update({ step: "a stale If-Match", status: 412, code: "version-mismatch" }, alice, number, {
    headers: { "if-match": '"1"' }
  })

  // A third user, written with If-Match, and the audit trail read back.
  await step({ step: "create carol with a number", status: 201 }, "POST", "/users", {
    body: { id: carol, phoneNumber: "+81 3-1234-5678" }
  })
  await update(
    { step: "change carol's number with If-Match", status: 200 },
    carol,
    { phoneNumber: "+49 1512 3456789" },
    {
      headers: { "if-match": '"1"' }
    }
  )
  // A verified change to carol's (unverified) number: a wrong code, the right one, carol's number released.
  await update(
    { step: "send-code without a code-delivery endpoint", status: 503, code: "code-delivery-unavailable" },
    alice,
    { phoneNumber: "+49 1512 3456789", verification: "send-code" }
  )
  const requested = await update(
    { step: "alice's change to carol's number, code returned", status: 202 },
    alice,
    { phoneNumber: "+49 1512 3456789", verification: "return-code" },
    { token: codeReturner }
  )
  const code: string = requested.body.verificationCode
  codes.push(code)
  const confirm = (expected: Expected, body: unknown) =>
    step(expected, "POST", `/users/${alice}/ConfirmPhoneNumberChange`, { body, token: aliceToken })
  await confirm({ step: "a wrong code", status: 422, code: "invalid-verification-code" }, {
    code: code === "000000" ? "000001" : "000000"
  })
  await confirm({ step: "a code holding the number", status: 400, code: "invalid-body" }, { code: "+4915123456789" })
  await step({ step: "alice read while her change is pending", status: 200 }, "GET", `/users/${alice}`)
  await confirm({ step: "the right code: carol's number released to alice", status: 200 }, { code })
  for (const id of [alice, bob, carol]) {
    await step({ step: `read ${id}'s audit trail`, status: 200 }, "GET", `/users/${id}/events`)
  }
  await step({ step: "read alice's audit trail as alice", status: 200 }, "GET", `/users/${alice}/events`, {
    token: aliceToken
  })
  await step(
    { step: "a number as a query parameter", status: 400, code: "invalid-query" },
    "GET",
    `/users/${alice}/events?limit=%2B5511987654321`
  )
  return requests
}

/** Events of the organizations with a webhook subscription: each is delivered once. */
const subscribedEvents = (): number =>
  f.query<{ n: number }>(
    "SELECT count(*) AS n FROM events WHERE organization_id IN (SELECT organization_id FROM webhook_subscriptions)"
  )[0]!.n

let requestsToSink = 0
let requestsToConsole = 0

beforeAll(async () => {
  receiver = await startReceiver()
  const signal = makeWakeSignal()
  f = await makeSqliteFixture({
    phoneFingerprintKey: "pii-leak-fingerprint-key-0123456789abcdef",
    webhooks: { secretKey: TEST_WEBHOOK_SECRET_KEY, allowLoopback: true, onWrite: signal.wake }
  })
  // The relay of the Bun and Deno servers over the same file: it sends both sessions' events (the second handler's
  // commits are found by its polling).
  relay = f.handler.run(
    relayForever({
      deriveSecret: webhookSecretDeriver(TEST_WEBHOOK_SECRET_KEY),
      signal,
      pollIntervalMs: 50
    }).pipe(Effect.provide(FetchWebhookTransport({ checkAddresses: false })), Effect.provide(keepLogs(relayLogs)))
  )
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    spies.push(
      vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
        consoleOutput.push({ method, args, text: format(...args) })
      })
    )
  }
  // The fixture's handler logs to its sink; a second handler over the same file logs to the console, as in production.
  requestsToSink = await runSession(f.fetch, f.tenant, "s1")
  consoleTenant = await f.newTenant()
  consoleHandler = makeFetchHandler(
    SqliteNodeServices(f.filename, { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(f.key) }),
    { idempotencyHashKey: f.idempotencyHashKey, webhooks: { secretKey: TEST_WEBHOOK_SECRET_KEY, allowLoopback: true } }
  )
  requestsToConsole = await runSession(consoleHandler.fetch, consoleTenant, "s2")
  // Every event of both sessions reaches the receiver. The relay makes an event's delivery when it polls after the
  // commit, so the second session's events may have none yet while the first's are all delivered: wait for a delivery
  // of every event of a subscribed organization, not only for the deliveries there are.
  await eventually("every event delivered", () => {
    const [pending] = f.query<{ n: number }>("SELECT count(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'")
    const [all] = f.query<{ n: number }>("SELECT count(*) AS n FROM webhook_deliveries")
    return pending!.n === 0 && all!.n === subscribedEvents() && receiver.received.length === all!.n ? true : undefined
  })
}, 60_000)

afterAll(async () => {
  await relay?.stop()
  await receiver?.close()
  for (const spy of spies) spy.mockRestore()
  console.info(
    `pii: ${forbiddenForms().size} forbidden forms of ${SENT_NUMBERS.length} numbers, checked in ${answers.length} responses, ` +
      `${f.logs.length} sink lines, ${consoleOutput.length} console lines and the events table`
  )
  await consoleHandler?.dispose()
  await f.dispose()
})

describe("no phone number leaks, in any form", () => {
  it("checks a meaningful set of forms", () => {
    const forms = forbiddenForms()
    // E.164, without +, national significant number, national and international formats, digits of each.
    for (
      const form of ["+14155552671", "14155552671", "4155552671", "(415) 555-2671", "+1 415 555 2671", "02079460958"]
    ) {
      expect(forms.has(form), form).toBe(true)
    }
    expect(forms.size).toBeGreaterThan(60)
  })

  it("ran the whole session through both handlers", () => {
    expect(requestsToSink).toBeGreaterThan(40)
    expect(requestsToConsole).toBe(requestsToSink)
    expect(answers.length).toBe(requestsToSink + requestsToConsole)
  })

  it("leaks no number into responses, log lines, console output or the events table", () => {
    const haystacks: Array<readonly [string, string]> = [
      ...answers.map(({ answer, step }) =>
        [
          `response to "${step}"`,
          `${answer.status}\n${
            [...answer.headers.entries()].map(([k, v]) => `${k}: ${v}`).join("\n")
          }\n\n${answer.text}`
        ] as const
      ),
      ...f.logs.map((line, i) => [`log line ${i}`, JSON.stringify(line)] as const),
      ...consoleOutput.map((entry, i) => [`console.${entry.method} #${i}`, entry.text] as const),
      ...f.query("SELECT * FROM events ORDER BY sequence").map((row, i) =>
        [`events row ${i}`, JSON.stringify(row)] as const
      ),
      ...receiver.received.map((webhook, i) =>
        [
          `webhook ${i} as received`,
          `${webhook.method} ${webhook.path}\n${
            Object.entries(webhook.headers).map(([k, v]) => `${k}: ${v}`).join("\n")
          }\n\n${webhook.body}`
        ] as const
      ),
      ...f.query("SELECT * FROM webhook_deliveries").map((row, i) =>
        [`deliveries row ${i}`, JSON.stringify(row)] as const
      ),
      ...f.query("SELECT * FROM phone_fingerprints").map((row, i) =>
        [`phone_fingerprints row ${i}`, JSON.stringify(row)] as const
      )
    ]
    expect(haystacks.length).toBeGreaterThan(150)
    const leaks: Array<string> = []
    for (const [form, origin] of forbiddenForms()) {
      for (const [where, text] of haystacks) {
        if (text.includes(form)) leaks.push(`${where} contains "${form}" (${origin})`)
      }
    }
    expect(leaks).toEqual([])
    // The codes: only in the return-code answer that carried each.
    expect(codes.length).toBe(2)
    const stored = ["pending_phone_changes", "idempotency_keys"].flatMap((table) =>
      f.query(`SELECT * FROM ${table}`).map((row, i) => [`${table} row ${i}`, JSON.stringify(row)] as const)
    )
    for (const code of codes) {
      const standalone = new RegExp(`\\b${code}\\b`)
      const found = [...haystacks, ...stored].filter(([where, text]) =>
        standalone.test(text) && !where.includes("code returned")
      )
      expect(found.map(([where]) => where), code).toEqual([])
    }
  })

  it("masks every number in the events: ****dddd or null, or a salted commitment, nothing else", () => {
    const rows = f.query<{ data: string }>("SELECT data FROM events")
    expect(rows.length).toBeGreaterThan(10)
    let commitments = 0
    for (const row of rows) {
      const data = JSON.parse(row.data) as Record<string, unknown>
      for (const [key, value] of Object.entries(data)) {
        if (/Commitment$/.test(key)) {
          commitments++
          expect(/^sha256:[0-9a-f]{64}$/.test(String(value)), key).toBe(true)
        } else if (/phone/i.test(key) && !/verified/i.test(key)) {
          expect(value === null || /^\*{4}\d{4}$/.test(String(value)), key).toBe(true)
        }
      }
    }
    expect(commitments).toBeGreaterThan(5)
    expect(f.query<{ n: number }>("SELECT count(*) AS n FROM phone_fingerprints")[0]!.n).toBeGreaterThan(5)
    expect(JSON.stringify(rows)).not.toContain("hmac-sha256:")
  })
})

describe("webhooks", () => {
  it("delivered every event of both sessions, and no credential with any", () => {
    // Each organization subscribed before its first event.
    expect(receiver.received.length).toBeGreaterThan(10)
    expect(receiver.received.length).toBe(subscribedEvents())
    expect(relayLogs).toEqual([])
    for (const webhook of receiver.received) {
      const text = JSON.stringify(webhook)
      expect(text).not.toMatch(/authorization|bearer|x-api-key|cookie/i)
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}|uak_/)
      for (const credential of credentials) expect(text).not.toContain(credential)
      // Masked numbers or commitments only, wherever a number appears in the event; fingerprints beside it.
      const body = JSON.parse(webhook.body)
      for (const [key, value] of Object.entries(body.data.data as Record<string, unknown>)) {
        if (/Commitment$/.test(key)) expect(/^sha256:[0-9a-f]{64}$/.test(String(value)), key).toBe(true)
        else if (/phone/i.test(key) && !/verified/i.test(key)) {
          expect(value === null || /^\*{4}\d{4}$/.test(String(value)), key).toBe(true)
        }
      }
      for (const [key, value] of Object.entries((body.fingerprints ?? {}) as Record<string, unknown>)) {
        const shape = /Fingerprint$/.test(key) ? /^hmac-sha256:[\w-]{43}$/ : /^[0-9a-f]{64}$/
        expect(shape.test(String(value)), key).toBe(true)
      }
    }
  })
})

describe("log lines", () => {
  const checkLine = (line: Record<string, unknown>, where: string) => {
    expect(typeof line.requestId, where).toBe("string")
    expect(typeof line.route, where).toBe("string")
    expect(TEMPLATES.has(line.route as string), `${where}: route ${String(line.route)}`).toBe(true)
    expect(typeof line.status, where).toBe("number")
    expect(typeof line.durationMs, where).toBe("number")
    expect(line.durationMs as number, where).toBeGreaterThanOrEqual(0)
  }
  const secretsIn = (text: string): Array<string> => {
    const found: Array<string> = []
    if (/authorization/i.test(text)) found.push("the word authorization")
    if (/bearer/i.test(text)) found.push("the word bearer")
    if (/x-api-key/i.test(text)) found.push("the x-api-key header name")
    if (/eyJ[A-Za-z0-9_-]{10,}/.test(text)) found.push("something shaped like a JWT")
    if (/uak_/.test(text)) found.push("something shaped like an API key")
    for (const credential of credentials) {
      if (text.includes(credential)) found.push(`credential ${credential.slice(0, 8)}…`)
    }
    return found
  }

  it("sink: one JSON object per request, with requestId, route, status and durationMs, matching the answer", () => {
    expect(f.logs.length).toBe(requestsToSink)
    const sessionAnswers = answers.slice(0, requestsToSink)
    f.logs.forEach((line, i) => {
      const text = JSON.stringify(line)
      expect(text.includes("\n")).toBe(false)
      const parsed = JSON.parse(text)
      expect(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)).toBe(true)
      checkLine(parsed, `log line ${i}`)
      expect(parsed.requestId).toBe(sessionAnswers[i]!.answer.headers.get("x-request-id"))
      expect(parsed.status).toBe(sessionAnswers[i]!.answer.status)
      expect(secretsIn(text), `log line ${i}`).toEqual([])
    })
  })

  it("console: one JSON line per request, on console.log, or console.error for a 5xx; nothing else", () => {
    const logged = consoleOutput.filter((entry) => entry.method === "log" || entry.method === "error")
    const sessionAnswers = answers.slice(requestsToSink)
    expect(logged.length).toBe(requestsToConsole)
    expect(consoleOutput.filter((entry) => entry.method === "warn")).toEqual([])
    logged.forEach((entry, i) => {
      expect(entry.method, `console line ${i}`).toBe(sessionAnswers[i]!.answer.status >= 500 ? "error" : "log")
      expect(entry.args.length).toBe(1)
      expect(typeof entry.args[0]).toBe("string")
      expect(entry.text.includes("\n")).toBe(false)
      const parsed = JSON.parse(entry.text)
      expect(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)).toBe(true)
      checkLine(parsed, `console line ${i}`)
      expect(parsed.requestId).toBe(sessionAnswers[i]!.answer.headers.get("x-request-id"))
      expect(parsed.status).toBe(sessionAnswers[i]!.answer.status)
      expect(secretsIn(entry.text), `console line ${i}`).toEqual([])
    })
  })
})
