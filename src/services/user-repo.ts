import { Context, type Effect } from "effect"
import type { PendingWrite } from "../domain/phone-change.js"
import type { PhoneFingerprints, User, UserEvent } from "../domain/user.js"
import type { IdempotencyKeyInUse, PhoneNumberInUse, StoreUnavailable, VersionConflict } from "./errors.js"

export interface StoredUser {
  readonly user: User
  readonly headHash: string
}

export interface Change {
  readonly state: User
  readonly event: UserEvent
  readonly previousHash: string
  readonly fingerprints?: PhoneFingerprints
  /** The user's pending phone number change, written in the same unit. */
  readonly pending?: PendingWrite
  /** Another user's number released in the same unit, written first (so the number is free). */
  readonly released?: Omit<Change, "released" | "pending">
}

export class UserRepo extends Context.Tag("users-api/UserRepo")<
  UserRepo,
  {
    readonly find: (organizationId: string, userId: string) => Effect.Effect<StoredUser | null, StoreUnavailable>
    /** One atomic unit; writes nothing on VersionConflict. */
    readonly commit: (
      change: Change
    ) => Effect.Effect<void, VersionConflict | PhoneNumberInUse | IdempotencyKeyInUse | StoreUnavailable>
    readonly ping: Effect.Effect<void, StoreUnavailable>
  }
>() {}
