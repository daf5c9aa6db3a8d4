/**
 * UserRepo: the users rows (current state, with the raw number) and the atomic write of a row with its event.
 */
import { Context, type Effect } from "effect"
import type { PhoneFingerprints, User, UserEvent } from "../domain/user.js"
import type { IdempotencyKeyInUse, PhoneNumberInUse, StoreUnavailable, VersionConflict } from "./errors.js"

/** A user as stored: its row, and the hash of its last event, which the next event's link extends. */
export interface StoredUser {
  readonly user: User
  readonly headHash: string
}

export interface Change {
  /** The row as it must be after the write; `state.version` is the event's version. */
  readonly state: User
  readonly event: UserEvent
  /** The hash of the user's last event as read (the genesis hash for a new user): the event links to it. */
  readonly previousHash: string
  /** The openings of the event's fingerprint commitments: kept beside the event until the user is erased. */
  readonly fingerprints?: PhoneFingerprints
}

export class UserRepo extends Context.Tag("users-api/UserRepo")<
  UserRepo,
  {
    readonly find: (organizationId: string, userId: string) => Effect.Effect<StoredUser | null, StoreUnavailable>
    /**
     * Writes the row and appends its event, linked to `previousHash`, in one atomic unit. Fails with VersionConflict,
     * writing nothing, when the row is no longer at `state.version - 1` (or exists already, for version 1) or its
     * chain moved on; with PhoneNumberInUse when another user of the organization holds the number. Under an
     * Idempotency-Key (currentKeyedWrite) the key's answer is kept in the same unit; IdempotencyKeyInUse when another
     * attempt took the key over meanwhile.
     */
    readonly commit: (
      change: Change
    ) => Effect.Effect<void, VersionConflict | PhoneNumberInUse | IdempotencyKeyInUse | StoreUnavailable>
    /** Succeeds when the store answers. */
    readonly ping: Effect.Effect<void, StoreUnavailable>
  }
>() {}
