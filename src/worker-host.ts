// Its own module because workerd takes every export of the entry for a handler. The queue only says "run the
// relay": D1 holds every delivery's state (docs/DECISIONS.md, "Webhooks and the feed").
import { HttpServerResponse } from "@effect/platform"
import { Clock, Config, Effect, Redacted } from "effect"
import { checkpointRoundFailed, sealUnsealedOrganizations } from "./app/checkpoints.js"
import { relayLog, relayUntilIdle } from "./app/webhook-relay.js"
import { type DeriveSecret, webhookSecretDeriver } from "./app/webhook-secrets.js"
import { ConfigError, handlerSettings, jwtConfig, providerOf, readConfig, reveal } from "./config.js"
import type { WebhookUrlRules } from "./domain/webhook-url.js"
import { type FetchHandler, makeFetchHandler } from "./fetch-handler.js"
import { DocsLinkedScript } from "./http/docs.js"
import { problemResponse, toProblem } from "./http/problems.js"
import { D1Services } from "./layers/d1.js"
import { type ExpiringCache, makeExpiringCache } from "./layers/expiring-cache.js"
import { logLine } from "./layers/logger.js"
import {
  DEAD_LETTER_SUFFIX,
  NOT_SUBSCRIBED_TTL_MS,
  type RelayMessage,
  SUBSCRIBED_TTL_MS
} from "./layers/webhooks/queue.js"
import { FetchWebhookTransport } from "./layers/webhooks/transport.js"
import { WebhookStore } from "./services/webhooks.js"

/** Each binding is checked when the handler is built; DB_1, DB_2, … are numbered without gaps. */
export type Bindings = Partial<WorkerEnv>

const shardsOf = (env: Bindings): Array<D1Database> => {
  const bound = env as Readonly<Record<string, unknown>>
  const shards: Array<D1Database> = []
  for (let n = 1; typeof bound[`DB_${n}`] === "object" && bound[`DB_${n}`] !== null; n++) {
    shards.push(bound[`DB_${n}`] as D1Database)
  }
  const stray = Object.keys(env).find((name) => /^DB_\d+$/.test(name) && Number(name.slice(3)) > shards.length)
  if (stray !== undefined) throw new ConfigError(`the D1 binding ${stray} is bound but DB_${shards.length + 1} is not`)
  return shards
}

interface Built {
  readonly handler: FetchHandler
  readonly deriveSecret: DeriveSecret | undefined
  /** No lookup on Workers: the allow-list stands in for one. */
  readonly urlRules: WebhookUrlRules
  readonly written: Set<string>
  readonly subscribed: ExpiringCache<boolean>
}

// Keyed by the env object, so a different env never reuses a stale handler.
const handlers = new WeakMap<object, Built>()

const built = (env: Bindings): Built => {
  const found = handlers.get(env)
  if (found !== undefined) return found
  const { DB: db } = env
  if (db === undefined) throw new ConfigError("the D1 binding DB is missing (see wrangler.toml)")
  const shards = shardsOf(env)
  const { jwt, settings } = readConfig(Config.all({ jwt: jwtConfig, settings: handlerSettings() }), providerOf(env))
  const secretKey = reveal(settings.webhookSecretKey)
  const written = new Set<string>()
  const subscribed = makeExpiringCache<boolean>({
    capacity: 10_000,
    keepUntil: (active, readAt) => readAt + (active ? SUBSCRIBED_TTL_MS : NOT_SUBSCRIBED_TTL_MS)
  })
  const urlRules = { allowLoopback: settings.webhookAllowLoopback, allowedHosts: settings.webhookAllowedHosts }
  const handler = makeFetchHandler(D1Services(db, jwt, shards), {
    phoneFingerprintKey: reveal(settings.phoneFingerprintKey),
    idempotencyHashKey: Redacted.value(settings.idempotencyHashKey),
    verification: { codeKey: reveal(settings.verificationCodeKey) },
    webhooks: {
      secretKey,
      ...urlRules,
      onWrite: (organizationId) => void written.add(organizationId),
      onSubscribe: (organizationId) => subscribed.invalidate(organizationId)
    },
    docs: DocsLinkedScript
  })
  const entry: Built = {
    handler,
    deriveSecret: secretKey === undefined ? undefined : webhookSecretDeriver(secretKey),
    urlRules,
    written,
    subscribed
  }
  handlers.set(env, entry)
  return entry
}

const handlerFor = (env: Bindings): FetchHandler => built(env).handler

/** Any request's waitUntil may carry it: the commit happened before its own answer. */
const wakeRelay = async (entry: Built, env: Bindings): Promise<void> => {
  if (entry.written.size === 0 || entry.deriveSecret === undefined || env.WEBHOOKS === undefined) return
  const organizations = [...entry.written]
  entry.written.clear()
  let active = false
  const job = entry.handler.run(Effect.gen(function*() {
    const store = yield* WebhookStore
    for (const organizationId of organizations) {
      // A wake-up too many costs one relay round.
      const found = yield* entry.subscribed.get(
        organizationId,
        () => Effect.orElseSucceed(store.hasActive(organizationId), () => true)
      )
      active ||= found
    }
  }))
  await job.done
  if (active) await env.WEBHOOKS.send({ kind: "relay" } satisfies RelayMessage)
}

const logError = (msg: string, fields: Record<string, unknown> = {}) => logLine("error", msg, fields)

/** A retry due before the next cron round gets a delayed message of its own. */
const runRelay = async (env: Bindings): Promise<boolean> => {
  const entry = built(env)
  if (entry.deriveSecret === undefined) return true
  let ok = false
  const job = entry.handler.run(
    relayUntilIdle({ deriveSecret: entry.deriveSecret }).pipe(
      Effect.flatMap((due) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          ok = true
          const seconds = due === undefined ? undefined : Math.max(1, Math.ceil((Date.parse(due) - now) / 1000))
          return seconds === undefined || seconds > 60 || env.WEBHOOKS === undefined
            ? Effect.void
            : Effect.promise(() =>
              env.WEBHOOKS!.send({ kind: "relay" } satisfies RelayMessage, { delaySeconds: seconds })
            )
        })
      ),
      Effect.catchAll((error) => relayLog({ level: "error", msg: "webhook relay round failed", kind: error._tag })),
      Effect.provide(FetchWebhookTransport({ checkAddresses: false, urlRules: entry.urlRules }))
    )
  )
  await job.done
  return ok
}

const misconfigured = (error: unknown): Response => {
  const detail = error instanceof ConfigError
    ? `The service is misconfigured: ${error.message}.`
    : "The service could not start."
  const requestId = crypto.randomUUID()
  logError("configuration error", { requestId, detail })
  const response = problemResponse(toProblem({ _tag: "Misconfigured", detail }, requestId))
  return HttpServerResponse.toWeb(HttpServerResponse.setHeader(response, "x-request-id", requestId))
}

export const onFetch = (request: Request, env: Bindings, ctx?: ExecutionContext): Promise<Response> => {
  let handler: FetchHandler
  try {
    handler = handlerFor(env)
  } catch (error) {
    return Promise.resolve(misconfigured(error))
  }
  const response = handler.fetch(request)
  // Were the first request's client to disconnect, workerd would cancel the shared runtime's build and every
  // later request would wait on it (Effect-TS/effect#6319). waitUntil lets it finish.
  ctx?.waitUntil(
    response.then(() => undefined, () => undefined).then(() => wakeRelay(built(env), env)).catch((error) =>
      logError("webhook relay wake-up failed", { kind: String((error as { name?: string })?.name ?? "unknown") })
    )
  )
  return response
}

export const onQueue = async (batch: MessageBatch<unknown>, env: Bindings): Promise<void> => {
  if (batch.queue.endsWith(DEAD_LETTER_SUFFIX)) {
    // Their deliveries are still pending in D1; the next cron round has them.
    for (const message of batch.messages) {
      logError("webhook relay message dead-lettered", { queue: batch.queue, messageId: message.id })
    }
    batch.ackAll()
    return
  }
  let ran: boolean
  try {
    ran = await runRelay(env)
  } catch (error) {
    logError("webhook relay could not start", { detail: error instanceof ConfigError ? error.message : "unknown" })
    ran = false
  }
  if (ran) batch.ackAll()
  else batch.retryAll({ delaySeconds: 10 })
}

export const onScheduled = (env: Bindings, ctx: ExecutionContext): void => {
  const round = handlerFor(env).run(
    Effect.asVoid(Effect.catchAll(sealUnsealedOrganizations, (error) => checkpointRoundFailed(error._tag)))
  )
  ctx.waitUntil(round.done)
  ctx.waitUntil(runRelay(env).then(() => undefined, () => logError("webhook relay could not start")))
}
