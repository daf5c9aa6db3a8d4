/**
 * The Masker's implementations: the last-4 mask alone, or with HMAC-SHA-256 fingerprints under PHONE_FINGERPRINT_KEY,
 * each committed to under a fresh random salt (the event keeps the commitment, an erasable record the opening).
 */
import { Layer } from "effect"
import { maskPhoneNumber } from "../domain/phone.js"
import { Masker } from "../services/masker.js"
import { hexOf, hmacSha256, sha256Hex } from "../sha256.js"

/** `****` and the last four digits, whatever the number's length, so neither length nor country leaks. */
export const MaskerLast4 = Layer.succeed(Masker, { mask: maskPhoneNumber, fingerprint: () => undefined })

/** What an event keeps of a fingerprint: `sha256:` and the hex SHA-256 of `<salt>:<fingerprint>`. */
export const commitmentOf = (salt: string, fingerprint: string): string =>
  `sha256:${sha256Hex(`${salt}:${fingerprint}`)}`

// 256 random bits (hex): without the salt, a commitment cannot be tested against any guessed fingerprint.
const freshSalt = () => hexOf(crypto.getRandomValues(new Uint8Array(32)))

/** The last-4 mask plus a committed HMAC-SHA-256 fingerprint under `key` (PHONE_FINGERPRINT_KEY; config.ts checks it). */
export const maskerWithFingerprint = (key: string) =>
  Layer.succeed(Masker, {
    mask: maskPhoneNumber,
    fingerprint: (phoneNumber) => {
      const fingerprint = `hmac-sha256:${hmacSha256(key, phoneNumber).toString("base64url")}`
      const salt = freshSalt()
      return { fingerprint, salt, commitment: commitmentOf(salt, fingerprint) }
    }
  })
