/**
 * `Idempotency-Key` on the command endpoints, with the semantics Stripe documents: the first completed answer to
 * (organization, principal, key) is kept for 24 hours and replayed, byte for byte, to a retry of the same request
 * (`Idempotent-Replayed: true`, nothing written); the key sent with another request is a 422; a retry while the
 * first is still running is a 409. The handler authorizes the command before it calls `idempotent`, so a refused
 * request never claims a key. A command that changes a user keeps its answer in the change's own atomic unit
 * (currentKeyedWrite), so no crash can separate the two. The rules are in docs/DECISIONS.md ("Idempotency and faults").
 */
import type { HttpServerRequest } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import { Effect, Exit, FiberRef } from "effect"
import { CurrentRequest } from "../app/context.js"
import type { CommandResult } from "../app/run-command.js"
import type { Actor } from "../domain/events.js"
import { CurrentPrincipal } from "../services/auth.js"
import type { StoreUnavailable } from "../services/errors.js"
import { currentKeyedWrite, Idempotency, type StoredResponse } from "../services/idempotency.js"
import { readJsonBytes } from "./body.js"
import { noteCode } from "./edge.js"
import {
  IdempotencyKeyInUse,
  IdempotencyKeyReused,
  InvalidRequest,
  type PayloadTooLarge,
  type UnsupportedMediaType
} from "./errors.js"
import { problemOfCause, problemResponse } from "./problems.js"
import { RequestHasher, requestIdentityBytes } from "./request-hash.js"

export const IDEMPOTENCY_KEY_HEADER = "idempotency-key"
export const REPLAYED_HEADER = "idempotent-replayed"

/** 1 to 255 printable ASCII characters (space to tilde). */
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

/** Whose key space a request's key is in: the actor's type and id (`service:svc_x`, `user:u1`). */
export const principalOf = (actor: Actor): string => `${actor.type}:${actor.id}`

/**
 * Whether an answer is kept for replay: every answer the command produced, success or refusal, except a 5xx
 * (the store failed: the retry must run again) and a lost race (409 concurrent-update: a retry may well win).
 */
export const keepsAnswer = (status: number, code: string | undefined): boolean =>
  status < 500 && code !== "concurrent-update" && code !== "client-closed-request"

// The headers that belong to the answer itself; X-Request-Id is the replaying request's own.
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

const EMPTY = new Uint8Array(0)

/** A command's answer: its result with the user's version as ETag. */
export const commandResponse = (result: CommandResult, status: 200 | 201) =>
  HttpServerResponse.unsafeJson({ success: true, ...result }, { status, headers: { etag: `"${result.version}"` } })

export interface IdempotentOptions {
  /** The status of the command's success: 201 for a create, 200 for the others. */
  readonly status: 200 | 201
  /** Whether the command has a JSON body (read here once, hashed, and handed to `run`). */
  readonly readsBody: boolean
  /** The user the command acts on, when the path names it: its erasure deletes the record (rows.ts). */
  readonly userId?: string
}

/** For a command whose user is known only once its body is read (a create): `run` names it here. */
export type ActsOn = (userId: string) => void

type Run<E, R> = (body: Uint8Array, actsOn: ActsOn) => Effect.Effect<CommandResult, E, R>

/**
 * Runs a command under the request's Idempotency-Key, if it sent one, and answers its result. Call it once the command
 * is authorized (a 403 must never claim a key, or a caller could squat another's). Before the key is touched: its
 * syntax (400), then the body's media type and size (415, 413); those answers are never kept. `run` gets the body's
 * bytes and decodes them itself, so a malformed body is an answer the key keeps.
 */
export const idempotent = <E, R>(
  request: HttpServerRequest.HttpServerRequest,
  run: Run<E, R>,
  options: IdempotentOptions
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  | E
  | InvalidRequest
  | PayloadTooLarge
  | UnsupportedMediaType
  | IdempotencyKeyInUse
  | IdempotencyKeyReused
  | StoreUnavailable,
  R | CurrentPrincipal | Idempotency | RequestHasher
> =>
  Effect.flatMap(
    parseIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER]),
    (key) =>
      Effect.flatMap(options.readsBody ? readJsonBytes(request) : Effect.succeed(EMPTY), (body) => {
        // Without a key (the usual request) the command just runs; the rest is the keyed path.
        if (key === undefined) return Effect.map(run(body, ignoreActsOn), (r) => commandResponse(r, options.status))
        return keyed(request, key, body, run, options)
      })
  )

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

    // Once the key is ours it is completed or released whatever happens, interruption included.
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
        // A change the command commits keeps this answer in its own atomic unit (UserRepo.commit).
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
        const exit = yield* Effect.exit(restore(Effect.locally(run(body, actsOn), currentKeyedWrite, write)))
        // A failure to keep or release the answer does not change it: the lock then expires on its own.
        const settle = (response: HttpServerResponse.HttpServerResponse, code: string | undefined) =>
          Effect.ignore(
            keepsAnswer(response.status, code)
              ? store.complete(scope, reservation.lock, toStored(response), userId)
              : store.release(scope, reservation.lock)
          )
        if (Exit.isSuccess(exit)) {
          const response = commandResponse(exit.value, status)
          // A change's answer was kept by the change's own atomic unit already.
          if (!(keptWithChange && exit.value.event !== null)) yield* settle(response, undefined)
          return response
        }
        // Rendered here, once, as the edge renders any failure: what is kept is what the client gets. The edge logs
        // the code it is told.
        const { requestId } = yield* FiberRef.get(CurrentRequest)
        const problem = problemOfCause(exit.cause, requestId)
        const response = problemResponse(problem)
        yield* settle(response, problem.code)
        // A defect goes on to the edge, which logs what kind it was.
        if (problem.status === 500) return yield* Effect.failCause(exit.cause)
        yield* noteCode(problem.code)
        return response
      })
    )
  })
