/**
 * The lifecycle of a user's personal data beyond setting it: marking the number verified, and erasure.
 */
import { Effect } from "effect"
import { parsePhoneNumber } from "../domain/phone.js"
import { CurrentPrincipal } from "../services/auth.js"
import { authorizeErase, authorizeVerify } from "./authorize.js"
import { type IfMatch, runCommand } from "./run-command.js"

export interface MarkPhoneNumberVerifiedInput {
  readonly userId: string
  /** The number the verifier checked (e.g. sent the SMS to); it must still be the stored one. */
  readonly phoneNumber: string
  readonly ifMatch: IfMatch | undefined
}

/** Who may mark numbers verified: the HTTP handler checks it before it claims an Idempotency-Key, the program again. */
export const authorizeMarkPhoneNumberVerified = Effect.flatMap(CurrentPrincipal, authorizeVerify)

export const markPhoneNumberVerified = (input: MarkPhoneNumberVerifiedInput) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    authorizeVerify(principal).pipe(
      Effect.zipRight(parsePhoneNumber(input.phoneNumber)),
      Effect.flatMap((phoneNumber) =>
        runCommand(principal, { type: "MarkPhoneNumberVerified", userId: input.userId, phoneNumber }, input.ifMatch)
      )
    ))

/** Who may erase the user: the HTTP handler checks it before it claims an Idempotency-Key, the program again. */
export const authorizeErasePersonalData = (userId: string) =>
  Effect.flatMap(CurrentPrincipal, (principal) => authorizeErase(principal, userId))

/** Deletes every raw PII value of the user; the audit trail keeps only what it always had (masked forms). */
export const erasePersonalData = (input: { readonly userId: string; readonly ifMatch: IfMatch | undefined }) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    Effect.zipRight(
      authorizeErase(principal, input.userId),
      runCommand(principal, { type: "ErasePersonalData", userId: input.userId }, input.ifMatch)
    ))
