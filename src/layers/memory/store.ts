// Doubles for the program's logic (version guard, chain, atomic commit); storage is tested on real SQLite and D1.
import { Effect } from "effect"
import { GENESIS_HASH, nextLink } from "../../audit/chain.js"
import type { PendingPhoneNumberChange } from "../../domain/phone-change.js"
import type { PhoneFingerprints, User, UserEvent } from "../../domain/user.js"
import type { Principal } from "../../services/auth.js"
import { PhoneNumberInUse, StoreUnavailable, VersionConflict } from "../../services/errors.js"
import type { EventLog } from "../../services/event-log.js"
import type { StoredResponse } from "../../services/idempotency.js"
import type { PhoneVerificationStore } from "../../services/phone-verification.js"
import type { UserRepo } from "../../services/user-repo.js"

export interface MemoryStore {
  readonly users: Map<string, User>
  readonly events: Array<UserEvent>
  readonly heads: Map<string, string>
  readonly idempotency: Map<string, MemoryIdempotencyEntry>
  /** Fingerprint openings by organization, user and version. */
  readonly fingerprints: Map<string, PhoneFingerprints>
  readonly tokens: Map<string, Principal>
  readonly apiKeys: Map<string, string>
  /** Pending phone number changes by organization and user; code-delivery URLs by organization. */
  readonly pending: Map<string, PendingPhoneNumberChange>
  readonly codeDelivery: Map<string, string>
  /** The next commit fails before writing anything. */
  failNextCommit: boolean
}

export interface MemoryIdempotencyEntry {
  readonly organizationId: string
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
  tokens: new Map(),
  apiKeys: new Map(),
  pending: new Map(),
  codeDelivery: new Map(),
  failNextCommit: false
})

export const key = (organizationId: string, userId: string) => `${organizationId}\u0000${userId}`

/** Without an event: a user to start from. */
export const putUser = (store: MemoryStore, user: User): void =>
  void store.users.set(key(user.organizationId, user.id), user)

export const memoryRepo = (store: MemoryStore): UserRepo["Type"] => ({
  find: (organizationId, userId) =>
    Effect.sync(() => {
      const user = store.users.get(key(organizationId, userId))
      return user === undefined
        ? null
        : { user, headHash: store.heads.get(key(organizationId, userId)) ?? GENESIS_HASH }
    }),
  commit: ({ event, fingerprints, pending, previousHash, released, state }) =>
    Effect.suspend((): Effect.Effect<void, VersionConflict | PhoneNumberInUse | StoreUnavailable> => {
      if (store.failNextCommit) {
        store.failNextCommit = false
        return Effect.fail(new StoreUnavailable({ cause: "injected" }))
      }
      const current = store.users.get(key(state.organizationId, state.id))
      if ((current?.version ?? 0) !== state.version - 1) return Effect.fail(new VersionConflict({ userId: state.id }))
      const holder = released === undefined
        ? undefined
        : store.users.get(key(released.state.organizationId, released.state.id))
      if (released !== undefined && (holder?.version ?? 0) !== released.state.version - 1) {
        return Effect.fail(new VersionConflict({ userId: released.state.id }))
      }
      const taken = state.phoneNumber !== null &&
        [...store.users.values()].some((u) =>
          u.organizationId === state.organizationId && u.id !== state.id && u.id !== released?.state.id &&
          u.phoneNumber === state.phoneNumber
        )
      if (taken) return Effect.fail(new PhoneNumberInUse())
      const id = key(state.organizationId, state.id)
      // As the stores' guard: the event must extend the chain head its writer read.
      if ((store.heads.get(id) ?? GENESIS_HASH) !== previousHash) {
        return Effect.fail(new VersionConflict({ userId: state.id }))
      }
      // Where a concurrent writer could land first, as in a store.
      return Effect.yieldNow().pipe(
        Effect.flatMap(() => {
          if (store.users.get(id) !== current) return Effect.fail(new VersionConflict({ userId: state.id }))
          if (released !== undefined) {
            const holderId = key(released.state.organizationId, released.state.id)
            if (store.users.get(holderId) !== holder) return Effect.fail(new VersionConflict({ userId: state.id }))
            store.users.set(holderId, released.state)
            store.events.push(released.event)
            store.heads.set(holderId, nextLink(released.previousHash, released.event).hash)
          }
          if (pending !== undefined) {
            for (const [other, change] of store.pending) {
              if (other.startsWith(`${state.organizationId}\u0000`) && change.expiresAt <= event.occurredAt) {
                store.pending.delete(other)
              }
            }
          }
          if (pending?._tag === "Put") store.pending.set(id, pending.change)
          if (pending?._tag === "Clear" || event.type === "UserPersonalDataErased") store.pending.delete(id)
          store.users.set(id, state)
          store.events.push(event)
          store.heads.set(id, nextLink(previousHash, event).hash)
          if (fingerprints !== undefined) store.fingerprints.set(`${id}\u0000${event.version}`, fingerprints)
          // As rows.ts changeStatements.
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
  // The feed and checkpoints are tested against real SQLite and D1.
  feed: () => Effect.succeed([]),
  checkpoints: () => Effect.succeed([]),
  checkpoint: () => Effect.succeed(undefined),
  unsealedOrganizations: () => Effect.succeed([])
})

export const memoryPhoneVerification = (store: MemoryStore): PhoneVerificationStore["Type"] => ({
  pending: (organizationId, userId) => Effect.sync(() => store.pending.get(key(organizationId, userId)) ?? null),
  countAttempt: (organizationId, userId, id) =>
    Effect.sync(() => {
      const found = store.pending.get(key(organizationId, userId))
      if (found?.id === id) store.pending.set(key(organizationId, userId), { ...found, attempts: found.attempts + 1 })
    }),
  discard: (organizationId, userId, id) =>
    Effect.sync(() => {
      if (store.pending.get(key(organizationId, userId))?.id === id) store.pending.delete(key(organizationId, userId))
    }),
  holderOf: (organizationId, phoneNumber) =>
    Effect.sync(() => {
      const user = [...store.users.values()].find((u) =>
        u.organizationId === organizationId && u.phoneNumber === phoneNumber
      )
      return user === undefined
        ? null
        : { user, headHash: store.heads.get(key(organizationId, user.id)) ?? GENESIS_HASH }
    }),
  codeDeliveryUrl: (organizationId) => Effect.sync(() => store.codeDelivery.get(organizationId) ?? null),
  setCodeDeliveryUrl: (organizationId, url) => Effect.sync(() => void store.codeDelivery.set(organizationId, url))
})
