/**
 * CreateUser: a service creates a user in its organization. An id that exists already is a 409 whatever data comes
 * with it; a client's retry gets its first answer back through its Idempotency-Key.
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

/** Who may create users: the HTTP handler checks it before it claims an Idempotency-Key, the program again. */
export const authorizeCreateUser = Effect.flatMap(CurrentPrincipal, authorizeCreate)

export const createUser = (input: CreateUserInput) =>
  Effect.gen(function*() {
    yield* authorizeCreateUser
    const principal = yield* CurrentPrincipal
    const phoneNumber = input.phoneNumber == null ? null : yield* parsePhoneNumber(input.phoneNumber)
    const userId = input.userId ?? (yield* uuidv7)
    return yield* runCommand(principal, { type: "CreateUser", userId, phoneNumber })
  })
