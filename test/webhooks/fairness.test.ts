/**
 * Fair, isolated delivery on Bun and Deno (src/app/webhook-relay.ts relayForever), over a real SQLite file with real
 * receivers on 127.0.0.1 in two organizations: a receiver that hangs on every attempt holds up no other
 * subscription, and one subscription's backlog does not starve another's, while each user's events stay in order.
 * Nothing here measures time: the tests look at what had happened when the other delivery was recorded.
 */
import { afterEach, describe, expect, it } from "vitest"
import { eventually } from "../support/eventually.js"
import { startReceiver } from "../support/webhook-receiver.js"
import { FAST, makeRelayFixture } from "./support.js"

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

const setUp = async () => {
  const f = await makeRelayFixture()
  cleanup.push(() => f.dispose())
  return f
}
const receiver = async (...args: Parameters<typeof startReceiver>) => {
  const r = await startReceiver(...args)
  cleanup.push(() => r.close())
  return r
}

describe("fair delivery (Bun and Deno)", () => {
  it(
    "a receiver that hangs on every attempt: another organization's webhooks are delivered while it hangs",
    async () => {
      const f = await setUp()
      const arrivals: Array<string> = []
      // Answers long after the relay's time-out: every attempt to it hangs until the relay gives up on it.
      const hanging = await receiver(() => (arrivals.push("hanging"), { status: 200, delayMs: 30_000 }))
      const fast = await receiver(() => (arrivals.push("fast"), { status: 204 }))
      const stuck = await f.subscribe(hanging.url, ["UserCreated"])
      const other = await f.as(f.other)
      const healthy = await other.subscribe(fast.url, ["UserCreated"])
      const job = f.startRelay({ ...FAST, timeoutMs: 1_500 })
      cleanup.push(() => job.stop())
      await f.createUser("stuck")
      for (let round = 1; round <= 3; round++) {
        // The hanging receiver holds its `round`-th attempt (the first, then each re-send after a time-out).
        await eventually(`attempt ${round} hanging`, () => (hanging.received.length >= round ? true : undefined))
        await other.createUser(`quick${round}`)
        const stuckWhenDelivered = await eventually(`quick${round} delivered`, async () => {
          const done = await other.deliveries(healthy.id, "?status=delivered")
          if (done.deliveries.length < round) return undefined
          return (await f.deliveries(stuck.id)).deliveries[0]
        })
        // Recorded while the hanging attempt was still open: only the earlier, timed-out attempts are recorded.
        expect(stuckWhenDelivered.attempts.map((a: any) => a.outcome)).toEqual(Array(round - 1).fill("timeout"))
        expect(stuckWhenDelivered.status).toBe("pending")
        expect(hanging.received).toHaveLength(round)
      }
      expect(arrivals).toEqual(["hanging", "fast", "hanging", "fast", "hanging", "fast"])
      expect(fast.received.map((w) => JSON.parse(w.body).data.aggregateId)).toEqual(["quick1", "quick2", "quick3"])
    },
    30_000
  )

  it("one subscription's backlog does not starve another's, and each user's events stay in order", async () => {
    const f = await setUp()
    const arrivals: Array<string> = []
    const busy = await receiver(() => (arrivals.push("backlog"), { status: 204 }))
    const quiet = await receiver(() => (arrivals.push("other"), { status: 204 }))
    const backlog = await f.subscribe(busy.url, ["UserCreated", "UserPhoneNumberUpdated"])
    const other = await f.as(f.other)
    const single = await other.subscribe(quiet.url, ["UserCreated"])
    // More users than a claim takes, committed before the other organization's one event, the relay not yet running.
    const users = 80
    for (let n = 0; n < users; n++) await f.createUser(`b${n}`)
    for (const phone of ["+14155550101", "+14155550102"]) expect((await f.update("b0", phone)).status).toBe(200)
    await other.createUser("lonely")
    const job = f.startRelay()
    cleanup.push(() => job.stop())
    await eventually("every delivery", async () => {
      const [a, b] = await Promise.all([
        f.deliveries(backlog.id, "?status=delivered&limit=100"),
        other.deliveries(single.id, "?status=delivered")
      ])
      return a.deliveries.length === users + 2 && b.deliveries.length === 1 ? true : undefined
    })
    // The other subscription's event went out in the first claim, not after the backlog's first claims.
    const before = arrivals.indexOf("other")
    expect(before).toBeGreaterThanOrEqual(0)
    expect(before).toBeLessThan(16)
    expect(arrivals).toHaveLength(users + 3)
    // Held back by fairness, nothing was lost, and b0's versions arrived in order.
    const versionsOfB0 = busy.received.map((w) => JSON.parse(w.body).data).filter((e) => e.aggregateId === "b0")
    expect(versionsOfB0.map((e) => e.version)).toEqual([1, 2, 3])
    expect(new Set(busy.received.map((w) => w.headers["webhook-id"])).size).toBe(users + 2)
  }, 30_000)
})
