import { Effect } from "effect"
import { UserNotFound } from "../domain/errors.js"
import { CurrentPrincipal } from "../services/auth.js"
import { Masker } from "../services/masker.js"
import { UserRepo } from "../services/user-repo.js"
import { authorizeRead, maySeeRawNumber } from "./authorize.js"

export interface UserView {
  readonly id: string
  readonly version: number
  readonly phoneNumber: string | null
  readonly phoneNumberForm: "raw" | "masked"
  readonly phoneNumberVerified: boolean
  readonly erased: boolean
}

export const readUser = (userId: string) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    authorizeRead(principal, userId).pipe(
      Effect.zipRight(Effect.flatMap(UserRepo, (repo) => repo.find(principal.organizationId, userId))),
      Effect.flatMap((stored) =>
        stored === null ? Effect.fail(new UserNotFound({ userId })) : Effect.map(Masker, ({ mask }): UserView => {
          const { user } = stored
          const raw = maySeeRawNumber(principal, userId)
          return {
            id: user.id,
            version: user.version,
            phoneNumber: raw ? user.phoneNumber : mask(user.phoneNumber),
            phoneNumberForm: raw ? "raw" : "masked",
            phoneNumberVerified: user.phoneNumberVerified,
            erased: user.erasedAt !== null
          }
        })
      )
    ))
