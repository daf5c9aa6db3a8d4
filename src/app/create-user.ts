/**
 * CreateUser: a service creates a user in its organization; the same request again is a no-op.
 */
import { Effect } from "effect"
import { parsePhoneNumber } from "../domain/phone.js"
import { CurrentPrincipal } from "../services/auth.js"
import { authorizeCreate } from "./authorize.js"
import { uuidv7 } from "./context.js"
import { runCommand } from "./run-command.js"

export interface CreateUserInput {
  readonly userId: string | undefined
  readonly phoneNumber: string | null | undefined
}

export const createUser = (input: CreateUserInput) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* authorizeCreate(principal)
    const phoneNumber = input.phoneNumber == null ? null : yield* parsePhoneNumber(input.phoneNumber)
    const userId = input.userId ?? (yield* uuidv7)
    return yield* runCommand(principal, { type: "CreateUser", userId, phoneNumber })
  })
