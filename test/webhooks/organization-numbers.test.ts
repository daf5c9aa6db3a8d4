/**
 * What a receiver and an operator see of the event numbers: a webhook's `chain.sequence` and a delivery's
 * `eventSequence` are the organization's own numbers, the feed's, so another organization's writes in between show
 * nowhere.
 */
import { Webhook } from "standardwebhooks"
import { afterEach, describe, expect, it } from "vitest"
import { call } from "../support/client.js"
import { eventually } from "../support/eventually.js"
import { startReceiver } from "../support/webhook-receiver.js"
import { FAST, makeRelayFixture, numbers } from "./support.js"

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

describe("event numbers in webhooks and deliveries", () => {
  it("are the organization's own, gap-free, whatever another organization writes in between", async () => {
    const f = await makeRelayFixture()
    cleanup.push(() => f.dispose())
    const r = await startReceiver()
    cleanup.push(() => r.close())
    const next = numbers()
    const { id, secret } = await f.subscribe(r.url, ["UserCreated", "UserPhoneNumberUpdated"])
    const job = f.startRelay(FAST)
    cleanup.push(() => job.stop())
    const other = { token: await f.serviceToken("users:write", f.other.organizationId), apiKey: f.other.apiKey }
    const elsewhere = (userId: string) => call(f.fetch, "POST", "/users", { ...other, body: { id: userId } })
    await f.createUser("nia", next())
    await elsewhere("x1")
    await elsewhere("x2")
    await f.update("nia", next())
    await elsewhere("x3")
    await f.createUser("oli")
    const page = await eventually("three deliveries", async () => {
      const found = await f.deliveries(id, "?status=delivered")
      return found.deliveries.length === 3 ? found : undefined
    })
    const feed = await call(f.fetch, "GET", `/organizations/${f.tenant.organizationId}/events`, {
      token: f.admin,
      apiKey: f.tenant.apiKey
    })
    const own = (feed.body.events as Array<any>).slice(-3).map((e) => e.sequence)
    expect(own[1]! - own[0]!).toBe(1)
    expect(own[2]! - own[1]!).toBe(1)
    expect(page.deliveries.map((d: any) => d.eventSequence)).toEqual(own)
    const sent = r.received.map((request) => (new Webhook(secret).verify(request.body, request.headers) as any).chain)
    expect(sent.map((chain: any) => chain.sequence).sort((a: number, b: number) => a - b)).toEqual(own)
  })
})
