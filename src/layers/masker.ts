/**
 * The Masker's implementations: the last-4 mask alone, or with HMAC-SHA-256 fingerprints under PHONE_FINGERPRINT_KEY.
 */
import { Layer } from "effect"
import { maskPhoneNumber } from "../domain/phone.js"
import { Masker } from "../services/masker.js"
import { hmacSha256 } from "../sha256.js"

/** `****` and the last four digits, whatever the number's length, so neither length nor country leaks. */
export const MaskerLast4 = Layer.succeed(Masker, { mask: maskPhoneNumber, fingerprint: () => undefined })

/** A fingerprint key shorter than this is refused: it would be guessable. */
export const MIN_FINGERPRINT_KEY_LENGTH = 32

/** The last-4 mask plus an HMAC-SHA-256 fingerprint under `key` (PHONE_FINGERPRINT_KEY). */
export const maskerWithFingerprint = (key: string) => {
  if (key.length < MIN_FINGERPRINT_KEY_LENGTH) {
    throw new Error(`PHONE_FINGERPRINT_KEY must be at least ${MIN_FINGERPRINT_KEY_LENGTH} characters`)
  }
  return Layer.succeed(Masker, {
    mask: maskPhoneNumber,
    fingerprint: (phoneNumber) => `hmac-sha256:${hmacSha256(key, phoneNumber).toString("base64url")}`
  })
}
