/**
 * UpdatePhoneNumber: the user itself or a service with users:write sets or removes the number.
 */
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

/** Who may set the user's number: the HTTP handler checks it before it claims an Idempotency-Key, the program again. */
export const authorizeUpdatePhoneNumber = (userId: string) =>
  Effect.flatMap(CurrentPrincipal, (principal) => authorizeWrite(principal, userId))

export const updatePhoneNumber = (input: UpdatePhoneNumberInput) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    authorizeWrite(principal, input.userId).pipe(
      Effect.zipRight(input.phoneNumber === null ? Effect.succeed(null) : parsePhoneNumber(input.phoneNumber)),
      Effect.flatMap((phoneNumber) =>
        runCommand(principal, { type: "UpdatePhoneNumber", userId: input.userId, phoneNumber }, input.ifMatch)
      )
    ))
