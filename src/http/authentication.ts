/**
 * The Authentication middleware: reads `Authorization: Bearer` and `X-API-Key`, asks Auth for the Principal, and
 * answers a refusal as its problem (problems.ts). The edge's log line learns who the caller is.
 */
import { HttpServerRequest } from "@effect/platform"
import { Context, Effect, Layer, Redacted } from "effect"
import { Auth, type Principal } from "../services/auth.js"
import { Unauthenticated } from "../services/errors.js"
import { Authentication } from "./api.js"
import { currentEdgeRequest } from "./edge.js"
import { failAsProblem, type KnownError, toProblem } from "./problems.js"

const BEARER = /^Bearer[ ]+([^ ]+)[ ]*$/i

// Tried before the bearer entry on every request (HttpApi's order) and always refused, so made once; its problem is
// never seen: the bearer entry runs next and answers.
const keyAlone = Effect.fail(
  toProblem(
    new Unauthenticated({ reason: "missing-token", detail: "An Authorization: Bearer <JWT> header is required." }),
    ""
  )
)

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.map(Auth, (auth) => ({
    // The key alone never authenticates (see api.ts): the bearer entry checks the JWT and the key together.
    apiKey: () => keyAlone,
    bearer: () =>
      Effect.withFiberRuntime<Principal, KnownError>((fiber) => {
        const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
        const token = BEARER.exec(request.headers.authorization ?? "")?.[1]
        const apiKey = request.headers["x-api-key"]?.trim()
        return auth.authenticate({
          bearerToken: token === undefined ? undefined : Redacted.make(token),
          apiKey: apiKey === undefined ? undefined : Redacted.make(apiKey)
        })
      }).pipe(
        Effect.tap((principal) =>
          Effect.map(currentEdgeRequest, (edge) => {
            edge.organizationId = principal.organizationId
            edge.actor = `${principal.actor.type}:${principal.actor.id}`
          })
        ),
        Effect.catchAll(failAsProblem)
      )
  }))
)
