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

export const updatePhoneNumber = (input: UpdatePhoneNumberInput) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeWrite(principal, input.userId)
    const phoneNumber = input.phoneNumber === null ? null : yield* parsePhoneNumber(input.phoneNumber)
    return yield* runCommand(principal, { type: "UpdatePhoneNumber", userId: input.userId, phoneNumber }, input.ifMatch)
  })
