/**
 * The UpdatePhoneNumber program over in-memory doubles: authorization, parsing, no-ops, If-Match, and the
 * bounded retry when a concurrent writer wins the race.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { createUser } from "../../src/app/create-user.js"
import { MAX_CONFLICT_RETRIES } from "../../src/app/run-command.js"
import { updatePhoneNumber } from "../../src/app/update-phone-number.js"
import { MaskerLast4 } from "../../src/layers/masker.js"
import { makeCodeSenderDouble, testVerificationSettings } from "../../src/layers/memory/code-sender.js"
import { CurrentPrincipal, type Principal } from "../../src/services/auth.js"
import { VersionConflict } from "../../src/services/errors.js"
import { EventLog } from "../../src/services/event-log.js"
import { PhonePolicies } from "../../src/services/phone-policy.js"
import { UserRepo } from "../../src/services/user-repo.js"
import {
  makeMemoryStore,
  memoryEventLog,
  memoryPhonePolicies,
  memoryRepo,
  type MemoryStore
} from "../support/memory.js"

const service: Principal = {
  organizationId: "org_a",
  actor: { type: "service", id: "svc" },
  scopes: new Set(["users:write"])
}
const readOnlyService: Principal = { ...service, scopes: new Set(["users:read"]) }
const userU1: Principal = { organizationId: "org_a", actor: { type: "user", id: "u1" }, scopes: new Set() }

const layer = (store: MemoryStore, principal: Principal, repo = memoryRepo(store)) =>
  Layer.mergeAll(
    Layer.succeed(UserRepo, repo),
    Layer.succeed(EventLog, memoryEventLog(store)),
    Layer.succeed(CurrentPrincipal, principal),
    MaskerLast4,
    makeCodeSenderDouble().layer,
    testVerificationSettings(() => ""),
    Layer.sync(PhonePolicies, memoryPhonePolicies)
  )

const seeded = async () => {
  const store = makeMemoryStore()
  await Effect.runPromise(createUser({ userId: "u1", phoneNumber: null }).pipe(Effect.provide(layer(store, service))))
  return store
}

const failureTag = <A, E extends { _tag: string }>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : undefined

describe("UpdatePhoneNumber (program, with doubles)", () => {
  it.effect("sets a number and appends one masked event at the next version", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(seeded)
      const result = yield* updatePhoneNumber({ userId: "u1", phoneNumber: "+1 415 555 2671", ifMatch: undefined })
        .pipe(
          Effect.provide(layer(store, userU1))
        )
      expect(result.version).toBe(2)
      expect(result.event?.data).toEqual({
        maskedPhoneNumber: "****2671",
        previousMaskedPhoneNumber: null,
        phoneNumberVerified: false
      })
      expect(store.users.get("org_a\u0000u1")?.phoneNumber).toBe("+14155552671")
      expect(store.events).toHaveLength(2)
    }))

  it.effect("answers event null and writes nothing when the number is already stored", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(seeded)
      const run = updatePhoneNumber({ userId: "u1", phoneNumber: "+14155552671", ifMatch: undefined }).pipe(
        Effect.provide(layer(store, userU1))
      )
      yield* run
      const again = yield* run
      expect(again).toEqual({ aggregateId: "u1", version: 2, event: null })
      expect(store.events).toHaveLength(2)
    }))

  it.effect("refuses a user token acting on another user, before reading anything", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(seeded)
      const exit = yield* Effect.exit(
        updatePhoneNumber({ userId: "u2", phoneNumber: "+14155552671", ifMatch: undefined }).pipe(
          Effect.provide(layer(store, userU1))
        )
      )
      expect(failureTag(exit)).toBe("Forbidden")
    }))

  it.effect("refuses a service token without users:write", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        updatePhoneNumber({ userId: "u1", phoneNumber: null, ifMatch: undefined }).pipe(
          Effect.provide(layer(yield* Effect.promise(seeded), readOnlyService))
        )
      )
      expect(failureTag(exit)).toBe("Forbidden")
    }))

  it.effect("rejects an invalid number without writing", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(seeded)
      const exit = yield* Effect.exit(
        updatePhoneNumber({ userId: "u1", phoneNumber: "+1 415 555 267", ifMatch: undefined }).pipe(
          Effect.provide(layer(store, service))
        )
      )
      expect(failureTag(exit)).toBe("InvalidPhoneNumber")
      expect(store.events).toHaveLength(1)
    }))

  it.effect("answers UserNotFound for a user of another organization", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        updatePhoneNumber({ userId: "u1", phoneNumber: null, ifMatch: undefined }).pipe(
          Effect.provide(layer(yield* Effect.promise(seeded), { ...service, organizationId: "org_b" }))
        )
      )
      expect(failureTag(exit)).toBe("UserNotFound")
    }))

  it.effect("fails the precondition when If-Match names another version, writing nothing", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(seeded)
      const exit = yield* Effect.exit(
        updatePhoneNumber({ userId: "u1", phoneNumber: "+14155552671", ifMatch: { _tag: "Version", version: 7 } }).pipe(
          Effect.provide(layer(store, service))
        )
      )
      expect(failureTag(exit)).toBe("PreconditionFailed")
      expect(store.events).toHaveLength(1)
    }))

  it.live("retries against the fresh row when a concurrent writer wins, and then succeeds", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(seeded)
      const real = memoryRepo(store)
      let conflicts = 3
      const flaky = {
        ...real,
        commit: (change: Parameters<typeof real.commit>[0]) =>
          conflicts-- > 0 ? Effect.fail(new VersionConflict({ userId: "u1" })) : real.commit(change)
      }
      const result = yield* updatePhoneNumber({ userId: "u1", phoneNumber: "+14155552671", ifMatch: undefined }).pipe(
        Effect.provide(layer(store, service, flaky))
      )
      expect(result.version).toBe(2)
      expect(conflicts).toBe(-1)
    }))

  it.live("gives up after a bounded number of lost races", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(seeded)
      let attempts = 0
      const alwaysLosing = {
        ...memoryRepo(store),
        commit: () => Effect.suspend(() => (attempts++, Effect.fail(new VersionConflict({ userId: "u1" }))))
      }
      const exit = yield* Effect.exit(
        updatePhoneNumber({ userId: "u1", phoneNumber: "+14155552671", ifMatch: undefined }).pipe(
          Effect.provide(layer(store, service, alwaysLosing))
        )
      )
      expect(failureTag(exit)).toBe("VersionConflict")
      expect(attempts).toBe(MAX_CONFLICT_RETRIES + 1)
    }))

  it.effect("turns a lost race into a failed precondition when the caller pinned the version", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(seeded)
      const losing = { ...memoryRepo(store), commit: () => Effect.fail(new VersionConflict({ userId: "u1" })) }
      const exit = yield* Effect.exit(
        updatePhoneNumber({ userId: "u1", phoneNumber: "+14155552671", ifMatch: { _tag: "Version", version: 1 } }).pipe(
          Effect.provide(layer(store, service, losing))
        )
      )
      expect(failureTag(exit)).toBe("PreconditionFailed")
    }))
})

describe("CreateUser (program, with doubles)", () => {
  it.effect("creates version 1 with a masked UserCreated event; repeating it is a conflict that writes nothing", () =>
    Effect.gen(function*() {
      const store = makeMemoryStore()
      const create = createUser({ userId: "u9", phoneNumber: "+44 20 7946 0958" }).pipe(
        Effect.provide(layer(store, service))
      )
      const first = yield* create
      expect(first.event).toMatchObject({ type: "UserCreated", version: 1, data: { maskedPhoneNumber: "****0958" } })
      expect(failureTag(yield* Effect.exit(create))).toBe("UserAlreadyExists")
      expect(store.events).toHaveLength(1)
    }))

  it.effect("refuses a user token", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        createUser({ userId: "u9", phoneNumber: undefined }).pipe(Effect.provide(layer(makeMemoryStore(), userU1)))
      )
      expect(failureTag(exit)).toBe("Forbidden")
    }))

  it.effect("makes a UUID v7 id when none is given", () =>
    Effect.gen(function*() {
      const result = yield* createUser({ userId: undefined, phoneNumber: undefined }).pipe(
        Effect.provide(layer(makeMemoryStore(), service))
      )
      expect(result.aggregateId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }))
})
