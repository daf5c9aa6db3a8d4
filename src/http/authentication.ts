/**
 * The Authentication middleware: reads `Authorization: Bearer` and `X-API-Key`, asks Auth for the Principal.
 */
import { HttpServerRequest } from "@effect/platform"
import { Effect, Layer, Option, Redacted } from "effect"
import { Unauthenticated } from "../app/errors.js"
import { Auth } from "../services/auth.js"
import { Authentication } from "./api.js"
import { CurrentLogContext } from "./edge.js"

const BEARER = /^Bearer[ ]+([^ ]+)[ ]*$/i

// Tried before the bearer entry on every request (HttpApi's order); made once, as building an error takes a stack.
const missingToken = Effect.fail(
  new Unauthenticated({ reason: "missing-token", detail: "An Authorization: Bearer <JWT> header is required." })
)

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const auth = yield* Auth
    return {
      // Only ever reached when the bearer entry failed; the key alone never authenticates (see api.ts).
      apiKey: () => missingToken,
      bearer: () =>
        Effect.gen(function*() {
          const request = yield* Effect.serviceOption(HttpServerRequest.HttpServerRequest)
          const header = (name: string) =>
            Option.getOrUndefined(Option.flatMapNullable(request, (r) => r.headers[name]))
          const token = BEARER.exec(header("authorization") ?? "")?.[1]
          const apiKey = header("x-api-key")?.trim()
          const principal = yield* auth.authenticate({
            bearerToken: token === undefined ? undefined : Redacted.make(token),
            apiKey: apiKey === undefined ? undefined : Redacted.make(apiKey)
          })
          const log = yield* CurrentLogContext
          log.organizationId = principal.organizationId
          log.actor = `${principal.actor.type}:${principal.actor.id}`
          return principal
        })
    }
  })
)
