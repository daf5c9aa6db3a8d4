/**
 * `bun scripts/bench/bisect.ts [--requests 10000] [--runs 5]`: where a write's time goes, piece by piece. It builds
 * the fetch handler the way src/fetch-handler.ts does, but one piece at a time, from a bare HttpApi app to the whole
 * service, and sends each the bench's UpdatePhoneNumber in-process (32 in flight, as scripts/bench/profile.ts). Every
 * configuration runs `--runs` times, interleaved with the others so that a slower moment of the machine moves all
 * of them, and the fastest run of each is printed (the least disturbed), with the cost each piece adds.
 */
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpMiddleware, HttpServer } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import { Effect, Layer, Schema } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { WebhookSettings } from "../../src/app/webhooks.js"
import { idempotencyHashKeyFromEnv, jwtConfigFromEnv } from "../../src/config.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { UsersApi } from "../../src/http/api.js"
import { AuthenticationLive } from "../../src/http/authentication.js"
import { prefetchBody } from "../../src/http/body.js"
import { canonicalRequest } from "../../src/http/canonical-request.js"
import { DocsLive } from "../../src/http/docs.js"
import { edgeMiddleware } from "../../src/http/edge.js"
import { AuditHandlers, HealthHandlers, UsersHandlers, WebhooksHandlers } from "../../src/http/handlers.js"
import { requestHasher } from "../../src/http/idempotency.js"
import { OPENAPI_PATH } from "../../src/http/routes.js"
import { SqliteBunServices } from "../../src/layers/sqlite/bun.js"
import { Auth, type Principal } from "../../src/services/auth.js"
import { UserRepo } from "../../src/services/user-repo.js"
import { seedSqliteFile } from "./seed.js"
import { makeCredentials, makeSequence, makeUsers, ORGANIZATION_ID, SERVICE_ID } from "./workload.js"

const { values } = parseArgs({ options: { requests: { type: "string" }, runs: { type: "string" } } })
const REQUESTS = Number(values.requests ?? 10_000)
const RUNS = Number(values.runs ?? 5)

type Fetch = (request: Request) => Promise<Response>

const dir = mkdtempSync(join(tmpdir(), "users-api-bisect-"))
const credentials = await makeCredentials()
const users = makeUsers(10_000)
const database = join(dir, "users.sqlite")
await seedSqliteFile(database, { apiKeyHash: credentials.apiKeyHash, users })
const jwt = jwtConfigFromEnv(credentials.serverEnv)
const idempotencyHashKey = idempotencyHashKeyFromEnv(credentials.serverEnv)
// No webhook key: the webhook routes are part of the contract, and answer 503 (none is called here).
const store = Layer.merge(
  SqliteBunServices(database, jwt),
  Layer.succeed(WebhookSettings, { deriveSecret: undefined, urlRules: { allowLoopback: false } })
)

const ok = HttpServerResponse.unsafeJson({ success: true })
const quiet = (layer: Layer.Layer<any, any, never>) =>
  HttpApiBuilder.toWebHandler(HttpMiddleware.withTracerDisabledWhen(
    Layer.merge(layer, Layer.setTracerEnabled(false)),
    () => true
  ) as any).handler as Fetch

// 1. The floor: HttpApi with one POST route that reads its body and answers a constant.
class BareGroup extends HttpApiGroup.make("bare").add(
  HttpApiEndpoint.post("update", "/users/:id/UpdatePhoneNumber").addSuccess(Schema.Struct({ success: Schema.Boolean }))
) {}
class BareApi extends HttpApi.make("bare").add(BareGroup) {}
const bare = quiet(
  HttpServer.layerContext.pipe(Layer.provideMerge(
    HttpApiBuilder.api(BareApi).pipe(Layer.provide(
      HttpApiBuilder.group(BareApi, "bare", (h) =>
        h.handleRaw("update", ({ request }) =>
          Effect.as(
            Effect.promise(() => (request.source as Request).arrayBuffer()),
            ok
          )))
    ))
  ))
)

// 2. This project's contract (every endpoint, its schemas and its Authentication middleware) with stub pieces: the
//    middleware answers a fixed principal, the handler reads the body and answers a constant.
const principal: Principal = {
  organizationId: ORGANIZATION_ID,
  actor: { type: "service", id: SERVICE_ID },
  scopes: new Set(["users:write"])
}
const stubAuth = Layer.succeed(Auth, { authenticate: () => Effect.succeed(principal) })
const contractOnly = (auth: Layer.Layer<Auth>) =>
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
        Layer.provide(AuthenticationLive),
        Layer.provide(auth)
      )
    )).pipe(Layer.provide(store))
  )

// 3.–5. The real handlers: the whole program over a repo that decides nothing (every user is at the number sent),
//       then the real store; with and without the edge and documentation routes.
const stored = (phoneNumber: string) => ({
  user: {
    organizationId: ORGANIZATION_ID,
    id: "u",
    phoneNumber,
    phoneNumberVerified: false,
    erasedAt: null,
    version: 1
  },
  headHash: "0".repeat(64)
})
const sequence = makeSequence(users)
const numbers = new Map<string, string>()
const noWriteRepo = Layer.effect(
  UserRepo,
  Effect.map(UserRepo, (repo) => ({
    ...repo,
    find: (_organizationId: string, userId: string) => Effect.succeed(stored(numbers.get(userId) ?? "") as never)
  }))
).pipe(Layer.provide(store))
const app = (services: Layer.Layer<any, any, never>, options: { readonly edge: boolean; readonly docs: boolean }) => {
  const api = HttpApiBuilder.api(UsersApi).pipe(
    Layer.provide([UsersHandlers, AuditHandlers, WebhooksHandlers, HealthHandlers]),
    Layer.provide(AuthenticationLive),
    Layer.provide(requestHasher(idempotencyHashKey))
  )
  const pieces = [
    ...(options.docs ? [HttpApiBuilder.middlewareOpenApi({ path: OPENAPI_PATH }), DocsLive] : []),
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
const service = makeFetchHandler(store, { log: () => undefined, idempotencyHashKey })

const configurations: ReadonlyArray<readonly [string, Fetch, boolean]> = [
  ["bare HttpApi: one POST route, body read, constant answer", bare, false],
  ["+ this contract and its Authentication middleware, stub Auth", contractOnly(stubAuth), false],
  ["+ the real Auth (its caches warm)", contractOnly(store as any), false],
  [
    "+ the real handlers and program, no write (noop)",
    app(Layer.merge(store, noWriteRepo), { edge: false, docs: false }),
    true
  ],
  ["+ the edge (ids, problems, log line)", app(Layer.merge(store, noWriteRepo), { edge: true, docs: false }), true],
  ["+ /openapi.json and /docs", app(Layer.merge(store, noWriteRepo), { edge: true, docs: true }), true],
  ["+ the store's write (the whole service)", service.fetch, false]
]

const headers = {
  authorization: `Bearer ${credentials.serviceToken}`,
  "x-api-key": credentials.apiKey,
  "content-type": "application/json"
}

const measure = async (fetch: Fetch, noWrite: boolean, count: number) => {
  let sent = 0
  let failed = 0
  const worker = async () => {
    while (sent < count) {
      sent++
      const { body, path } = sequence.next()
      if (noWrite) numbers.set(path.split("/")[2]!, JSON.parse(body).phoneNumber)
      // The length a client on the wire declares (a Request made here would not carry it).
      const response = await fetch(
        new Request(`http://127.0.0.1${path}`, {
          method: "POST",
          headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
          body
        })
      )
      if (response.status >= 300) failed++
      await response.arrayBuffer()
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: 32 }, worker))
  return { us: ((performance.now() - started) * 1000) / count, failed }
}

const best = configurations.map(() => Infinity)
for (const [, fetch, noWrite] of configurations) await measure(fetch, noWrite, 1_000)
for (let run = 0; run < RUNS; run++) {
  for (const [i, [name, fetch, noWrite]] of configurations.entries()) {
    const { failed, us } = await measure(fetch, noWrite, REQUESTS)
    if (failed > 0) throw new Error(`${name}: ${failed} answers were not 2xx`)
    best[i] = Math.min(best[i]!, us)
  }
}
console.log(`in-process, ${REQUESTS} UpdatePhoneNumber requests per run at 32 in flight, fastest of ${RUNS} runs\n`)
configurations.forEach(([name], i) => {
  const added = i === 0 ? "" : `  (${best[i]! - best[i - 1]! >= 0 ? "+" : ""}${(best[i]! - best[i - 1]!).toFixed(0)})`
  console.log(`${best[i]!.toFixed(0).padStart(5)} µs${added.padEnd(9)}  ${name}`)
})
await service.dispose()
rmSync(dir, { recursive: true, force: true })
process.exit(0)
