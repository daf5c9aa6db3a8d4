// A failed fetch is the provider being unavailable, never a bad token (docs/DECISIONS.md, "The identity provider's
// key set").
import { Clock, Effect, Random } from "effect"
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose"
import { IdentityProviderUnavailable } from "../../services/errors.js"
import { logLine } from "../logger.js"

export interface RemoteJwksOptions {
  readonly freshMs?: number
  /** Least time between two fetches for a token whose key is not in the set. */
  readonly unknownKeyCooldownMs?: number
  /** How long past its freshness the last good set serves while refreshing fails. */
  readonly staleIfErrorMs?: number
  /** For the whole fetch, body included. */
  readonly timeoutMs?: number
  /** Doubled per further failure, up to `maxBackoffMs`. */
  readonly initialBackoffMs?: number
  readonly maxBackoffMs?: number
  /** Told about each failed fetch; never a token or a key. */
  readonly onFailure?: (failure: { readonly reason: string; readonly retryInMs: number }) => void
}

export const REMOTE_JWKS_DEFAULTS = {
  freshMs: 10 * 60_000,
  unknownKeyCooldownMs: 30_000,
  staleIfErrorMs: 3_600_000,
  timeoutMs: 5_000,
  initialBackoffMs: 1_000,
  maxBackoffMs: 60_000
} as const

export interface KeySource {
  readonly current: Effect.Effect<JWTVerifyGetKey, IdentityProviderUnavailable>
  /** Undefined when the set is recent enough that the key is simply unknown. */
  readonly afterNoMatch: Effect.Effect<JWTVerifyGetKey | undefined, IdentityProviderUnavailable>
}

export const localKeySource = (jwks: JSONWebKeySet): KeySource => {
  const keys = createLocalJWKSet(jwks)
  return { current: Effect.succeed(keys), afterNoMatch: Effect.succeed(undefined) }
}

class FetchFailed extends Error {}

const MAX_BODY_CHARS = 1024 * 1024

const isKeySet = (value: unknown): value is JSONWebKeySet =>
  typeof value === "object" && value !== null && Array.isArray((value as { keys?: unknown }).keys) &&
  (value as { keys: Array<unknown> }).keys.every((key) => typeof key === "object" && key !== null)

/** Bounded as a whole: a body that trickles in is cut off too. */
const download = async (url: URL, timeoutMs: number): Promise<ReturnType<typeof createLocalJWKSet>> => {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  try {
    let text: string
    try {
      // No redirects, as in jose's own remote set: the configured URL must answer itself.
      const response = await fetch(url, {
        headers: { accept: "application/jwk-set+json, application/json" },
        redirect: "manual",
        signal: controller.signal
      })
      if (response.status < 200 || response.status > 299) {
        await response.body?.cancel().catch(() => undefined)
        throw new FetchFailed(`HTTP status ${response.status}`)
      }
      text = await response.text()
    } catch (error) {
      if (error instanceof FetchFailed) throw error
      throw new FetchFailed(controller.signal.aborted ? `no answer within ${timeoutMs} ms` : "network error")
    }
    if (text.length > MAX_BODY_CHARS) throw new FetchFailed("answer too large")
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new FetchFailed("answer is not JSON")
    }
    if (!isKeySet(body)) throw new FetchFailed("answer is not a JSON Web Key Set")
    try {
      return createLocalJWKSet(body)
    } catch {
      throw new FetchFailed("answer is not a JSON Web Key Set")
    }
  } finally {
    clearTimeout(timer)
  }
}

/** On the caller's own timer (see the single flight below). */
const within = <A>(promise: Promise<A>, ms: number): Promise<A | undefined> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms)
    void promise.then((value) => {
      clearTimeout(timer)
      resolve(value)
    })
  })

const logFailure = (failure: { readonly reason: string; readonly retryInMs: number }) =>
  logLine("error", "identity provider key set fetch failed", failure)

export const remoteKeySource = (url: URL, options: RemoteJwksOptions = {}): KeySource => {
  const freshMs = options.freshMs ?? REMOTE_JWKS_DEFAULTS.freshMs
  const cooldownMs = options.unknownKeyCooldownMs ?? REMOTE_JWKS_DEFAULTS.unknownKeyCooldownMs
  const staleMs = options.staleIfErrorMs ?? REMOTE_JWKS_DEFAULTS.staleIfErrorMs
  const timeoutMs = options.timeoutMs ?? REMOTE_JWKS_DEFAULTS.timeoutMs
  const initialBackoffMs = options.initialBackoffMs ?? REMOTE_JWKS_DEFAULTS.initialBackoffMs
  const maxBackoffMs = options.maxBackoffMs ?? REMOTE_JWKS_DEFAULTS.maxBackoffMs
  const onFailure = options.onFailure ?? logFailure

  let good: { readonly keys: JWTVerifyGetKey; readonly fetchedAt: number } | undefined
  let failures = 0
  let nextAttemptAt = 0
  let inFlight: { readonly settled: Promise<void>; readonly startedAt: number } | undefined

  // One fetch, recorded by its own promise chain so an interrupted request leaves no half state. Each waiter uses its
  // own timer: workerd cancels a request resumed from another one's code.
  const refresh = Effect.gen(function*() {
    const clock = yield* Effect.clock
    const now = clock.unsafeCurrentTimeMillis()
    let flight = inFlight
    if (flight === undefined || now - flight.startedAt > timeoutMs + 1_000) {
      if (now < nextAttemptAt) return
      const jitter = yield* Random.next
      const settled = download(url, timeoutMs).then(
        (keys) => {
          good = { keys, fetchedAt: clock.unsafeCurrentTimeMillis() }
          failures = 0
          nextAttemptAt = 0
        },
        (error: unknown) => {
          failures += 1
          const backoff = Math.min(maxBackoffMs, initialBackoffMs * 2 ** Math.min(failures - 1, 30))
          // Equal jitter, so instances spread out.
          const retryInMs = Math.round(backoff / 2 + (backoff / 2) * jitter)
          nextAttemptAt = clock.unsafeCurrentTimeMillis() + retryInMs
          onFailure({ reason: error instanceof FetchFailed ? error.message : "fetch failed", retryInMs })
        }
      ).finally(() => {
        if (inFlight?.settled === settled) inFlight = undefined
      })
      flight = { settled, startedAt: now }
      inFlight = flight
    }
    const waiting = flight.settled
    yield* Effect.promise(() => within(waiting, timeoutMs + 1_000))
  })

  const unavailable = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.fail(
      new IdentityProviderUnavailable({ retryAfterSeconds: Math.max(1, Math.ceil((nextAttemptAt - now) / 1000)) })
    ))

  const current: KeySource["current"] = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    if (good !== undefined && now - good.fetchedAt < freshMs) return good.keys
    yield* refresh
    const after = yield* Clock.currentTimeMillis
    if (good !== undefined && after - good.fetchedAt < freshMs + staleMs) return good.keys
    return yield* unavailable
  })

  const afterNoMatch: KeySource["afterNoMatch"] = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const seen = good
    if (seen !== undefined && now - seen.fetchedAt < cooldownMs) return undefined
    yield* refresh
    if (good !== undefined && good !== seen) return good.keys
    // Not refreshed: the token may be signed by a key published since.
    return yield* unavailable
  })

  return { current, afterNoMatch }
}
