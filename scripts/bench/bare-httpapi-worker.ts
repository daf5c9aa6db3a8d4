/**
 * The floor of any Worker served through HttpApi (issue 10: a limit is shown, not assumed): the bare D1 Worker's
 * write (bare-write.ts: the read, the link and one `batch()` with the service's statements), behind this project's
 * route declared in a one-group HttpApi and served through `HttpApiBuilder.toWebHandler` as the service is (tracer
 * off), with nothing else: no middleware, no auth, no validation. scripts/bench/worker-cpu.ts measures it beside the
 * bare Worker and the service, so what HttpApi and Effect cost on workerd per write is the difference of the first
 * two, in the same run.
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
import type { E164 } from "../../src/domain/phone.js"
import { ORGANIZATION_ID, writeUser } from "./bare-write.js"

interface Env {
  readonly DB: D1Database
}

// The isolate's D1 binding, from the first request's env (one per isolate, as the service's handler is).
let db: D1Database | undefined

const Answer = Schema.Struct({ success: Schema.Boolean })

const Floor = HttpApiGroup.make("floor")
  .add(HttpApiEndpoint.post("update", "/users/:id/UpdatePhoneNumber").addSuccess(Answer))
  .add(HttpApiEndpoint.get("health", "/").addSuccess(Answer))
const FloorApi = HttpApi.make("floor").add(Floor)

const FloorLive = HttpApiBuilder.group(FloorApi, "floor", (handlers) =>
  handlers
    .handleRaw("update", ({ request }) =>
      Effect.promise(async () => {
        const source = request.source as Request
        const userId = new URL(source.url).pathname.split("/")[2] ?? ""
        const { phoneNumber } = (await source.json()) as { phoneNumber: E164 }
        const { status } = await writeUser(db!, ORGANIZATION_ID, userId, phoneNumber)
        return HttpServerResponse.unsafeJson({ success: status === 200 }, { status })
      }))
    .handleRaw("health", () => Effect.succeed(HttpServerResponse.unsafeJson({ success: true }))))

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

export default {
  fetch: (request: Request, env: Env): Promise<Response> => {
    db ??= env.DB
    return handler(request)
  }
}
