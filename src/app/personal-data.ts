import { Effect } from "effect"
import { parsePhoneNumber } from "../domain/phone.js"
import { CurrentPrincipal } from "../services/auth.js"
import { authorizeErase, authorizeVerify } from "./authorize.js"
import { type IfMatch, runCommand } from "./run-command.js"

export interface MarkPhoneNumberVerifiedInput {
  readonly userId: string
  /** The number the verifier checked; it must still be the stored one. */
  readonly phoneNumber: string
  readonly ifMatch: IfMatch | undefined
}

/** Split so the HTTP handler authorizes before it reads a body or claims an Idempotency-Key. */
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

export const authorizeErasePersonalData = (userId: string) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    Effect.as(
      authorizeErase(principal, userId),
      (ifMatch: IfMatch | undefined) => runCommand(principal, { type: "ErasePersonalData", userId }, ifMatch)
    ))

/** The audit trail keeps only what it always had: masked forms. */
export const erasePersonalData = (input: { readonly userId: string; readonly ifMatch: IfMatch | undefined }) =>
  Effect.flatMap(authorizeErasePersonalData(input.userId), (erase) => erase(input.ifMatch))
