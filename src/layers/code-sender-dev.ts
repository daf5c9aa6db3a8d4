// Local development: the code is printed on the server's console (through Effect's Logger) with the masked number,
// never the raw one, and the last few are kept, in memory and in `file`, for `npm run dev:codes`.
import { Effect, Layer } from "effect"
import { writeFileSync } from "node:fs"
import { maskPhoneNumber } from "../domain/phone.js"
import { CodeSender } from "../services/code-sender.js"

export interface DevCode {
  readonly userId: string
  readonly maskedPhoneNumber: string
  readonly code: string
  readonly expiresAt: string
}

/** In the data directory, beside dev-state.json. */
export const DEV_CODES_FILE = "dev-codes.json"

const KEPT = 20
const recent: Array<DevCode> = []

/** Newest first. */
export const recentDevCodes = (): ReadonlyArray<DevCode> => [...recent].reverse()

export const devCodeSender = (file?: string) =>
  Layer.succeed(CodeSender, {
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
        const kept = file === undefined ?
          Effect.void :
          Effect.try(() => writeFileSync(file, JSON.stringify(recentDevCodes(), null, 2) + "\n", { mode: 0o600 })).pipe(
            Effect.catchAll(() => Effect.logWarning("the dev codes file could not be written"))
          )
        return Effect.zipRight(
          kept,
          Effect.logInfo(`verification code ${shown.code} for ${shown.maskedPhoneNumber} (local dev mode)`).pipe(
            Effect.annotateLogs({ userId: shown.userId, expiresAt: shown.expiresAt })
          )
        )
      })
  })

export const DevCodeSender = devCodeSender()
