/**
 * Idempotency: the first completed answer to a request with an `Idempotency-Key`, kept per organization, principal
 * and key so that a client's retry gets that answer again instead of running the command twice
 * (src/http/idempotency.ts).
 */
import { Context, type Effect, FiberRef } from "effect"
import type { UserEvent } from "../domain/user.js"
import type { StoreUnavailable } from "./errors.js"

/** An answer as the client received it, minus the per-request X-Request-Id. */
export interface StoredResponse {
  readonly status: number
  /** Lower-case names: content-type, etag and the like. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** Whose key it is: two callers of one organization never share a key space (issue 9). */
export interface IdempotencyScope {
  readonly organizationId: string
  /** The caller that sent the key: its actor type and id, e.g. `service:svc_backend` or `user:u1`. */
  readonly principal: string
  readonly key: string
}

/** What became of a request's claim on its key. */
export type Reservation =
  /** The key is this request's until `complete` or `release` (or until the lock expires). */
  | { readonly _tag: "Acquired"; readonly lock: string }
  /** The same request completed before: answer with its response. */
  | { readonly _tag: "Replay"; readonly response: StoredResponse }
  /** The same request is still running elsewhere. */
  | { readonly _tag: "InUse" }
  /** The key was used for a different request. */
  | { readonly _tag: "Mismatch" }

/** How long answers are kept, and how long a running request holds its key before a crash is assumed. */
export interface IdempotencyTimings {
  readonly retentionMillis: number
  readonly lockMillis: number
}

export const DEFAULT_TIMINGS: IdempotencyTimings = { retentionMillis: 24 * 60 * 60 * 1000, lockMillis: 60 * 1000 }

/** IDEMPOTENCY_HASH_KEY, the secret of the request hashes, is refused when shorter: it would be guessable. */
export const MIN_IDEMPOTENCY_HASH_KEY_LENGTH = 32

export class Idempotency extends Context.Tag("users-api/Idempotency")<
  Idempotency,
  {
    /** How long a completed answer is kept. */
    readonly retentionMillis: number
    /** Claims the key for a request (identified by its hash), or says why not. Expired entries count as absent. */
    readonly reserve: (scope: IdempotencyScope, requestHash: string) => Effect.Effect<Reservation, StoreUnavailable>
    /**
     * Stores the answer under the key claimed with `lock`; kept for the retention period. `userId` names the user the
     * command acted on, if known: erasing that user deletes the record (UserRepo.commit of UserPersonalDataErased).
     */
    readonly complete: (
      scope: IdempotencyScope,
      lock: string,
      response: StoredResponse,
      userId: string | undefined
    ) => Effect.Effect<void, StoreUnavailable>
    /** Gives the key up without an answer, so the client's retry runs the request again. */
    readonly release: (scope: IdempotencyScope, lock: string) => Effect.Effect<void, StoreUnavailable>
  }
>() {}

/** What a committed change produced: a keyed command's answer is rendered from it. */
export interface Written {
  readonly aggregateId: string
  readonly version: number
  readonly event: UserEvent
}

/** The claimed key a command runs under, and how its answer reads should its change commit. */
export interface KeyedWrite {
  readonly scope: IdempotencyScope
  readonly lock: string
  readonly requestHash: string
  readonly retentionMillis: number
  /** Called by the store as it builds the atomic unit; the answer is kept in that same unit. */
  readonly answer: (written: Written) => StoredResponse
}

/**
 * The key of the running command, if its request sent one: UserRepo.commit keeps the key's answer in the same atomic
 * unit as the change, so a crash can never leave a committed change whose key a retry could claim again.
 */
export const currentKeyedWrite: FiberRef.FiberRef<KeyedWrite | undefined> = FiberRef.unsafeMake<
  KeyedWrite | undefined
>(undefined)
