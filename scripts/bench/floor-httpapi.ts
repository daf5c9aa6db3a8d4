/**
 * The floor of any endpoint served through HttpApi (issue 10: a limit is shown, not assumed), shared by the Bun
 * and Workers floors (bare-httpapi-bun.ts, bare-httpapi-worker.ts): this project's route,
 * `POST /users/:id/UpdatePhoneNumber`, declared in a one-group HttpApi beside a health route and served through
 * `HttpApiBuilder.toWebHandler` as the service is (tracer off), with nothing else: no middleware, no auth. What
 * the route does is the caller's `update`.
 */
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpMiddleware,
  HttpServer,
  HttpServerResponse
} from "@effect/platform"
import { Effect, Layer, Schema } from "effect"

export interface FloorOptions {
  /** Where the readiness check asks. */
  readonly healthPath: `/${string}`
  /** The route's work, given the web Request. */
  readonly update: (request: Request) => Promise<HttpServerResponse.HttpServerResponse>
}

/**
 * A fetch handler's answer as the route's work (the hand-written endpoint behind HttpApi: handwritten-httpapi.ts,
 * handwritten-cached-httpapi.ts and its Worker): its text handed over as is (fromWeb would stream it through an Effect
 * Stream, a cost of the floor's making and not of HttpApi's).
 */
export const answeredBy =
  (fetch: (request: Request) => Promise<Response>): FloorOptions["update"] => async (request) => {
    const response = await fetch(request)
    return HttpServerResponse.raw(await response.text(), { status: response.status, headers: response.headers })
  }

export const floorHandler = ({ healthPath, update }: FloorOptions): (request: Request) => Promise<Response> => {
  const Answer = Schema.Struct({ success: Schema.Boolean })
  const Floor = HttpApiGroup.make("floor")
    .add(HttpApiEndpoint.post("update", "/users/:id/UpdatePhoneNumber").addSuccess(Answer))
    .add(HttpApiEndpoint.get("health", healthPath).addSuccess(Answer))
  const FloorApi = HttpApi.make("floor").add(Floor)
  const healthy = HttpServerResponse.unsafeJson({ success: true })
  const FloorLive = HttpApiBuilder.group(FloorApi, "floor", (handlers) =>
    handlers
      .handleRaw("update", ({ request }) => Effect.promise(() => update(request.source as Request)))
      .handleRaw("health", () => Effect.succeed(healthy)))
  // As src/fetch-handler.ts serves the service: tracer off, and the HttpApi middleware told so.
  const { handler } = HttpApiBuilder.toWebHandler(
    HttpMiddleware.withTracerDisabledWhen(
      Layer.mergeAll(
        HttpApiBuilder.api(FloorApi).pipe(Layer.provide(FloorLive)),
        HttpServer.layerContext,
        Layer.setTracerEnabled(false)
      ),
      () => true
    )
  )
  return (request) => handler(request)
}
