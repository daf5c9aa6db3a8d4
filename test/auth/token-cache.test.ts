/**
 * The verified-token cache (src/layers/auth/token-cache.ts) in front of jose: a token is verified once and then
 * remembered, but never past its `exp` or the cache's maximum age, a refused token is never remembered, and the
 * cache holds a bounded number of tokens. Time is Effect's TestClock, which jose's checks follow too.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, TestClock } from "effect"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf, signServiceToken } from "../../src/dev/signing.js"
import { makeVerifyJwt, type VerifyJwt } from "../../src/layers/auth/jwt.js"
import { cacheVerifiedTokens, type TokenCacheOptions } from "../../src/layers/auth/token-cache.js"

const key = await generateSigningKey("cache-test-key")
const verifyWithJose = makeVerifyJwt({ issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(key) })

/** The cache over jose, counting how often jose is asked. */
const cached = (options?: TokenCacheOptions) => {
  const calls = { jose: 0 }
  const counting: VerifyJwt = (token) => Effect.suspend(() => (calls.jose++, verifyWithJose(token)))
  return { verify: cacheVerifiedTokens(counting, options), calls }
}

const token = (options: { expiresIn?: string; audience?: string; service?: string } = {}) =>
  Effect.promise(() =>
    signServiceToken(key, options.service ?? "svc_cache", "org_cache", "users:write", {
      expiresIn: options.expiresIn ?? "1h",
      ...(options.audience !== undefined ? { audience: options.audience } : {})
    })
  )

// Tokens are signed with the real clock; the test clock starts there and is moved from there.
const startNow = TestClock.setTime(Date.now())

describe("the verified-token cache", () => {
  it.effect("verifies a token once and answers the same claims from the cache after that", () =>
    Effect.gen(function*() {
      yield* startNow
      const { calls, verify } = cached()
      const jwt = yield* token()
      const first = yield* verify(jwt)
      const second = yield* verify(jwt)
      expect(second).toEqual(first)
      expect(first).toMatchObject({ sub: "svc_cache", org_id: "org_cache" })
      expect(calls.jose).toBe(1)
    }))

  it.effect("refuses an expired token even though it was cached", () =>
    Effect.gen(function*() {
      yield* startNow
      const { calls, verify } = cached()
      const jwt = yield* token({ expiresIn: "60s" })
      yield* verify(jwt)
      yield* TestClock.adjust("2 minutes")
      const outcome = yield* Effect.either(verify(jwt))
      expect(Either.isLeft(outcome) && outcome.left).toMatchObject({
        _tag: "Unauthenticated",
        reason: "invalid-token",
        detail: "The token has expired."
      })
      expect(calls.jose).toBe(2)
    }))

  it.effect("never answers from the cache once exp has passed: jose decides, with its usual clock tolerance", () =>
    Effect.gen(function*() {
      yield* startNow
      const { calls, verify } = cached()
      const jwt = yield* token({ expiresIn: "60s" })
      yield* verify(jwt)
      // One second past exp: within jose's 5 s tolerance, so still accepted, but by jose, not by the cache.
      yield* TestClock.adjust("61 seconds")
      yield* verify(jwt)
      expect(calls.jose).toBe(2)
    }))

  it.effect("verifies again after the cache's maximum age, whatever exp says", () =>
    Effect.gen(function*() {
      yield* startNow
      const { calls, verify } = cached({ maxAgeMs: 1_000 })
      const jwt = yield* token()
      yield* verify(jwt)
      yield* TestClock.adjust("500 millis")
      yield* verify(jwt)
      expect(calls.jose).toBe(1)
      yield* TestClock.adjust("600 millis")
      yield* verify(jwt)
      expect(calls.jose).toBe(2)
    }))

  it.effect("does not remember a refused token", () =>
    Effect.gen(function*() {
      yield* startNow
      const { calls, verify } = cached()
      const jwt = yield* token({ audience: "someone-else" })
      expect(Either.isLeft(yield* Effect.either(verify(jwt)))).toBe(true)
      expect(Either.isLeft(yield* Effect.either(verify(jwt)))).toBe(true)
      expect(calls.jose).toBe(2)
    }))

  it.effect("holds at most maxEntries tokens, dropping the least recently used", () =>
    Effect.gen(function*() {
      yield* startNow
      const { calls, verify } = cached({ maxEntries: 2 })
      const [t1, t2, t3] = yield* Effect.all([
        token({ service: "s1" }),
        token({ service: "s2" }),
        token({ service: "s3" })
      ])
      yield* verify(t1!)
      yield* verify(t2!)
      yield* verify(t1!) // t1 is now the most recently used
      yield* verify(t3!) // evicts t2
      expect(calls.jose).toBe(3)
      yield* verify(t1!)
      yield* verify(t3!)
      expect(calls.jose).toBe(3)
      yield* verify(t2!)
      expect(calls.jose).toBe(4)
    }))
})
