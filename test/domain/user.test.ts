import { describe, expect, it } from "vitest"
import type { E164 } from "../../src/domain/phone.js"
import { maskPhoneNumber } from "../../src/domain/phone.js"
import { type CommandMetadata, decide, type User } from "../../src/domain/user.js"

const metadata: CommandMetadata = {
  organizationId: "org_a",
  actor: { type: "service", id: "svc" },
  requestId: "req-1",
  eventId: "evt-1",
  now: "2026-01-01T00:00:00.000Z"
}
const A = "+14155552671" as E164
const B = "+442079460958" as E164
const user = (phoneNumber: E164 | null, version = 3, extra: Partial<User> = {}): User => ({
  organizationId: "org_a",
  id: "u1",
  phoneNumber,
  phoneNumberVerified: false,
  erasedAt: null,
  version,
  ...extra
})

describe("the User decider", () => {
  describe("UpdatePhoneNumber", () => {
    it("given a user without a number, when a number is set, then UserPhoneNumberUpdated carries only masked forms", () => {
      const decision = decide(
        { type: "UpdatePhoneNumber", userId: "u1", phoneNumber: A },
        user(null),
        metadata,
        maskPhoneNumber
      )
      expect(decision).toEqual({
        _tag: "Changed",
        state: user(A, 4),
        event: {
          id: "evt-1",
          type: "UserPhoneNumberUpdated",
          aggregateType: "User",
          aggregateId: "u1",
          version: 4,
          occurredAt: "2026-01-01T00:00:00.000Z",
          data: { maskedPhoneNumber: "****2671", previousMaskedPhoneNumber: null, phoneNumberVerified: false },
          metadata: { organizationId: "org_a", actor: { type: "service", id: "svc" }, requestId: "req-1" }
        }
      })
    })

    it("given a user with a number, when another is set, then the event names both masked", () => {
      const decision = decide(
        { type: "UpdatePhoneNumber", userId: "u1", phoneNumber: B },
        user(A),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag === "Changed" && decision.event.data).toEqual({
        maskedPhoneNumber: "****0958",
        previousMaskedPhoneNumber: "****2671",
        phoneNumberVerified: false
      })
    })

    it("given a user with a number, when null is sent, then the number is removed", () => {
      const decision = decide(
        { type: "UpdatePhoneNumber", userId: "u1", phoneNumber: null },
        user(A),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag === "Changed" && decision.state.phoneNumber).toBeNull()
      expect(decision._tag === "Changed" && decision.event.data).toEqual({
        maskedPhoneNumber: null,
        previousMaskedPhoneNumber: "****2671",
        phoneNumberVerified: false
      })
    })

    it("given the same number, when it is set again, then nothing happens", () => {
      const decision = decide(
        { type: "UpdatePhoneNumber", userId: "u1", phoneNumber: A },
        user(A),
        metadata,
        maskPhoneNumber
      )
      expect(decision).toEqual({ _tag: "Unchanged", state: user(A) })
    })

    it("given no number, when null is sent, then nothing happens", () => {
      const decision = decide(
        { type: "UpdatePhoneNumber", userId: "u1", phoneNumber: null },
        user(null),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag).toBe("Unchanged")
    })

    it("given no user, when a number is set, then the user is not found", () => {
      const decision = decide(
        { type: "UpdatePhoneNumber", userId: "u1", phoneNumber: A },
        null,
        metadata,
        maskPhoneNumber
      )
      expect(decision).toEqual({ _tag: "UserNotFound" })
    })

    it("never puts the raw number in the event", () => {
      const decision = decide(
        { type: "UpdatePhoneNumber", userId: "u1", phoneNumber: B },
        user(A),
        metadata,
        maskPhoneNumber
      )
      const text = decision._tag === "Changed" ? JSON.stringify(decision.event) : ""
      expect(text).not.toContain("4155552671")
      expect(text).not.toContain("2079460958")
    })
  })

  describe("CreateUser", () => {
    it("given no user, when it is created, then UserCreated is version 1 with the masked number", () => {
      const decision = decide({ type: "CreateUser", userId: "u1", phoneNumber: A }, null, metadata, maskPhoneNumber)
      expect(decision._tag === "Changed" && decision.event).toMatchObject({
        type: "UserCreated",
        version: 1,
        data: { maskedPhoneNumber: "****2671" }
      })
      expect(decision._tag === "Changed" && decision.state).toEqual(user(A, 1))
    })

    // Issue 9: a no-op for the same number told a caller that may not read numbers whether its guess was right.
    it("given the same user, when the same create is repeated, then that is a conflict too", () => {
      const decision = decide(
        { type: "CreateUser", userId: "u1", phoneNumber: A },
        user(A, 1),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag).toBe("UserAlreadyExists")
    })

    it("given a user without a number, when it is created again without one, then that is a conflict", () => {
      const decision = decide(
        { type: "CreateUser", userId: "u1", phoneNumber: null },
        user(null, 1),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag).toBe("UserAlreadyExists")
    })

    it("given the user exists with another number, when it is created again, then that is a conflict", () => {
      const decision = decide(
        { type: "CreateUser", userId: "u1", phoneNumber: B },
        user(A, 1),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag).toBe("UserAlreadyExists")
    })
  })

  describe("phone verification", () => {
    it("given a verified number, when another number is set, then it is unverified again", () => {
      const decision = decide(
        { type: "UpdatePhoneNumber", userId: "u1", phoneNumber: B },
        user(A, 3, { phoneNumberVerified: true }),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag === "Changed" && decision.state.phoneNumberVerified).toBe(false)
    })

    it("given a verified number, when it is removed, then verification is cleared", () => {
      const decision = decide(
        { type: "UpdatePhoneNumber", userId: "u1", phoneNumber: null },
        user(A, 3, { phoneNumberVerified: true }),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag === "Changed" && decision.state).toMatchObject({
        phoneNumber: null,
        phoneNumberVerified: false
      })
    })

    it("given an unverified number, when the verifier names it, then UserPhoneNumberVerified is emitted", () => {
      const decision = decide(
        { type: "MarkPhoneNumberVerified", userId: "u1", phoneNumber: A },
        user(A),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag === "Changed" && decision.event).toMatchObject({
        type: "UserPhoneNumberVerified",
        version: 4,
        data: { maskedPhoneNumber: "****2671" }
      })
      expect(decision._tag === "Changed" && decision.state.phoneNumberVerified).toBe(true)
    })

    it("given a verified number, when it is verified again, then nothing happens", () => {
      const decision = decide(
        { type: "MarkPhoneNumberVerified", userId: "u1", phoneNumber: A },
        user(A, 3, { phoneNumberVerified: true }),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag).toBe("Unchanged")
    })

    it("given no number, when verification is asked, then it is rejected", () => {
      const decision = decide(
        { type: "MarkPhoneNumberVerified", userId: "u1", phoneNumber: A },
        user(null),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag).toBe("NoPhoneNumber")
    })

    it("given a number changed since it was checked, when the old one is verified, then it is rejected", () => {
      const decision = decide(
        { type: "MarkPhoneNumberVerified", userId: "u1", phoneNumber: A },
        user(B),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag).toBe("PhoneNumberChanged")
    })
  })

  describe("ErasePersonalData", () => {
    it("given a user with a number, when erased, then the number is gone and the event holds no PII", () => {
      const decision = decide(
        { type: "ErasePersonalData", userId: "u1" },
        user(A, 3, { phoneNumberVerified: true }),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag === "Changed" && decision.state).toEqual(
        user(null, 4, { phoneNumberVerified: false, erasedAt: metadata.now })
      )
      expect(decision._tag === "Changed" && decision.event).toMatchObject({
        type: "UserPersonalDataErased",
        data: { erasedFields: ["phoneNumber"] }
      })
      expect(JSON.stringify(decision)).not.toContain("2671")
    })

    it("given an erased user, when erased again, then nothing happens", () => {
      const decision = decide(
        { type: "ErasePersonalData", userId: "u1" },
        user(null, 4, { erasedAt: "x" }),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag).toBe("Unchanged")
    })

    it("given an erased user, when a number is set, then it is refused", () => {
      const decision = decide(
        { type: "UpdatePhoneNumber", userId: "u1", phoneNumber: A },
        user(null, 4, { erasedAt: "x" }),
        metadata,
        maskPhoneNumber
      )
      expect(decision._tag).toBe("UserErased")
    })
  })

  describe("fingerprints", () => {
    const fingerprintOf = (n: E164) => {
      const f = n === A ? "fa" : "fb"
      return { fingerprint: `hmac-sha256:${f}`, salt: `salt-${f}`, commitment: `sha256:c-${f}` }
    }

    it("given a fingerprint function, when a number changes, then the event commits to both, and the decision opens them", () => {
      const decision = decide(
        { type: "UpdatePhoneNumber", userId: "u1", phoneNumber: B },
        user(A),
        metadata,
        maskPhoneNumber,
        fingerprintOf
      )
      if (decision._tag !== "Changed") throw new Error(decision._tag)
      expect(decision.event.data).toEqual({
        maskedPhoneNumber: "****0958",
        previousMaskedPhoneNumber: "****2671",
        phoneNumberVerified: false,
        phoneNumberCommitment: "sha256:c-fb",
        previousPhoneNumberCommitment: "sha256:c-fa"
      })
      expect(decision.fingerprints).toEqual({
        phoneNumberFingerprint: "hmac-sha256:fb",
        phoneNumberSalt: "salt-fb",
        previousPhoneNumberFingerprint: "hmac-sha256:fa",
        previousPhoneNumberSalt: "salt-fa"
      })
    })

    it("given no fingerprint function, then the event has no fingerprint fields", () => {
      const decision = decide({ type: "CreateUser", userId: "u1", phoneNumber: A }, null, metadata, maskPhoneNumber)
      expect(decision._tag === "Changed" && Object.keys(decision.event.data)).toEqual(["maskedPhoneNumber"])
      expect(decision._tag === "Changed" && "fingerprints" in decision).toBe(false)
    })
  })
})
