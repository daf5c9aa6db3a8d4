// The Idempotency double: the SQL store's rules over a Map.
import { Clock, Effect } from "effect"
import {
  DEFAULT_TIMINGS,
  type Idempotency,
  type IdempotencyScope,
  type IdempotencyTimings,
  type Reservation
} from "../../services/idempotency.js"
import type { MemoryStore } from "./store.js"

const scopeKey = ({ key: idempotencyKey, organizationId, principal }: IdempotencyScope) =>
  `${organizationId}\u0000${principal}\u0000${idempotencyKey}`

export const memoryIdempotency = (
  store: MemoryStore,
  timings: IdempotencyTimings = DEFAULT_TIMINGS
): Idempotency["Type"] => ({
  retentionMillis: timings.retentionMillis,
  reserve: (scope, requestHash) =>
    Effect.map(Clock.currentTimeMillis, (now): Reservation => {
      const id = scopeKey(scope)
      const entry = store.idempotency.get(id)
      if (entry === undefined || entry.expiresAt <= now) {
        const lock = crypto.randomUUID()
        store.idempotency.set(id, {
          organizationId: scope.organizationId,
          userId: undefined,
          requestHash,
          lock,
          response: null,
          expiresAt: now + timings.lockMillis
        })
        return { _tag: "Acquired", lock }
      }
      if (entry.requestHash !== requestHash) return { _tag: "Mismatch" }
      return entry.response === null ? { _tag: "InUse" } : { _tag: "Replay", response: entry.response }
    }),
  complete: (scope, lock, response, userId) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const id = scopeKey(scope)
      const entry = store.idempotency.get(id)
      if (entry?.lock !== lock || entry.response !== null) return
      store.idempotency.set(id, { ...entry, userId, lock: null, response, expiresAt: now + timings.retentionMillis })
    }),
  release: (scope, lock) =>
    Effect.sync(() => {
      const id = scopeKey(scope)
      const entry = store.idempotency.get(id)
      if (entry?.lock === lock && entry.response === null) store.idempotency.delete(id)
    })
})
