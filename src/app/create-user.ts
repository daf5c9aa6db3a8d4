/**
 * CreateUser: a service creates a user in its organization; the same request again is a no-op.
 */
import { Effect } from "effect"
import { decide } from "../domain/user.js"
import { parsePhoneNumber } from "../domain/phone.js"
import { UserAlreadyExists, type InvalidPhoneNumber } from "../domain/errors.js"
import { CurrentPrincipal } from "../services/auth.js"
import { Masker } from "../services/masker.js"
import { UserRepo } from "../services/user-repo.js"
import { authorizeCreate } from "./authorize.js"
import { commandMetadata, uuidv7 } from "./context.js"
import type { Forbidden, StoreUnavailable, VersionConflict } from "./errors.js"
import { retryOnConflict, type CommandResult } from "./update-phone-number.js"

export interface CreateUserInput {
  readonly userId: string | undefined
  readonly phoneNumber: string | null | undefined
}

export const createUser = (
  input: CreateUserInput
): Effect.Effect<
  CommandResult,
  Forbidden | InvalidPhoneNumber | UserAlreadyExists | VersionConflict | StoreUnavailable,
  CurrentPrincipal | UserRepo | Masker
> =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeCreate(principal)
    const phoneNumber = input.phoneNumber == null ? null : yield* parsePhoneNumber(input.phoneNumber)
    const userId = input.userId ?? (yield* uuidv7)
    const repo = yield* UserRepo
    const { mask } = yield* Masker
    return yield* retryOnConflict(
      Effect.gen(function*() {
        const state = yield* repo.find(principal.organizationId, userId)
        const metadata = yield* commandMetadata(principal)
        const decision = decide({ type: "CreateUser", userId, phoneNumber }, state, metadata, mask)
        switch (decision._tag) {
          case "UserNotFound":
          case "UserAlreadyExists":
            return yield* new UserAlreadyExists({ userId })
          case "Unchanged":
            return { aggregateId: userId, version: decision.state.version, event: null }
          case "Changed":
            yield* repo.commit(decision)
            return { aggregateId: userId, version: decision.state.version, event: decision.event }
        }
      })
    )
  })
