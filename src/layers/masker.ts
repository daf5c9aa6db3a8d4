// The event keeps a fingerprint's commitment; an erasable record keeps its opening.
import { Layer } from "effect"
import { maskPhoneNumber } from "../domain/phone.js"
import { Masker } from "../services/masker.js"
import { hexOf, hmacSha256, sha256Hex } from "../sha256.js"

/** Whatever the number's length, so neither length nor country leaks. */
export const MaskerLast4 = Layer.succeed(Masker, { mask: maskPhoneNumber, fingerprint: () => undefined })

export const commitmentOf = (salt: string, fingerprint: string): string =>
  `sha256:${sha256Hex(`${salt}:${fingerprint}`)}`

// Without the salt a commitment cannot be tested against a guessed fingerprint.
const freshSalt = () => hexOf(crypto.getRandomValues(new Uint8Array(32)))

export const maskerWithFingerprint = (key: string) =>
  Layer.succeed(Masker, {
    mask: maskPhoneNumber,
    fingerprint: (phoneNumber) => {
      const fingerprint = `hmac-sha256:${hmacSha256(key, phoneNumber).toString("base64url")}`
      const salt = freshSalt()
      return { fingerprint, salt, commitment: commitmentOf(salt, fingerprint) }
    }
  })
