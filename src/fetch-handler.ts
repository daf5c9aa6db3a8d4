/**
 * Builds the one web-standard fetch handler, `(Request) => Promise<Response>`, from the service layers.
 * Every runtime entry (bun.ts, deno.ts, worker.ts) and every test goes through this function.
 */
import { type HttpApi, HttpApiBuilder, HttpMiddleware, HttpServer } from "@effect/platform"
import { Effect, Fiber, Layer, ManagedRuntime } from "effect"
import { AuditHandlers } from "./api/audit/Http.js"
import { HealthHandlers } from "./api/health/Http.js"
import { UsersHandlers } from "./api/users/Http.js"
import { WebhooksHandlers } from "./api/webhooks/Http.js"
import { webhookSecretDeriver } from "./app/webhook-secrets.js"
import { WebhookSettings } from "./app/webhooks.js"
import { UsersApi } from "./http/api.js"
import { AuthenticationLive } from "./http/authentication.js"
import { prefetchBody } from "./http/body.js"
import { canonicalRequest } from "./http/canonical-request.js"
import { consoleSink, edgeMiddleware, type LogSink } from "./http/edge.js"
import { requestHasher } from "./http/request-hash.js"
import { OPENAPI_PATH } from "./http/routes.js"
import { JsonLoggerLive } from "./layers/logger.js"
import { maskerWithFingerprint } from "./layers/masker.js"
import type { Auth } from "./services/auth.js"
import type { EventLog } from "./services/event-log.js"
import type { Idempotency } from "./services/idempotency.js"
import type { Masker } from "./services/masker.js"
import type { UserRepo } from "./services/user-repo.js"
import { RelaySignal, type WebhookStore } from "./services/webhooks.js"

export type Services = Auth | UserRepo | EventLog | Masker | Idempotency | WebhookStore

export interface FetchHandler {
  readonly fetch: (request: Request) => Promise<Response>
  /**
   * Runs `job` on the handler's own services (the same store connections and caches): `done` when it ends, `stop`
   * to interrupt it. `dispose` stops every job still running first.
   */
  readonly run: (job: Effect.Effect<void, never, Services>) => Job
  readonly dispose: () => Promise<void>
}

export interface Job {
  readonly done: Promise<void>
  readonly stop: () => Promise<void>
}

export interface HandlerOptions {
  /** Where the one-line-per-request JSON log goes (default: console.log). */
  readonly log?: LogSink
  /** PHONE_FINGERPRINT_KEY: when set, events commit to an HMAC-SHA-256 fingerprint of each number (served beside). */
  readonly phoneFingerprintKey?: string | undefined
  /** IDEMPOTENCY_HASH_KEY (at least 32 characters): the secret of the Idempotency-Key request hashes. Required. */
  readonly idempotencyHashKey: string
  /**
   * Effect's tracing, off unless asked for: with no exporter configured its spans (one per request in HttpApi, one per
   * statement in @effect/sql) are work nobody reads. Pass `true` when a tracer layer is provided with the services.
   */
  readonly tracing?: boolean
  /** Webhooks (docs/DECISIONS.md, "Webhooks and the feed"); without a secret key the webhook routes answer 503. */
  readonly webhooks?: WebhookOptions
  /**
   * GET /docs: DocsInline (http/docs-inline.ts) or, on Workers, DocsLinkedScript (http/docs.ts). A parameter so that
   * the Worker never bundles the inlined script; without it there is no /docs.
   */
  readonly docs?: Layer.Layer<never, never, HttpApi.Api>
}

export interface WebhookOptions {
  /** WEBHOOK_SECRET_KEY (at least 32 characters): the key every subscription's signing secret is derived from. */
  readonly secretKey?: string | undefined
  /** Local development (WEBHOOK_ALLOW_LOOPBACK): http:// to the loopback, and private addresses, are accepted. */
  readonly allowLoopback?: boolean | undefined
  /** WEBHOOK_ALLOWED_HOSTS: when set, the only hosts a subscription may name. */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
  /**
   * Told after every commit of an event, and every re-sent delivery, in the request's fiber: how a server wakes its
   * relay (src/app/webhook-relay.ts). Keep it cheap: it runs on the write path.
   */
  readonly onWrite?: ((organizationId: string) => void) | undefined
  /** Told after a subscription is created, in the request's fiber: the Worker drops what it cached about the org. */
  readonly onSubscribe?: ((organizationId: string) => void) | undefined
}

/** WebhookSettings and the RelaySignal from the handler's options. */
const webhookLayer = (options: WebhookOptions | undefined) =>
  Layer.merge(
    Layer.succeed(WebhookSettings, {
      deriveSecret: options?.secretKey === undefined || options.secretKey === ""
        ? undefined
        : webhookSecretDeriver(options.secretKey),
      urlRules: { allowLoopback: options?.allowLoopback === true, allowedHosts: options?.allowedHosts }
    }),
    options?.onWrite === undefined
      ? Layer.empty
      : Layer.succeed(RelaySignal, { wake: options.onWrite, subscribed: options.onSubscribe })
  )

/** The services, with the Masker replaced by one that also fingerprints when a key is configured. */
const withFingerprints = <E>(services: Layer.Layer<Services, E>, key: string | undefined) =>
  key === undefined || key === "" ? services : Layer.merge(services, maskerWithFingerprint(key))

export const makeFetchHandler = <E>(services: Layer.Layer<Services, E>, options: HandlerOptions): FetchHandler => {
  const store = Layer.mergeAll(
    withFingerprints(services, options.phoneFingerprintKey),
    webhookLayer(options.webhooks),
    JsonLoggerLive
  )
  // One memo map for the handler and its jobs: the services layer is built once and shared by both.
  const memoMap = Effect.runSync(Layer.makeMemoMap)
  const jobs = ManagedRuntime.make(store, memoMap)
  const running = new Set<() => Promise<void>>()
  const api = HttpApiBuilder.api(UsersApi).pipe(
    Layer.provide([UsersHandlers, AuditHandlers, WebhooksHandlers, HealthHandlers]),
    Layer.provide(AuthenticationLive),
    Layer.provide(requestHasher(options.idempotencyHashKey))
  )
  const app = Layer.mergeAll(
    HttpApiBuilder.middlewareOpenApi({ path: OPENAPI_PATH }),
    options.docs ?? Layer.empty,
    edgeMiddleware(options.log ?? consoleSink),
    HttpServer.layerContext,
    options.tracing === true ? Layer.empty : Layer.setTracerEnabled(false)
  ).pipe(Layer.provideMerge(api), Layer.provide(store))
  const { dispose, handler } = HttpApiBuilder.toWebHandler(
    options.tracing === true ? app : HttpMiddleware.withTracerDisabledWhen(app, () => true),
    { memoMap }
  )
  return {
    // Every runtime hands over its request as is; canonicalRequest makes them all look alike (its header says how).
    fetch: (request) => {
      const canonical = canonicalRequest(request)
      const reading = prefetchBody(canonical)
      return reading === undefined ? handler(canonical) : reading.then(() => handler(canonical))
    },
    run: (job) => {
      const fiber = jobs.runFork(job)
      const stop = async () => {
        running.delete(stop)
        await jobs.runPromise(Fiber.interrupt(fiber))
      }
      running.add(stop)
      const done = jobs.runPromise(Fiber.await(fiber)).then(() => void running.delete(stop))
      return { done, stop }
    },
    dispose: async () => {
      await Promise.all([...running].map((stop) => stop()))
      await jobs.dispose()
      await dispose()
    }
  }
}
