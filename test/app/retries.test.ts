/**
 * Both retries on a Schedule (a command's lost race, a locked SQLite file) run their first attempt outside it: most
 * requests never fail, and Effect.retry would swap the fiber's context around each attempt. Then the Schedule rules.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { MAX_CONFLICT_RETRIES, retryOnConflict } from "../../src/app/run-command.js"
import { retryWhileLocked } from "../../src/layers/sql/lock-wait.js"
import { VersionConflict } from "../../src/services/errors.js"

// Each attempt: whether it runs inside a Schedule, which provides its iteration's metadata.
const attempts = <E>(failFirst: number, failure: () => E) => {
  const seen: Array<boolean> = []
  const attempt = Effect.flatMap(Effect.context<never>(), (context) => {
    seen.push(context.unsafeMap.has(Schedule.CurrentIterationMetadata.key))
    return seen.length <= failFirst ? Effect.fail(failure()) : Effect.succeed(seen.length)
  })
  return { attempt, seen }
}

describe("retries on a Schedule", () => {
  it.live("a command that wins at once never enters the Schedule", () =>
    Effect.gen(function*() {
      const { attempt, seen } = attempts(0, () => new VersionConflict({ userId: "u1" }))
      expect(yield* retryOnConflict(attempt)).toBe(1)
      expect(seen).toEqual([false])
    }))

  it.live("a lost race is retried on the Schedule, as many times as before", () =>
    Effect.gen(function*() {
      const { attempt, seen } = attempts(2, () => new VersionConflict({ userId: "u1" }))
      expect(yield* retryOnConflict(attempt)).toBe(3)
      expect(seen).toEqual([false, true, true])
      const always = attempts(Infinity, () => new VersionConflict({ userId: "u1" }))
      yield* Effect.exit(retryOnConflict(always.attempt))
      expect(always.seen).toHaveLength(MAX_CONFLICT_RETRIES + 1)
    }))

  it.live("a statement that finds no lock never enters the Schedule; a locked one does", () =>
    Effect.gen(function*() {
      const free = attempts(0, () => new Error("database is locked"))
      expect(yield* retryWhileLocked(free.attempt)).toBe(1)
      expect(free.seen).toEqual([false])
      const locked = attempts(1, () => new Error("database is locked"))
      expect(yield* retryWhileLocked(locked.attempt)).toBe(2)
      expect(locked.seen).toEqual([false, true])
    }))
})
