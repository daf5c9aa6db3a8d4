/**
 * The webhook relay of the Bun and Deno servers (src/app/webhook-relay.ts), end to end over a real SQLite file: the
 * real handler writes the events, the relay fiber derives, claims, signs and sends them with the real fetch transport
 * to a real receiver on 127.0.0.1, which checks each signature with the standardwebhooks package (the specification's
 * reference implementation). Retries, failures, the per-user order, a restart between the write and the send, a relay
 * killed mid-delivery, 410 Gone, timeouts, resets and a secret rotation.
 */
import { Effect } from "effect"
import { Webhook } from "standardwebhooks"
import { afterEach, describe, expect, it } from "vitest"
import { relayRound } from "../../src/app/webhook-relay.js"
import { webhookSecretDeriver } from "../../src/app/webhook-secrets.js"
import type { Job } from "../../src/fetch-handler.js"
import { sendWebhook } from "../../src/layers/webhooks/transport.js"
import { WebhookTransport } from "../../src/services/webhooks.js"
import { call } from "../support/client.js"
import { eventually } from "../support/eventually.js"
import { TEST_WEBHOOK_SECRET_KEY } from "../support/sqlite-fixture.js"
import { type Receiver, startReceiver } from "../support/webhook-receiver.js"
import { FAST, immediateRetries, makeRelayFixture, numbers, type RelayFixture } from "./support.js"

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

const setUp = async (options: Parameters<typeof makeRelayFixture>[0] = {}) => {
  const f = await makeRelayFixture(options)
  cleanup.push(() => f.dispose())
  return f
}
const receiver = async (...args: Parameters<typeof startReceiver>) => {
  const r = await startReceiver(...args)
  cleanup.push(() => r.close())
  return r
}
const relay = (f: RelayFixture, options = FAST): Job => {
  const job = f.startRelay(options)
  cleanup.push(() => job.stop())
  return job
}
const next = numbers()

/** The body and headers of every request `r` received, verified with the reference implementation. */
const verified = (r: Receiver, secret: string) =>
  r.received.map((request) => {
    const payload = new Webhook(secret).verify(request.body, request.headers) as any
    return { request, payload }
  })

const delivered = (r: Receiver) =>
  r.received.filter((request) => "status" in request.answer && request.answer.status < 300)

describe("the relay (Bun and Deno)", () => {
  it("delivers each event once, signed as Standard Webhooks specifies, with the event id as webhook-id", async () => {
    const f = await setUp()
    const r = await receiver()
    const { id, secret } = await f.subscribe(r.url, ["UserCreated", "UserPhoneNumberUpdated"])
    relay(f)
    await f.createUser("alice", next())
    const number = next()
    const update = await f.update("alice", number)
    expect(update.status).toBe(200)
    // The receiver answers before the relay records the attempt: wait for the record, not the request.
    await eventually("both events delivered", async () => {
      const found = await f.deliveries(id, "?status=delivered")
      return found.deliveries.length === 2 ? true : undefined
    })
    const [created, updated] = verified(r, secret)
    expect(created!.payload).toMatchObject({ type: "UserCreated", data: { aggregateId: "alice", version: 1 } })
    // The event exactly as the API shows it, and its chain position.
    expect(updated!.payload).toEqual({
      type: "UserPhoneNumberUpdated",
      timestamp: update.body.event.occurredAt,
      data: update.body.event,
      chain: {
        sequence: expect.any(Number),
        aggregateId: "alice",
        version: 2,
        prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/)
      }
    })
    expect(updated!.request.headers["webhook-id"]).toBe(update.body.event.id)
    expect(updated!.request.headers["content-type"]).toBe("application/json")
    expect(updated!.request.method).toBe("POST")
    expect(updated!.request.path).toBe("/hooks")
    // Nothing but what a webhook needs (and what fetch itself adds): no credential of ours, no cookie.
    const allowed =
      /^(connection|content-length|content-type|host|user-agent|webhook-(id|timestamp|signature)|accept|accept-encoding|accept-language|sec-fetch-mode)$/
    expect(Object.keys(updated!.request.headers).filter((name) => !allowed.test(name))).toEqual([])
    expect(updated!.request.headers["user-agent"]).toBe("users-api-webhooks/1")
    expect(r.received).toHaveLength(2)
    const page = await f.deliveries(id)
    expect(page.deliveries.map((d: any) => [d.eventType, d.version, d.status, d.attempts.length])).toEqual([
      ["UserCreated", 1, "delivered", 1],
      ["UserPhoneNumberUpdated", 2, "delivered", 1]
    ])
    expect(page.deliveries[1].attempts[0]).toMatchObject({ outcome: "delivered", httpStatus: 204 })
  })

  it("sends only the event types subscribed to", async () => {
    const f = await setUp()
    const r = await receiver()
    await f.createUser("kim", next())
    const { id } = await f.subscribe(r.url, ["UserPersonalDataErased"])
    relay(f)
    await f.update("kim", next())
    const erased = await call(f.fetch, "POST", "/users/kim/ErasePersonalData", {
      token: f.admin,
      apiKey: f.tenant.apiKey
    })
    expect(erased.status).toBe(200)
    await eventually("the erasure", () => (r.received.length > 0 ? true : undefined))
    // The update came first and was passed over: only the erasure became a delivery.
    expect((await f.deliveries(id)).deliveries.map((d: any) => d.eventType)).toEqual(["UserPersonalDataErased"])
    expect(r.received.map((w) => JSON.parse(w.body).type)).toEqual(["UserPersonalDataErased"])
  })

  it("starts at the subscription: what was written before it is the feed's, not its", async () => {
    const f = await setUp()
    const r = await receiver()
    await f.createUser("early", next())
    await f.subscribe(r.url, ["UserCreated"])
    relay(f)
    await f.createUser("late", next())
    await eventually("the later user", () => (r.received.length > 0 ? true : undefined))
    expect(r.received.map((w) => JSON.parse(w.body).data.aggregateId)).toEqual(["late"])
  })

  it("a receiver that fails three times, then succeeds, gets the event exactly once after the retries", async () => {
    const f = await setUp()
    const r = await receiver(({ nth }) => (nth < 3 ? { status: 500, body: "try later" } : { status: 200 }))
    const { id, secret } = await f.subscribe(r.url)
    relay(f)
    await f.createUser("bob", next())
    const page = await eventually("delivered", async () => {
      const found = await f.deliveries(id, "?status=delivered")
      return found.deliveries.length === 1 ? found : undefined
    })
    expect(r.received).toHaveLength(4)
    expect(verified(r, secret).map(({ request }) => request.headers["webhook-id"])).toEqual(
      Array(4).fill(page.deliveries[0].eventId)
    )
    expect(delivered(r)).toHaveLength(1)
    expect(page.deliveries[0].attempts.map((a: any) => [a.outcome, a.httpStatus, a.responseExcerpt])).toEqual([
      ["http-error", 500, "try later"],
      ["http-error", 500, "try later"],
      ["http-error", 500, "try later"],
      ["delivered", 200, ""]
    ])
    // Delivered is final: nothing more is sent.
    await f.createUser("bob2", next())
    await eventually("the next event", () => (r.received.length >= 5 ? true : undefined))
    expect(r.withId(page.deliveries[0].eventId)).toHaveLength(4)
  })

  it("one that always fails ends failed, with every attempt recorded, visible with ?status=failed, and can be re-sent", async () => {
    const f = await setUp()
    const r = await receiver(() => ({ status: 503, body: "x".repeat(1_000) }))
    const { id } = await f.subscribe(r.url)
    relay(f, { ...FAST, retry: immediateRetries(4) })
    await f.createUser("carol", next())
    const failed = await eventually("failed", async () => {
      const found = await f.deliveries(id, "?status=failed")
      return found.deliveries.length === 1 ? found.deliveries[0] : undefined
    })
    expect(failed.attempts).toHaveLength(4)
    for (const attempt of failed.attempts) {
      expect(attempt).toMatchObject({ outcome: "http-error", httpStatus: 503 })
      // Never the receiver's body in full.
      expect(attempt.responseExcerpt).toBe("x".repeat(256))
      expect(attempt.durationMs).toBeGreaterThanOrEqual(0)
    }
    expect(r.received).toHaveLength(4)
    expect((await f.deliveries(id, "?status=pending")).deliveries).toEqual([])
    expect(f.relayLogs).toContainEqual(
      expect.objectContaining({ msg: "webhook delivery failed", eventId: failed.eventId })
    )

    r.respond(() => ({ status: 200 }))
    const resent = await call(
      f.fetch,
      "POST",
      `/organizations/${f.tenant.organizationId}/webhooks/${id}/deliveries/${failed.eventId}/resend`,
      { token: f.admin, apiKey: f.tenant.apiKey }
    )
    expect(resent.status).toBe(200)
    expect(resent.body.delivery.status).toMatch(/^(pending|delivered)$/)
    const done = await eventually("re-sent and delivered", async () => {
      const found = await f.deliveries(id, "?status=delivered")
      return found.deliveries.length === 1 ? found.deliveries[0] : undefined
    })
    expect(done.attempts.map((a: any) => a.outcome)).toEqual([
      "http-error",
      "http-error",
      "http-error",
      "http-error",
      "delivered"
    ])
    expect(r.withId(failed.eventId)).toHaveLength(5)
  })

  it("50 concurrent updates of one user arrive in version order", async () => {
    const f = await setUp()
    const r = await receiver()
    await f.createUser("dora", next())
    const { secret } = await f.subscribe(r.url, ["UserPhoneNumberUpdated"])
    // A receiver slower than the writer: later versions pile up behind earlier ones.
    r.respond(({ total }) => ({ status: 200, delayMs: total % 7 }))
    relay(f)
    const answers = await Promise.all(Array.from({ length: 50 }, () => f.update("dora", next())))
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200))
    await eventually("50 deliveries", () => (r.received.length >= 50 ? true : undefined))
    const versions = verified(r, secret).map(({ payload }) => payload.data.version)
    expect(versions).toEqual(Array.from({ length: 50 }, (_, i) => i + 2))
  })

  it("a user's failed event does not stop the user's stream: the next version goes out after it", async () => {
    const f = await setUp()
    const r = await receiver(({ total }) => (total < 2 ? { status: 500 } : { status: 200 }))
    const { id } = await f.subscribe(r.url, ["UserCreated", "UserPhoneNumberUpdated"])
    await f.createUser("erin", next())
    await f.update("erin", next())
    relay(f, { ...FAST, retry: immediateRetries(2) })
    await eventually("version 2 delivered", async () => {
      const found = await f.deliveries(id)
      return found.deliveries.map((d: any) => d.status).join() === "failed,delivered" ? true : undefined
    })
    // Version 2 waited for version 1 to end, failed, before it was tried.
    expect(r.received.map((w) => JSON.parse(w.body).data.version)).toEqual([1, 1, 2])
  })

  it("a server restarted between the write and the send still delivers", async () => {
    const first = await makeRelayFixture()
    const r = await receiver()
    await first.subscribe(r.url)
    // The first server commits, then is gone before its relay ever ran.
    await first.createUser("fred", next())
    await first.update("fred", next())
    await first.dispose()
    expect(r.received).toEqual([])
    const second = await setUp({ filename: first.filename })
    relay(second)
    await eventually("both events after the restart", () => (r.received.length >= 2 ? true : undefined))
    expect(r.received.map((w) => JSON.parse(w.body).data.version)).toEqual([1, 2])
  })

  it("a relay killed mid-delivery loses nothing and sends again at most once, after its lease", async () => {
    const f = await setUp()
    const r = await receiver()
    const { id } = await f.subscribe(r.url, ["UserCreated"])
    await f.createUser("gina", next())
    // A relay that sends, then dies before it records the attempt: its lease stays behind.
    const crashing = WebhookTransport.of({
      send: (webhook) => Effect.zipRight(sendWebhook({ checkAddresses: false })(webhook), Effect.die("killed"))
    })
    const dead = f.handler.run(
      Effect.ignore(
        Effect.exit(
          relayRound({ ...FAST, deriveSecret: webhookSecretDeriver(TEST_WEBHOOK_SECRET_KEY), leaseMs: 300 }).pipe(
            Effect.provideService(WebhookTransport, crashing)
          )
        )
      )
    )
    await dead.done
    expect(r.received).toHaveLength(1)
    expect((await f.deliveries(id)).deliveries[0]).toMatchObject({ status: "pending", attempts: [] })
    // The next relay takes the delivery over once the lease has expired, and sends it once more.
    relay(f, { ...FAST, leaseMs: 300 })
    await eventually("delivered after the lease", async () => {
      const found = await f.deliveries(id, "?status=delivered")
      return found.deliveries.length === 1 ? true : undefined
    })
    expect(r.received).toHaveLength(2)
    expect(new Set(r.received.map((w) => w.headers["webhook-id"])).size).toBe(1)
  })

  it("410 Gone disables the subscription, which says so, and nothing more is sent to it", async () => {
    const f = await setUp()
    const r = await receiver(() => ({ status: 410 }))
    const { id } = await f.subscribe(r.url)
    relay(f)
    await f.createUser("hana", next())
    const listed = await eventually("disabled", async () => {
      const answer = await call(f.fetch, "GET", `/organizations/${f.tenant.organizationId}/webhooks`, {
        token: f.admin,
        apiKey: f.tenant.apiKey
      })
      const webhook = answer.body.webhooks.find((w: any) => w.id === id)
      return webhook.status === "disabled" ? webhook : undefined
    })
    expect(listed).toMatchObject({
      status: "disabled",
      disabledReason: "receiver-gone",
      disabledAt: expect.any(String)
    })
    expect((await f.deliveries(id)).deliveries[0]).toMatchObject({
      status: "failed",
      attempts: [{ outcome: "gone", httpStatus: 410 }]
    })
    expect(f.relayLogs).toContainEqual(expect.objectContaining({ msg: "webhook subscription disabled", webhookId: id }))
    await f.createUser("hana2", next())
    await f.update("hana", next())
    // Their deliveries are not even made: a disabled subscription's cursor stays where it stopped.
    const again = await f.deliveries(id)
    expect(again.deliveries).toHaveLength(1)
    expect(r.received).toHaveLength(1)
  })

  it("a receiver that times out or resets the connection is retried", async () => {
    const f = await setUp()
    const r = await receiver((
      { nth }
    ) => (nth === 0 ? { status: 200, delayMs: 1_500 } : nth === 1 ? { reset: true } : { status: 202 }))
    const { id } = await f.subscribe(r.url)
    relay(f, { ...FAST, timeoutMs: 300 })
    await f.createUser("ivan", next())
    const done = await eventually("delivered", async () => {
      const found = await f.deliveries(id, "?status=delivered")
      return found.deliveries[0]
    })
    expect(done.attempts.map((a: any) => a.outcome)).toEqual(["timeout", "network-error", "delivered"])
    expect(done.attempts[0].httpStatus).toBeNull()
  })

  it("after a rotation, signs with the new secret and the old one until it expires", async () => {
    const f = await setUp()
    const r = await receiver()
    const { id, secret: old } = await f.subscribe(r.url)
    const rotated = await call(
      f.fetch,
      "POST",
      `/organizations/${f.tenant.organizationId}/webhooks/${id}/rotate-secret`,
      { token: f.admin, apiKey: f.tenant.apiKey }
    )
    expect(rotated.status).toBe(200)
    const fresh = rotated.body.secret as string
    expect(fresh).not.toBe(old)
    relay(f)
    await f.createUser("jane", next())
    await eventually("delivered", () => (r.received.length > 0 ? true : undefined))
    const [webhook] = r.received
    expect(webhook!.headers["webhook-signature"]!.split(" ")).toHaveLength(2)
    for (const secret of [fresh, old]) expect(new Webhook(secret).verify(webhook!.body, webhook!.headers)).toBeTruthy()
    expect(() => new Webhook("whsec_" + Buffer.alloc(32, 7).toString("base64")).verify(webhook!.body, webhook!.headers))
      .toThrow()
  })
})
