// A verified JWT plus an active API key of its `org_id` (docs/DECISIONS.md, "Tokens and credentials").
import { Effect, Layer, Redacted } from "effect"
import { Auth, type Credentials, type Principal } from "../../services/auth.js"
import { Forbidden, Unauthenticated } from "../../services/errors.js"
import { sha256Hex } from "../../sha256.js"
import { makeExpiringCache } from "../expiring-cache.js"
import { API_KEY_CACHE_DEFAULTS, type ApiKeyCacheOptions, cacheApiKeyLookups } from "./api-key-cache.js"
import { byApiKey, type LookupApiKey, makeSqlLookupApiKeyHash } from "./api-keys.js"
import { type JwtConfig, makeVerifyJwt, type VerifyJwt } from "./jwt.js"
import { cacheVerifiedTokens, TOKEN_CACHE_DEFAULTS, type TokenCacheOptions } from "./token-cache.js"

const MAX_CREDENTIAL_LENGTH = 8192

const missingOrganization = new Forbidden({
  reason: "organization-mismatch",
  detail: "The token carries no org_id; every token must name the API key's organization."
})

const otherOrganization = new Forbidden({
  reason: "organization-mismatch",
  detail: "The token belongs to another organization than the API key."
})

/** `tokenUntilMs`: the token's `exp`, or its `iat` plus JWT_MAX_AGE if sooner. */
export interface Authenticated {
  readonly principal: Principal
  readonly tokenUntilMs: number
}

export type Authenticate = (credentials: Credentials) => Effect.Effect<Authenticated, AuthError>

type AuthError = Effect.Effect.Error<ReturnType<Auth["Type"]["authenticate"]>>

export const makeAuthenticate = (
  verifyJwt: VerifyJwt,
  lookupApiKey: LookupApiKey,
  maxTokenAgeSeconds?: number
): Authenticate =>
({ apiKey, bearerToken }) =>
  Effect.gen(function*() {
    const key = apiKey === undefined ? "" : Redacted.value(apiKey)
    if (key === "") {
      return yield* new Unauthenticated({ reason: "missing-api-key", detail: "The X-API-Key header is required." })
    }
    const token = bearerToken === undefined ? "" : Redacted.value(bearerToken)
    if (token === "") {
      return yield* new Unauthenticated({
        reason: "missing-token",
        detail: "An Authorization: Bearer <JWT> header is required."
      })
    }
    if (token.length > MAX_CREDENTIAL_LENGTH) {
      return yield* new Unauthenticated({ reason: "invalid-token", detail: "The token is too long." })
    }
    if (key.length > MAX_CREDENTIAL_LENGTH) {
      return yield* new Unauthenticated({ reason: "invalid-api-key", detail: "The API key is unknown or revoked." })
    }
    const claims = yield* verifyJwt(token)
    // jose checks that sub is present, not its type; it goes into events as the actor id.
    if (typeof claims.sub !== "string" || claims.sub === "") {
      return yield* new Unauthenticated({ reason: "invalid-token", detail: "The token's sub claim is not accepted." })
    }
    // Marked on the powerful side: anything but an explicit "service" is a user (or refused).
    const kind = claims.token_use === undefined || claims.token_use === "user"
      ? "user"
      : claims.token_use === "service"
      ? "service"
      : undefined
    if (kind === undefined) {
      return yield* new Unauthenticated({
        reason: "invalid-token",
        detail: "The token's token_use claim is not accepted."
      })
    }
    if (claims.org_id != null && (typeof claims.org_id !== "string" || claims.org_id === "")) {
      return yield* new Unauthenticated({
        reason: "invalid-token",
        detail: "The token's org_id claim is not accepted."
      })
    }
    const organizationId = yield* lookupApiKey(key)
    if (organizationId === null) {
      return yield* new Unauthenticated({ reason: "invalid-api-key", detail: "The API key is unknown or revoked." })
    }
    if (typeof claims.org_id !== "string") return yield* missingOrganization
    if (claims.org_id !== organizationId) return yield* otherOrganization
    const subject = claims.sub
    const tokenUntilMs = Math.min(
      typeof claims.exp === "number" ? claims.exp * 1000 : 0,
      maxTokenAgeSeconds !== undefined && typeof claims.iat === "number"
        ? (claims.iat + maxTokenAgeSeconds) * 1000
        : Infinity
    )
    if (kind === "service") {
      const scope = typeof claims.scope === "string" ? claims.scope : ""
      const principal: Principal = {
        organizationId,
        actor: { type: "service", id: subject },
        scopes: new Set(scope.split(" ").filter((s) => s !== ""))
      }
      return { principal, tokenUntilMs }
    }
    // Identity providers add a scope to user tokens; it grants a user nothing.
    const principal: Principal = { organizationId, actor: { type: "user", id: subject }, scopes: new Set() }
    return { principal, tokenUntilMs }
  })

export interface PrincipalCacheOptions {
  /** No longer than either credential's own cache allows. */
  readonly ttlMs: number
  readonly maxEntries?: number
}

// A (token, key) pair's principal, kept under its SHA-256; refusals never (docs/DECISIONS.md, "Caches").
export const cachePrincipals = (authenticate: Authenticate, options: PrincipalCacheOptions): Auth["Type"] => {
  const cache = makeExpiringCache<Authenticated>({
    capacity: options.maxEntries ?? 10_000,
    // Counted from before the check: what the credentials say is at least that fresh.
    keepUntil: ({ tokenUntilMs }, checkedAt) => Math.min(checkedAt + options.ttlMs, tokenUntilMs)
  })
  const principalOf = (authenticated: Authenticated) => authenticated.principal
  return {
    authenticate: (credentials) => {
      const token = credentials.bearerToken === undefined ? "" : Redacted.value(credentials.bearerToken)
      const key = credentials.apiKey === undefined ? "" : Redacted.value(credentials.apiKey)
      if (token === "" || key === "" || token.length > MAX_CREDENTIAL_LENGTH || key.length > MAX_CREDENTIAL_LENGTH) {
        return Effect.map(authenticate(credentials), principalOf)
      }
      return Effect.map(cache.get(sha256Hex(`${token}\n${key}`), () => authenticate(credentials)), principalOf)
    }
  }
}

/** Auth without the pair cache. */
export const makeAuth = (verifyJwt: VerifyJwt, lookupApiKey: LookupApiKey): Auth["Type"] => {
  const authenticate = makeAuthenticate(verifyJwt, lookupApiKey)
  return { authenticate: (credentials) => Effect.map(authenticate(credentials), (a) => a.principal) }
}

export interface AuthCacheOptions {
  readonly tokens?: TokenCacheOptions
  readonly apiKeys?: ApiKeyCacheOptions
}

/** The caches live as long as the layer: per process or isolate. */
export const AuthLive = (config: JwtConfig, caches: AuthCacheOptions = {}) =>
  Layer.effect(
    Auth,
    Effect.map(makeSqlLookupApiKeyHash, (lookup) =>
      cachePrincipals(
        makeAuthenticate(
          cacheVerifiedTokens(makeVerifyJwt(config), {
            ...caches.tokens,
            ...(config.maxTokenAgeSeconds !== undefined ? { maxTokenAgeSeconds: config.maxTokenAgeSeconds } : {})
          }),
          byApiKey(cacheApiKeyLookups(lookup, caches.apiKeys)),
          config.maxTokenAgeSeconds
        ),
        {
          ttlMs: Math.min(
            caches.apiKeys?.ttlMs ?? API_KEY_CACHE_DEFAULTS.ttlMs,
            caches.tokens?.maxAgeMs ?? TOKEN_CACHE_DEFAULTS.maxAgeMs
          )
        }
      ))
  )
