/**
 * Builds the one web-standard fetch handler, `(Request) => Promise<Response>`, from the service layers.
 * Every runtime entry (bun.ts, deno.ts, worker.ts) and every test goes through this function.
 */
import { HttpApiBuilder, HttpServer } from "@effect/platform"
import { Layer } from "effect"
import { UsersApi } from "./http/api.js"
import { AuthenticationLive } from "./http/authentication.js"
import { DocsLive } from "./http/docs.js"
import { consoleSink, edgeMiddleware, type LogSink } from "./http/edge.js"
import { AuditLive, HealthLive, UsersLive } from "./http/handlers.js"
import { requestHasher } from "./http/idempotency.js"
import type { Auth } from "./services/auth.js"
import type { EventLog } from "./services/event-log.js"
import type { Idempotency } from "./services/idempotency.js"
import { type Masker, maskerWithFingerprint } from "./services/masker.js"
import type { UserRepo } from "./services/user-repo.js"

export type Services = Auth | UserRepo | EventLog | Masker | Idempotency

export interface FetchHandler {
  readonly fetch: (request: Request) => Promise<Response>
  readonly dispose: () => Promise<void>
}

export interface HandlerOptions {
  /** Where the one-line-per-request JSON log goes (default: console.log). */
  readonly log?: LogSink
  /** PHONE_FINGERPRINT_KEY: when set, events also carry an HMAC-SHA-256 fingerprint of each number. */
  readonly phoneFingerprintKey?: string | undefined
  /** IDEMPOTENCY_HASH_KEY (at least 32 characters): the secret of the Idempotency-Key request hashes. Required. */
  readonly idempotencyHashKey: string
}

/** The services, with the Masker replaced by one that also fingerprints when a key is configured. */
const withFingerprints = <E>(services: Layer.Layer<Services, E>, key: string | undefined) =>
  key === undefined || key === "" ? services : Layer.merge(services, maskerWithFingerprint(key))

export const makeFetchHandler = <E>(services: Layer.Layer<Services, E>, options: HandlerOptions): FetchHandler => {
  const api = HttpApiBuilder.api(UsersApi).pipe(
    Layer.provide([UsersLive, AuditLive, HealthLive]),
    Layer.provide(AuthenticationLive),
    Layer.provide(requestHasher(options.idempotencyHashKey))
  )
  const app = Layer.mergeAll(
    HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }),
    DocsLive,
    edgeMiddleware(options.log ?? consoleSink),
    HttpServer.layerContext
  ).pipe(Layer.provideMerge(api), Layer.provide(withFingerprints(services, options.phoneFingerprintKey)))
  const { dispose, handler } = HttpApiBuilder.toWebHandler(app)
  return { fetch: (request) => handler(request), dispose }
}
