/**
 * In-memory test doubles of Auth, UserRepo, EventLog and Idempotency, for fast tests of the program's logic.
 * They keep the stores' guarantees that the program relies on (the version guard, atomic commit),
 * but they are not a store: storage is tested against real SQLite and real local D1.
 */
import { Clock, Effect } from "effect"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import type { PhoneFingerprints, User, UserEvent } from "../../src/domain/user.js"
import { PhoneNumberInUse, StoreUnavailable, VersionConflict } from "../../src/services/errors.js"
import type { EventLog } from "../../src/services/event-log.js"
import {
  DEFAULT_TIMINGS,
  type Idempotency,
  type IdempotencyScope,
  type IdempotencyTimings,
  type Reservation,
  type StoredResponse
} from "../../src/services/idempotency.js"
import type { UserRepo } from "../../src/services/user-repo.js"

export interface MemoryStore {
  readonly users: Map<string, User>
  readonly events: Array<UserEvent>
  /** Each user's chain head: the hash of its last event. */
  readonly heads: Map<string, string>
  /** Idempotency-Key entries by organization, principal and key. */
  readonly idempotency: Map<string, MemoryIdempotencyEntry>
  /** The openings of events' fingerprint commitments, by organization, user and version (phone_fingerprints). */
  readonly fingerprints: Map<string, PhoneFingerprints>
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
  fingerprints: new Map(),
  failNextCommit: false
})

const key = (organizationId: string, userId: string) => `${organizationId}\u0000${userId}`

/** Puts `user` in the store as it is, without an event: a user to start from. */
export const putUser = (store: MemoryStore, user: User): void =>
  void store.users.set(key(user.organizationId, user.id), user)

const scopeKey = ({ key: idempotencyKey, organizationId, principal }: IdempotencyScope) =>
  `${organizationId}\u0000${principal}\u0000${idempotencyKey}`

export const memoryRepo = (store: MemoryStore): UserRepo["Type"] => ({
  find: (organizationId, userId) =>
    Effect.sync(() => {
      const user = store.users.get(key(organizationId, userId))
      return user === undefined
        ? null
        : { user, headHash: store.heads.get(key(organizationId, userId)) ?? GENESIS_HASH }
    }),
  commit: ({ event, fingerprints, previousHash, state }) =>
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
      const id = key(state.organizationId, state.id)
      // As the stores' guard: the event extends the chain head its writer read, or the write is refused.
      if ((store.heads.get(id) ?? GENESIS_HASH) !== previousHash) {
        return Effect.fail(new VersionConflict({ userId: state.id }))
      }
      // A yield between deciding and writing, where a concurrent writer could land first, as in a store.
      return Effect.yieldNow().pipe(
        Effect.flatMap(() => {
          if (store.users.get(id) !== current) return Effect.fail(new VersionConflict({ userId: state.id }))
          store.users.set(id, state)
          store.events.push(event)
          store.heads.set(id, nextLink(previousHash, event).hash)
          if (fingerprints !== undefined) store.fingerprints.set(`${id}\u0000${event.version}`, fingerprints)
          // As rows.ts changeStatements: erasure also deletes the user's completed idempotency records and fingerprints.
          if (event.type === "UserPersonalDataErased") {
            for (const opening of store.fingerprints.keys()) {
              if (opening.startsWith(`${id}\u0000`)) store.fingerprints.delete(opening)
            }
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
  // The doubles test the program's logic; the feed and checkpoints are the stores' and are tested against real SQLite
  // and D1.
  feed: () => Effect.succeed([]),
  checkpoints: () => Effect.succeed([]),
  checkpoint: () => Effect.succeed(undefined),
  unsealedOrganizations: () => Effect.succeed([])
})

/** The SQL store's rules (src/layers/sql/idempotency-store.ts) over a Map: expired entries count as absent. */
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
