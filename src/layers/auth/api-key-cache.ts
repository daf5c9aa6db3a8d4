/**
 * API-key lookups, remembered for a short, bounded time: a found key is reused for at most `ttlMs` after it was read,
 * so a revocation takes effect within that bound. Unknown and revoked keys are never kept, so a new key works at once
 * and a flood of made-up keys cannot push real ones out. Keyed by the key's SHA-256.
 */
import { makeExpiringCache } from "../expiring-cache.js"
import type { LookupApiKeyHash } from "./api-keys.js"

export interface ApiKeyCacheOptions {
  /** How long a found key is trusted without asking the store again: the revocation delay. */
  readonly ttlMs?: number
  readonly maxEntries?: number
}

export const API_KEY_CACHE_DEFAULTS = { ttlMs: 30_000, maxEntries: 1_000 } as const

export const cacheApiKeyLookups = (lookup: LookupApiKeyHash, options: ApiKeyCacheOptions = {}): LookupApiKeyHash => {
  const ttlMs = options.ttlMs ?? API_KEY_CACHE_DEFAULTS.ttlMs
  const cache = makeExpiringCache<string | null>({
    capacity: options.maxEntries ?? API_KEY_CACHE_DEFAULTS.maxEntries,
    keepUntil: (organizationId, readAt) => organizationId === null ? readAt : readAt + ttlMs
  })
  return (hash) => cache.get(hash, () => lookup(hash))
}
