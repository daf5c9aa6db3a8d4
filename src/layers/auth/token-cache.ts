/**
 * Verified tokens, remembered: a caller sends the same JWT until it expires, and checking its signature is most of
 * authenticating. Keyed by the token's SHA-256; an entry is used only before the token's `exp` (and JWT_MAX_AGE) and
 * within `maxAgeMs`, then jose decides again, so a cached token is never accepted where an uncached one is refused.
 */
import type { Effect } from "effect"
import { sha256Hex } from "../../sha256.js"
import { makeExpiringCache } from "../expiring-cache.js"
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

type Claims = Effect.Effect.Success<ReturnType<VerifyJwt>>

export const cacheVerifiedTokens = (verify: VerifyJwt, options: TokenCacheOptions = {}): VerifyJwt => {
  const maxAgeMs = options.maxAgeMs ?? TOKEN_CACHE_DEFAULTS.maxAgeMs
  const { maxTokenAgeSeconds } = options
  const cache = makeExpiringCache<Claims>({
    capacity: options.maxEntries ?? TOKEN_CACHE_DEFAULTS.maxEntries,
    // jose requires exp (jwt.ts) and, under a maximum token age, iat; without them nothing is kept.
    keepUntil: (claims, verifiedAt) =>
      typeof claims.exp !== "number"
        ? verifiedAt
        : maxTokenAgeSeconds === undefined
        ? Math.min(claims.exp * 1000, verifiedAt + maxAgeMs)
        : typeof claims.iat === "number"
        ? Math.min(claims.exp * 1000, verifiedAt + maxAgeMs, (claims.iat + maxTokenAgeSeconds) * 1000)
        : verifiedAt
  })
  return (token) => cache.get(sha256Hex(token), () => verify(token))
}
