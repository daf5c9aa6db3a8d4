// The relay's back-off after a failed attempt: exponential from the base, capped, full jitter, within the window.
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { afterFailedAttempt, type RetryPolicy } from "../../src/app/webhook-relay.js"

const MINUTE = 60_000
const start = Date.parse("2026-12-06T00:00:00.000Z")
const policy: RetryPolicy = {
  maxAttempts: 10,
  baseDelayMs: 5 * MINUTE,
  maxDelayMs: 60 * MINUTE,
  windowMs: 24 * 60 * MINUTE,
  random: () => 0.5
}

const nextAfter = (attempts: number, options: Partial<RetryPolicy> = {}, now = start) =>
  Effect.runSync(afterFailedAttempt({ ...policy, ...options }, attempts, new Date(start).toISOString(), now))

const delayAfter = (attempts: number) => {
  const next = nextAfter(attempts)
  return next.status === "pending" ? Date.parse(next.nextAttemptAt) - start : next.status
}

describe("the relay's back-off", () => {
  it("doubles from the base with each attempt, at most the cap, jittered over the whole span", () => {
    expect([1, 2, 3, 4, 5, 9].map(delayAfter)).toEqual([5, 10, 20, 30, 30, 30].map((minutes) => minutes * MINUTE))
    expect(nextAfter(1, { random: () => 0 })).toEqual({
      status: "pending",
      nextAttemptAt: new Date(start).toISOString()
    })
  })

  it("gives up after the last attempt or past the window", () => {
    expect(nextAfter(10)).toEqual({ status: "failed" })
    expect(nextAfter(3, {}, start + 24 * 60 * MINUTE - 10 * MINUTE)).toEqual({ status: "failed" })
  })
})
