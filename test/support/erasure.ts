/**
 * What an attacker holding PHONE_FINGERPRINT_KEY tries against an erased number: every number that shares its
 * first digits and its masked last four (10,000 candidates), fingerprinted under the key, looked for in what it can
 * read, as a fingerprint (base64url or hex) or as a commitment under any salt it can read. Runs in Node and workerd.
 */
import { hmacSha256, sha256Hex } from "../../src/sha256.js"

// The contract's commitment (docs/CONTRACT.md), written out here rather than imported from the code under test.
const commitmentOf = (salt: string, fingerprint: string) => `sha256:${sha256Hex(`${salt}:${fingerprint}`)}`

/** The 10,000 numbers that read like `e164` to someone who knows all but its four digits before the last four. */
export const exchangeOf = (e164: string): ReadonlyArray<string> =>
  Array.from({ length: 10_000 }, (_, i) => e164.slice(0, -8) + String(i).padStart(4, "0") + e164.slice(-4))

const TOKEN = /hmac-sha256:[A-Za-z0-9_-]{43}|sha256:[0-9a-f]{64}|[0-9a-f]{64}/g
const SALT = /"(?:previousP|p)honeNumberSalt":"([0-9a-f]{64})"/g

/** The candidates of each erased number that `texts` give away; empty when erasure forgot them. */
export const bruteForce = (
  key: string,
  erased: ReadonlyArray<string>,
  texts: ReadonlyArray<string>
): ReadonlyArray<string> => {
  const all = texts.join("\n")
  const seen = new Set(all.match(TOKEN) ?? [])
  const salts = [...new Set([...all.matchAll(SALT)].map((m) => m[1]!))]
  const found: Array<string> = []
  for (const number of erased) {
    if (all.includes(number) || all.includes(number.slice(1))) found.push(number)
    for (const candidate of exchangeOf(number)) {
      const mac = hmacSha256(key, candidate)
      const fingerprint = `hmac-sha256:${mac.toString("base64url")}`
      if (
        seen.has(fingerprint) || seen.has(mac.toString("hex")) ||
        salts.some((salt) => seen.has(commitmentOf(salt, fingerprint)))
      ) found.push(candidate)
    }
  }
  return found
}
