// Codes: six digits from the platform's CSPRNG, kept only as an HMAC bound to their change, compared in constant time.
import { hmacSha256Hex } from "../sha256.js"

const RANGE = 1_000_000
// The largest multiple of RANGE below 2^32: values above it are drawn again, so every code is equally likely.
const LIMIT = Math.floor(0x1_0000_0000 / RANGE) * RANGE

export const generateCode = (): string => {
  const draw = new Uint32Array(1)
  for (;;) {
    crypto.getRandomValues(draw)
    if (draw[0]! < LIMIT) return String(draw[0]! % RANGE).padStart(6, "0")
  }
}

export const codeHasher = (key: string) => (changeId: string, code: string): string =>
  hmacSha256Hex(key, `users-api/verification-code/1\u0000${changeId}\u0000${code}`)

/** A separate key derived from the idempotency hash key when VERIFICATION_CODE_KEY is not set. */
export const derivedCodeKey = (idempotencyHashKey: string): string =>
  hmacSha256Hex(idempotencyHashKey, "users-api/verification-code-key/1")

export const equalInConstantTime = (a: string, b: string): boolean => {
  let difference = a.length ^ b.length
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    difference |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0)
  }
  return difference === 0
}
