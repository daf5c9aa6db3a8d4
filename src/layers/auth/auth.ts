/**
 * The Auth service: a verified JWT plus an active API key make a Principal.
 * A token with an `org_id` claim is a service token (scopes from `scope`); otherwise its `sub` is a user id.
 */
import { Effect, Layer, Redacted } from "effect"
import { Forbidden, Unauthenticated } from "../../app/errors.js"
import { Auth, type Principal } from "../../services/auth.js"
import { type ApiKeyCacheOptions, cacheApiKeyLookups } from "./api-key-cache.js"
import { byApiKey, type LookupApiKey, makeSqlLookupApiKeyHash } from "./api-keys.js"
import { type JwtConfig, makeVerifyJwt, type VerifyJwt } from "./jwt.js"
import { cacheVerifiedTokens, type TokenCacheOptions } from "./token-cache.js"

const MAX_CREDENTIAL_LENGTH = 8192

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
      // A malformed org_id must not turn a service token into a user token named after the service.
      if (typeof claims.sub !== "string" || claims.sub === "") {
        return yield* new Unauthenticated({ reason: "invalid-token", detail: "The token's sub claim is not accepted." })
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
      const subject = claims.sub
      if (typeof claims.org_id === "string") {
        if (claims.org_id !== organizationId) {
          return yield* new Forbidden({
            reason: "organization-mismatch",
            detail: "The service token belongs to another organization than the API key."
          })
        }
        const scope = typeof claims.scope === "string" ? claims.scope : ""
        const principal: Principal = {
          organizationId,
          actor: { type: "service", id: subject },
          scopes: new Set(scope.split(" ").filter((s) => s !== ""))
        }
        return principal
      }
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
        cacheVerifiedTokens(makeVerifyJwt(config), caches.tokens),
        byApiKey(cacheApiKeyLookups(lookup, caches.apiKeys))
      ))
  )
