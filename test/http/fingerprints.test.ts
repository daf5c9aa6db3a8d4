/**
 * Correlation without PII: with PHONE_FINGERPRINT_KEY set, events carry an HMAC-SHA-256 fingerprint of each
 * number, equal for equal numbers under one key, different under another key, and not an unkeyed hash that
 * anyone could rebuild by enumerating numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

const KEY_A = "a".repeat(16) + "-fingerprint-key-for-tests-A"
const KEY_B = "b".repeat(16) + "-fingerprint-key-for-tests-B"

let a: SqliteFixture
let b: SqliteFixture
let plain: SqliteFixture

const run = async (f: SqliteFixture, userId: string, numbers: ReadonlyArray<string | null>) => {
  const auth = { token: await f.serviceToken(), apiKey: f.tenant.apiKey }
  const events = [(await call(f.fetch, "POST", "/users", { ...auth, body: { id: userId } })).body.event]
  for (const phoneNumber of numbers) {
    events.push(
      (await call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, { ...auth, body: { phoneNumber } })).body.event
    )
  }
  return events
}

const sha256 = async (text: string) =>
  Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))).toString("base64url")

beforeAll(async () => {
  ;[a, b, plain] = await Promise.all([
    makeSqliteFixture({ phoneFingerprintKey: KEY_A }),
    makeSqliteFixture({ phoneFingerprintKey: KEY_B }),
    makeSqliteFixture()
  ])
})
afterAll(async () => {
  await Promise.all([a.dispose(), b.dispose(), plain.dispose()])
})

describe("phone number fingerprints", () => {
  it("match for the same number under one key, and link a change to the number before it", async () => {
    const [, set, changed] = await run(a, "u1", ["+1 415 555 2671", "+44 20 7946 0958"])
    expect(set.data.phoneNumberFingerprint).toMatch(/^hmac-sha256:[A-Za-z0-9_-]{43}$/)
    expect(changed.data.previousPhoneNumberFingerprint).toBe(set.data.phoneNumberFingerprint)
    expect(changed.data.phoneNumberFingerprint).not.toBe(set.data.phoneNumberFingerprint)
  })

  it("differ under another key, and are not a plain hash of the number", async () => {
    const [, underA] = await run(a, "u2", ["+81 3-3224-5000"])
    const [, underB] = await run(b, "u2", ["+81 3-3224-5000"])
    expect(underA.data.phoneNumberFingerprint).not.toBe(underB.data.phoneNumberFingerprint)
    expect(underA.data.phoneNumberFingerprint).not.toContain(await sha256("+81332245000"))
  })

  it("are absent when no key is configured", async () => {
    const [, set] = await run(plain, "u3", ["+14155552671"])
    expect(Object.keys(set.data).sort()).toEqual([
      "maskedPhoneNumber",
      "phoneNumberVerified",
      "previousMaskedPhoneNumber"
    ])
  })

  it("never put the raw number in the event", async () => {
    const events = JSON.stringify(a.query("SELECT data FROM events"))
    for (const raw of ["+14155552671", "14155552671", "+442079460958", "442079460958", "81332245000"]) {
      expect(events).not.toContain(raw)
    }
  })
})
