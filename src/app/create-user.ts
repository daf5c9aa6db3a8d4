/** An existing id is a 409 whatever data comes with it; a retry gets its first answer through its Idempotency-Key. */
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

export const authorizeCreateUser = Effect.flatMap(
  CurrentPrincipal,
  (principal) =>
    Effect.as(authorizeCreate(principal), (input: CreateUserInput) =>
      Effect.flatMap(
        input.phoneNumber == null ? Effect.succeed(null) : parsePhoneNumber(input.phoneNumber),
        (phoneNumber) =>
          Effect.flatMap(
            input.userId === undefined ? uuidv7 : Effect.succeed(input.userId),
            (userId) => runCommand(principal, { type: "CreateUser", userId, phoneNumber })
          )
      ))
)

export const createUser = (input: CreateUserInput) => Effect.flatMap(authorizeCreateUser, (create) => create(input))
