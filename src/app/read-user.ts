import { Clock, Effect } from "effect"
import { UserNotFound } from "../domain/errors.js"
import { MAX_CODE_ATTEMPTS } from "../domain/phone-change.js"
import { CurrentPrincipal } from "../services/auth.js"
import { Masker } from "../services/masker.js"
import { PhoneVerificationStore } from "../services/phone-verification.js"
import { UserRepo } from "../services/user-repo.js"
import { authorizeRead, maySeeRawNumber } from "./authorize.js"

export interface UserView {
  readonly id: string
  readonly version: number
  readonly phoneNumber: string | null
  readonly phoneNumberForm: "raw" | "masked"
  readonly phoneNumberVerified: boolean
  readonly erased: boolean
  /** Only while a verified change waits for its code. */
  readonly pendingPhoneNumberChange?: { readonly maskedPhoneNumber: string; readonly expiresAt: string }
}

const pendingOf = (organizationId: string, userId: string) =>
  Effect.gen(function*() {
    const pending = yield* Effect.flatMap(PhoneVerificationStore, (store) => store.pending(organizationId, userId))
    const now = new Date(yield* Clock.currentTimeMillis).toISOString()
    return pending === null || now >= pending.expiresAt || pending.attempts >= MAX_CODE_ATTEMPTS
      ? {}
      : { pendingPhoneNumberChange: { maskedPhoneNumber: pending.maskedPhoneNumber, expiresAt: pending.expiresAt } }
  })

export const readUser = (userId: string) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeRead(principal, userId)
    const stored = yield* Effect.flatMap(UserRepo, (repo) => repo.find(principal.organizationId, userId))
    if (stored === null) return yield* new UserNotFound({ userId })
    const { mask } = yield* Masker
    const { user } = stored
    const raw = maySeeRawNumber(principal, userId)
    const view: UserView = {
      id: user.id,
      version: user.version,
      phoneNumber: raw ? user.phoneNumber : mask(user.phoneNumber),
      phoneNumberForm: raw ? "raw" : "masked",
      phoneNumberVerified: user.phoneNumberVerified,
      erased: user.erasedAt !== null,
      ...(yield* pendingOf(principal.organizationId, userId))
    }
    return view
  })
