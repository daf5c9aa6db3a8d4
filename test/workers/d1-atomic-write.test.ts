/**
 * D1Services' atomic write: the users row and its event go into D1 as one `batch`, all or nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { env } from "cloudflare:test"
import { Cause, Effect, Exit, Option } from "effect"
import { ensureOrganization } from "../../src/admin/tenants.js"
import { GENESIS_HASH } from "../../src/audit/chain.js"
import { type E164, maskPhoneNumber, parsePhoneNumber } from "../../src/domain/phone.js"
import { type CommandMetadata, decide } from "../../src/domain/user.js"
import { D1Driver, D1Services } from "../../src/layers/d1.js"
import { StoreDriver } from "../../src/layers/sql/driver.js"
import { type Change, type StoredUser, UserRepo } from "../../src/services/user-repo.js"
import { eventRows, jwtConfig, userRow } from "./support/d1-fixture.js"

const ORG = "org_atomic"
const OLD = Effect.runSync(parsePhoneNumber("+1 415 555 2671"))
const NEW = Effect.runSync(parsePhoneNumber("+44 20 7946 0958"))
const OTHER = Effect.runSync(parsePhoneNumber("+49 151 23456789"))

const metadata = (eventId: string): CommandMetadata => ({
  organizationId: ORG,
  actor: { type: "service", id: "svc_test" },
  requestId: "req-atomic",
  eventId,
  now: "2026-03-01T00:00:00.000Z"
})

const change = (command: Parameters<typeof decide>[0], stored: StoredUser | null, eventId: string): Change => {
  const decision = decide(command, stored?.user ?? null, metadata(eventId), maskPhoneNumber)
  if (decision._tag !== "Changed") throw new Error(`expected a change, got ${decision._tag}`)
  return { ...decision, previousHash: stored?.headHash ?? GENESIS_HASH }
}

/** A user at version 1 with OLD, created through UserRepo.commit (one batch). */
const givenUser = (userId: string) =>
  Effect.gen(function*() {
    yield* ensureOrganization(ORG, ORG)
    const created = change({ type: "CreateUser", userId, phoneNumber: OLD }, null, `${userId}-created`)
    const repo = yield* UserRepo
    yield* repo.commit(created)
    return (yield* repo.find(ORG, userId))!
  })

const update = (stored: StoredUser, phoneNumber: E164, eventId: string) =>
  change({ type: "UpdatePhoneNumber", userId: stored.user.id, phoneNumber }, stored, eventId)

/** The tag of the error an effect failed with ("success" if it did not). */
const failureTag = (exit: Exit.Exit<unknown, { readonly _tag: string }>): string =>
  Exit.isSuccess(exit) ? "success" : Option.match(Cause.failureOption(exit.cause), {
    onNone: () => "defect",
    onSome: (error) => error._tag
  })

const D1 = D1Services(env.DB, jwtConfig)

describe("the D1 atomic write", () => {
  it.effect("writes the row and its event together", () =>
    Effect.gen(function*() {
      const user = yield* givenUser("u_ok")
      yield* (yield* UserRepo).commit(update(user, NEW, "u_ok-updated"))

      expect(yield* Effect.promise(() => userRow(ORG, "u_ok"))).toEqual({ phone_number: NEW, version: 2 })
      const events = yield* Effect.promise(() => eventRows(ORG, "u_ok"))
      expect(events.map((e) => [e.version, e.type, e.event_id])).toEqual([
        [1, "UserCreated", "u_ok-created"],
        [2, "UserPhoneNumberUpdated", "u_ok-updated"]
      ])
    }).pipe(Effect.provide(D1)))

  it.effect("rolls back the row update when the event insert fails on a duplicate event id", () =>
    Effect.gen(function*() {
      const user = yield* givenUser("u_dup")
      // The UPDATE of the row succeeds inside the batch; the INSERT of an event reusing an id then fails.
      const exit = yield* Effect.exit((yield* UserRepo).commit(update(user, NEW, "u_dup-created")))

      // An id collision is no concurrency guard (docs/DECISIONS.md): it is reported as a store failure.
      expect(failureTag(exit)).toBe("StoreUnavailable")
      expect(yield* Effect.promise(() => userRow(ORG, "u_dup"))).toEqual({ phone_number: OLD, version: 1 })
      expect((yield* Effect.promise(() => eventRows(ORG, "u_dup"))).map((e) => e.event_id)).toEqual(["u_dup-created"])
    }).pipe(Effect.provide(D1)))

  it.effect("writes nothing and reports a version conflict when the row moved on since it was read", () =>
    Effect.gen(function*() {
      const user = yield* givenUser("u_stale")
      const repo = yield* UserRepo
      yield* repo.commit(update(user, NEW, "u_stale-first"))
      // A second writer decided from the same version-1 state: its UPDATE matches no row, so the trigger refuses the event.
      const exit = yield* Effect.exit(repo.commit(update(user, OTHER, "u_stale-second")))

      expect(failureTag(exit)).toBe("VersionConflict")
      expect(yield* Effect.promise(() => userRow(ORG, "u_stale"))).toEqual({ phone_number: NEW, version: 2 })
      expect((yield* Effect.promise(() => eventRows(ORG, "u_stale"))).map((e) => e.event_id)).toEqual([
        "u_stale-created",
        "u_stale-first"
      ])
    }).pipe(Effect.provide(D1)))

  it.effect("refuses to create a user twice without touching the first one", () =>
    Effect.gen(function*() {
      yield* givenUser("u_twice")
      const again = change({ type: "CreateUser", userId: "u_twice", phoneNumber: NEW }, null, "u_twice-again")
      const exit = yield* Effect.exit((yield* UserRepo).commit(again))

      expect(failureTag(exit)).toBe("VersionConflict")
      expect(yield* Effect.promise(() => userRow(ORG, "u_twice"))).toEqual({ phone_number: OLD, version: 1 })
      expect(yield* Effect.promise(() => eventRows(ORG, "u_twice"))).toHaveLength(1)
    }).pipe(Effect.provide(D1)))

  it.effect("reports a failure that is no concurrency guard as the store being unavailable, and rolls back", () =>
    Effect.gen(function*() {
      const user = yield* givenUser("u_broken")
      const driver = yield* StoreDriver
      const exit = yield* Effect.exit(driver.write(
        [
          { sql: "UPDATE users SET version = 2 WHERE organization_id = ? AND id = ?", params: [ORG, user.user.id] },
          { sql: "INSERT INTO no_such_table (x) VALUES (?)", params: [1] }
        ],
        user.user.id
      ))

      expect(failureTag(exit)).toBe("StoreUnavailable")
      expect(yield* Effect.promise(() => userRow(ORG, "u_broken"))).toEqual({ phone_number: OLD, version: 1 })
    }).pipe(Effect.provide([D1, D1Driver(env.DB)])))
})
