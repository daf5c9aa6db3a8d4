/**
 * Domain errors: what went wrong, in the domain's words. No HTTP here; src/http/problems.ts maps them.
 */
import { Data } from "effect"

/** The input is not a phone number we accept. `hint` is safe to show: it never contains the input. */
export class InvalidPhoneNumber extends Data.TaggedError("InvalidPhoneNumber")<{
  readonly reason: "not-a-number" | "not-international" | "invalid"
  readonly hint: string
}> {}

/** Creating a user whose id exists already, whatever data came with it. */
export class UserAlreadyExists extends Data.TaggedError("UserAlreadyExists")<{
  readonly userId: string
}> {}
