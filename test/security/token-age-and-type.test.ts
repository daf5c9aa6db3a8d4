/**
 * Issue 9: only access tokens, and (with JWT_MAX_AGE) only young ones. The header `typ` may be absent, `JWT`,
 * `at+jwt` or `application/at+jwt` (any letter case); an ID token, a logout token, a DPoP proof or anything else
 * is a 401 invalid-token. With JWT_MAX_AGE, `iat` is required and a token older than that is a 401, in the token
 * cache too. Through the real fetch handler over a real SQLite file, and the verifier with Effect's TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, TestClock } from "effect"
import { afterAll, beforeAll } from "vitest"
import { ConfigError, jwtConfigFromEnv } from "../../src/config.js"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf } from "../../src/dev/signing.js"
import { makeVerifyJwt } from "../../src/layers/auth/jwt.js"
import { cacheVerifiedTokens } from "../../src/layers/auth/token-cache.js"
import { call, expectProblem } from "../support/client.js"
import { claims, nowSeconds, signRaw } from "../support/forge.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let plain: SqliteFixture
let aged: SqliteFixture

beforeAll(async () => {
  plain = await makeSqliteFixture()
  aged = await makeSqliteFixture({ jwt: { maxTokenAgeSeconds: 3600 } })
})
afterAll(async () => {
  await plain.dispose()
  await aged.dispose()
})

/** A genuinely signed service token of the fixture's organization, with the header and claims given. */
const serviceToken = (
  f: SqliteFixture,
  header: Record<string, unknown> = {},
  overrides: Record<string, unknown> = {}
) =>
  signRaw(
    f.key,
    claims("svc_typ", { org_id: f.tenant.organizationId, token_use: "service", scope: "users:read", ...overrides }),
    header
  )

const list = (f: SqliteFixture, token: string) =>
  call(f.fetch, "GET", "/users/nobody/events", { token, apiKey: f.tenant.apiKey })

describe("the header typ: access tokens only", () => {
  for (const typ of [undefined, "JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"]) {
    it(`typ ${typ === undefined ? "absent" : JSON.stringify(typ)} is accepted`, async () => {
      const answer = await list(plain, await serviceToken(plain, { typ }))
      // Accepted: the request gets as far as looking for the user.
      expectProblem(answer, 404, "user-not-found")
    })
  }

  for (
    const typ of [
      "id+jwt",
      "ID+JWT",
      "application/id+jwt",
      "logout+jwt",
      "dpop+jwt",
      "secevent+jwt",
      "token-introspection+jwt",
      "JOSE",
      "at+jwt ",
      "",
      42,
      ["at+jwt"]
    ]
  ) {
    it(`typ ${JSON.stringify(typ)} is a 401 invalid-token with a fixed detail`, async () => {
      const answer = await list(plain, await serviceToken(plain, { typ }))
      expectProblem(answer, 401, "invalid-token")
      expect(answer.body.detail).toBe("The token's typ header is not an access token's.")
      expect(answer.headers.get("www-authenticate")).toContain('error="invalid_token"')
    })
  }
})

describe("JWT_MAX_AGE", () => {
  it("accepts a young token, and refuses one issued longer ago than JWT_MAX_AGE, however far its exp", async () => {
    expectProblem(await list(aged, await serviceToken(aged, {}, { iat: nowSeconds() - 60 })), 404, "user-not-found")
    const old = await serviceToken(aged, {}, { iat: nowSeconds() - 7200, exp: nowSeconds() + 86_400 })
    const answer = await list(aged, old)
    expectProblem(answer, 401, "invalid-token")
    expect(answer.body.detail).toBe("The token is older than the accepted maximum age.")
  })

  it("requires iat then", async () => {
    const answer = await list(aged, await serviceToken(aged, {}, { iat: undefined }))
    expectProblem(answer, 401, "invalid-token")
    expect(answer.body.detail).toBe("The token has no iat claim, which the maximum token age requires.")
  })

  it("without JWT_MAX_AGE, a token without iat and an old one are accepted as before", async () => {
    expectProblem(await list(plain, await serviceToken(plain, {}, { iat: undefined })), 404, "user-not-found")
    expectProblem(await list(plain, await serviceToken(plain, {}, { iat: nowSeconds() - 7200 })), 404, "user-not-found")
  })

  it.effect("the token cache stops answering for a token once it is older than JWT_MAX_AGE", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      const key = yield* Effect.promise(() => generateSigningKey("age-key"))
      const config = { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(key), maxTokenAgeSeconds: 60 }
      const verify = cacheVerifiedTokens(makeVerifyJwt(config), { maxTokenAgeSeconds: 60 })
      const token = yield* Effect.promise(() =>
        signRaw(key, claims("svc_age", { org_id: "org_age", token_use: "service", iat: nowSeconds() }))
      )
      yield* verify(token)
      yield* TestClock.adjust("30 seconds")
      yield* verify(token)
      // 70 s after iat: past the 60 s and the 5 s clock tolerance, though the cache would keep it 5 minutes.
      yield* TestClock.adjust("40 seconds")
      const outcome = yield* Effect.either(verify(token))
      expect(Either.isLeft(outcome) && outcome.left).toMatchObject({
        _tag: "Unauthenticated",
        reason: "invalid-token",
        detail: "The token is older than the accepted maximum age."
      })
    }))

  it("is read from the environment as whole seconds, with a ConfigError otherwise", () => {
    const base = { JWT_ISSUER: DEV_ISSUER, JWT_AUDIENCE: DEV_AUDIENCE, JWKS: JSON.stringify({ keys: [] }) }
    expect(jwtConfigFromEnv({ ...base, JWT_MAX_AGE: "3600" })).toMatchObject({ maxTokenAgeSeconds: 3600 })
    expect(jwtConfigFromEnv(base)).not.toHaveProperty("maxTokenAgeSeconds")
    for (const value of ["0", "-5", "1h", "1.5", "99999999999"]) {
      expect(() => jwtConfigFromEnv({ ...base, JWT_MAX_AGE: value }), value).toThrow(ConfigError)
      expect(() => jwtConfigFromEnv({ ...base, JWT_MAX_AGE: value }), value).toThrow(/JWT_MAX_AGE/)
    }
  })
})
