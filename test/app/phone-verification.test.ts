/**
 * The verified change's programs over the in-memory doubles, with a clock the test moves (TestClock): the code's
 * ten minutes, the code handed to the CodeSender and never kept, a sender that is down, and the re-verification.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, TestClock } from "effect"
import { authorizeConfirmPhoneNumberChange } from "../../src/app/confirm-phone-number-change.js"
import { createUser } from "../../src/app/create-user.js"
import { updatePhoneNumber } from "../../src/app/update-phone-number.js"
import { codeHasher } from "../../src/app/verification-code.js"
import { MaskerLast4 } from "../../src/layers/masker.js"
import { makeCodeSenderDouble, testVerificationSettings } from "../../src/layers/memory/code-sender.js"
import { CurrentPrincipal, type Principal } from "../../src/services/auth.js"
import { PhonePolicies } from "../../src/services/phone-policy.js"
import { PhoneVerificationStore } from "../../src/services/phone-verification.js"
import { UserRepo } from "../../src/services/user-repo.js"
import { makeMemoryStore, memoryPhonePolicies, memoryPhoneVerification, memoryRepo } from "../support/memory.js"

const service: Principal = {
  organizationId: "org_a",
  actor: { type: "service", id: "svc" },
  scopes: new Set(["users:write"])
}

const setup = () => {
  const store = makeMemoryStore()
  const sender = makeCodeSenderDouble()
  const layer = Layer.mergeAll(
    Layer.succeed(UserRepo, memoryRepo(store)),
    Layer.succeed(PhoneVerificationStore, memoryPhoneVerification(store)),
    Layer.succeed(CurrentPrincipal, service),
    Layer.sync(PhonePolicies, memoryPhonePolicies),
    MaskerLast4,
    sender.layer,
    testVerificationSettings(codeHasher("phone-verification-test-key-0123456789"))
  )
  return { store, sender, layer }
}

const confirm = (code: string) =>
  Effect.flatMap(authorizeConfirmPhoneNumberChange("u1"), (run) => run({ code, ifMatch: undefined }))

const failureTag = <A, E extends { _tag: string }>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : undefined

describe("the verified change (programs, with doubles and a test clock)", () => {
  it.effect("send-code hands the code to the CodeSender; the store keeps only its hash; it confirms", () => {
    const { layer, sender, store } = setup()
    return Effect.gen(function*() {
      yield* createUser({ userId: "u1", phoneNumber: "+442079460958" })
      const requested = yield* updatePhoneNumber({
        userId: "u1",
        phoneNumber: "+14155552671",
        verification: "send-code",
        ifMatch: undefined
      })
      expect(requested.pendingChange?.maskedPhoneNumber).toBe("****2671")
      expect(requested.verificationCode).toBeUndefined()
      const [delivery] = sender.sent
      expect(delivery).toMatchObject({
        userId: "u1",
        phoneNumber: "+14155552671",
        changeId: requested.pendingChange?.id
      })
      expect(JSON.stringify([...store.pending.values()])).not.toContain(delivery!.code)
      const confirmed = yield* confirm(delivery!.code)
      expect(confirmed.event).toMatchObject({ type: "UserPhoneNumberUpdated", data: { phoneNumberVerified: true } })
      expect(store.users.get("org_a\u0000u1")).toMatchObject({ phoneNumber: "+14155552671", phoneNumberVerified: true })
      expect(store.pending.size).toBe(0)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a code is good for ten minutes: at 9:59 it confirms, at 10:00 it is verification-expired", () => {
    const { layer, sender } = setup()
    return Effect.gen(function*() {
      yield* createUser({ userId: "u1", phoneNumber: null })
      yield* updatePhoneNumber({
        userId: "u1",
        phoneNumber: "+14155552671",
        verification: "send-code",
        ifMatch: undefined
      })
      yield* TestClock.adjust("10 minutes")
      expect(failureTag(yield* Effect.exit(confirm(sender.sent[0]!.code)))).toBe("VerificationExpired")
      yield* updatePhoneNumber({
        userId: "u1",
        phoneNumber: "+14155552671",
        verification: "send-code",
        ifMatch: undefined
      })
      yield* TestClock.adjust("599 seconds")
      expect((yield* confirm(sender.sent[1]!.code)).version).toBe(4)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a CodeSender that is down: code-delivery-unavailable, the change pending; the next request sends anew", () => {
    const { layer, sender, store } = setup()
    return Effect.gen(function*() {
      yield* createUser({ userId: "u1", phoneNumber: null })
      sender.down = true
      const exit = yield* Effect.exit(
        updatePhoneNumber({ userId: "u1", phoneNumber: "+14155552671", verification: "send-code", ifMatch: undefined })
      )
      expect(failureTag(exit)).toBe("CodeDeliveryUnavailable")
      const stuck = store.pending.get("org_a\u0000u1")
      expect(stuck).toBeDefined()
      sender.down = false
      yield* updatePhoneNumber({
        userId: "u1",
        phoneNumber: "+14155552671",
        verification: "send-code",
        ifMatch: undefined
      })
      expect(sender.sent).toHaveLength(1)
      expect(store.pending.get("org_a\u0000u1")!.id).not.toBe(stuck!.id)
      expect((yield* confirm(sender.sent[0]!.code)).event?.type).toBe("UserPhoneNumberUpdated")
    }).pipe(Effect.provide(layer))
  })
})
