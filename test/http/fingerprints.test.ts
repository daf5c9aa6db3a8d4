/**
 * Correlation without PII: with PHONE_FINGERPRINT_KEY set, each event commits to an HMAC-SHA-256 fingerprint of each
 * number under a fresh salt, and the feed serves the fingerprint and salt beside it: fingerprints are equal for equal
 * numbers under one key, different under another key, not an unkeyed hash, and open their event's commitment.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { commitmentOf } from "../../src/layers/masker.js"
import { call } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

const KEY_A = "a".repeat(16) + "-fingerprint-key-for-tests-A"
const KEY_B = "b".repeat(16) + "-fingerprint-key-for-tests-B"

let a: SqliteFixture
let b: SqliteFixture
let plain: SqliteFixture

/** Creates the user, sets each number in turn, and answers its entries of the organization's feed. */
const run = async (f: SqliteFixture, userId: string, numbers: ReadonlyArray<string | null>) => {
  const auth = { token: await f.serviceToken(), apiKey: f.tenant.apiKey }
  await call(f.fetch, "POST", "/users", { ...auth, body: { id: userId } })
  for (const phoneNumber of numbers) {
    await call(f.fetch, "POST", `/users/${userId}/UpdatePhoneNumber`, { ...auth, body: { phoneNumber } })
  }
  const reader = { token: await f.serviceToken("audit:read"), apiKey: f.tenant.apiKey }
  const feed = await call(f.fetch, "GET", `/organizations/${f.tenant.organizationId}/events?limit=1000`, reader)
  return (feed.body.events as Array<any>).filter((entry) => entry.aggregateId === userId)
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
    expect(set.fingerprints.phoneNumberFingerprint).toMatch(/^hmac-sha256:[A-Za-z0-9_-]{43}$/)
    expect(changed.fingerprints.previousPhoneNumberFingerprint).toBe(set.fingerprints.phoneNumberFingerprint)
    expect(changed.fingerprints.phoneNumberFingerprint).not.toBe(set.fingerprints.phoneNumberFingerprint)
  })

  it("are matched across users and events through the feed, and open each event's commitment", async () => {
    // A number given up by one user and taken by another (a recycled number).
    const [, held, released] = await run(a, "u4", ["+61 2 9374 4000", null])
    const [, taken] = await run(a, "u5", ["+61 2 9374 4000"])
    expect(released.fingerprints.previousPhoneNumberFingerprint).toBe(held.fingerprints.phoneNumberFingerprint)
    expect(taken.fingerprints.phoneNumberFingerprint).toBe(held.fingerprints.phoneNumberFingerprint)
    // Each event keeps only its commitment, under its own salt: equal numbers give unequal commitments.
    for (const entry of [held, taken]) {
      expect(entry.event.data.phoneNumberFingerprint).toBeUndefined()
      expect(entry.event.data.phoneNumberCommitment).toBe(
        commitmentOf(entry.fingerprints.phoneNumberSalt, entry.fingerprints.phoneNumberFingerprint)
      )
    }
    expect(taken.event.data.phoneNumberCommitment).not.toBe(held.event.data.phoneNumberCommitment)
  })

  it("differ under another key, and are not a plain hash of the number", async () => {
    const [, underA] = await run(a, "u2", ["+81 3-3224-5000"])
    const [, underB] = await run(b, "u2", ["+81 3-3224-5000"])
    expect(underA.fingerprints.phoneNumberFingerprint).not.toBe(underB.fingerprints.phoneNumberFingerprint)
    expect(underA.fingerprints.phoneNumberFingerprint).not.toContain(await sha256("+81332245000"))
  })

  it("are absent when no key is configured", async () => {
    const [, set] = await run(plain, "u3", ["+14155552671"])
    expect(set.fingerprints).toBeUndefined()
    expect(Object.keys(set.event.data).sort()).toEqual([
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
