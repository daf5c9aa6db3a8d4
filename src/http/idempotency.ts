// Idempotency-Key with Stripe's semantics: the rules are in docs/DECISIONS.md ("Idempotency and faults").
import type { HttpServerRequest } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import { Effect, Exit, FiberRef } from "effect"
import { CurrentRequest } from "../app/context.js"
import type { CommandResult } from "../app/run-command.js"
import type { Actor } from "../domain/events.js"
import { CurrentPrincipal } from "../services/auth.js"
import type { StoreUnavailable } from "../services/errors.js"
import { currentKeyedWrite, Idempotency, type StoredResponse } from "../services/idempotency.js"
import { noteCode } from "./edge.js"
import { IdempotencyKeyInUse, IdempotencyKeyReused, InvalidRequest } from "./errors.js"
import { bodyBytes } from "./json-body.js"
import { problemOfCause, problemResponse } from "./problems.js"
import { RequestHasher, requestIdentityBytes } from "./request-hash.js"

export const IDEMPOTENCY_KEY_HEADER = "idempotency-key"
export const REPLAYED_HEADER = "idempotent-replayed"

const VALID_KEY = /^[\x20-\x7E]{1,255}$/

export const parseIdempotencyKey = (header: string | undefined): Effect.Effect<string | undefined, InvalidRequest> =>
  header === undefined || VALID_KEY.test(header)
    ? Effect.succeed(header)
    : Effect.fail(
      new InvalidRequest({
        code: "invalid-idempotency-key",
        detail: "Idempotency-Key must be 1 to 255 printable ASCII characters."
      })
    )

export const principalOf = (actor: Actor): string => `${actor.type}:${actor.id}`

/** Not kept: a 5xx or a lost race (concurrent-update), which a retry must run again. */
export const keepsAnswer = (status: number, code: string | undefined): boolean =>
  status < 500 && code !== "concurrent-update" && code !== "client-closed-request"

// X-Request-Id is the replaying request's own.
const KEPT_HEADERS = ["etag", "location", "retry-after", "www-authenticate"]

const toStored = (response: HttpServerResponse.HttpServerResponse): StoredResponse => {
  const headers: Record<string, string> = {}
  for (const name of KEPT_HEADERS) {
    const value = response.headers[name]
    if (value !== undefined) headers[name] = value
  }
  const body = response.body
  if (body._tag === "Uint8Array") headers["content-type"] = body.contentType
  return {
    status: response.status,
    headers,
    body: body._tag === "Uint8Array" ? new TextDecoder().decode(body.body) : ""
  }
}

const replay = ({ body, headers, status }: StoredResponse) => {
  const { "content-type": contentType, ...rest } = headers
  return HttpServerResponse.text(body, {
    status,
    contentType: contentType ?? "application/json",
    headers: { ...rest, [REPLAYED_HEADER]: "true" }
  })
}

/** A requested verified change is a 202 (accepted, not yet applied). */
export const commandResponse = (result: CommandResult, status: 200 | 201) =>
  HttpServerResponse.unsafeJson({ success: true, ...result }, {
    status: result.pendingChange === undefined ? status : 202,
    headers: { etag: `"${result.version}"` }
  })

export interface IdempotentOptions {
  readonly status: 200 | 201
  /** When the path names the user: its erasure deletes the record. */
  readonly userId?: string
}

/** A create names its user here once the body is read. */
export type ActsOn = (userId: string) => void

type Run<E, R> = (actsOn: ActsOn) => Effect.Effect<CommandResult, E, R>

/**
 * Call once authorized and the payload decoded: a 403 or an invalid request never claims a key. The fingerprint
 * covers the bytes JsonBody read (src/http/json-body.ts), none for a command without a body.
 */
export const idempotent = <E, R>(
  request: HttpServerRequest.HttpServerRequest,
  key: string | undefined,
  run: Run<E, R>,
  options: IdempotentOptions
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  E | IdempotencyKeyInUse | IdempotencyKeyReused | StoreUnavailable,
  R | CurrentPrincipal | Idempotency | RequestHasher
> =>
  key === undefined
    ? Effect.map(run(ignoreActsOn), (result) => commandResponse(result, options.status))
    : keyed(request, key, bodyBytes(request), run, options)

const ignoreActsOn: ActsOn = () => {}

const keyed = <E, R>(
  request: HttpServerRequest.HttpServerRequest,
  key: string,
  body: Uint8Array,
  run: Run<E, R>,
  { status, userId: actedOn }: IdempotentOptions
) =>
  Effect.gen(function*() {
    let userId = actedOn
    const actsOn: ActsOn = (id) => {
      userId = id
    }
    const principal = yield* CurrentPrincipal
    const store = yield* Idempotency
    const scope = { organizationId: principal.organizationId, principal: principalOf(principal.actor), key }
    const hash = (yield* RequestHasher)(requestIdentityBytes({
      method: request.method,
      path: request.url.replace(/^[a-z]+:\/\/[^/]+/i, ""),
      actor: principal.actor,
      ifMatch: request.headers["if-match"],
      body
    }))

    // Once ours, the key is completed or released whatever happens.
    return yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const reservation = yield* store.reserve(scope, hash)
        switch (reservation._tag) {
          case "Mismatch":
            return yield* new IdempotencyKeyReused()
          case "InUse":
            return yield* new IdempotencyKeyInUse()
          case "Replay":
            return replay(reservation.response)
          case "Acquired":
            break
        }
        // A committed change keeps this answer in its own atomic unit (UserRepo.commit).
        let keptWithChange = false
        const write = {
          scope,
          lock: reservation.lock,
          requestHash: hash,
          retentionMillis: store.retentionMillis,
          answer: (result: CommandResult) => {
            keptWithChange = true
            return toStored(commandResponse(result, status))
          }
        }
        const exit = yield* Effect.exit(restore(Effect.locally(run(actsOn), currentKeyedWrite, write)))
        // If settling fails, the lock expires on its own.
        const settle = (response: HttpServerResponse.HttpServerResponse, code: string | undefined) =>
          Effect.ignore(
            keepsAnswer(response.status, code)
              ? store.complete(scope, reservation.lock, toStored(response), userId)
              : store.release(scope, reservation.lock)
          )
        if (Exit.isSuccess(exit)) {
          const response = commandResponse(exit.value, status)
          // An answer with a verification code is never kept: a retry gets a new code.
          if (exit.value.verificationCode !== undefined) yield* Effect.ignore(store.release(scope, reservation.lock))
          else if (!(keptWithChange && exit.value.event !== null)) yield* settle(response, undefined)
          return response
        }
        // Rendered as the edge would, so what is kept is what the client gets.
        const { requestId } = yield* FiberRef.get(CurrentRequest)
        const problem = problemOfCause(exit.cause, requestId)
        const response = problemResponse(problem)
        yield* settle(response, problem.code)
        if (problem.status === 500) return yield* Effect.failCause(exit.cause)
        yield* noteCode(problem.code)
        return response
      })
    )
  })
