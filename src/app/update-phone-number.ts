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

/**
 * Who may set the user's number, asked once: what it answers is the command for that user, so that the HTTP handler
 * can authorize before it reads a body or claims an Idempotency-Key, and run the command without asking again.
 */
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
