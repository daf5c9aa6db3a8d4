/**
 * Issue 9, finding 3: when the identity provider's key set (JWKS_URL) cannot be fetched, callers get a 503
 * `identity-provider-unavailable` with Retry-After, not a 401 that logs users out; the last good key set keeps
 * serving for a bounded time (stale-if-error); concurrent requests share one fetch; after a failure the next fetch
 * waits out an exponential back-off, during which no fetch is made. Against a real HTTP server on 127.0.0.1 that
 * answers 500, HTML, a non-key-set, resets the connection or hangs. Time is Effect's TestClock where it matters.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, TestClock } from "effect"
import { afterAll, beforeAll } from "vitest"
import { ConfigError, jwtConfigFromEnv } from "../../src/config.js"
import {
  DEV_AUDIENCE,
  DEV_ISSUER,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  signServiceToken
} from "../../src/dev/signing.js"
import { type JwtConfig, makeVerifyJwt } from "../../src/layers/auth/jwt.js"
import { cacheVerifiedTokens } from "../../src/layers/auth/token-cache.js"
import { call, expectProblem } from "../support/client.js"
import { type JwksMode, type JwksServer, startJwksServer } from "../support/jwks-server.js"
import { makeSqliteFixture } from "../support/sqlite-fixture.js"

const key = await generateSigningKey("idp-key-1")
const rotated = await generateSigningKey("idp-key-2")

let server: JwksServer
beforeAll(async () => {
  server = await startJwksServer(jwksOf(key))
})
afterAll(() => server.close())

const sign = (signingKey: SigningKey = key, service = "svc_outage") =>
  Effect.promise(() => signServiceToken(signingKey, service, "org_outage", "users:write", { expiresIn: "4h" }))

/** A verifier over the test server's key set, fresh state each time (as a new process would have). */
const verifier = (overrides: Partial<JwtConfig> = {}) =>
  makeVerifyJwt({ issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: server.url, ...overrides })

/** The server back to serving `key`, its request count noted: each test counts from here. */
const reset = (mode: JwksMode = "ok") =>
  Effect.sync(() => {
    server.mode = mode
    server.keys = jwksOf(key)
    return server.requests
  })

// Tokens are signed with the real clock; the test clock starts there and is moved from there.
const startNow = TestClock.setTime(Date.now())

const expectUnavailable = (outcome: Either.Either<unknown, unknown>) => {
  expect(Either.isLeft(outcome)).toBe(true)
  const error = Either.isLeft(outcome) ? (outcome.left as Record<string, unknown>) : {}
  expect(error._tag).toBe("IdentityProviderUnavailable")
  expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1)
  return error
}

describe("a failing key-set fetch is the identity provider being unavailable, not a bad token", () => {
  for (const mode of ["500", "html", "not-a-jwks", "reset"] as const) {
    it.effect(`${mode}: IdentityProviderUnavailable with a retry delay of at least a second`, () =>
      Effect.gen(function*() {
        yield* startNow
        const before = yield* reset(mode)
        const outcome = yield* Effect.either(verifier()(yield* sign()))
        expectUnavailable(outcome)
        expect(server.requests - before).toBe(1)
      }))
  }

  it.effect("a key set that hangs: unavailable once the fetch times out (JWKS_TIMEOUT_SECONDS)", () =>
    Effect.gen(function*() {
      yield* startNow
      yield* reset("hang")
      const started = Date.now()
      const outcome = yield* Effect.either(verifier({ fetchTimeoutSeconds: 0.3 })(yield* sign()))
      expectUnavailable(outcome)
      expect(Date.now() - started).toBeLessThan(3_000)
    }))

  it.effect("a token with no trusted key is still a 401 while the identity provider answers", () =>
    Effect.gen(function*() {
      yield* startNow
      yield* reset()
      const outcome = yield* Effect.either(verifier()(yield* sign(rotated)))
      expect(Either.isLeft(outcome) && outcome.left).toMatchObject({ _tag: "Unauthenticated", reason: "invalid-token" })
    }))
})

describe("the key set is fetched once and shared", () => {
  it.effect("20 concurrent verifications cause one fetch; later ones none while the set is fresh", () =>
    Effect.gen(function*() {
      yield* startNow
      const before = yield* reset()
      const verify = verifier()
      const tokens = yield* Effect.all(Array.from({ length: 20 }, (_, i) => sign(key, `svc_${i}`)))
      const claims = yield* Effect.all(tokens.map(verify), { concurrency: "unbounded" })
      expect(claims.map((c) => c.sub)).toEqual(tokens.map((_, i) => `svc_${i}`))
      expect(server.requests - before).toBe(1)
      yield* TestClock.adjust("9 minutes")
      yield* verify(tokens[0]!)
      expect(server.requests - before).toBe(1)
      // Past its 10 minutes of freshness the set is fetched again.
      yield* TestClock.adjust("2 minutes")
      yield* verify(tokens[0]!)
      expect(server.requests - before).toBe(2)
    }))

  it.effect("20 concurrent verifications during an outage cause one fetch, and all fail alike", () =>
    Effect.gen(function*() {
      yield* startNow
      const before = yield* reset("500")
      const verify = verifier()
      const tokens = yield* Effect.all(Array.from({ length: 20 }, (_, i) => sign(key, `svc_${i}`)))
      const outcomes = yield* Effect.all(tokens.map((t) => Effect.either(verify(t))), { concurrency: "unbounded" })
      outcomes.forEach(expectUnavailable)
      expect(server.requests - before).toBe(1)
    }))

  it.effect("a token with an unknown kid refetches at most once per 30 s, and picks up a rotated key", () =>
    Effect.gen(function*() {
      yield* startNow
      const before = yield* reset()
      const verify = verifier()
      yield* verify(yield* sign(key))
      expect(server.requests - before).toBe(1)
      // The identity provider rotates; a token of the new key arrives at once, within the cooldown.
      server.keys = jwksOf(key, rotated)
      const fresh = yield* sign(rotated)
      const early = yield* Effect.either(verify(fresh))
      expect(Either.isLeft(early) && early.left).toMatchObject({ _tag: "Unauthenticated", reason: "invalid-token" })
      expect(server.requests - before).toBe(1)
      yield* TestClock.adjust("31 seconds")
      expect((yield* verify(fresh)).sub).toBe("svc_outage")
      expect(server.requests - before).toBe(2)
      // A flood of made-up kids right after costs no fetch.
      const stranger = yield* sign(yield* Effect.promise(() => generateSigningKey("made-up")))
      for (let i = 0; i < 5; i++) yield* Effect.either(verify(stranger))
      expect(server.requests - before).toBe(2)
    }))
})

describe("stale-if-error: the last good key set keeps serving, for a bounded time", () => {
  it.effect("serves the stale set within JWKS_STALE_IF_ERROR_SECONDS past its freshness, then answers unavailable", () =>
    Effect.gen(function*() {
      yield* startNow
      const before = yield* reset()
      const verify = verifier({ staleIfErrorSeconds: 3600 })
      const token = yield* sign()
      yield* verify(token)
      server.mode = "500"
      // Stale (11 min old), the refresh fails: the stale set still verifies the token.
      yield* TestClock.adjust("11 minutes")
      expect((yield* verify(token)).sub).toBe("svc_outage")
      expect(server.requests - before).toBe(2)
      // Within the bound (10 min fresh + 60 min stale), still served.
      yield* TestClock.adjust("58 minutes")
      expect((yield* verify(token)).sub).toBe("svc_outage")
      expect(server.requests - before).toBe(3)
      // Past it: unavailable, though the token itself is fine.
      yield* TestClock.adjust("2 minutes")
      expectUnavailable(yield* Effect.either(verify(token)))
    }))

  it.effect("with JWKS_STALE_IF_ERROR_SECONDS=0 a stale set is never served", () =>
    Effect.gen(function*() {
      yield* startNow
      yield* reset()
      const verify = verifier({ staleIfErrorSeconds: 0 })
      const token = yield* sign()
      yield* verify(token)
      server.mode = "html"
      yield* TestClock.adjust("11 minutes")
      expectUnavailable(yield* Effect.either(verify(token)))
    }))
})

describe("back-off after a failure", () => {
  it.effect("makes no fetch while it lasts (1 s, doubling, jittered), then tries again and recovers", () =>
    Effect.gen(function*() {
      yield* startNow
      const before = yield* reset("500")
      const verify = verifier()
      const token = yield* sign()
      const first = expectUnavailable(yield* Effect.either(verify(token)))
      expect(first.retryAfterSeconds).toBe(1)
      expect(server.requests - before).toBe(1)
      // The first wait is 0.5 to 1 s: nothing is fetched before half a second.
      for (let i = 0; i < 10; i++) expectUnavailable(yield* Effect.either(verify(token)))
      yield* TestClock.adjust("400 millis")
      expectUnavailable(yield* Effect.either(verify(token)))
      expect(server.requests - before).toBe(1)
      // After a second it may fetch again: it does, fails, and waits 1 to 2 s.
      yield* TestClock.adjust("700 millis")
      const second = expectUnavailable(yield* Effect.either(verify(token)))
      expect(server.requests - before).toBe(2)
      expect(second.retryAfterSeconds).toBeGreaterThanOrEqual(1)
      expect(second.retryAfterSeconds).toBeLessThanOrEqual(2)
      yield* TestClock.adjust("900 millis")
      expectUnavailable(yield* Effect.either(verify(token)))
      expect(server.requests - before).toBe(2)
      // Recovery: the identity provider answers again; the next attempt after the back-off succeeds.
      server.mode = "ok"
      yield* TestClock.adjust("1200 millis")
      expect((yield* verify(token)).sub).toBe("svc_outage")
      expect(server.requests - before).toBe(3)
    }))

  it.effect("grows to at most 60 s", () =>
    Effect.gen(function*() {
      yield* startNow
      const before = yield* reset("500")
      const verify = verifier()
      const token = yield* sign()
      let retryAfter = 0
      for (let failure = 1; failure <= 9; failure++) {
        const error = expectUnavailable(yield* Effect.either(verify(token)))
        retryAfter = Number(error.retryAfterSeconds)
        expect(retryAfter).toBeLessThanOrEqual(Math.min(60, 2 ** (failure - 1)))
        expect(retryAfter).toBeGreaterThanOrEqual(Math.max(1, Math.min(60, 2 ** (failure - 1)) / 2))
        yield* TestClock.adjust(`${retryAfter + 1} seconds`)
      }
      expect(server.requests - before).toBe(9)
      expect(retryAfter).toBeGreaterThanOrEqual(30)
    }))
})

describe("the token cache never keeps an unavailable verdict", () => {
  it.effect("a token refused during the outage verifies once the identity provider is back", () =>
    Effect.gen(function*() {
      yield* startNow
      yield* reset("reset")
      const verify = cacheVerifiedTokens(verifier())
      const token = yield* sign()
      expectUnavailable(yield* Effect.either(verify(token)))
      server.mode = "ok"
      yield* TestClock.adjust("2 seconds")
      expect((yield* verify(token)).sub).toBe("svc_outage")
    }))
})

describe("over HTTP, through the handler", () => {
  it("answers 503 identity-provider-unavailable with Retry-After, writes nothing, and 20 concurrent calls fetch once", async () => {
    server.mode = "500"
    const f = await makeSqliteFixture({ jwt: { jwks: server.url } })
    try {
      server.keys = jwksOf(f.key)
      const before = server.requests
      const token = await f.serviceToken()
      const answers = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => call(f.fetch, "POST", "/users", { token, apiKey: f.tenant.apiKey, body: { id: `outage_${i}` } })
        )
      )
      for (const answer of answers) {
        expectProblem(answer, 503, "identity-provider-unavailable")
        expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
        expect(answer.headers.get("www-authenticate")).toBeNull()
      }
      expect(server.requests - before).toBe(1)
      expect(f.query("SELECT COUNT(*) AS n FROM users")).toEqual([{ n: 0 }])
      expect(f.logs.filter((line) => line.code === "identity-provider-unavailable")).toHaveLength(20)
      // Back again: once the back-off has passed, the same token is accepted.
      server.mode = "ok"
      await new Promise((resolve) => setTimeout(resolve, 1_100))
      const created = await call(f.fetch, "POST", "/users", { token, apiKey: f.tenant.apiKey, body: { id: "back" } })
      expect(created.status, created.text).toBe(201)
      expect(server.requests - before).toBe(2)
    } finally {
      await f.dispose()
    }
  })
})

describe("the key-set settings from the environment", () => {
  const base = { JWT_ISSUER: DEV_ISSUER, JWT_AUDIENCE: DEV_AUDIENCE, JWKS_URL: "https://idp.example.com/jwks.json" }

  it("reads JWKS_STALE_IF_ERROR_SECONDS and JWKS_TIMEOUT_SECONDS", () => {
    expect(jwtConfigFromEnv(base)).not.toHaveProperty("staleIfErrorSeconds")
    expect(jwtConfigFromEnv({ ...base, JWKS_STALE_IF_ERROR_SECONDS: "600", JWKS_TIMEOUT_SECONDS: "2.5" }))
      .toMatchObject({ staleIfErrorSeconds: 600, fetchTimeoutSeconds: 2.5 })
    expect(jwtConfigFromEnv({ ...base, JWKS_STALE_IF_ERROR_SECONDS: "0" })).toMatchObject({ staleIfErrorSeconds: 0 })
  })

  for (
    const [name, value] of [
      ["JWKS_STALE_IF_ERROR_SECONDS", "-1"],
      ["JWKS_STALE_IF_ERROR_SECONDS", "1h"],
      ["JWKS_STALE_IF_ERROR_SECONDS", "1.5"],
      ["JWKS_STALE_IF_ERROR_SECONDS", "9999999"],
      ["JWKS_TIMEOUT_SECONDS", "0"],
      ["JWKS_TIMEOUT_SECONDS", "61"],
      ["JWKS_TIMEOUT_SECONDS", "five"],
      ["JWKS_URL", "idp.example.com/jwks.json"],
      ["JWKS_URL", "file:///etc/jwks.json"]
    ] as const
  ) {
    it(`refuses ${name}=${value} with a ConfigError naming it`, () => {
      expect(() => jwtConfigFromEnv({ ...base, [name]: value })).toThrow(ConfigError)
      expect(() => jwtConfigFromEnv({ ...base, [name]: value })).toThrow(name)
    })
  }
})
