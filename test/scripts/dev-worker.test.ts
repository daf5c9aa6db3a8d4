/**
 * `npm run dev:worker`'s webhooks behave as in production: wrangler dev started as the conformance suite starts it
 * (test/conformance/runtimes.ts: local D1, the dev keys, the local stand-in for the cron) delivers a subscription's
 * first webhook to a real receiver on 127.0.0.1 without a manual nudge, though the isolate read "no subscription" a
 * moment before. The wait is a bound, not a timing claim.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningRuntime, startWorker } from "../conformance/runtimes.js"
import { eventually } from "../support/eventually.js"
import { sleep } from "../support/processes.js"
import { type Receiver, startReceiver } from "../support/webhook-receiver.js"

let worker: RunningRuntime
let receiver: Receiver

beforeAll(async () => {
  receiver = await startReceiver()
  worker = await startWorker(150_000)
}, 180_000)

afterAll(async () => {
  await worker?.stop()
  await receiver?.close()
}, 30_000)

describe("npm run dev:worker", () => {
  it("delivers a subscription made a second ago its first webhook within a few seconds", async () => {
    const t = worker.target
    const admin = await t.signServiceToken(t.organizationId, "users:write webhooks:write audit:read")
    const headers = { authorization: `Bearer ${admin}`, "x-api-key": t.apiKey, "content-type": "application/json" }
    const setNumber = async (phoneNumber: string) => {
      const answer = await fetch(`${t.baseUrl}/users/${t.userId}/UpdatePhoneNumber`, {
        method: "POST",
        headers,
        body: JSON.stringify({ phoneNumber })
      })
      expect(answer.status, await answer.text()).toBe(200)
    }
    // A write before any subscription: the isolate reads, after the answer, that the organization has none.
    await setNumber("+14155550101")
    await sleep(1_000)
    const created = await fetch(`${t.baseUrl}/organizations/${t.organizationId}/webhooks`, {
      method: "POST",
      headers,
      body: JSON.stringify({ url: receiver.url, eventTypes: ["UserPhoneNumberUpdated"] })
    })
    expect(created.status, await created.clone().text()).toBe(201)
    await setNumber("+14155550102")
    const delivered = await eventually(
      "the new subscription's first webhook at the receiver",
      () => receiver.received.find((r) => r.body.includes("****0102")),
      10_000
    )
    expect(JSON.parse(delivered.body)).toMatchObject({ type: "UserPhoneNumberUpdated" })
  }, 30_000)
})
