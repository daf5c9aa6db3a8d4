/**
 * The API-key cache (src/layers/auth/api-key-cache.ts): a found key is reused for at most its TTL (30 s by
 * default, docs/DECISIONS.md), so a revoked key stops working within that bound; unknown and revoked keys are
 * never cached; the cache is bounded. The last test revokes a key in a real SQLite store behind AuthLive.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Redacted, TestClock } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ensureOrganization, issueApiKey, revokeApiKey } from "../../src/admin/tenants.js"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf, signServiceToken } from "../../src/dev/signing.js"
import { API_KEY_CACHE_DEFAULTS, cacheApiKeyLookups } from "../../src/layers/auth/api-key-cache.js"
import type { LookupApiKeyHash } from "../../src/layers/auth/api-keys.js"
import { AuthLive } from "../../src/layers/auth/auth.js"
import { makeExpiringCache } from "../../src/layers/expiring-cache.js"
import { prepareNodeSqliteFile } from "../../src/layers/sqlite/node.js"
import { Auth } from "../../src/services/auth.js"

/** A key table the test edits, counting the lookups that reach it. */
const store = () => {
  const active = new Map<string, string>([["hash-a", "org_a"], ["hash-b", "org_b"], ["hash-c", "org_c"]])
  const calls = { lookups: 0 }
  const lookup: LookupApiKeyHash = (hash) => Effect.sync(() => (calls.lookups++, active.get(hash) ?? null))
  return { active, calls, lookup }
}

describe("the API-key cache", () => {
  it.effect("answers a found key from the cache within its TTL", () =>
    Effect.gen(function*() {
      const { calls, lookup } = store()
      const cached = cacheApiKeyLookups(lookup)
      expect(yield* cached("hash-a")).toBe("org_a")
      yield* TestClock.adjust(API_KEY_CACHE_DEFAULTS.ttlMs - 1)
      expect(yield* cached("hash-a")).toBe("org_a")
      expect(calls.lookups).toBe(1)
    }))

  it.effect("stops accepting a revoked key once the TTL has passed since the key was read", () =>
    Effect.gen(function*() {
      const { active, calls, lookup } = store()
      const cached = cacheApiKeyLookups(lookup, { ttlMs: 30_000 })
      expect(yield* cached("hash-a")).toBe("org_a")
      active.delete("hash-a") // revoked
      yield* TestClock.adjust("29 seconds")
      expect(yield* cached("hash-a")).toBe("org_a") // within the documented bound
      yield* TestClock.adjust("1 second")
      expect(yield* cached("hash-a")).toBeNull()
      expect(calls.lookups).toBe(2)
    }))

  it.effect("never caches an unknown or revoked key, so a key issued later works at once", () =>
    Effect.gen(function*() {
      const { active, calls, lookup } = store()
      const cached = cacheApiKeyLookups(lookup)
      expect(yield* cached("hash-new")).toBeNull()
      active.set("hash-new", "org_new")
      expect(yield* cached("hash-new")).toBe("org_new")
      expect(calls.lookups).toBe(2)
    }))

  it.effect("holds at most maxEntries keys", () =>
    Effect.gen(function*() {
      const { calls, lookup } = store()
      const cached = cacheApiKeyLookups(lookup, { maxEntries: 2 })
      yield* Effect.forEach(["hash-a", "hash-b", "hash-c"], cached)
      yield* cached("hash-a") // evicted by hash-c
      expect(calls.lookups).toBe(4)
    }))
})

describe("the expiring cache under every credential cache", () => {
  const counting = () => {
    const calls = { lookups: 0 }
    const lookup = (value: number) => () => Effect.sync(() => (calls.lookups++, value))
    return { calls, lookup }
  }

  it.effect("never holds more than its capacity and drops the least recently used first", () =>
    Effect.gen(function*() {
      const cache = makeExpiringCache<number>({ capacity: 3, keepUntil: () => Infinity })
      const { calls, lookup } = counting()
      for (let i = 0; i < 100; i++) {
        yield* cache.get(`k${i}`, lookup(i))
        expect(cache.size()).toBeLessThanOrEqual(3)
      }
      expect(yield* cache.get("k97", lookup(-1))).toBe(97) // k97 is now the most recent
      yield* cache.get("k100", lookup(100))
      expect(yield* cache.get("k98", lookup(-98))).toBe(-98) // dropped: looked up again
      expect(yield* cache.get("k97", lookup(-1))).toBe(97)
      expect(calls.lookups).toBe(102)
    }))

  it.effect("uses an entry only before its deadline, counted from before its lookup", () =>
    Effect.gen(function*() {
      const cache = makeExpiringCache<number>({ capacity: 3, keepUntil: (_, at) => at + 1_000 })
      const { calls, lookup } = counting()
      yield* cache.get("k", lookup(1))
      yield* TestClock.adjust(999)
      expect(yield* cache.get("k", lookup(2))).toBe(1)
      yield* TestClock.adjust(1)
      expect(yield* cache.get("k", lookup(3))).toBe(3)
      expect(calls.lookups).toBe(2)
    }))

  it.effect("keeps neither a failure nor a value whose deadline has passed", () =>
    Effect.gen(function*() {
      const cache = makeExpiringCache<number>({ capacity: 3, keepUntil: (value, at) => value < 0 ? at : Infinity })
      const { calls, lookup } = counting()
      expect(Either.isLeft(yield* Effect.either(cache.get("k", () => Effect.fail("refused"))))).toBe(true)
      yield* cache.get("k", lookup(-1))
      expect(cache.size()).toBe(0)
      expect(yield* cache.get("k", lookup(1))).toBe(1)
      expect(calls.lookups).toBe(2)
    }))

  it.effect("keeps nothing of refused lookups or of expired entries, whatever their number", () =>
    Effect.gen(function*() {
      const cache = makeExpiringCache<number>({ capacity: 1_000, keepUntil: (_, at) => at + 10 })
      const { calls, lookup } = counting()
      for (let round = 0; round < 50; round++) {
        for (let i = 0; i < 100; i++) yield* Effect.either(cache.get(`refused${round}.${i}`, () => Effect.fail("no")))
        for (let i = 0; i < 10; i++) yield* cache.get(`k${i}`, lookup(i))
        yield* TestClock.adjust(20)
      }
      expect(calls.lookups).toBe(500) // each key looked up again every round: its entry had expired
      expect(cache.size()).toBe(10)
    }))

  it("refuses a capacity that is not a positive integer", () => {
    expect(() => makeExpiringCache({ capacity: 0, keepUntil: () => 0 })).toThrow(RangeError)
  })
})

describe("AuthLive over a real store", () => {
  it.effect("refuses a revoked API key within 30 seconds of its revocation", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      const filename = join(mkdtempSync(join(tmpdir(), "users-api-auth-")), "auth.sqlite")
      prepareNodeSqliteFile(filename)
      const signingKey = yield* Effect.promise(() => generateSigningKey("auth-cache-key"))
      const client = SqliteClient.layer({ filename })
      const auth = AuthLive({ issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(signingKey) }).pipe(
        Layer.provideMerge(client)
      )
      yield* Effect.gen(function*() {
        yield* ensureOrganization("org_rev", "org_rev")
        const issued = yield* issueApiKey("org_rev", "to be revoked")
        const token = yield* Effect.promise(() => signServiceToken(signingKey, "svc", "org_rev", "users:write"))
        const { authenticate } = yield* Auth
        const credentials = { apiKey: Redacted.make(issued.apiKey), bearerToken: Redacted.make(token) }

        expect((yield* authenticate(credentials)).organizationId).toBe("org_rev")
        yield* revokeApiKey(issued.id)
        yield* TestClock.adjust(API_KEY_CACHE_DEFAULTS.ttlMs)
        const refused = yield* Effect.either(authenticate(credentials))
        expect(Either.isLeft(refused) && refused.left).toMatchObject({
          _tag: "Unauthenticated",
          reason: "invalid-api-key"
        })
      }).pipe(Effect.provide(auth))
    }))
})
