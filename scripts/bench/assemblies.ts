/**
 * The fetch handler built the way src/fetch-handler.ts builds it, one piece at a time: from the floor (HttpApi with
 * one POST route) through this contract with its Authentication middleware, the real handlers and program, the edge
 * and the documentation routes, to the whole service. bisect.ts sends each the bench's writes over SQLite;
 * pieces.ts runs them over in-memory doubles, on Bun and inside a Worker, where no storage hides a piece's cost.
 */
import { HttpApiBuilder, HttpMiddleware, HttpServer, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { AuditHandlers } from "../../src/api/audit/Http.js"
import { HealthHandlers } from "../../src/api/health/Http.js"
import { UsersHandlers } from "../../src/api/users/Http.js"
import { WebhooksHandlers } from "../../src/api/webhooks/Http.js"
import { UsersApi } from "../../src/http/api.js"
import { AuthenticationLive } from "../../src/http/authentication.js"
import { prefetchBody } from "../../src/http/body.js"
import { canonicalRequest } from "../../src/http/canonical-request.js"
import { DocsInline } from "../../src/http/docs-inline.js"
import { edgeMiddleware } from "../../src/http/edge.js"
import { requestHasher } from "../../src/http/request-hash.js"
import { OPENAPI_PATH } from "../../src/http/routes.js"
import { Auth, type Principal } from "../../src/services/auth.js"
import { ORGANIZATION_ID } from "./bare-write.js"
import { floorHandler } from "./floor-httpapi.js"

export type Fetch = (request: Request) => Promise<Response>

const ok = HttpServerResponse.unsafeJson({ success: true })

// As src/fetch-handler.ts serves the service: tracer off, and the HttpApi middleware told so.
const quiet = (layer: Layer.Layer<any, any, never>) =>
  HttpApiBuilder.toWebHandler(HttpMiddleware.withTracerDisabledWhen(
    Layer.merge(layer, Layer.setTracerEnabled(false)),
    () => true
  ) as any).handler as Fetch

/** 1. The floor: HttpApi with this project's POST route, which reads its body and answers a constant. */
export const floor = (): Fetch =>
  floorHandler({ healthPath: "/healthz", update: (request) => request.arrayBuffer().then(() => ok) })

/**
 * The bench's caller: a service of the bench's organization with users:write (workload.ts's SERVICE_ID, spelled here
 * because workload.ts signs tokens and is not bundled into the bench's Workers).
 */
export const benchPrincipal: Principal = {
  organizationId: ORGANIZATION_ID,
  actor: { type: "service", id: "svc_bench" },
  scopes: new Set(["users:write"])
}

/** An Auth that answers `principal` for every request, for the configurations that leave Auth out. */
export const fixedAuth = (principal: Principal) =>
  Layer.succeed(Auth, { authenticate: () => Effect.succeed(principal) })

/**
 * 2. This project's contract (every endpoint, its schemas and its Authentication middleware over `services`' Auth):
 *    the handlers read the body and answer a constant.
 */
export const contractOnly = (services: Layer.Layer<any, any, never>): Fetch =>
  quiet(
    HttpServer.layerContext.pipe(Layer.provideMerge(
      HttpApiBuilder.api(UsersApi).pipe(
        Layer.provide([
          HttpApiBuilder.group(UsersApi, "users", (h) =>
            h.handleRaw("createUser", () => Effect.succeed(ok))
              .handleRaw(
                "updatePhoneNumber",
                ({ request }) => Effect.as(Effect.promise(() => (request.source as Request).arrayBuffer()), ok)
              )
              .handleRaw("markPhoneNumberVerified", () => Effect.succeed(ok))
              .handleRaw("erasePersonalData", () => Effect.succeed(ok))
              .handleRaw("getUser", () => Effect.succeed(ok))
              .handleRaw("listEvents", () => Effect.succeed(ok))),
          AuditHandlers,
          WebhooksHandlers,
          HealthHandlers
        ]),
        Layer.provide(AuthenticationLive)
      )
    )).pipe(Layer.provide(services))
  )

/**
 * 3.–5. The real handlers and program over `services`, with or without the edge (ids, problems, the log line) and
 *       the documentation routes; with both it is src/fetch-handler.ts's handler (log discarded).
 */
export const serviceApp = (
  services: Layer.Layer<any, any, never>,
  options: { readonly edge: boolean; readonly docs: boolean; readonly idempotencyHashKey: string }
): Fetch => {
  const api = HttpApiBuilder.api(UsersApi).pipe(
    Layer.provide([UsersHandlers, AuditHandlers, WebhooksHandlers, HealthHandlers]),
    Layer.provide(AuthenticationLive),
    Layer.provide(requestHasher(options.idempotencyHashKey))
  )
  const pieces = [
    ...(options.docs ? [HttpApiBuilder.middlewareOpenApi({ path: OPENAPI_PATH }), DocsInline] : []),
    ...(options.edge ? [edgeMiddleware(() => undefined)] : []),
    HttpServer.layerContext
  ] as unknown as [Layer.Layer<any, any, any>, ...Array<Layer.Layer<any, any, any>>]
  const handler = quiet(Layer.mergeAll(...pieces).pipe(Layer.provideMerge(api), Layer.provide(services)) as any)
  return (request: Request) => {
    const canonical = canonicalRequest(request)
    const reading = prefetchBody(canonical)
    return reading === undefined ? handler(canonical) : reading.then(() => handler(canonical))
  }
}
