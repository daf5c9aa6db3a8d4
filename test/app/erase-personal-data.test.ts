/**
 * ErasePersonalData over the in-memory doubles: like the SQL stores (src/layers/sql/rows.ts changeStatements), the
 * double's commit of the erasure deletes the user's completed Idempotency-Key records and its fingerprints, and only
 * those; the events commit to fingerprints without carrying them. Storage: test/security/erasure-forgets.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createUser } from "../../src/app/create-user.js"
import { erasePersonalData } from "../../src/app/personal-data.js"
import { updatePhoneNumber } from "../../src/app/update-phone-number.js"
import { commitmentOf, MaskerLast4, maskerWithFingerprint } from "../../src/layers/masker.js"
import { makeCodeSenderDouble, testVerificationSettings } from "../../src/layers/memory/code-sender.js"
import { CurrentPrincipal, type Principal } from "../../src/services/auth.js"
import { EventLog } from "../../src/services/event-log.js"
import { PhonePolicies } from "../../src/services/phone-policy.js"
import { UserRepo } from "../../src/services/user-repo.js"
import {
  makeMemoryStore,
  memoryEventLog,
  memoryIdempotency,
  memoryPhonePolicies,
  memoryRepo
} from "../support/memory.js"

const service: Principal = {
  organizationId: "org_a",
  actor: { type: "service", id: "svc" },
  scopes: new Set(["users:write", "users:erase"])
}

const answer = { status: 200, headers: {}, body: "{}" }

describe("ErasePersonalData (program, with doubles)", () => {
  it.effect("deletes the user's completed idempotency records, keeps running ones and other users'", () =>
    Effect.gen(function*() {
      const store = makeMemoryStore()
      const idempotency = memoryIdempotency(store)
      const scope = (key: string, organizationId = "org_a") => ({ organizationId, principal: "service:svc", key })
      const record = (key: string, userId: string, organizationId?: string) =>
        Effect.gen(function*() {
          const claimed = yield* idempotency.reserve(scope(key, organizationId), "h")
          if (claimed._tag !== "Acquired") throw new Error("not acquired")
          yield* idempotency.complete(scope(key, organizationId), claimed.lock, answer, userId)
        })
      const layer = Layer.mergeAll(
        Layer.succeed(UserRepo, memoryRepo(store)),
        Layer.succeed(EventLog, memoryEventLog(store)),
        Layer.succeed(CurrentPrincipal, service),
        MaskerLast4,
        makeCodeSenderDouble().layer,
        testVerificationSettings(() => ""),
        Layer.sync(PhonePolicies, memoryPhonePolicies)
      )
      for (const userId of ["u1", "u2"]) {
        yield* createUser({ userId, phoneNumber: null }).pipe(Effect.provide(layer))
      }
      yield* record("u1-done", "u1")
      yield* record("u2-done", "u2")
      yield* record("u1-elsewhere", "u1", "org_b")
      yield* idempotency.reserve(scope("u1-running"), "h")

      yield* erasePersonalData({ userId: "u1", ifMatch: undefined }).pipe(Effect.provide(layer))

      const left = [...store.idempotency.values()].map((e) => [e.organizationId, e.userId, e.response !== null])
      expect(left).toEqual([
        ["org_a", "u2", true],
        ["org_b", "u1", true],
        ["org_a", undefined, false]
      ])
    }))

  it.effect("commits events to fingerprints it keeps aside, and deletes the user's with the erasure, and only those", () =>
    Effect.gen(function*() {
      const store = makeMemoryStore()
      const layer = Layer.mergeAll(
        Layer.succeed(UserRepo, memoryRepo(store)),
        Layer.succeed(EventLog, memoryEventLog(store)),
        Layer.succeed(CurrentPrincipal, service),
        maskerWithFingerprint("erase-personal-data-fingerprint-key-0123"),
        makeCodeSenderDouble().layer,
        testVerificationSettings(() => ""),
        Layer.sync(PhonePolicies, memoryPhonePolicies)
      )
      yield* createUser({ userId: "u1", phoneNumber: "+14155552671" }).pipe(Effect.provide(layer))
      yield* updatePhoneNumber({ userId: "u1", phoneNumber: "+442079460958", ifMatch: undefined }).pipe(
        Effect.provide(layer)
      )
      yield* createUser({ userId: "u2", phoneNumber: "+16175550123" }).pipe(Effect.provide(layer))
      const opened = [...store.fingerprints.entries()]
      expect(opened.map(([id]) => id.split("\u0000").slice(1))).toEqual([["u1", "1"], ["u1", "2"], ["u2", "1"]])
      const [, updated] = opened[1]!
      expect(store.events[1]!.data).toMatchObject({
        phoneNumberCommitment: commitmentOf(updated.phoneNumberSalt!, updated.phoneNumberFingerprint!),
        previousPhoneNumberCommitment: commitmentOf(
          updated.previousPhoneNumberSalt!,
          updated.previousPhoneNumberFingerprint!
        )
      })
      expect(JSON.stringify(store.events)).not.toContain("hmac-sha256:")

      yield* erasePersonalData({ userId: "u1", ifMatch: undefined }).pipe(Effect.provide(layer))

      expect([...store.fingerprints.keys()].map((id) => id.split("\u0000").slice(1))).toEqual([["u2", "1"]])
    }))
})
