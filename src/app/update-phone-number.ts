import { Effect } from "effect"
import type { Delivery } from "../domain/phone-change.js"
import { parsePhoneNumber } from "../domain/phone.js"
import { CurrentPrincipal } from "../services/auth.js"
import { authorizeWrite } from "./authorize.js"
import { userChangesNeedCode } from "./phone-policy-seam.js"
import { requestPhoneNumberChange } from "./request-phone-number-change.js"
import { type IfMatch, runCommand } from "./run-command.js"

export type Verification = "none" | Delivery

export interface UpdatePhoneNumberInput {
  readonly userId: string
  readonly phoneNumber: string | null
  /** none (the default) changes the number at once; send-code and return-code leave it pending until confirmed. */
  readonly verification?: Verification | undefined
  readonly ifMatch: IfMatch | undefined
}

/** Split so the HTTP handler authorizes before it reads a body or claims an Idempotency-Key. */
export const authorizeUpdatePhoneNumber = (userId: string) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    Effect.as(
      authorizeWrite(principal, userId),
      (input: Omit<UpdatePhoneNumberInput, "userId">) =>
        Effect.gen(function*() {
          const phoneNumber = input.phoneNumber === null ? null : yield* parsePhoneNumber(input.phoneNumber)
          const verification = input.verification ?? "none"
          const needsCode = verification === "none" && principal.actor.type === "user" && phoneNumber !== null &&
            (yield* userChangesNeedCode(principal.organizationId))
          // Removing the number needs no proof: there is nothing to possess.
          if ((verification === "none" && !needsCode) || phoneNumber === null) {
            return yield* runCommand(principal, { type: "UpdatePhoneNumber", userId, phoneNumber }, input.ifMatch)
          }
          const delivery = verification === "none" ? "send-code" : verification
          return yield* requestPhoneNumberChange(principal, userId, phoneNumber, delivery, input.ifMatch)
        })
    ))

export const updatePhoneNumber = (input: UpdatePhoneNumberInput) =>
  Effect.flatMap(authorizeUpdatePhoneNumber(input.userId), (update) => update(input))
