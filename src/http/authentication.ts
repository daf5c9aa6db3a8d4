/**
 * The Authentication middleware: reads `Authorization: Bearer` and `X-API-Key`, asks Auth for the Principal, and
 * answers a refusal as its problem (problems.ts). The edge's log line learns who the caller is.
 */
import { HttpServerRequest } from "@effect/platform"
import { Context, Effect, FiberRef, Layer, Redacted } from "effect"
import { Authentication } from "../api/common.js"
import { Auth, type Principal } from "../services/auth.js"
import { Unauthenticated } from "../services/errors.js"
import { noteCaller } from "./edge.js"
import { failAsProblem, type KnownError, type Problem, toProblem } from "./problems.js"

const BEARER = /^Bearer[ ]+([^ ]+)[ ]*$/i

// What the bearer entry refused the request with, for the API-key entry that HttpApi tries after it, in the same fiber.
const BearerRefusal = FiberRef.unsafeMake<Problem | undefined>(undefined)

// Never seen in practice: the bearer entry has always refused first and left its answer.
const keyAlone = toProblem(
  new Unauthenticated({ reason: "missing-token", detail: "An Authorization: Bearer <JWT> header is required." }),
  ""
)

const currentRequest = (fiber: { readonly currentContext: Context.Context<never> }) =>
  Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.map(Auth, (auth) => ({
    bearer: () =>
      Effect.withFiberRuntime<Principal, Problem>((fiber) => {
        const request = currentRequest(fiber)
        const token = BEARER.exec(request.headers.authorization ?? "")?.[1]
        const apiKey = request.headers["x-api-key"]?.trim()
        return auth.authenticate({
          bearerToken: token === undefined ? undefined : Redacted.make(token),
          apiKey: apiKey === undefined ? undefined : Redacted.make(apiKey)
        }).pipe(
          Effect.tap(noteCaller),
          Effect.catchAll((error: KnownError) =>
            Effect.tapError(failAsProblem(error), (problem) => FiberRef.set(BearerRefusal, problem))
          )
        )
      }),
    // The key alone never authenticates: the bearer entry checked the JWT and the key together, and refused.
    apiKey: () => Effect.flatMap(FiberRef.get(BearerRefusal), (refusal) => Effect.fail(refusal ?? keyAlone))
  }))
)
