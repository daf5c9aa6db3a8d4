// Kept never past the token's `exp` or JWT_MAX_AGE (docs/DECISIONS.md, "Caches").
import type { Effect } from "effect"
import { sha256Hex } from "../../sha256.js"
import { makeExpiringCache } from "../expiring-cache.js"
import type { VerifyJwt } from "./jwt.js"

export interface TokenCacheOptions {
  readonly maxEntries?: number
  /** Bounds reuse whatever `exp` says (a signing key withdrawn from the JWKS). */
  readonly maxAgeMs?: number
  /** JWT_MAX_AGE: an entry ends when its token reaches that age, as jose would. */
  readonly maxTokenAgeSeconds?: number
}

export const TOKEN_CACHE_DEFAULTS = { maxEntries: 10_000, maxAgeMs: 5 * 60_000 } as const

type Claims = Effect.Effect.Success<ReturnType<VerifyJwt>>

export const cacheVerifiedTokens = (verify: VerifyJwt, options: TokenCacheOptions = {}): VerifyJwt => {
  const maxAgeMs = options.maxAgeMs ?? TOKEN_CACHE_DEFAULTS.maxAgeMs
  const { maxTokenAgeSeconds } = options
  const cache = makeExpiringCache<Claims>({
    capacity: options.maxEntries ?? TOKEN_CACHE_DEFAULTS.maxEntries,
    // Without exp (or iat under a maximum age) nothing is kept.
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
