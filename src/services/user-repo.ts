/**
 * UserRepo: the users rows (current state, with the raw number) and the atomic write of a row with its event.
 */
import { Context, type Effect } from "effect"
import type { PhoneNumberInUse, StoreUnavailable, VersionConflict } from "../app/errors.js"
import type { User, UserEvent } from "../domain/user.js"

export interface Change {
  /** The row as it must be after the write; `state.version` is the event's version. */
  readonly state: User
  readonly event: UserEvent
}

export class UserRepo extends Context.Tag("users-api/UserRepo")<
  UserRepo,
  {
    readonly find: (organizationId: string, userId: string) => Effect.Effect<User | null, StoreUnavailable>
    /**
     * Writes the row and appends its event in one atomic unit. Fails with VersionConflict, writing
     * nothing, when the row is no longer at `state.version - 1` (or exists already, for version 1), or when
     * another writer extended the organization's audit chain first; with PhoneNumberInUse when another user
     * of the organization holds the number.
     */
    readonly commit: (change: Change) => Effect.Effect<void, VersionConflict | PhoneNumberInUse | StoreUnavailable>
    /** Succeeds when the store answers. */
    readonly ping: Effect.Effect<void, StoreUnavailable>
  }
>() {}
