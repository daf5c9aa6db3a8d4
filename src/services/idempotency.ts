import { Context, type Effect, FiberRef } from "effect"
import type { UserEvent } from "../domain/user.js"
import type { StoreUnavailable } from "./errors.js"

export interface StoredResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export interface IdempotencyScope {
  readonly organizationId: string
  readonly principal: string
  readonly key: string
}

export type Reservation =
  | { readonly _tag: "Acquired"; readonly lock: string }
  | { readonly _tag: "Replay"; readonly response: StoredResponse }
  | { readonly _tag: "InUse" }
  | { readonly _tag: "Mismatch" }

export interface IdempotencyTimings {
  readonly retentionMillis: number
  readonly lockMillis: number
}

export const DEFAULT_TIMINGS: IdempotencyTimings = { retentionMillis: 24 * 60 * 60 * 1000, lockMillis: 60 * 1000 }

/** Shorter would be guessable. */
export const MIN_IDEMPOTENCY_HASH_KEY_LENGTH = 32

export class Idempotency extends Context.Tag("users-api/Idempotency")<
  Idempotency,
  {
    readonly retentionMillis: number
    readonly reserve: (scope: IdempotencyScope, requestHash: string) => Effect.Effect<Reservation, StoreUnavailable>
    readonly complete: (
      scope: IdempotencyScope,
      lock: string,
      response: StoredResponse,
      userId: string | undefined
    ) => Effect.Effect<void, StoreUnavailable>
    readonly release: (scope: IdempotencyScope, lock: string) => Effect.Effect<void, StoreUnavailable>
  }
>() {}

export interface Written {
  readonly aggregateId: string
  readonly version: number
  readonly event: UserEvent
}

export interface KeyedWrite {
  readonly scope: IdempotencyScope
  readonly lock: string
  readonly requestHash: string
  readonly retentionMillis: number
  readonly answer: (written: Written) => StoredResponse
}

/** In the change's atomic unit: a retry can't reclaim a committed change's key. */
export const currentKeyedWrite: FiberRef.FiberRef<KeyedWrite | undefined> = FiberRef.unsafeMake<
  KeyedWrite | undefined
>(undefined)
