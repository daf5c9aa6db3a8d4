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
const user = (phoneNumber: E164 | null, version = 3): User => ({ organizationId: "org_a", id: "u1", phoneNumber, version })

describe("the User decider", () => {
  describe("UpdatePhoneNumber", () => {
    it("given a user without a number, when a number is set, then UserPhoneNumberUpdated carries only masked forms", () => {
      const decision = decide({ type: "UpdatePhoneNumber", userId: "u1", phoneNumber: A }, user(null), metadata, maskPhoneNumber)
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
          data: { maskedPhoneNumber: "****2671", previousMaskedPhoneNumber: null },
          metadata: { organizationId: "org_a", actor: { type: "service", id: "svc" }, requestId: "req-1" }
        }
      })
    })

    it("given a user with a number, when another is set, then the event names both masked", () => {
      const decision = decide({ type: "UpdatePhoneNumber", userId: "u1", phoneNumber: B }, user(A), metadata, maskPhoneNumber)
      expect(decision._tag === "Changed" && decision.event.data).toEqual({
        maskedPhoneNumber: "****0958",
        previousMaskedPhoneNumber: "****2671"
      })
    })

    it("given a user with a number, when null is sent, then the number is removed", () => {
      const decision = decide({ type: "UpdatePhoneNumber", userId: "u1", phoneNumber: null }, user(A), metadata, maskPhoneNumber)
      expect(decision._tag === "Changed" && decision.state.phoneNumber).toBeNull()
      expect(decision._tag === "Changed" && decision.event.data).toEqual({
        maskedPhoneNumber: null,
        previousMaskedPhoneNumber: "****2671"
      })
    })

    it("given the same number, when it is set again, then nothing happens", () => {
      const decision = decide({ type: "UpdatePhoneNumber", userId: "u1", phoneNumber: A }, user(A), metadata, maskPhoneNumber)
      expect(decision).toEqual({ _tag: "Unchanged", state: user(A) })
    })

    it("given no number, when null is sent, then nothing happens", () => {
      const decision = decide({ type: "UpdatePhoneNumber", userId: "u1", phoneNumber: null }, user(null), metadata, maskPhoneNumber)
      expect(decision._tag).toBe("Unchanged")
    })

    it("given no user, when a number is set, then the user is not found", () => {
      const decision = decide({ type: "UpdatePhoneNumber", userId: "u1", phoneNumber: A }, null, metadata, maskPhoneNumber)
      expect(decision).toEqual({ _tag: "UserNotFound" })
    })

    it("never puts the raw number in the event", () => {
      const decision = decide({ type: "UpdatePhoneNumber", userId: "u1", phoneNumber: B }, user(A), metadata, maskPhoneNumber)
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

    it("given the same user, when the same create is repeated, then nothing happens", () => {
      const decision = decide({ type: "CreateUser", userId: "u1", phoneNumber: A }, user(A, 1), metadata, maskPhoneNumber)
      expect(decision._tag).toBe("Unchanged")
    })

    it("given the user exists with another number, when it is created again, then that is a conflict", () => {
      const decision = decide({ type: "CreateUser", userId: "u1", phoneNumber: B }, user(A, 1), metadata, maskPhoneNumber)
      expect(decision._tag).toBe("UserAlreadyExists")
    })
  })
})
