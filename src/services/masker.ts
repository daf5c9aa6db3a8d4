/**
 * Masker: the only forms a phone number may take outside the users row: the last-4 mask, and optionally a
 * keyed fingerprint (HMAC-SHA-256 with a secret key) so that someone holding the key can match two events
 * about the same number, while a leaked log cannot be reversed by enumerating numbers.
 */
import { Context, Effect, Layer } from "effect"
import { type E164, maskPhoneNumber } from "../domain/phone.js"
import type { Mask } from "../domain/user.js"

export class Masker extends Context.Tag("users-api/Masker")<Masker, {
  readonly mask: Mask
  /** `hmac-sha256:<base64url>` of the E.164 number, or undefined when no fingerprint key is configured. */
  readonly fingerprint: (phoneNumber: E164) => Effect.Effect<string | undefined>
}>() {}

/** `****` and the last four digits, whatever the number's length, so neither length nor country leaks. */
export const MaskerLast4 = Layer.succeed(Masker, {
  mask: maskPhoneNumber,
  fingerprint: () => Effect.succeed(undefined)
})

/** A fingerprint key shorter than this is refused: it would be guessable. */
export const MIN_FINGERPRINT_KEY_LENGTH = 32

const base64url = (bytes: ArrayBuffer) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

/** The last-4 mask plus an HMAC-SHA-256 fingerprint under `key` (PHONE_FINGERPRINT_KEY). */
export const maskerWithFingerprint = (key: string) => {
  if (key.length < MIN_FINGERPRINT_KEY_LENGTH) {
    throw new Error(`PHONE_FINGERPRINT_KEY must be at least ${MIN_FINGERPRINT_KEY_LENGTH} characters`)
  }
  let cryptoKey: Promise<CryptoKey> | undefined
  const hmacKey = () =>
    cryptoKey ??= crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(key),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"]
    )
  return Layer.succeed(Masker, {
    mask: maskPhoneNumber,
    fingerprint: (phoneNumber) =>
      Effect.promise(async () =>
        `hmac-sha256:${
          base64url(await crypto.subtle.sign("HMAC", await hmacKey(), new TextEncoder().encode(phoneNumber)))
        }`
      )
  })
}
