// Keyed as events' fingerprints are when PHONE_FINGERPRINT_KEY is set (the same HMAC); else under a key derived from
// IDEMPOTENCY_HASH_KEY, which every start has, so lookup by number needs no setting of its own.
import { Layer } from "effect"
import type { E164 } from "../domain/phone.js"
import { PhoneNumberKeys } from "../services/phone-number-keys.js"
import { hexOf, hmacSha256 } from "../sha256.js"

export const numberKeying = (fingerprintKey: string | undefined, idempotencyHashKey: string) => {
  const key = fingerprintKey !== undefined && fingerprintKey !== ""
    ? fingerprintKey
    : hmacSha256(idempotencyHashKey, "users-api/phone-number-key")
  const prefix = `${hexOf(hmacSha256(key, "users-api/phone-number-key-id")).slice(0, 8)}:`
  return {
    prefix,
    keyOf: (phoneNumber: E164) => `${prefix}${hmacSha256(key, phoneNumber).toString("base64url")}`
  }
}

export const phoneNumberKeysLayer = (fingerprintKey: string | undefined, idempotencyHashKey: string) =>
  Layer.succeed(PhoneNumberKeys, { keying: numberKeying(fingerprintKey, idempotencyHashKey) })
