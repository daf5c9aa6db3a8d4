/**
 * Verified tokens, remembered: a B2B caller sends the same JWT on every request until it expires, and checking
 * its signature is most of the cost of authenticating. An entry is keyed by the token's SHA-256 (the token
 * itself is never a key), holds the verified claims, and is used only while the clock is before the token's
 * `exp` and within `maxAgeMs` of the verification. After that the token goes through jose again, which then
 * applies its usual rules (expiry with the configured clock tolerance), so a cached token is never accepted
 * where an uncached one would be refused. Refused tokens are never cached. The rules are in docs/DECISIONS.md.
 */
import { Clock, Effect } from "effect"
import { sha256Hex } from "../../sha256.js"
import { BoundedCache } from "./bounded-cache.js"
import type { VerifyJwt } from "./jwt.js"

export interface TokenCacheOptions {
  /** How many distinct tokens are remembered (least recently used go first). */
  readonly maxEntries?: number
  /** The longest a verification is reused, whatever `exp` says (a signing key withdrawn from the JWKS). */
  readonly maxAgeMs?: number
  /** JWT_MAX_AGE, when set: an entry ends when its token reaches that age (counted from `iat`), as jose would. */
  readonly maxTokenAgeSeconds?: number
}

export const TOKEN_CACHE_DEFAULTS = { maxEntries: 10_000, maxAgeMs: 5 * 60_000 } as const

export const cacheVerifiedTokens = (verify: VerifyJwt, options: TokenCacheOptions = {}): VerifyJwt => {
  const maxAgeMs = options.maxAgeMs ?? TOKEN_CACHE_DEFAULTS.maxAgeMs
  const cache = new BoundedCache<
    { readonly claims: Effect.Effect.Success<ReturnType<VerifyJwt>>; readonly until: number }
  >(
    options.maxEntries ?? TOKEN_CACHE_DEFAULTS.maxEntries
  )
  return (token) =>
    Effect.gen(function*() {
      const key = sha256Hex(token)
      const hit = cache.get(key)
      if (hit !== undefined) {
        if ((yield* Clock.currentTimeMillis) < hit.until) return hit.claims
        cache.delete(key)
      }
      const claims = yield* verify(token)
      const verifiedAt = yield* Clock.currentTimeMillis
      // jose requires exp (requiredClaims in jwt.ts) and iat under a maximum token age; without them nothing is cached.
      const agedOutAt = options.maxTokenAgeSeconds === undefined
        ? Infinity
        : typeof claims.iat === "number"
        ? (claims.iat + options.maxTokenAgeSeconds) * 1000
        : verifiedAt
      const until = typeof claims.exp === "number"
        ? Math.min(claims.exp * 1000, verifiedAt + maxAgeMs, agedOutAt)
        : verifiedAt
      if (until > verifiedAt) cache.set(key, { claims, until })
      return claims
    })
}
