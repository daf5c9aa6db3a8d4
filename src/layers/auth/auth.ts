/**
 * The Auth service: a verified JWT plus an active API key make a Principal. Every token names its organization
 * (`org_id`), which must be the API key's. A token with `token_use: "service"` is a service token (scopes from
 * `scope`); one without `token_use` (or with "user") is a user token whose `sub` is the user id.
 */
import { Effect, Layer, Redacted } from "effect"
import { Auth, type Principal } from "../../services/auth.js"
import { Forbidden, Unauthenticated } from "../../services/errors.js"
import { type ApiKeyCacheOptions, cacheApiKeyLookups } from "./api-key-cache.js"
import { byApiKey, type LookupApiKey, makeSqlLookupApiKeyHash } from "./api-keys.js"
import { type JwtConfig, makeVerifyJwt, type VerifyJwt } from "./jwt.js"
import { cacheVerifiedTokens, type TokenCacheOptions } from "./token-cache.js"

const MAX_CREDENTIAL_LENGTH = 8192

const missingOrganization = new Forbidden({
  reason: "organization-mismatch",
  detail: "The token carries no org_id; every token must name the API key's organization."
})

const otherOrganization = new Forbidden({
  reason: "organization-mismatch",
  detail: "The token belongs to another organization than the API key."
})

export const makeAuth = (verifyJwt: VerifyJwt, lookupApiKey: LookupApiKey): Auth["Type"] => ({
  authenticate: ({ apiKey, bearerToken }) =>
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
      // jose checks that sub is present, not its type; the actor id goes into events, so it must be a real string.
      if (typeof claims.sub !== "string" || claims.sub === "") {
        return yield* new Unauthenticated({ reason: "invalid-token", detail: "The token's sub claim is not accepted." })
      }
      // The kind is marked on the powerful side: anything but an explicit "service" is a user (or refused).
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
      if (kind === "service") {
        const scope = typeof claims.scope === "string" ? claims.scope : ""
        const principal: Principal = {
          organizationId,
          actor: { type: "service", id: subject },
          scopes: new Set(scope.split(" ").filter((s) => s !== ""))
        }
        return principal
      }
      // A user's token may carry a scope (identity providers add one); it grants a user nothing.
      const principal: Principal = { organizationId, actor: { type: "user", id: subject }, scopes: new Set() }
      return principal
    })
})

export interface AuthCacheOptions {
  readonly tokens?: TokenCacheOptions
  readonly apiKeys?: ApiKeyCacheOptions
}

/**
 * Auth with jose and API keys looked up in the SQL store, each behind its bounded cache (token-cache.ts,
 * api-key-cache.ts). The caches live as long as the layer: one per process, or per isolate on Workers.
 */
export const AuthLive = (config: JwtConfig, caches: AuthCacheOptions = {}) =>
  Layer.effect(
    Auth,
    Effect.map(makeSqlLookupApiKeyHash, (lookup) =>
      makeAuth(
        cacheVerifiedTokens(makeVerifyJwt(config), {
          ...caches.tokens,
          ...(config.maxTokenAgeSeconds !== undefined ? { maxTokenAgeSeconds: config.maxTokenAgeSeconds } : {})
        }),
        byApiKey(cacheApiKeyLookups(lookup, caches.apiKeys))
      ))
  )
