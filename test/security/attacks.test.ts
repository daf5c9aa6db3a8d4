/**
 * The security matrix: one test per attack, through the real fetch handler over a real SQLite file.
 * Every row asserts the exact status and problem code, a problem+json body that echoes neither the submitted
 * phone number nor the credentials, and that the users and events tables are exactly as before.
 */
import { exportJWK, generateKeyPair, SignJWT } from "jose"
import { existsSync, readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { issueApiKey, revokeApiKey } from "../../src/admin/tenants.js"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, signUserToken } from "../../src/dev/signing.js"
import { sha256Hex } from "../../src/sha256.js"
import { type Answer, call, expectProblem } from "../support/client.js"
import {
  b64url,
  claims,
  encodeSegment,
  hmacToken,
  nowSeconds,
  PUBLIC_KEY_FORMS,
  publicKeyAsSecret,
  replaceSegment,
  signRaw,
  unsignedToken
} from "../support/forge.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let serviceA: string
let serviceB: string
let revokedKey: string

/** The number every attack tries to set, in every form it could be echoed in. */
const SUBMITTED = "+44 20 7946 0958"
const SUBMITTED_FORMS = ["+442079460958", "442079460958", "2079460958", "20 7946 0958", "020 7946 0958", "7946 0958"]

const VICTIM = "victim"
const VICTIM_B = "victim_b"
const SHARED = "shared"

interface Attempt {
  readonly method?: "POST" | "GET"
  readonly path?: string
  readonly token?: string | undefined
  readonly apiKey?: string | undefined
  readonly headers?: Record<string, string>
  readonly body?: unknown
}

/** Credentials sent by the current row, so its answer can be checked for echoes. */
let sent: Array<string> = []

/** By default a service of org A (users:read users:write) sets SUBMITTED on org A's victim: every row changes one thing. */
const attempt = (options: Attempt = {}): Promise<Answer> => {
  const token = "token" in options ? options.token : serviceA
  const apiKey = "apiKey" in options ? options.apiKey : f.tenant.apiKey
  sent = [token, apiKey, ...Object.values(options.headers ?? {})].filter((s): s is string => s !== undefined)
  const method = options.method ?? "POST"
  return call(f.fetch, method, options.path ?? `/users/${VICTIM}/UpdatePhoneNumber`, {
    token,
    apiKey,
    ...(method === "POST" ? { body: "body" in options ? options.body : { phoneNumber: SUBMITTED } } : {}),
    ...(options.headers ? { headers: options.headers } : {})
  })
}

const snapshot = () => ({
  users: f.query("SELECT * FROM users ORDER BY organization_id, id"),
  events: f.query("SELECT * FROM events ORDER BY sequence")
})

let attacks = 0

/** One row of the matrix. */
const attack = (name: string, status: number, code: string, send: () => Promise<Answer>) => {
  attacks++
  it(`${name} → ${status} ${code}`, async () => {
    const before = snapshot()
    const answer = await send()
    expectProblem(answer, status, code)
    expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/)
    expect(answer.body.success).toBe(false)
    for (const form of SUBMITTED_FORMS) expect(answer.text).not.toContain(form)
    for (const credential of sent) {
      if (credential.length >= 12) expect(answer.text).not.toContain(credential)
    }
    if (status === 401) expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer realm="users-api"/)
    expect(snapshot()).toEqual(before)
  })
}

/** A user token for the victim of org A, i.e. a token that *would* be allowed to write if it verified. */
const victimClaims = (overrides: Record<string, unknown> = {}) =>
  claims(VICTIM, { org_id: f.tenant.organizationId, ...overrides })

/** A service token of org A with users:write, as it would be accepted if it verified. */
const serviceClaims = (sub: unknown, overrides: Record<string, unknown> = {}) =>
  claims("x", { sub, org_id: f.tenant.organizationId, token_use: "service", scope: "users:write", ...overrides })

beforeAll(async () => {
  f = await makeSqliteFixture()
  serviceA = await f.serviceToken()
  serviceB = await f.serviceToken("users:read users:write", f.other.organizationId)
  // A number belongs to one user per organization: each organization's users get different ones.
  const create = async (token: string, apiKey: string, id: string, phoneNumber: string) => {
    const answer = await call(f.fetch, "POST", "/users", { token, apiKey, body: { id, phoneNumber } })
    expect(answer.status).toBe(201)
  }
  await create(serviceA, f.tenant.apiKey, VICTIM, "+14155552671")
  await create(serviceB, f.other.apiKey, VICTIM_B, "+14155552671")
  await create(serviceA, f.tenant.apiKey, SHARED, "+33123456789")
  await create(serviceB, f.other.apiKey, SHARED, "+33123456789")
  const issued = await f.run(issueApiKey(f.tenant.organizationId, "to be revoked"))
  await f.run(revokeApiKey(issued.id))
  revokedKey = issued.apiKey
})
afterAll(() => f.dispose())

describe("forged and untrusted tokens", () => {
  attack(
    "alg none (unsigned, empty signature)",
    401,
    "invalid-token",
    async () => attempt({ token: unsignedToken({ alg: "none", typ: "JWT" }, victimClaims()) })
  )
  attack(
    "alg None (capitalised)",
    401,
    "invalid-token",
    async () => attempt({ token: unsignedToken({ alg: "None", typ: "JWT" }, victimClaims()) })
  )
  attack(
    "alg NONE (upper case)",
    401,
    "invalid-token",
    async () => attempt({ token: unsignedToken({ alg: "NONE", typ: "JWT" }, victimClaims()) })
  )
  attack(
    "alg none carrying the trusted kid",
    401,
    "invalid-token",
    async () => attempt({ token: unsignedToken({ alg: "none", kid: f.key.kid }, victimClaims()) })
  )
  attack("alg none over a genuine token's signature", 401, "invalid-token", async () => {
    const genuine = await f.userToken(VICTIM)
    return attempt({ token: replaceSegment(genuine, 0, encodeSegment({ alg: "none", typ: "JWT", kid: f.key.kid })) })
  })
  attack("alg none service token claiming org A with users:write", 401, "invalid-token", async () =>
    attempt({
      token: unsignedToken(
        { alg: "none" },
        serviceClaims("svc_evil")
      )
    }))

  for (const form of PUBLIC_KEY_FORMS) {
    attack(
      `HS256 with ${form} as the HMAC secret`,
      401,
      "invalid-token",
      async () =>
        attempt({
          token: hmacToken("HS256", publicKeyAsSecret(f.key.publicJwk, form), victimClaims(), { kid: f.key.kid })
        })
    )
  }
  attack(
    "HS256 with the PEM SPKI as the secret and no kid",
    401,
    "invalid-token",
    async () =>
      attempt({ token: hmacToken("HS256", publicKeyAsSecret(f.key.publicJwk, "the PEM SPKI"), victimClaims()) })
  )
  attack(
    "HS384 with the PEM SPKI as the HMAC secret",
    401,
    "invalid-token",
    async () =>
      attempt({
        token: hmacToken("HS384", publicKeyAsSecret(f.key.publicJwk, "the PEM SPKI"), victimClaims(), {
          kid: f.key.kid
        })
      })
  )
  attack("HS512 with the published JWK as the HMAC secret", 401, "invalid-token", async () =>
    attempt({
      token: hmacToken("HS512", publicKeyAsSecret(f.key.publicJwk, "the published JWK as JSON"), victimClaims(), {
        kid: f.key.kid
      })
    }))
  attack("RS256 header over the trusted EC key's kid", 401, "invalid-token", async () => {
    const genuine = await f.userToken(VICTIM)
    return attempt({ token: replaceSegment(genuine, 0, encodeSegment({ alg: "RS256", typ: "JWT", kid: f.key.kid })) })
  })

  attack(
    "a token signed by an unknown key reusing the trusted kid",
    401,
    "invalid-token",
    async () =>
      attempt({ token: await signUserToken(await generateSigningKey(f.key.kid), VICTIM, f.tenant.organizationId) })
  )
  attack(
    "a token signed by an unknown key under its own kid",
    401,
    "invalid-token",
    async () =>
      attempt({ token: await signUserToken(await generateSigningKey("attacker-key"), VICTIM, f.tenant.organizationId) })
  )
  attack("an attacker's key embedded in the header (jwk)", 401, "invalid-token", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true })
    const token = await new SignJWT(victimClaims())
      .setProtectedHeader({ alg: "ES256", typ: "JWT", jwk: await exportJWK(publicKey) })
      .sign(privateKey)
    return attempt({ token })
  })
  attack("a jku header pointing at an attacker's key set", 401, "invalid-token", async () => {
    const attacker = await generateSigningKey(f.key.kid)
    return attempt({ token: await signRaw(attacker, victimClaims(), { jku: "https://attacker.example/jwks.json" }) })
  })
  attack(
    "a kid that matches nothing",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims(), { kid: "no-such-key" }) })
  )
  attack(
    "a kid carrying path traversal",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims(), { kid: "../../../../dev/null" }) })
  )
  attack(
    "a kid carrying SQL",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims(), { kid: "' OR '1'='1" }) })
  )
  attack("a genuine token with one signature byte changed", 401, "invalid-token", async () => {
    const genuine = await f.userToken(VICTIM)
    const signature = Buffer.from(genuine.split(".")[2]!, "base64url")
    signature[10] = signature[10]! ^ 1
    return attempt({ token: replaceSegment(genuine, 2, b64url(signature)) })
  })
  attack("a genuine signature over a payload swapped for another user", 401, "invalid-token", async () => {
    const genuine = await f.userToken("someone_else")
    return attempt({ token: replaceSegment(genuine, 1, encodeSegment(victimClaims())) })
  })
})

describe("claims", () => {
  attack(
    "an expired token",
    401,
    "invalid-token",
    async () =>
      attempt({ token: await signRaw(f.key, victimClaims({ iat: nowSeconds() - 3600, exp: nowSeconds() - 60 })) })
  )
  attack(
    "a token expired just beyond the 5 s tolerance",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims({ exp: nowSeconds() - 10 })) })
  )
  attack(
    "a token not yet valid (nbf 60 s ahead)",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims({ nbf: nowSeconds() + 60 })) })
  )
  attack(
    "a token with the wrong iss",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims({ iss: "https://attacker.example/" })) })
  )
  attack(
    "a token whose iss lacks the trailing slash",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims({ iss: DEV_ISSUER.replace(/\/$/, "") })) })
  )
  attack(
    "a token with the wrong aud",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims({ aud: "another-api" })) })
  )
  attack(
    "a token whose aud list omits this service",
    401,
    "invalid-token",
    async () =>
      attempt({ token: await signRaw(f.key, victimClaims({ aud: ["another-api", `${DEV_AUDIENCE}-admin`] })) })
  )
  attack(
    "a token without sub",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims({ sub: undefined })) })
  )
  // Issue 9: other JWTs the identity provider signs are not access tokens.
  attack(
    "an ID token of the victim (typ id+jwt)",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims(), { typ: "id+jwt" }) })
  )
  attack(
    "a logout token of the victim (typ logout+jwt)",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims(), { typ: "logout+jwt" }) })
  )
  attack(
    "a DPoP proof posing as a token (typ dpop+jwt)",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims(), { typ: "dpop+jwt" }) })
  )
  attack(
    "a token without exp",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims({ exp: undefined })) })
  )
  attack(
    "a token whose exp is not a number",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims({ exp: String(nowSeconds() + 600) })) })
  )
  // jose only checks that sub is present; these used to reach the events table (and a non-string one made a 500).
  attack(
    "a service token whose sub is a number",
    401,
    "invalid-token",
    async () =>
      attempt({
        token: await signRaw(f.key, serviceClaims(42))
      })
  )
  attack("a service token whose sub is an object", 401, "invalid-token", async () =>
    attempt({
      token: await signRaw(f.key, serviceClaims({ id: "svc" }))
    }))
  attack(
    "a service token whose sub is null",
    401,
    "invalid-token",
    async () =>
      attempt({
        token: await signRaw(f.key, serviceClaims(null))
      })
  )
  attack(
    "a service token whose sub is empty",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, serviceClaims("")) })
  )
  attack(
    "a user token whose sub is an array holding the victim",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims({ sub: [VICTIM] })) })
  )
  attack(
    "a service token whose org_id is not a string (posing as a user token)",
    401,
    "invalid-token",
    async () =>
      attempt({
        token: await signRaw(f.key, victimClaims({ org_id: [f.tenant.organizationId], scope: "users:write" }))
      })
  )
})

describe("who may act on whom", () => {
  attack(
    "a service token of another organization",
    403,
    "organization-mismatch",
    async () => attempt({ token: serviceB })
  )
  attack(
    "a user token for another user",
    403,
    "not-own-user",
    async () => attempt({ token: await f.userToken("someone_else") })
  )
  attack(
    "a user token reading another user's audit trail",
    403,
    "not-own-user",
    async () => attempt({ method: "GET", path: `/users/${VICTIM}/events`, token: await f.userToken("someone_else") })
  )
  attack(
    "a service token without users:write",
    403,
    "missing-scope",
    async () => attempt({ token: await f.serviceToken("users:read") })
  )
  attack(
    "a scope that only contains users:write as a prefix",
    403,
    "missing-scope",
    async () => attempt({ token: await f.serviceToken("users:writer") })
  )
  attack(
    "a scope smuggled as an array",
    403,
    "missing-scope",
    async () =>
      attempt({
        token: await signRaw(f.key, serviceClaims("svc", { scope: ["users:write"] }))
      })
  )
  attack(
    "a user token creating a user",
    403,
    "missing-scope",
    async () => attempt({ path: "/users", token: await f.userToken(VICTIM), body: { id: "made_by_user" } })
  )
})

describe("API keys and tenants", () => {
  attack("a revoked API key", 401, "invalid-api-key", async () => attempt({ apiKey: revokedKey }))
  // Issue 9, finding 1: a user token works only in the organization it names (org_id), whatever key comes with it.
  attack(
    "the API key of another organization with a user token of org A",
    403,
    "organization-mismatch",
    async () => attempt({ token: await f.userToken(VICTIM), apiKey: f.other.apiKey })
  )
  attack(
    "the API key of another organization with a user token of org A naming that organization's user",
    403,
    "organization-mismatch",
    async () =>
      attempt({
        path: `/users/${VICTIM_B}/UpdatePhoneNumber`,
        token: await f.userToken(VICTIM_B),
        apiKey: f.other.apiKey
      })
  )
  attack(
    "a user token without org_id, with another organization's key, naming its user",
    403,
    "organization-mismatch",
    async () =>
      attempt({
        path: `/users/${VICTIM_B}/UpdatePhoneNumber`,
        token: await signRaw(f.key, claims(VICTIM_B)),
        apiKey: f.other.apiKey
      })
  )
  attack(
    "a user token without org_id, with its own organization's key",
    403,
    "organization-mismatch",
    async () => attempt({ token: await signRaw(f.key, claims(VICTIM)) })
  )
  attack(
    "a service token without org_id",
    403,
    "organization-mismatch",
    async () => attempt({ token: await signRaw(f.key, serviceClaims("svc", { org_id: undefined })) })
  )
  attack(
    "a user token carrying scope users:write, on another user",
    403,
    "not-own-user",
    async () =>
      attempt({
        token: await signRaw(f.key, claims("mallory", { org_id: f.tenant.organizationId, scope: "users:write" }))
      })
  )
  attack(
    'a token whose token_use is neither "user" nor "service"',
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, serviceClaims("svc", { token_use: "admin" })) })
  )
  attack(
    "the API key of another organization with a service token of org A",
    403,
    "organization-mismatch",
    async () => attempt({ apiKey: f.other.apiKey })
  )
  attack(
    "X-Org-Id and X-Organization-Id naming another organization's user",
    404,
    "user-not-found",
    async () =>
      attempt({
        path: `/users/${VICTIM_B}/UpdatePhoneNumber`,
        headers: { "x-org-id": f.other.organizationId, "x-organization-id": f.other.organizationId }
      })
  )
  attack(
    "X-Org-Id agreeing with the token while the key is another organization's",
    403,
    "organization-mismatch",
    async () =>
      attempt({
        token: serviceB,
        path: `/users/${VICTIM_B}/UpdatePhoneNumber`,
        headers: { "x-org-id": f.other.organizationId, "x-organization-id": f.other.organizationId }
      })
  )
  attack(
    "reading another organization's audit trail",
    404,
    "user-not-found",
    async () =>
      attempt({ method: "GET", path: `/users/${VICTIM_B}/events`, headers: { "x-org-id": f.other.organizationId } })
  )
  attack("an API key differing in its last character", 401, "invalid-api-key", async () => {
    const key = f.tenant.apiKey
    return attempt({ apiKey: key.slice(0, -1) + (key.endsWith("A") ? "B" : "A") })
  })
  attack(
    "an API key in another letter case",
    401,
    "invalid-api-key",
    async () => attempt({ apiKey: f.tenant.apiKey.replace(/[a-z]/, (c) => c.toUpperCase()).replace(/^UAK_/, "uak_") })
  )
  attack(
    "an API key without its uak_ prefix",
    401,
    "invalid-api-key",
    async () => attempt({ apiKey: f.tenant.apiKey.replace(/^uak_/, "") })
  )
  attack(
    "the stored SHA-256 presented as the key",
    401,
    "invalid-api-key",
    async () => attempt({ apiKey: await sha256Hex(f.tenant.apiKey) })
  )
  attack(
    "an over-long X-API-Key (9 KiB)",
    401,
    "invalid-api-key",
    async () => attempt({ apiKey: "uak_" + "A".repeat(9 * 1024) })
  )
  attack(
    "the API key sent as a Bearer token and no X-API-Key",
    401,
    "missing-api-key",
    async () => attempt({ token: f.tenant.apiKey, apiKey: undefined })
  )
  attack(
    "the API key in the query string",
    401,
    "missing-api-key",
    async () => attempt({ path: `/users/${VICTIM}/UpdatePhoneNumber?api_key=${f.tenant.apiKey}`, apiKey: undefined })
  )
})

describe("path ids", () => {
  const id = (name: string, raw: string, status = 400, code = "invalid-user-id") => {
    attack(
      `an id ${name} (UpdatePhoneNumber)`,
      status,
      code,
      () => attempt({ path: `/users/${raw}/UpdatePhoneNumber` })
    )
    attack(`an id ${name} (events)`, status, code, () => attempt({ method: "GET", path: `/users/${raw}/events` }))
  }
  id("of 65 characters", "v".repeat(65))
  id("of 100 characters", "v".repeat(100))
  id("containing ..", "a..b")
  id("containing %2F (an encoded slash)", "victim%2F..%2Fvictim_b")
  id("containing %2f (lower-case encoded slash)", "a%2fb")
  id("containing %00 (NUL)", "victim%00")
  id("containing a literal é", "vicé")
  id("containing %C3%A9 (é percent-encoded)", "vic%C3%A9")
  id("containing U+202E (right-to-left override)", "victim%E2%80%AE")
  id("containing a space", "vic%20tim")
  id("containing SQL", "x'%20OR%20'1'%3D'1")
  id("containing a dot", "victim.json")
  // Documented answers other than 400: the URL parser (WHATWG) resolves dot segments before the handler sees the
  // path; the router cannot decode malformed escapes; a path the router would rewrite (`;` ends it, `//` collapses)
  // is refused at the edge, since `/users/victim;x/events` would otherwise be served as GET /users/victim.
  // None of these names a route of ours: 404 route-not-found, before any credential check.
  id("with a literal / (an extra path segment)", "victim/x", 404, "route-not-found")
  id("of .. (resolved away by the URL parser)", "..", 404, "route-not-found")
  id("of %2E%2E (resolved like ..)", "%2E%2E", 404, "route-not-found")
  id("that is empty (a doubled slash)", "", 404, "route-not-found")
  id("with a malformed escape %ZZ", "vic%ZZ", 404, "route-not-found")
  id("with %FF (not UTF-8)", "vic%FF", 404, "route-not-found")
  id("containing ; (where the router would end the path)", "victim;x", 404, "route-not-found")
  id("followed by ;/ (path confusion with GET /users/{id})", "victim;", 404, "route-not-found")
  // The router (find-my-way, maxParamLength 100) matches no route for a longer segment.
  id("of 101 characters (past the router's parameter limit)", "v".repeat(101), 404, "route-not-found")
  id("of 10 000 characters", "v".repeat(10_000), 404, "route-not-found")
  attack(
    "a malformed id without credentials (credentials are checked first)",
    401,
    "missing-api-key",
    () => attempt({ path: "/users/a..b/UpdatePhoneNumber", token: undefined, apiKey: undefined })
  )
})

describe("the Authorization header", () => {
  attack(
    "a token in a Basic header",
    401,
    "missing-token",
    async () => attempt({ headers: { authorization: `Basic ${serviceA}` } })
  )
  attack(
    "a token in a Basic header as user:password",
    401,
    "missing-token",
    async () => attempt({ headers: { authorization: `Basic ${Buffer.from(`svc:${serviceA}`).toString("base64")}` } })
  )
  attack(
    "two tokens in one Bearer header",
    401,
    "missing-token",
    async () => attempt({ headers: { authorization: `Bearer ${serviceB} ${serviceA}` } })
  )
  attack("a token with no scheme", 401, "missing-token", async () => attempt({ headers: { authorization: serviceA } }))
  attack(
    "a token with a trailing garbage segment",
    401,
    "invalid-token",
    async () => attempt({ token: `${serviceA}.garbage` })
  )
  attack(
    "a token with garbage appended to its signature",
    401,
    "invalid-token",
    async () => attempt({ token: `${serviceA}AAAA` })
  )
  attack(
    "a JWE-shaped token (five segments)",
    401,
    "invalid-token",
    async () =>
      attempt({
        token: `${encodeSegment({ alg: "dir", enc: "A256GCM" })}..${b64url("iv")}.${b64url("ct")}.${b64url("tag")}`
      })
  )
  attack(
    "an over-long Authorization header (9 KiB)",
    401,
    "invalid-token",
    async () => attempt({ headers: { authorization: `Bearer ${"A".repeat(9 * 1024)}` } })
  )
  attack(
    "a genuinely signed token padded past 8 KiB",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, victimClaims({ pad: "x".repeat(9 * 1024) })) })
  )
  attack(
    "an Authorization header of 64 KiB",
    401,
    "invalid-token",
    async () => attempt({ headers: { authorization: `Bearer ${"A.".repeat(32 * 1024)}A` } })
  )
  attack(
    "a JWT whose payload is not JSON",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, "sub=victim&exp=9999999999") })
  )
  attack(
    "a JWT whose payload is a JSON array",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, JSON.stringify([victimClaims()])) })
  )
  attack(
    "a JWT whose payload is not UTF-8",
    401,
    "invalid-token",
    async () => attempt({ token: await signRaw(f.key, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])) })
  )
  attack(
    "a JWT whose segments are not base64url",
    401,
    "invalid-token",
    async () => attempt({ token: "e30=.e30=.!!!" })
  )
})

describe("API keys at rest", () => {
  it("stores API keys only as their SHA-256: neither the table nor the database file holds a secret", async () => {
    const rows = f.query<Record<string, unknown>>("SELECT * FROM api_keys")
    expect(rows.length).toBeGreaterThanOrEqual(3)
    const secrets = [f.tenant.apiKey, f.other.apiKey, revokedKey]
    const hashes = await Promise.all(secrets.map(sha256Hex))
    expect(rows.map((row) => row.key_hash).sort()).toEqual([...hashes].sort())
    for (const row of rows) expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/)
    const table = JSON.stringify(rows)
    for (const secret of secrets) {
      expect(table).not.toContain(secret)
      expect(table).not.toContain(secret.replace(/^uak_/, ""))
    }
    // The raw bytes too (main file, WAL and shared memory), in case a secret was ever written and overwritten.
    for (const suffix of ["", "-wal", "-shm"]) {
      const path = f.filename + suffix
      if (!existsSync(path)) continue
      const bytes = readFileSync(path).toString("latin1")
      for (const secret of secrets) expect(bytes.includes(secret.replace(/^uak_/, ""))).toBe(false)
    }
  })

  it("finds a key by its hash: the key works, the same key changed in any one character does not", async () => {
    const key = f.tenant.apiKey
    const read = (apiKey: string) => attempt({ method: "GET", path: `/users/${VICTIM}/events`, apiKey })
    expect((await read(key)).status).toBe(200)
    for (const position of [4, Math.floor(key.length / 2), key.length - 1]) {
      const changed = key.slice(0, position) + (key[position] === "x" ? "y" : "x") + key.slice(position + 1)
      expectProblem(await read(changed), 401, "invalid-api-key")
    }
  })

  it("lets X-Org-Id redirect nothing: the key's organization is written, the other one is untouched", async () => {
    const otherBefore = f.query(
      "SELECT * FROM users WHERE organization_id = ? AND id = ?",
      f.other.organizationId,
      SHARED
    )
    const answer = await attempt({
      path: `/users/${SHARED}/UpdatePhoneNumber`,
      headers: { "x-org-id": f.other.organizationId, "x-organization-id": f.other.organizationId }
    })
    expect(answer.status).toBe(200)
    expect(answer.body.event.metadata.organizationId).toBe(f.tenant.organizationId)
    expect(
      f.query("SELECT phone_number FROM users WHERE organization_id = ? AND id = ?", f.tenant.organizationId, SHARED)
    )
      .toEqual([{ phone_number: "+442079460958" }])
    expect(f.query("SELECT * FROM users WHERE organization_id = ? AND id = ?", f.other.organizationId, SHARED))
      .toEqual(otherBefore)
  })
})

it("tried every attack of the matrix", () => {
  // Printed so the number of attack rows is visible in the run's output.
  console.log(`security matrix: ${attacks} attacks`)
  expect(attacks).toBeGreaterThan(90)
})
