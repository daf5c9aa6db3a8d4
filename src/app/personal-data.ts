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

/**
 * Who may mark numbers verified, asked once: what it answers is the command, so that the HTTP handler can authorize
 * before it reads a body or claims an Idempotency-Key, and run the command without asking again.
 */
export const authorizeMarkPhoneNumberVerified = Effect.flatMap(
  CurrentPrincipal,
  (principal) =>
    Effect.as(authorizeVerify(principal), (input: MarkPhoneNumberVerifiedInput) =>
      Effect.flatMap(
        parsePhoneNumber(input.phoneNumber),
        (phoneNumber) =>
          runCommand(principal, { type: "MarkPhoneNumberVerified", userId: input.userId, phoneNumber }, input.ifMatch)
      ))
)

export const markPhoneNumberVerified = (input: MarkPhoneNumberVerifiedInput) =>
  Effect.flatMap(authorizeMarkPhoneNumberVerified, (mark) => mark(input))

/** Who may erase the user, asked once: what it answers is the erasure of that user, run without asking again. */
export const authorizeErasePersonalData = (userId: string) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    Effect.as(
      authorizeErase(principal, userId),
      (ifMatch: IfMatch | undefined) => runCommand(principal, { type: "ErasePersonalData", userId }, ifMatch)
    ))

/** Deletes every raw PII value of the user; the audit trail keeps only what it always had (masked forms). */
export const erasePersonalData = (input: { readonly userId: string; readonly ifMatch: IfMatch | undefined }) =>
  Effect.flatMap(authorizeErasePersonalData(input.userId), (erase) => erase(input.ifMatch))
