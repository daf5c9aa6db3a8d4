/**
 * Property-based fuzzing of the real fetch handler over a real SQLite file: random bodies, header values and path
 * ids on POST /users/{id}/UpdatePhoneNumber, POST /users and GET /users/{id}/events.
 * Properties: the answer is 2xx or a documented 4xx, never 5xx; every error is problem+json with success false and
 * a code; a rejected request leaves users and events exactly as they were; an accepted one appends at most one event.
 * Seeded and reproducible: FUZZ_SEED and FUZZ_RUNS (per property) override the defaults below.
 */
import fc from "fast-check"
import { createHash } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { issueApiKey, revokeApiKey } from "../../src/admin/tenants.js"
import { DEV_AUDIENCE, DEV_ISSUER } from "../../src/dev/signing.js"
import { call } from "../support/client.js"
import { claims, signRaw } from "../support/forge.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_311)
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000)
const DOCUMENTED_4XX = new Set([400, 401, 403, 404, 405, 409, 412, 413, 415, 422])
const TARGET = "fuzz_target"
const OTHER_ORG_USER = "fuzz_other"

let f: SqliteFixture
let tokens: { service: string; readOnly: string; otherOrg: string; targetUser: string; otherUser: string }
/** Genuinely signed tokens with odd claims: sub or org_id of the wrong type, empty, or absent. */
let oddTokens: Array<string>
let revokedKey: string
const statuses = new Map<string, number>()
let cases = 0

beforeAll(async () => {
  f = await makeSqliteFixture()
  tokens = {
    service: await f.serviceToken(),
    readOnly: await f.serviceToken("users:read"),
    otherOrg: await f.serviceToken("users:read users:write", f.other.organizationId),
    targetUser: await f.userToken(TARGET),
    otherUser: await f.userToken("someone_else")
  }
  const odd: Array<Record<string, unknown>> = [
    { sub: 42, org_id: f.tenant.organizationId, scope: "users:read users:write" },
    { sub: { id: TARGET }, org_id: f.tenant.organizationId, scope: "users:write" },
    { sub: "", org_id: f.tenant.organizationId, scope: "users:write" },
    { sub: null },
    { sub: [TARGET] },
    { sub: TARGET, org_id: 7 },
    { sub: TARGET, org_id: "" },
    { sub: "svc", org_id: f.tenant.organizationId, token_use: "service", scope: ["users:write"] },
    { sub: TARGET, org_id: f.tenant.organizationId, token_use: "Service", scope: "users:write" },
    { sub: TARGET, scope: "users:write" },
    { sub: TARGET, exp: undefined },
    { sub: TARGET, aud: [] }
  ]
  oddTokens = await Promise.all(odd.map((overrides) => signRaw(f.key, claims(TARGET, overrides))))
  const created = await call(f.fetch, "POST", "/users", {
    token: tokens.service,
    apiKey: f.tenant.apiKey,
    body: { id: TARGET, phoneNumber: "+14155552671" }
  })
  expect(created.status).toBe(201)
  const other = await call(f.fetch, "POST", "/users", {
    token: tokens.otherOrg,
    apiKey: f.other.apiKey,
    body: { id: OTHER_ORG_USER }
  })
  expect(other.status).toBe(201)
  const issued = await f.run(issueApiKey(f.tenant.organizationId, "revoked"))
  await f.run(revokeApiKey(issued.id))
  revokedKey = issued.apiKey
  console.log(`fuzz: seed ${SEED}, ${RUNS} runs per property (FUZZ_SEED / FUZZ_RUNS to change)`)
})

afterAll(async () => {
  const histogram = [...statuses.entries()].sort().map(([key, n]) => `${key}×${n}`).join(" ")
  console.log(`fuzz: ${cases} requests in total, seed ${SEED}; answers: ${histogram}`)
  await f.dispose()
})

/** Cheap: the events' count and last sequence, and a hash of every users row. */
const fingerprint = () => {
  const events = f.query<{ n: number; last: number | null }>(
    "SELECT COUNT(*) AS n, MAX(sequence) AS last FROM events"
  )[0]!
  const users = f.query(
    "SELECT organization_id, id, phone_number, version, updated_at FROM users ORDER BY organization_id, id"
  )
  return { events: events.n, last: events.last, users: createHash("sha1").update(JSON.stringify(users)).digest("hex") }
}

interface Sent {
  readonly method: "GET" | "POST"
  readonly path: string
  readonly headers: Record<string, string | undefined>
  readonly body?: string | Uint8Array<ArrayBuffer> | undefined
}

/** Sends one request and checks the properties; false when the request could not even be built (skipped). */
const check = async (sent: Sent): Promise<boolean> => {
  let request: Request
  try {
    const headers = Object.fromEntries(
      Object.entries(sent.headers).filter((e): e is [string, string] => e[1] !== undefined)
    )
    request = new Request(`http://127.0.0.1${sent.path}`, { method: sent.method, headers, body: sent.body })
  } catch {
    return false
  }
  cases++
  const before = fingerprint()
  const response = await f.fetch(request)
  const text = await response.text()
  const status = response.status
  const where = `${sent.method} ${sent.path.slice(0, 120)} → ${status} ${text.slice(0, 200)}`
  expect(status < 500, where).toBe(true)
  expect(response.headers.get("x-request-id"), where).toBeTruthy()
  const after = fingerprint()
  if (status === 200 || status === 201) {
    const body = JSON.parse(text)
    expect(body.success, where).toBe(true)
    // An accepted request appends exactly its own event, or none when nothing changed.
    if (sent.method === "POST") expect(after.events - before.events, where).toBe(body.event === null ? 0 : 1)
    else expect(after, where).toEqual(before)
    statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1)
    return true
  }
  expect(DOCUMENTED_4XX.has(status), where).toBe(true)
  expect(response.headers.get("content-type") ?? "", where).toMatch(/^application\/problem\+json/)
  const problem = JSON.parse(text)
  expect(problem.success, where).toBe(false)
  expect(typeof problem.code === "string" && problem.code.length > 0, where).toBe(true)
  expect(problem.status, where).toBe(status)
  expect(after, where).toEqual(before)
  statuses.set(`${status} ${problem.code}`, (statuses.get(`${status} ${problem.code}`) ?? 0) + 1)
  return true
}

// ---- arbitraries ----

const VALID_NUMBERS = [
  "+14155552671",
  "+44 20 7946 0958",
  "0044 20 7946 0958",
  "+1 (415) 555-2671",
  "+33 1 23 45 67 89"
]

const phoneValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constantFrom(
    ...VALID_NUMBERS,
    "null",
    "NULL",
    " null ",
    "",
    " ",
    "+",
    "00",
    "+0",
    "+1",
    "tel:+14155552671",
    "+14155552671;ext=1",
    "+1 415 555 2671 x12",
    "\u0660\u0661\u0662",
    "+\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff12\uff16\uff17\uff11",
    "+1\u00a0415\u00a0555\u00a02671",
    "+14155552671\u0000",
    "undefined",
    "true",
    "[]",
    "{}"
  ),
  fc.stringMatching(/^(\+|00)?[0-9 ().-]{0,24}$/),
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.array(fc.constantFrom(...VALID_NUMBERS, null), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), { maxKeys: 3 })
)

const nearMissKey = fc.constantFrom(
  "phoneNumber",
  "phonenumber",
  "PhoneNumber",
  "phone_number",
  "phoneNumber ",
  " phoneNumber",
  "phone",
  "number",
  "id",
  "__proto__",
  "constructor",
  "toString",
  "phoneNumber\u0000",
  "phoneNumbe\u0155"
)

const userIdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/),
  fc.constantFrom(TARGET, OTHER_ORG_USER, "", "a.b", "a/b", "..", "x".repeat(65)),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.integer(),
  fc.constant(null)
)

/** Objects around {"phoneNumber": ...}: the right key, typos, extra fields, duplicates, prototype keys. */
const nearMissJson: fc.Arbitrary<string> = fc.oneof(
  phoneValue.map((phoneNumber) => JSON.stringify({ phoneNumber })),
  fc.dictionary(nearMissKey, phoneValue, { maxKeys: 3 }).map((o) => JSON.stringify(o)),
  fc.tuple(phoneValue, fc.string({ maxLength: 16 }), fc.jsonValue({ maxDepth: 2 })).map(([phoneNumber, key, value]) =>
    JSON.stringify({ phoneNumber, [key]: value })
  ),
  fc.tuple(phoneValue, phoneValue).map(([a, b]) =>
    `{"phoneNumber":${JSON.stringify(a)},"phoneNumber":${JSON.stringify(b)}}`
  ),
  phoneValue.map((phoneNumber) => `{"__proto__":{"phoneNumber":${JSON.stringify(phoneNumber)}}}`),
  fc.tuple(userIdValue, phoneValue).map(([id, phoneNumber]) => JSON.stringify({ id, phoneNumber })),
  fc.tuple(phoneValue, fc.constantFrom(" ", "\n", "\t", "\uFEFF", "")).map(([phoneNumber, pad]) =>
    `${pad}${JSON.stringify({ phoneNumber })}${pad}`
  )
)

/** Long and unicode strings without generating every character: one unit repeated around the limits. */
const hugeJson: fc.Arbitrary<string> = fc.tuple(
  fc.constantFrom("9", "+", "é", "\u{1D7D8}", "\u0000", '\\"', "\u202E", " "),
  fc.constantFrom(63, 64, 65, 1000, 8 * 1024, 16 * 1024 - 20, 16 * 1024, 17 * 1024, 64 * 1024)
).map(([unit, n]) => JSON.stringify({ phoneNumber: unit.repeat(n) }))

const rawBody: fc.Arbitrary<string | Uint8Array<ArrayBuffer>> = fc.oneof(
  { arbitrary: nearMissJson, weight: 5 },
  { arbitrary: fc.json({ maxDepth: 3 }), weight: 2 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 200 }), weight: 1 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 200 }), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => new Uint8Array(bytes)), weight: 1 },
  { arbitrary: hugeJson, weight: 1 }
)

const jsonContentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/problem+json",
  "application/merge-patch+json"
)

/** Header values a client can actually send: Latin-1 without CR, LF or NUL. */
const headerText = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
      .map((code) => String.fromCharCode(code)),
    maxLength
  })

const contentType = fc.oneof(
  { arbitrary: jsonContentType, weight: 3 },
  {
    arbitrary: fc.constantFrom(
      "text/json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonx",
      "application/json, text/plain",
      "application/+json",
      "application/ json",
      "json",
      "*/*",
      ""
    ),
    weight: 1
  },
  { arbitrary: headerText(60), weight: 1 },
  { arbitrary: fc.constant(undefined), weight: 1 }
)

// ---- properties ----

describe("fuzzing the handler (never 5xx, errors are problems, rejected requests write nothing)", () => {
  it("survives arbitrary bodies on UpdatePhoneNumber and POST /users", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(`/users/${TARGET}/UpdatePhoneNumber`, `/users/${TARGET}/UpdatePhoneNumber`, "/users"),
        rawBody,
        jsonContentType,
        fc.boolean(),
        async (path, body, type, asUser) =>
          check({
            method: "POST",
            path,
            headers: {
              authorization: `Bearer ${asUser && path !== "/users" ? tokens.targetUser : tokens.service}`,
              "x-api-key": f.tenant.apiKey,
              "content-type": type
            },
            body
          })
      ),
      { seed: SEED, numRuns: RUNS }
    )
  }, 120_000)

  it("survives arbitrary header values (content-type, if-match, x-request-id, authorization, x-api-key)", async () => {
    const token = fc.oneof(
      {
        arbitrary: fc.constantFrom(
          tokens.service,
          tokens.service,
          tokens.readOnly,
          tokens.otherOrg,
          tokens.targetUser,
          tokens.otherUser
        ),
        weight: 4
      },
      { arbitrary: fc.constantFrom(...oddTokens), weight: 1 }
    )
    const authorization = fc.oneof(
      { arbitrary: token.map((t) => `Bearer ${t}`), weight: 4 },
      {
        arbitrary: fc.tuple(
          fc.constantFrom("Bearer", "bearer", "BEARER", "Basic", "Token", "JWT", ""),
          fc.constantFrom(" ", "  ", "\t", ""),
          token,
          fc.constantFrom("", " ", "x", ".x", "..", " extra")
        ).map(([scheme, space, t, tail]) => `${scheme}${space}${t}${tail}`),
        weight: 2
      },
      { arbitrary: headerText(200).map((s) => `Bearer ${s}`), weight: 1 },
      { arbitrary: headerText(200), weight: 1 },
      { arbitrary: fc.constant(undefined), weight: 1 }
    )
    const ifMatch = fc.oneof(
      fc.constantFrom(
        '"1"',
        'W/"1"',
        "1",
        "*",
        '"999"',
        '"0"',
        '""',
        "W/",
        '"1", "2"',
        '"-1"',
        '"1.5"',
        '"1e3"',
        `"${"9".repeat(20)}"`
      ),
      fc.nat({ max: 40 }).map((n) => `"${n}"`),
      headerText(40),
      fc.constant(undefined)
    )
    const requestId = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{0,140}$/), headerText(200), fc.constant(undefined))
    const apiKey = fc.oneof(
      { arbitrary: fc.constant(f.tenant.apiKey), weight: 5 },
      {
        arbitrary: fc.constantFrom(f.other.apiKey, revokedKey, `${f.tenant.apiKey} `, `${f.tenant.apiKey}x`),
        weight: 1
      },
      { arbitrary: headerText(80), weight: 1 },
      { arbitrary: fc.constant(undefined), weight: 1 }
    )
    const route = fc.constantFrom("update", "update", "create", "events")
    const phone = fc.constantFrom(...VALID_NUMBERS, null, "null", "+1", 42)
    await fc.assert(
      fc.asyncProperty(
        route,
        phone,
        fc.record({
          authorization,
          "content-type": contentType,
          "if-match": ifMatch,
          "x-request-id": requestId,
          "x-api-key": apiKey
        }),
        async (which, phoneNumber, headers) =>
          check(
            which === "events"
              ? { method: "GET", path: `/users/${TARGET}/events`, headers }
              : which === "create"
              ? { method: "POST", path: "/users", headers, body: JSON.stringify({ id: TARGET, phoneNumber }) }
              : {
                method: "POST",
                path: `/users/${TARGET}/UpdatePhoneNumber`,
                headers,
                body: JSON.stringify({ phoneNumber })
              }
          )
      ),
      { seed: SEED + 1, numRuns: RUNS }
    )
  }, 120_000)

  it(
    "survives arbitrary claims in genuinely signed tokens (sub, org_id, token_use, scope, iss, aud, exp, nbf)",
    async () => {
      const json = fc.jsonValue({ maxDepth: 1 })
      const now = Math.floor(Date.now() / 1000)
      const claimSet = fc.record({
        sub: fc.oneof(
          { arbitrary: fc.constantFrom(TARGET, "svc_fuzz", "someone_else"), weight: 3 },
          { arbitrary: json, weight: 2 },
          { arbitrary: fc.constant(undefined), weight: 1 }
        ),
        org_id: fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 2 },
          { arbitrary: fc.constant(f.tenant.organizationId), weight: 3 },
          { arbitrary: fc.constantFrom(f.other.organizationId, "", f.tenant.organizationId.toUpperCase()), weight: 1 },
          { arbitrary: json, weight: 1 }
        ),
        token_use: fc.oneof(
          { arbitrary: fc.constant("service"), weight: 3 },
          { arbitrary: fc.constantFrom(undefined, "user"), weight: 2 },
          { arbitrary: fc.oneof(fc.constantFrom("Service", "admin", ""), json), weight: 1 }
        ),
        scope: fc.oneof(
          { arbitrary: fc.constantFrom("users:write", "users:read users:write"), weight: 4 },
          {
            arbitrary: fc.constantFrom("users:read", "", " users:write ", "users:write,users:read", "USERS:WRITE"),
            weight: 1
          },
          { arbitrary: json, weight: 1 }
        ),
        iss: fc.oneof({ arbitrary: fc.constant(DEV_ISSUER), weight: 6 }, { arbitrary: json, weight: 1 }),
        aud: fc.oneof(
          { arbitrary: fc.constantFrom<unknown>(DEV_AUDIENCE, [DEV_AUDIENCE, "other"]), weight: 6 },
          { arbitrary: json, weight: 1 }
        ),
        exp: fc.oneof(
          { arbitrary: fc.constant(now + 3600), weight: 6 },
          {
            arbitrary: fc.oneof(fc.integer({ min: now - 100_000, max: now + 100_000 }), json, fc.constant(undefined)),
            weight: 1
          }
        ),
        nbf: fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 6 },
          { arbitrary: fc.oneof(fc.integer({ min: now - 1000, max: now + 1000 }), json), weight: 1 }
        )
      })
      const headers = (token: string) => ({
        authorization: `Bearer ${token}`,
        "x-api-key": f.tenant.apiKey,
        "content-type": "application/json"
      })
      await fc.assert(
        fc.asyncProperty(
          claimSet,
          fc.constantFrom("update", "update", "create", "events"),
          fc.constantFrom(...VALID_NUMBERS, null),
          async (set, which, phoneNumber) => {
            const payload = Object.fromEntries(Object.entries(set).filter(([, value]) => value !== undefined))
            const token = await signRaw(f.key, payload)
            return check(
              which === "events"
                ? { method: "GET", path: `/users/${TARGET}/events`, headers: headers(token) }
                : which === "create"
                ? { method: "POST", path: "/users", headers: headers(token), body: JSON.stringify({ phoneNumber }) }
                : {
                  method: "POST",
                  path: `/users/${TARGET}/UpdatePhoneNumber`,
                  headers: headers(token),
                  body: JSON.stringify({ phoneNumber })
                }
            )
          }
        ),
        { seed: SEED + 3, numRuns: Math.ceil(RUNS / 2) }
      )
    },
    120_000
  )

  it("survives arbitrary path ids (unicode, percent-encoding, dot segments) and query strings", async () => {
    const piece = fc.oneof(
      fc.constantFrom(
        "%2F",
        "%2f",
        "%00",
        "%2E",
        "%2e",
        "..",
        ".",
        "%C3%A9",
        "%FF",
        "%ZZ",
        "%",
        "é",
        "/",
        ";",
        "?",
        "#",
        "\\",
        "%5C",
        "%20",
        "+",
        "%E2%80%AE",
        "\u202E",
        "~",
        "'",
        '"',
        "<",
        ">",
        "%3F",
        "%23"
      ),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/)
    )
    const rawId = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 80 }),
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,110}$/),
      fc.constantFrom(TARGET, OTHER_ORG_USER, "x".repeat(64), "x".repeat(65), "x".repeat(100), "x".repeat(101))
    )
    const pathId = fc.oneof(
      rawId.map(encodeURIComponent),
      rawId,
      fc.array(piece, { minLength: 1, maxLength: 8 }).map((parts) => parts.join(""))
    )
    const queryValue = fc.oneof(
      fc.nat({ max: 200 }).map(String),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
      headerText(12)
    )
    const query = fc.record(
      { afterVersion: queryValue, limit: queryValue },
      { requiredKeys: [] }
    ).map((q) => {
      const parts = Object.entries(q).map(([k, v]) => `${k}=${v}`)
      return parts.length === 0 ? "" : `?${parts.join("&")}`
    })
    const headers = {
      authorization: `Bearer ${tokens.service}`,
      "x-api-key": f.tenant.apiKey,
      "content-type": "application/json"
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("update", "events", "create"),
        pathId,
        rawId,
        query,
        fc.constantFrom(VALID_NUMBERS[0]!, VALID_NUMBERS[1]!, null),
        async (which, id, bodyId, q, phoneNumber) =>
          check(
            which === "update"
              ? {
                method: "POST",
                path: `/users/${id}/UpdatePhoneNumber`,
                headers,
                body: JSON.stringify({ phoneNumber })
              }
              : which === "events"
              ? { method: "GET", path: `/users/${id}/events${q}`, headers }
              : { method: "POST", path: "/users", headers, body: JSON.stringify({ id: bodyId, phoneNumber }) }
          )
      ),
      { seed: SEED + 2, numRuns: RUNS }
    )
  }, 120_000)
})
