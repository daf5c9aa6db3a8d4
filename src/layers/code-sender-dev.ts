// Local development: the code is printed on the server's console (through Effect's Logger) with the masked number,
// never the raw one, and the last few are kept for dev tooling.
import { Effect, Layer } from "effect"
import { maskPhoneNumber } from "../domain/phone.js"
import { CodeSender } from "../services/code-sender.js"

export interface DevCode {
  readonly userId: string
  readonly maskedPhoneNumber: string
  readonly code: string
  readonly expiresAt: string
}

const KEPT = 20
const recent: Array<DevCode> = []

/** Newest first. */
export const recentDevCodes = (): ReadonlyArray<DevCode> => [...recent].reverse()

export const DevCodeSender = Layer.succeed(CodeSender, {
  send: (delivery) =>
    Effect.suspend(() => {
      const shown: DevCode = {
        userId: delivery.userId,
        maskedPhoneNumber: maskPhoneNumber(delivery.phoneNumber)!,
        code: delivery.code,
        expiresAt: delivery.expiresAt
      }
      recent.push(shown)
      if (recent.length > KEPT) recent.shift()
      return Effect.logInfo(`verification code ${shown.code} for ${shown.maskedPhoneNumber} (local dev mode)`).pipe(
        Effect.annotateLogs({ userId: shown.userId, expiresAt: shown.expiresAt })
      )
    })
})
