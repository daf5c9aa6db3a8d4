// The real Auth's rules over registered tokens and keys.
import { Effect, Redacted } from "effect"
import type { Auth, Principal } from "../../services/auth.js"
import { Forbidden, Unauthenticated } from "../../services/errors.js"
import type { MemoryStore } from "./store.js"

export const putCredentials = (
  store: MemoryStore,
  credentials: { readonly token: string; readonly apiKey: string },
  principal: Principal
): void => {
  store.tokens.set(credentials.token, principal)
  store.apiKeys.set(credentials.apiKey, principal.organizationId)
}

export const memoryAuth = (store: MemoryStore): Auth["Type"] => ({
  authenticate: ({ apiKey, bearerToken }) =>
    Effect.suspend((): Effect.Effect<Principal, Unauthenticated | Forbidden> => {
      const key = apiKey === undefined ? "" : Redacted.value(apiKey)
      const token = bearerToken === undefined ? "" : Redacted.value(bearerToken)
      if (key === "") {
        return new Unauthenticated({ reason: "missing-api-key", detail: "The X-API-Key header is required." })
      }
      if (token === "") {
        return new Unauthenticated({
          reason: "missing-token",
          detail: "An Authorization: Bearer <JWT> header is required."
        })
      }
      const principal = store.tokens.get(token)
      if (principal === undefined) {
        return new Unauthenticated({ reason: "invalid-token", detail: "The token is not accepted." })
      }
      const organizationId = store.apiKeys.get(key)
      if (organizationId === undefined) {
        return new Unauthenticated({ reason: "invalid-api-key", detail: "The API key is unknown or revoked." })
      }
      if (organizationId !== principal.organizationId) {
        return new Forbidden({
          reason: "organization-mismatch",
          detail: "The token belongs to another organization than the API key."
        })
      }
      return Effect.succeed(principal)
    })
})
