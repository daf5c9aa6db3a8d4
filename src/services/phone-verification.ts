import { Context, type Effect } from "effect"
import type { PendingPhoneNumberChange } from "../domain/phone-change.js"
import type { E164 } from "../domain/phone.js"
import type { StoreUnavailable } from "./errors.js"
import type { StoredUser } from "./user-repo.js"

/** The pending changes and the code-delivery endpoints; changes are written with their event (UserRepo.commit). */
export class PhoneVerificationStore extends Context.Tag("users-api/PhoneVerificationStore")<PhoneVerificationStore, {
  readonly pending: (
    organizationId: string,
    userId: string
  ) => Effect.Effect<PendingPhoneNumberChange | null, StoreUnavailable>
  /** One attempt counted against the change, before its code is compared. */
  readonly countAttempt: (organizationId: string, userId: string, id: string) => Effect.Effect<void, StoreUnavailable>
  /** Expired or used up: the number is forgotten. */
  readonly discard: (organizationId: string, userId: string, id: string) => Effect.Effect<void, StoreUnavailable>
  readonly holderOf: (organizationId: string, phoneNumber: E164) => Effect.Effect<StoredUser | null, StoreUnavailable>
  readonly codeDeliveryUrl: (organizationId: string) => Effect.Effect<string | null, StoreUnavailable>
  readonly setCodeDeliveryUrl: (
    organizationId: string,
    url: string,
    now: string
  ) => Effect.Effect<void, StoreUnavailable>
}>() {}
