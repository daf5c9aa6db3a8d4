// A CodeSender double for the program's logic: it records what it was handed, and fails while told to.
import { Effect, Layer } from "effect"
import { type CodeDelivery, CodeSender, VerificationSettings } from "../../services/code-sender.js"
import { CodeDeliveryUnavailable } from "../../services/errors.js"

export interface CodeSenderDouble {
  readonly sent: Array<CodeDelivery>
  /** While true, every send fails as an endpoint that is down. */
  down: boolean
  readonly layer: Layer.Layer<CodeSender>
}

export const makeCodeSenderDouble = (): CodeSenderDouble => {
  const double: CodeSenderDouble = {
    sent: [],
    down: false,
    layer: Layer.succeed(CodeSender, {
      send: (delivery) =>
        Effect.suspend(() => {
          if (double.down) return Effect.fail(new CodeDeliveryUnavailable({ reason: "failed" }))
          double.sent.push(delivery)
          return Effect.void
        })
    })
  }
  return double
}

/** A fixed key: tests that hash codes themselves use the same. */
export const TEST_CODE_KEY = "test-verification-code-key-0123456789abcdef"

export const testVerificationSettings = (hashCode: (changeId: string, code: string) => string) =>
  Layer.succeed(VerificationSettings, { hashCode })
