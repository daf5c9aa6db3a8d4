/**
 * Reading a user, and the head of the organization's audit chain. The raw number goes only to the user
 * itself or a service with users:pii:read; everyone else allowed to read gets the masked form.
 */
import { Effect } from "effect"
import type { ChainHead } from "../audit/chain.js"
import { CurrentPrincipal } from "../services/auth.js"
import { EventLog } from "../services/event-log.js"
import { Masker } from "../services/masker.js"
import { UserRepo } from "../services/user-repo.js"
import { authorizeAuditRead, authorizeRead, maySeeRawNumber } from "./authorize.js"
import { OrganizationNotFound, UserNotFound } from "./errors.js"

export interface UserView {
  readonly id: string
  readonly version: number
  readonly phoneNumber: string | null
  /** "raw" (E.164) or "masked" (****1234): which form phoneNumber is in. */
  readonly phoneNumberForm: "raw" | "masked"
  readonly phoneNumberVerified: boolean
  readonly erased: boolean
}

export const readUser = (userId: string) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeRead(principal, userId)
    const user = yield* (yield* UserRepo).find(principal.organizationId, userId)
    if (user === null) return yield* new UserNotFound({ userId })
    const raw = maySeeRawNumber(principal, userId)
    const { mask } = yield* Masker
    const view: UserView = {
      id: user.id,
      version: user.version,
      phoneNumber: raw ? user.phoneNumber : mask(user.phoneNumber),
      phoneNumberForm: raw ? "raw" : "masked",
      phoneNumberVerified: user.phoneNumberVerified,
      erased: user.erasedAt !== null
    }
    return view
  })

export interface AuditHead extends ChainHead {
  readonly organizationId: string
}

/** Another organization's head is indistinguishable from an unknown organization's. */
export const readAuditHead = (organizationId: string) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeAuditRead(principal)
    if (organizationId !== principal.organizationId) {
      return yield* new OrganizationNotFound()
    }
    const head = yield* (yield* EventLog).head(organizationId)
    const view: AuditHead = { organizationId, ...head }
    return view
  })
