/**
 * The service on workerd without its program: the whole HTTP side as src/fetch-handler.ts assembles it (this
 * contract's every endpoint and schema, the Authentication middleware over the real Auth and its caches, the edge
 * with its log line, /openapi.json and /docs), but `POST /users/{id}/UpdatePhoneNumber` does the bare Worker's write
 * (bare-write.ts) and nothing else: no payload schema, no phone-number parse, no command, no audit link of the
 * service's own. scripts/bench/worker-cpu.ts measures it beside the service, so what the service's program costs on
 * workerd per write is the difference of the two, in the same run.
 */
import { HttpApiBuilder, HttpMiddleware, HttpServer, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { AuditHandlers } from "../../src/api/audit/Http.js"
import { HealthHandlers } from "../../src/api/health/Http.js"
import { WebhooksHandlers } from "../../src/api/webhooks/Http.js"
import { WebhookSettings } from "../../src/app/webhooks.js"
import { idempotencyHashKeyFromEnv, jwtConfigFromEnv, stringBindings } from "../../src/config.js"
import type { E164 } from "../../src/domain/phone.js"
import { UsersApi } from "../../src/http/api.js"
import { AuthenticationLive } from "../../src/http/authentication.js"
import { canonicalRequest } from "../../src/http/canonical-request.js"
import { DocsLinkedScript } from "../../src/http/docs.js"
import { consoleSink, edgeMiddleware } from "../../src/http/edge.js"
import { requestHasher } from "../../src/http/request-hash.js"
import { OPENAPI_PATH } from "../../src/http/routes.js"
import { D1Services } from "../../src/layers/d1.js"
import { ORGANIZATION_ID, writeUser } from "./bare-write.js"

interface Env {
  readonly DB: D1Database
}

const unused = HttpServerResponse.unsafeJson({ success: false }, { status: 501 })

const build = (env: Env) => {
  const vars = stringBindings(env)
  const db = env.DB
  const UsersBare = HttpApiBuilder.group(UsersApi, "users", (handlers) =>
    handlers
      .handleRaw("createUser", () => Effect.succeed(unused))
      .handleRaw("updatePhoneNumber", ({ path, request }) =>
        Effect.promise(async () => {
          const { phoneNumber } = (await (request.source as Request).json()) as { phoneNumber: E164 }
          const { status } = await writeUser(db, ORGANIZATION_ID, path.id, phoneNumber)
          return HttpServerResponse.unsafeJson({ success: status === 200 }, { status })
        }))
      .handleRaw("markPhoneNumberVerified", () => Effect.succeed(unused))
      .handleRaw("erasePersonalData", () => Effect.succeed(unused))
      .handleRaw("getUser", () => Effect.succeed(unused))
      .handleRaw("listEvents", () => Effect.succeed(unused)))
  const store = Layer.merge(
    D1Services(db, jwtConfigFromEnv(vars)),
    Layer.succeed(WebhookSettings, { deriveSecret: undefined, urlRules: { allowLoopback: false } })
  )
  const api = HttpApiBuilder.api(UsersApi).pipe(
    Layer.provide([UsersBare, AuditHandlers, WebhooksHandlers, HealthHandlers]),
    Layer.provide(AuthenticationLive),
    Layer.provide(requestHasher(idempotencyHashKeyFromEnv(vars)))
  )
  const app = Layer.mergeAll(
    HttpApiBuilder.middlewareOpenApi({ path: OPENAPI_PATH }),
    DocsLinkedScript,
    edgeMiddleware(consoleSink),
    HttpServer.layerContext,
    Layer.setTracerEnabled(false)
  ).pipe(Layer.provideMerge(api), Layer.provide(store))
  const { handler } = HttpApiBuilder.toWebHandler(HttpMiddleware.withTracerDisabledWhen(app, () => true))
  return (request: Request) => handler(canonicalRequest(request))
}

let fetch: ((request: Request) => Promise<Response>) | undefined

export default {
  fetch: (request: Request, env: Env): Promise<Response> => (fetch ??= build(env))(request)
}
