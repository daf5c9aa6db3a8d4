/**
 * In-memory test doubles of Auth, UserRepo, EventLog and Idempotency, for fast tests of the program's logic.
 * They keep the stores' guarantees that the program relies on (the version guard, atomic commit),
 * but they are not a store: storage is tested against real SQLite and real local D1.
 */
import { Clock, Effect, Layer, Redacted } from "effect"
import { Forbidden, PhoneNumberInUse, StoreUnavailable, Unauthenticated, VersionConflict } from "../app/errors.js"
import { type ChainHead, emptyHead, nextLink } from "../audit/chain.js"
import type { User, UserEvent } from "../domain/user.js"
import { Auth, type Principal } from "../services/auth.js"
import { EventLog } from "../services/event-log.js"
import {
  DEFAULT_TIMINGS,
  Idempotency,
  type IdempotencyScope,
  type IdempotencyTimings,
  type Reservation,
  type StoredResponse
} from "../services/idempotency.js"
import { MaskerLast4 } from "../services/masker.js"
import { UserRepo } from "../services/user-repo.js"

export interface MemoryStore {
  readonly users: Map<string, User>
  readonly events: Array<UserEvent>
  readonly heads: Map<string, ChainHead>
  /** Idempotency-Key entries by organization, principal and key. */
  readonly idempotency: Map<string, MemoryIdempotencyEntry>
  /** When set, the next commit fails with StoreUnavailable before writing anything. */
  failNextCommit: boolean
}

export interface MemoryIdempotencyEntry {
  readonly organizationId: string
  /** The user the command acted on, once completed (if known). */
  readonly userId: string | undefined
  readonly requestHash: string
  readonly lock: string | null
  readonly response: StoredResponse | null
  readonly expiresAt: number
}

export const makeMemoryStore = (): MemoryStore => ({
  users: new Map(),
  events: [],
  heads: new Map(),
  idempotency: new Map(),
  failNextCommit: false
})

const key = (organizationId: string, userId: string) => `${organizationId}\u0000${userId}`

const scopeKey = ({ key: idempotencyKey, organizationId, principal }: IdempotencyScope) =>
  `${organizationId}\u0000${principal}\u0000${idempotencyKey}`

export const memoryRepo = (store: MemoryStore): UserRepo["Type"] => ({
  find: (organizationId, userId) => Effect.sync(() => store.users.get(key(organizationId, userId)) ?? null),
  commit: ({ event, state }) =>
    Effect.suspend((): Effect.Effect<void, VersionConflict | PhoneNumberInUse | StoreUnavailable> => {
      if (store.failNextCommit) {
        store.failNextCommit = false
        return Effect.fail(new StoreUnavailable({ cause: "injected" }))
      }
      const current = store.users.get(key(state.organizationId, state.id))
      if ((current?.version ?? 0) !== state.version - 1) return Effect.fail(new VersionConflict({ userId: state.id }))
      const taken = state.phoneNumber !== null &&
        [...store.users.values()].some((u) =>
          u.organizationId === state.organizationId && u.id !== state.id && u.phoneNumber === state.phoneNumber
        )
      if (taken) return Effect.fail(new PhoneNumberInUse())
      const head = store.heads.get(state.organizationId) ?? emptyHead
      return Effect.promise(() => nextLink(head, event)).pipe(
        Effect.flatMap((link) => {
          // Hashing yielded; another commit may have landed meanwhile, as a concurrent writer would in a store.
          const moved = store.users.get(key(state.organizationId, state.id)) !== current ||
            (store.heads.get(state.organizationId) ?? emptyHead) !== head
          if (moved) return Effect.fail(new VersionConflict({ userId: state.id }))
          store.users.set(key(state.organizationId, state.id), state)
          store.events.push(event)
          store.heads.set(state.organizationId, { sequence: link.chainSequence, hash: link.hash })
          // As rows.ts changeStatements: erasure also deletes the user's completed idempotency records.
          if (event.type === "UserPersonalDataErased") {
            for (const [id, entry] of store.idempotency) {
              if (
                entry.organizationId === state.organizationId && entry.userId === state.id && entry.response !== null
              ) {
                store.idempotency.delete(id)
              }
            }
          }
          return Effect.void
        })
      )
    }),
  ping: Effect.void
})

export const memoryEventLog = (store: MemoryStore): EventLog["Type"] => ({
  read: (organizationId, aggregateId, { afterVersion, limit }) =>
    Effect.sync(() =>
      store.events
        .filter((e) =>
          e.metadata.organizationId === organizationId && e.aggregateId === aggregateId && e.version > afterVersion
        )
        .sort((a, b) => a.version - b.version)
        .slice(0, limit)
    ),
  head: (organizationId) => Effect.sync(() => store.heads.get(organizationId) ?? emptyHead)
})

/** The SQL store's rules (src/layers/sql/idempotency-store.ts) over a Map: expired entries count as absent. */
export const memoryIdempotency = (
  store: MemoryStore,
  timings: IdempotencyTimings = DEFAULT_TIMINGS
): Idempotency["Type"] => ({
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

/** A token table instead of JWTs: token string → principal; one API key per organization. */
export const memoryAuth = (
  tokens: Record<string, Omit<Principal, "organizationId"> & { readonly organizationId?: string }>,
  apiKeys: Record<string, string>
): Auth["Type"] => ({
  authenticate: ({ apiKey, bearerToken }) =>
    Effect.gen(function*() {
      const organizationId = apiKey === undefined ? undefined : apiKeys[Redacted.value(apiKey)]
      if (organizationId === undefined) {
        return yield* new Unauthenticated({ reason: "invalid-api-key", detail: "The API key is unknown or revoked." })
      }
      const principal = bearerToken === undefined ? undefined : tokens[Redacted.value(bearerToken)]
      if (principal === undefined) {
        return yield* new Unauthenticated({ reason: "invalid-token", detail: "The token is malformed or not trusted." })
      }
      if (principal.organizationId !== undefined && principal.organizationId !== organizationId) {
        return yield* new Forbidden({
          reason: "organization-mismatch",
          detail: "The token belongs to another organization."
        })
      }
      return { ...principal, organizationId }
    })
})

export const MemoryLive = (
  store: MemoryStore,
  auth: Auth["Type"]
) =>
  Layer.mergeAll(
    Layer.succeed(UserRepo, memoryRepo(store)),
    Layer.succeed(EventLog, memoryEventLog(store)),
    Layer.succeed(Auth, auth),
    Layer.succeed(Idempotency, memoryIdempotency(store)),
    MaskerLast4
  )
