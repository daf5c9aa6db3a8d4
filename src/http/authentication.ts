import { type HttpRouter, HttpServerRequest } from "@effect/platform"
import { Context, Effect, FiberRef, Layer, Redacted } from "effect"
import { Authentication } from "../api/common.js"
import { Auth, type CurrentPrincipal, type Principal } from "../services/auth.js"
import { Unauthenticated } from "../services/errors.js"
import { noteCaller } from "./edge.js"
import { failAsProblem, type KnownError, type Problem, toProblem } from "./problems.js"

const BEARER = /^Bearer[ ]+([^ ]+)[ ]*$/i

// HttpApi tries the API-key entry after the bearer one, in the same fiber: it fails with the bearer's refusal.
const BearerRefusal = FiberRef.unsafeMake<Problem | undefined>(undefined)

// Unreachable in practice: the bearer entry always refuses first.
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
    apiKey: () => Effect.flatMap(FiberRef.get(BearerRefusal), (refusal) => Effect.fail(refusal ?? keyAlone))
  }))
)

/**
 * An endpoint middleware that asks who may act: endpoints take Authentication as their first middleware, so the
 * principal is there when it runs, though HttpApiMiddleware's type cannot say so.
 */
export const afterAuthentication = <A, E>(
  gate: Effect.Effect<A, E, CurrentPrincipal | HttpRouter.HttpRouter.Provided>
): Effect.Effect<A, E, HttpRouter.HttpRouter.Provided> => gate as Effect.Effect<A, E, HttpRouter.HttpRouter.Provided>
