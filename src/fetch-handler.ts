// Builds the one fetch handler, `(Request) => Promise<Response>`, that every entry and every test goes through.
import { type HttpApi, HttpApiBuilder, HttpMiddleware, HttpServer } from "@effect/platform"
import { Effect, Fiber, FiberRef, Layer, ManagedRuntime } from "effect"
import { AuditHandlers } from "./api/audit/Http.js"
import { HealthHandlers } from "./api/health/Http.js"
import { PhonesHandlers } from "./api/phones/Http.js"
import { UsersHandlers } from "./api/users/Http.js"
import { VerificationHandlers } from "./api/verification/Http.js"
import { WebhooksHandlers } from "./api/webhooks/Http.js"
import { WebhookCodeSender, withDevFallback } from "./app/code-delivery.js"
import { codeHasher, derivedCodeKey } from "./app/verification-code.js"
import { webhookSecretDeriver } from "./app/webhook-secrets.js"
import { WebhookSettings } from "./app/webhooks.js"
import { UsersApi } from "./http/api.js"
import { AuthenticationLive } from "./http/authentication.js"
import { prefetchBody } from "./http/body.js"
import { canonicalRequest } from "./http/canonical-request.js"
import { consoleRequestSink, edgeMiddleware, type LogLine } from "./http/edge.js"
import { requestHasher } from "./http/request-hash.js"
import { OPENAPI_PATH } from "./http/routes.js"
import { StrictRouting } from "./http/routing.js"
import { JsonLoggerLive } from "./layers/logger.js"
import { maskerWithFingerprint } from "./layers/masker.js"
import { phoneNumberKeysLayer } from "./layers/phone-number-keys.js"
import { FetchWebhookTransport } from "./layers/webhooks/transport.js"
import type { Auth } from "./services/auth.js"
import { type CodeSender, VerificationSettings } from "./services/code-sender.js"
import type { EventLog } from "./services/event-log.js"
import type { Idempotency } from "./services/idempotency.js"
import type { Masker } from "./services/masker.js"
import type { PhonePolicies } from "./services/phone-policy.js"
import type { PhoneVerificationStore } from "./services/phone-verification.js"
import type { UserLookup } from "./services/user-lookup.js"
import type { UserRepo } from "./services/user-repo.js"
import { RelaySignal, type WebhookStore } from "./services/webhooks.js"

export type Services =
  | Auth
  | UserRepo
  | EventLog
  | Masker
  | Idempotency
  | WebhookStore
  | PhoneVerificationStore
  | PhonePolicies
  | UserLookup

export interface FetchHandler {
  readonly fetch: (request: Request) => Promise<Response>
  /** Runs `job` on the handler's own services; `dispose` stops every job still running first. */
  readonly run: (job: Effect.Effect<void, never, Services>) => Job
  readonly dispose: () => Promise<void>
}

export interface Job {
  readonly done: Promise<void>
  readonly stop: () => Promise<void>
}

export interface HandlerOptions {
  /** For a test: each request's line, in place of Effect's Logger writing it (src/layers/logger.ts). */
  readonly log?: (line: LogLine) => void
  /** When set, events commit to an HMAC-SHA-256 fingerprint of each number. */
  readonly phoneFingerprintKey?: string | undefined
  /** At least 32 characters: the key of the Idempotency-Key request hashes. */
  readonly idempotencyHashKey: string
  /** Off by default: without an exporter its spans are work nobody reads. */
  readonly tracing?: boolean
  /** Without a secret key the webhook routes answer 503. */
  readonly webhooks?: WebhookOptions
  /** Verified phone number changes. */
  readonly verification?: VerificationOptions
  /** DocsInline or, on Workers, DocsLinkedScript, so the Worker never bundles the inlined script; none: no /docs. */
  readonly docs?: Layer.Layer<never, never, HttpApi.Api>
}

export interface VerificationOptions {
  /** VERIFICATION_CODE_KEY; unset, a key derived from the idempotency hash key. */
  readonly codeKey?: string | undefined
  /** Default: signed delivery to the organization's code-delivery endpoint. */
  readonly codeSender?: Layer.Layer<CodeSender, never, PhoneVerificationStore | WebhookSettings> | undefined
  /** Local dev mode: where codes go when the organization has no code-delivery endpoint. */
  readonly devSink?: Layer.Layer<CodeSender> | undefined
  /** Resolve the endpoint's host before sending (DNS rebinding); where node:dns exists. */
  readonly checkAddresses?: boolean | undefined
}

export interface WebhookOptions {
  /** At least 32 characters: every subscription's signing secret is derived from it. */
  readonly secretKey?: string | undefined
  /** Local development: accept http:// to the loopback, and private addresses. */
  readonly allowLoopback?: boolean | undefined
  /** When set, the only hosts a subscription may name. */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
  /** Called in the request's fiber after each event commit or re-sent delivery, to wake the relay: keep it cheap. */
  readonly onWrite?: ((organizationId: string) => void) | undefined
  /** Called after a subscription is created: the Worker drops what it cached about the org. */
  readonly onSubscribe?: ((organizationId: string) => void) | undefined
}

const requestLinesTo = (sink: (line: LogLine) => void) => (line: LogLine) => Effect.sync(() => sink(line))

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

const verificationLayer = (options: HandlerOptions) => {
  const verification = options.verification
  const key = verification?.codeKey === undefined || verification.codeKey === ""
    ? derivedCodeKey(options.idempotencyHashKey)
    : verification.codeKey
  const transport = FetchWebhookTransport({
    checkAddresses: verification?.checkAddresses === true,
    urlRules: { allowLoopback: options.webhooks?.allowLoopback === true, allowedHosts: options.webhooks?.allowedHosts }
  })
  const signed = WebhookCodeSender.pipe(Layer.provide(transport))
  return Layer.merge(
    Layer.succeed(VerificationSettings, { hashCode: codeHasher(key) }),
    verification?.codeSender ??
      (verification?.devSink === undefined ? signed : withDevFallback(signed, verification.devSink))
  )
}

// Set while the layer builds, so the handler's runtime keeps it: Layer.locally would end with the build.
const TracingOff = Layer.mergeAll(
  Layer.setTracerEnabled(false),
  Layer.effectDiscard(FiberRef.set(HttpMiddleware.currentTracerDisabledWhen, () => true))
)

const withFingerprints = <E>(services: Layer.Layer<Services, E>, key: string | undefined) =>
  key === undefined || key === "" ? services : Layer.merge(services, maskerWithFingerprint(key))

export const makeFetchHandler = <E>(services: Layer.Layer<Services, E>, options: HandlerOptions): FetchHandler => {
  const base = Layer.mergeAll(
    withFingerprints(services, options.phoneFingerprintKey),
    webhookLayer(options.webhooks),
    phoneNumberKeysLayer(options.phoneFingerprintKey, options.idempotencyHashKey),
    JsonLoggerLive
  )
  const store = Layer.provideMerge(verificationLayer(options), base)
  // One memo map: the services layer is built once for the handler and its jobs.
  const memoMap = Effect.runSync(Layer.makeMemoMap)
  const jobs = ManagedRuntime.make(store, memoMap)
  const running = new Set<() => Promise<void>>()
  const api = HttpApiBuilder.api(UsersApi).pipe(
    Layer.provide([
      UsersHandlers,
      AuditHandlers,
      WebhooksHandlers,
      HealthHandlers,
      VerificationHandlers,
      PhonesHandlers
    ]),
    Layer.provide(AuthenticationLive),
    Layer.provide(requestHasher(options.idempotencyHashKey))
  )
  const app = Layer.mergeAll(
    HttpApiBuilder.middlewareOpenApi({ path: OPENAPI_PATH }),
    options.docs ?? Layer.empty,
    edgeMiddleware(options.log === undefined ? consoleRequestSink : requestLinesTo(options.log)),
    StrictRouting,
    HttpServer.layerContext,
    options.tracing === true ? Layer.empty : TracingOff
  ).pipe(Layer.provideMerge(api), Layer.provide(store))
  const { dispose, handler } = HttpApiBuilder.toWebHandler(app, { memoMap })
  return {
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
