import { Effect } from "effect"
import { parsePhoneNumber } from "../domain/phone.js"
import { CurrentPrincipal } from "../services/auth.js"
import { authorizeWrite } from "./authorize.js"
import { type IfMatch, runCommand } from "./run-command.js"

export interface UpdatePhoneNumberInput {
  readonly userId: string
  readonly phoneNumber: string | null
  readonly ifMatch: IfMatch | undefined
}

/** Split so the HTTP handler authorizes before it reads a body or claims an Idempotency-Key. */
export const authorizeUpdatePhoneNumber = (userId: string) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    Effect.as(
      authorizeWrite(principal, userId),
      (input: Omit<UpdatePhoneNumberInput, "userId">) =>
        Effect.flatMap(
          input.phoneNumber === null ? Effect.succeed(null) : parsePhoneNumber(input.phoneNumber),
          (phoneNumber) => runCommand(principal, { type: "UpdatePhoneNumber", userId, phoneNumber }, input.ifMatch)
        )
    ))

export const updatePhoneNumber = (input: UpdatePhoneNumberInput) =>
  Effect.flatMap(authorizeUpdatePhoneNumber(input.userId), (update) => update(input))
