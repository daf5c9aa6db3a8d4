/**
 * Why a command cannot apply, in the domain's words: the decider's rejections and a number it does not accept.
 * Each class declares its HTTP answer on its schema (problem.ts), so nothing maps them by hand.
 */
import * as Schema from "effect/Schema"
import { problem } from "./problem.js"

/** The input is not a phone number we accept. `hint` is safe to show: it never contains the input. */
export class InvalidPhoneNumber extends Schema.TaggedError<InvalidPhoneNumber>()(
  "InvalidPhoneNumber",
  {
    reason: Schema.Literal("not-a-number", "not-international", "invalid"),
    hint: Schema.String
  },
  problem<{ readonly hint: string }>({
    status: 422,
    title: "Invalid phone number",
    codes: ["invalid-phone-number"],
    detail: "The phone number is not accepted.",
    hint: (e) => e.hint
  })
) {}

/** The user does not exist in the caller's organization (users of other organizations look the same). */
export class UserNotFound extends Schema.TaggedError<UserNotFound>()(
  "UserNotFound",
  { userId: Schema.String },
  problem({
    status: 404,
    title: "User not found",
    codes: ["user-not-found"],
    detail: "No user with this id exists in your organization."
  })
) {}

/** Creating a user whose id exists already, whatever its data. */
export class UserAlreadyExists extends Schema.TaggedError<UserAlreadyExists>()(
  "UserAlreadyExists",
  {
    userId: Schema.String
  },
  problem({
    status: 409,
    title: "User already exists",
    codes: ["user-already-exists"],
    detail: "A user with this id exists already; nothing was changed."
  })
) {}

/** The user's personal data was erased; it takes no more personal data. */
export class UserErased extends Schema.TaggedError<UserErased>()(
  "UserErased",
  { userId: Schema.String },
  problem({
    status: 410,
    title: "User erased",
    codes: ["user-erased"],
    detail: "The user's personal data was erased; it takes no new personal data."
  })
) {}

/** MarkPhoneNumberVerified on a user without a number, or naming another number than the stored one. */
export class VerificationRejected extends Schema.TaggedError<VerificationRejected>()(
  "VerificationRejected",
  {
    reason: Schema.Literal("no-phone-number", "phone-number-mismatch")
  },
  problem<{ readonly reason: "no-phone-number" | "phone-number-mismatch" }>({
    status: 409,
    title: "Cannot verify",
    codes: ["no-phone-number", "phone-number-mismatch"],
    code: (e) => e.reason,
    detail: (e) =>
      e.reason === "no-phone-number"
        ? "The user has no phone number to verify."
        : "The number named is not the user's current number; it may have changed since it was checked."
  })
) {}

/** ConfirmPhoneNumberChange on a user with no pending change (none requested, or it was confirmed or discarded). */
export class NoPendingChange extends Schema.TaggedError<NoPendingChange>()(
  "NoPendingChange",
  {},
  problem({
    status: 404,
    title: "No pending change",
    codes: ["no-pending-change"],
    detail: "The user has no pending phone number change to confirm; request one with UpdatePhoneNumber."
  })
) {}

/** The code's ten minutes are over, or its last attempt was used: the pending change is gone. */
export class VerificationExpired extends Schema.TaggedError<VerificationExpired>()(
  "VerificationExpired",
  {},
  problem({
    status: 410,
    title: "Verification expired",
    codes: ["verification-expired"],
    detail: "The verification code expired or its attempts are used up; the pending change was discarded. " +
      "Request a new code."
  })
) {}

/** A wrong code; the body tells how many attempts are left before the change is discarded. */
export class InvalidVerificationCode extends Schema.TaggedError<InvalidVerificationCode>()(
  "InvalidVerificationCode",
  { attemptsLeft: Schema.Int },
  problem<{ readonly attemptsLeft: number }>({
    status: 422,
    title: "Invalid verification code",
    codes: ["invalid-verification-code"],
    detail: (e) => `The code does not match; ${e.attemptsLeft} attempt${e.attemptsLeft === 1 ? "" : "s"} left.`,
    attemptsLeft: (e) => e.attemptsLeft
  })
) {}
