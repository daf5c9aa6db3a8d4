/**
 * Why a command cannot apply, in the domain's words: the decider's rejections and a number it does not accept.
 * No HTTP here; src/http/problems.ts is the one table that turns every error into a problem answer.
 */
import { Data } from "effect"

/** The input is not a phone number we accept. `hint` is safe to show: it never contains the input. */
export class InvalidPhoneNumber extends Data.TaggedError("InvalidPhoneNumber")<{
  readonly reason: "not-a-number" | "not-international" | "invalid"
  readonly hint: string
}> {}

/** The user does not exist in the caller's organization (users of other organizations look the same). */
export class UserNotFound extends Data.TaggedError("UserNotFound")<{ readonly userId: string }> {}

/** Creating a user whose id exists already, whatever its data. */
export class UserAlreadyExists extends Data.TaggedError("UserAlreadyExists")<{ readonly userId: string }> {}

/** The user's personal data was erased; it takes no more personal data. */
export class UserErased extends Data.TaggedError("UserErased")<{ readonly userId: string }> {}

/** MarkPhoneNumberVerified on a user without a number, or naming another number than the stored one. */
export class VerificationRejected extends Data.TaggedError("VerificationRejected")<{
  readonly reason: "no-phone-number" | "phone-number-mismatch"
}> {}
