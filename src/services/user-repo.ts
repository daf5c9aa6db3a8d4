import { Context, type Effect } from "effect"
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
