// Unknown and revoked keys are never kept: a new key works at once and made-up keys cannot push real ones out.
import { makeExpiringCache } from "../expiring-cache.js"
import type { LookupApiKeyHash } from "./api-keys.js"

export interface ApiKeyCacheOptions {
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
