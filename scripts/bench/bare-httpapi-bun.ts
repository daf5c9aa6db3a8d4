/**
 * The floor of any endpoint served through HttpApi on Bun (issue 10: a limit is shown, not assumed): this project's
 * route, `POST /users/:id/UpdatePhoneNumber`, declared in a one-group HttpApi and served by Bun.serve through
 * `HttpApiBuilder.toWebHandler` as the service is (tracer off), whose handler reads the body and answers a fixed
 * JSON, with nothing else: no middleware, no auth, no store. The bench measures it in each Bun run beside
 * hello-world (Bun.serve alone) and the endpoint written by hand, so HttpApi's own cost per request is the
 * difference of the first two, in the same run.
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

const answer = HttpServerResponse.unsafeJson({ success: true })
const Answer = Schema.Struct({ success: Schema.Boolean })

const Floor = HttpApiGroup.make("floor")
  .add(HttpApiEndpoint.post("update", "/users/:id/UpdatePhoneNumber").addSuccess(Answer))
  .add(HttpApiEndpoint.get("health", "/healthz").addSuccess(Answer))
const FloorApi = HttpApi.make("floor").add(Floor)

const FloorLive = HttpApiBuilder.group(FloorApi, "floor", (handlers) =>
  handlers
    .handleRaw("update", ({ request }) =>
      Effect.as(Effect.promise(() => (request.source as Request).arrayBuffer()), answer))
    .handleRaw("health", () =>
      Effect.succeed(answer)))

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

Bun.serve({ port: Number(process.env.PORT), hostname: "127.0.0.1", fetch: (request) => handler(request) })
