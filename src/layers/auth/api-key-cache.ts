/**
 * API-key lookups, remembered for a short, bounded time: every request carries the organization's key, and the
 * answer changes only when a key is revoked. A found key is reused for at most `ttlMs` after it was read, so a
 * revocation takes effect within that bound (docs/DECISIONS.md); unknown and revoked keys are never cached, so
 * a new key works at once and a flood of made-up keys cannot push real ones out. Keyed by the key's SHA-256.
 */
import { Clock, Effect } from "effect"
import type { LookupApiKeyHash } from "./api-keys.js"
import { BoundedCache } from "./bounded-cache.js"

export interface ApiKeyCacheOptions {
  /** How long a found key is trusted without asking the store again: the revocation delay. */
  readonly ttlMs?: number
  readonly maxEntries?: number
}

export const API_KEY_CACHE_DEFAULTS = { ttlMs: 30_000, maxEntries: 1_000 } as const

export const cacheApiKeyLookups = (lookup: LookupApiKeyHash, options: ApiKeyCacheOptions = {}): LookupApiKeyHash => {
  const ttlMs = options.ttlMs ?? API_KEY_CACHE_DEFAULTS.ttlMs
  const cache = new BoundedCache<{ readonly organizationId: string; readonly until: number }>(
    options.maxEntries ?? API_KEY_CACHE_DEFAULTS.maxEntries
  )
  return (hash) =>
    Effect.gen(function*() {
      const hit = cache.get(hash)
      if (hit !== undefined) {
        if ((yield* Clock.currentTimeMillis) < hit.until) return hit.organizationId
        cache.delete(hash)
      }
      // The bound counts from before the read: the store's answer is at least that fresh.
      const readAt = yield* Clock.currentTimeMillis
      const organizationId = yield* lookup(hash)
      if (organizationId !== null) cache.set(hash, { organizationId, until: readAt + ttlMs })
      return organizationId
    })
}
