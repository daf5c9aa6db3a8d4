/**
 * Webhooks on Workers, inside workerd over local D1: the Worker of src/worker.ts with the queue of wrangler.toml run
 * by Miniflare. First the relay's SQL on D1 (json_each, the lease's UPDATE … RETURNING, the order check, shards), with
 * a transport that answers as each test says. Then the queue path: a write through the Worker wakes the relay through
 * the queue, whose consumer (the same Worker's `queue()`) sends to a real receiver on 127.0.0.1
 * (test/workers/support/receiver-setup.ts), also right after subscribing when the isolate had read that there was no
 * subscription; a receiver that fails is retried, one queue round per retry (the test moves the retry's due time to
 * now instead of waiting for it), until it accepts or the delivery is failed, listed and re-sent; 410 disables; the cron trigger's round delivers without a queue; the dead-letter consumer reports and
 * acknowledges; a round that cannot run is retried by the queue. Last, fairness: a receiver that hangs holds up no
 * other organization's deliveries (queue), and one subscription's backlog does not starve another's (cron).
 *
 * The SQL tests come first: a queue test's consumer may send itself a delayed message (a retry due within the
 * minute), whose round would otherwise claim their deliveries.
 */
import { D1Client } from "@effect/sql-d1"
import { describe, expect, it } from "@effect/vitest"
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  SELF,
  waitOnExecutionContext
} from "cloudflare:test"
import { Effect } from "effect"
import { Webhook } from "standardwebhooks"
import {
  exportOrganizationSql,
  forgetMovedOrganizationSql,
  initShardSql,
  routeOrganizationSql,
  SHARD_SEQUENCE_SPAN
} from "../../src/admin/shards.js"
import { ensureOrganization, issueApiKey } from "../../src/admin/tenants.js"
import { DEFAULT_RETRY_POLICY, relayUntilIdle, type RetryPolicy } from "../../src/app/webhook-relay.js"
import { webhookSecretDeriver } from "../../src/app/webhook-secrets.js"
import { signServiceToken } from "../../src/dev/signing.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { D1Services } from "../../src/layers/d1.js"
import { DEAD_LETTER_SUFFIX, type RelayMessage } from "../../src/layers/webhooks/queue.js"
import { type TransportResult, WebhookTransport } from "../../src/services/webhooks.js"
import { verifyWebhook } from "../../src/webhooks/verify.js"
import worker, { type Bindings } from "../../src/worker.js"
import { eventually } from "../support/eventually.js"
import { noLogs } from "../support/logs.js"
import {
  BASE_URL,
  handlerOptions,
  jwtConfig,
  rows,
  runOnD1,
  seedTenant,
  type Tenant,
  testKey
} from "./support/d1-fixture.js"

const SCOPES = "users:read users:write audit:read webhooks:write"

interface Kept {
  readonly headers: Record<string, string>
  readonly body: string
  /** Its place among every request the receiver got, whatever the mailbox. */
  readonly n: number
}

/** Requests of a tenant's service with the SCOPES, through `send` (SELF.fetch, worker.fetch, a handler). */
const as = async (tenant: Tenant, send: (request: Request) => Promise<Response>) => {
  const token = await signServiceToken(testKey, "svc_hooks", tenant.organizationId, SCOPES)
  const request = (method: string, path: string, body?: unknown) =>
    send(
      new Request(`${BASE_URL}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          "x-api-key": tenant.apiKey,
          ...(body === undefined ? {} : { "content-type": "application/json" })
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
    )
  const hooks = `/organizations/${tenant.organizationId}/webhooks`
  return {
    subscribe: async (url: string, eventTypes: ReadonlyArray<string> = ["UserCreated", "UserPhoneNumberUpdated"]) => {
      const answer = await request("POST", hooks, { url, eventTypes })
      expect(answer.status, await answer.clone().text()).toBe(201)
      return (await answer.json()) as { webhook: { id: string }; secret: string }
    },
    createUser: async (id: string, phoneNumber?: string) => {
      const answer = await request("POST", "/users", phoneNumber === undefined ? { id } : { id, phoneNumber })
      expect(answer.status, await answer.clone().text()).toBe(201)
      return (await answer.json()) as { event: { id: string } }
    },
    update: async (id: string, phoneNumber: string) => {
      const answer = await request("POST", `/users/${id}/UpdatePhoneNumber`, { phoneNumber })
      expect(answer.status).toBe(200)
      return (await answer.json()) as { event: { id: string; version: number } }
    },
    webhooks: async () => {
      const answer = await request("GET", hooks)
      expect(answer.status).toBe(200)
      return ((await answer.json()) as { webhooks: Array<{ id: string; status: string; disabledReason: string }> })
        .webhooks
    },
    deliveries: async (webhookId: string, status: string) => {
      const answer = await request("GET", `${hooks}/${webhookId}/deliveries?status=${status}`)
      expect(answer.status).toBe(200)
      return ((await answer.json()) as {
        deliveries: Array<{ eventId: string; status: string; attempts: Array<{ outcome: string; httpStatus: number }> }>
      }).deliveries
    },
    resend: (webhookId: string, eventId: string) =>
      request("POST", `${hooks}/${webhookId}/deliveries/${eventId}/resend`)
  }
}

const box = () => crypto.randomUUID()
const received = async (name: string): Promise<Array<Kept>> =>
  (await fetch(`${env.WEBHOOK_RECEIVER}/received/${name}`)).json()

interface DeliveryRow {
  readonly aggregate_id: string
  readonly version: number
  readonly status: string
  readonly attempts: number
}

const deliveryRows = (subscriptionId: string, db: D1Database = env.DB) =>
  db.prepare(
    "SELECT aggregate_id, version, status, attempts FROM webhook_deliveries WHERE subscription_id = ? ORDER BY event_sequence"
  ).bind(subscriptionId).all<DeliveryRow>().then((r) => r.results)

const attemptRows = (subscriptionId: string) =>
  rows<{ outcome: string; http_status: number | null }>(
    "SELECT outcome, http_status FROM webhook_attempts WHERE subscription_id = ? ORDER BY id",
    subscriptionId
  )

/** A subscription's only delivery once it has been attempted `attempts` times (or more). */
const afterAttempts = (subscriptionId: string, attempts: number) =>
  eventually(`attempt ${attempts} of ${subscriptionId}`, async () => {
    const [row] = await deliveryRows(subscriptionId)
    return row !== undefined && row.attempts >= attempts ? row : undefined
  })

/** The clock moves on to the retry: the subscription's pending deliveries are due now. */
const retryIsDue = (subscriptionId: string) =>
  env.DB.prepare(
    "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE subscription_id = ? AND status = 'pending' AND lease_owner IS NULL"
  ).bind(new Date(Date.now() - 1000).toISOString(), subscriptionId).run()

/** What the fetch handler's producer sends: one message through the Miniflare queue to the Worker's consumer. */
const wakeThroughQueue = () => env.WEBHOOKS.send({ kind: "relay" } satisfies RelayMessage)

describe("the relay's SQL on D1", () => {
  const deriveSecret = webhookSecretDeriver(env.WEBHOOK_SECRET_KEY)
  const handlerOver = (shards: ReadonlyArray<D1Database> = []) =>
    makeFetchHandler(D1Services(env.DB, jwtConfig, shards), {
      ...handlerOptions,
      webhooks: { secretKey: env.WEBHOOK_SECRET_KEY, allowLoopback: true }
    })
  type Payload = { data: { aggregateId: string; version: number } }
  /** Runs the Worker's relay with a transport that answers each webhook as `answer` says; the bodies, in send order. */
  const relayWith = async (
    handler: ReturnType<typeof handlerOver>,
    answer: (payload: Payload) => TransportResult,
    retry: Partial<RetryPolicy> = {}
  ) => {
    const sent: Array<Payload> = []
    const transport = WebhookTransport.of({
      send: (webhook) =>
        Effect.sync(() => {
          const payload = JSON.parse(webhook.body) as Payload
          sent.push(payload)
          return answer(payload)
        })
    })
    let outcome: unknown
    await handler.run(
      relayUntilIdle({
        deriveSecret,
        // Retries due at once, unless the test says otherwise.
        retry: { maxAttempts: 10, baseDelayMs: 1, maxDelayMs: 1, windowMs: 60_000, random: () => 0, ...retry }
      }).pipe(
        Effect.provideService(WebhookTransport, transport),
        Effect.provide(noLogs),
        Effect.either,
        Effect.map((either) => void (outcome = either))
      )
    ).done
    expect(outcome).toMatchObject({ _tag: "Right" })
    return sent
  }
  const ok: TransportResult = { kind: "response", status: 200, excerpt: "" }
  const at = (payload: Payload) => `${payload.data.aggregateId}@${payload.data.version}`

  it("derives only the subscribed types and sends each user's versions in order", async () => {
    const handler = handlerOver()
    const api = await as(await seedTenant(), handler.fetch)
    const { webhook } = await api.subscribe("http://127.0.0.1:9/never", ["UserPhoneNumberUpdated"])
    await api.createUser("u1")
    await api.createUser("u2")
    for (let i = 0; i < 4; i++) {
      await api.update("u1", `+1415555010${i}`)
      await api.update("u2", `+1415555020${i}`)
    }
    const sent = await relayWith(handler, () => ok)
    // No UserCreated (version 1): not subscribed.
    expect(sent.map(at).sort()).toEqual(["u1@2", "u1@3", "u1@4", "u1@5", "u2@2", "u2@3", "u2@4", "u2@5"])
    for (const user of ["u1", "u2"]) {
      expect(sent.filter((p) => p.data.aggregateId === user).map((p) => p.data.version)).toEqual([2, 3, 4, 5])
    }
    expect((await deliveryRows(webhook.id)).map((r) => r.status)).toEqual(Array(8).fill("delivered"))
  })

  it("holds a user's later version while an earlier one is retried, and sends it once that one has failed", async () => {
    const handler = handlerOver()
    const api = await as(await seedTenant(), handler.fetch)
    const { webhook } = await api.subscribe("http://127.0.0.1:9/never")
    await api.createUser("v1")
    await api.update("v1", "+14155550301")
    await api.update("v1", "+14155550302")
    // Version 2 answers 500, version 3 times out: three attempts each are allowed.
    const sent = await relayWith(handler, (payload) =>
      payload.data.version === 2
        ? { kind: "response", status: 500, excerpt: "" }
        : payload.data.version === 3
        ? { kind: "timeout" }
        : ok, { maxAttempts: 3 })
    expect(sent.map(at)).toEqual(["v1@1", "v1@2", "v1@2", "v1@2", "v1@3", "v1@3", "v1@3"])
    expect(await deliveryRows(webhook.id)).toEqual([
      { aggregate_id: "v1", version: 1, status: "delivered", attempts: 1 },
      { aggregate_id: "v1", version: 2, status: "failed", attempts: 3 },
      { aggregate_id: "v1", version: 3, status: "failed", attempts: 3 }
    ])
    expect((await attemptRows(webhook.id)).map((a) => a.outcome)).toEqual([
      "delivered",
      "http-error",
      "http-error",
      "http-error",
      "timeout",
      "timeout",
      "timeout"
    ])
  })

  it("relays an organization on shard 1 from that shard, whose events are numbered from its own range", async () => {
    const handler = handlerOver([env.DB_1])
    const organizationId = `org_hooks_s1_${crypto.randomUUID().slice(0, 8)}`
    // Shard 1 numbers its events from 2^40 (admin init-shard), and holds none yet: the subscription's cursor is 0.
    for (const statement of initShardSql(1).split("\n")) await env.DB_1.prepare(statement).run()
    // The directory (DB) names the shard; the organization's own rows are on DB_1.
    await Effect.runPromise(
      Effect.provide(ensureOrganization(organizationId, organizationId, 1), D1Client.layer({ db: env.DB_1 }))
    )
    const { apiKey } = await runOnD1(
      Effect.zipRight(ensureOrganization(organizationId, organizationId, 1), issueApiKey(organizationId, "hooks"))
    )
    const api = await as({ organizationId, apiKey }, handler.fetch)
    const { webhook } = await api.subscribe("http://127.0.0.1:9/never")
    await api.createUser("far")
    const sent = await relayWith(handler, () => ok)
    expect(sent.map(at)).toEqual(["far@1"])
    const delivered = await env.DB_1.prepare("SELECT event_sequence FROM webhook_deliveries WHERE subscription_id = ?")
      .bind(webhook.id).first<{ event_sequence: number }>()
    // The store's row id is from the shard's range; the delivery names the organization's own number.
    const event = await env.DB_1.prepare("SELECT sequence FROM events WHERE organization_id = ?").bind(organizationId)
      .first<{ sequence: number }>()
    expect(event!.sequence).toBeGreaterThan(SHARD_SEQUENCE_SPAN)
    expect(delivered!.event_sequence).toBe(1)
    expect(await deliveryRows(webhook.id, env.DB_1)).toEqual([
      { aggregate_id: "far", version: 1, status: "delivered", attempts: 1 }
    ])
    expect(await deliveryRows(webhook.id)).toEqual([])
    expect(await rows("SELECT 1 FROM webhook_subscriptions WHERE id = ?", webhook.id)).toEqual([])
  })

  it("moves a subscription with its organization: its deliveries and attempts go along, and it goes on there", async () => {
    // As `wrangler d1 execute --file` runs SQL text: statement after statement.
    const run = async (db: D1Database, sql: string | ReadonlyArray<string>) => {
      for (const statement of typeof sql === "string" ? sql.split("\n") : sql) await db.prepare(statement).run()
    }
    await run(env.DB_1, initShardSql(1))
    const handler = handlerOver([env.DB_1])
    const tenant = await seedTenant()
    const api = await as(tenant, handler.fetch)
    const { webhook } = await api.subscribe("http://127.0.0.1:9/never")
    await api.createUser("mover")
    // Its first attempt fails on shard 0: the move carries a pending delivery with one attempt.
    const later = { baseDelayMs: 3_600_000, maxDelayMs: 3_600_000, windowMs: 86_400_000, random: () => 0.5 }
    expect((await relayWith(handler, () => ({ kind: "timeout" }), later)).map(at)).toEqual(["mover@1"])

    await run(env.DB, routeOrganizationSql(tenant.organizationId, null))
    const select = (sql: string) =>
      Effect.promise(async () => (await env.DB.prepare(sql).all<Record<string, string | number | null>>()).results)
    const statements = await Effect.runPromise(exportOrganizationSql(select, tenant.organizationId, 0, 1))
    await run(env.DB_1, statements)
    await run(env.DB_1, statements) // a second run, as after one that stopped half-way, adds nothing
    await run(env.DB, routeOrganizationSql(tenant.organizationId, 1))
    await run(env.DB, forgetMovedOrganizationSql(tenant.organizationId))

    expect(await rows("SELECT 1 FROM webhook_subscriptions WHERE id = ?", webhook.id)).toEqual([])
    expect(await deliveryRows(webhook.id)).toEqual([])
    expect(await attemptRows(webhook.id)).toEqual([])
    expect(await deliveryRows(webhook.id, env.DB_1)).toEqual([
      { aggregate_id: "mover", version: 1, status: "pending", attempts: 1 }
    ])
    const copiedAttempts = await env.DB_1.prepare("SELECT outcome FROM webhook_attempts WHERE subscription_id = ?")
      .bind(webhook.id).all()
    expect(copiedAttempts.results).toEqual([{ outcome: "timeout" }])
    // Listed on its new shard, as before; the next event (numbered in shard 1's range) is derived there, after the
    // pending one, which the shard's relay now sends. (A new handler: the old one keeps the shard it read for 60 s.)
    const movedHandler = handlerOver([env.DB_1])
    const moved = await as(tenant, movedHandler.fetch)
    expect(await moved.webhooks()).toMatchObject([{ id: webhook.id, status: "active" }])
    await moved.update("mover", "+14155550401")
    await env.DB_1.prepare("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE subscription_id = ?")
      .bind(new Date(0).toISOString(), webhook.id).run()
    expect((await relayWith(movedHandler, () => ok)).map(at)).toEqual(["mover@1", "mover@2"])
    expect((await deliveryRows(webhook.id, env.DB_1)).map((r) => `${r.version}:${r.status}`)).toEqual([
      "1:delivered",
      "2:delivered"
    ])
  })
})

/**
 * The Worker's queue consumer as Miniflare calls it, let through only while a test of the queue runs (`throughQueue`),
 * and awaited before that test ends: each test's D1 is undone when it ends (isolated storage), which fails while a
 * round still reads it. A message that arrives outside such a test (late, or a retry's delayed message) is
 * acknowledged unread. The runner and this file import the same module, so the consumer Miniflare calls is this one.
 */
const consumer = worker.queue
/** How many batches reached the consumer during the current test. */
let consumed = 0
const rounds = new Set<Promise<void>>()
let consuming = false
worker.queue = (batch, bindings, ctx) => {
  if (!consuming) {
    batch.ackAll()
    return Promise.resolve()
  }
  consumed++
  const round = consumer.call(worker, batch, bindings, ctx)
  rounds.add(round)
  void round.then(() => rounds.delete(round), () => rounds.delete(round))
  return round
}

/** A queue round takes about a second (the consumer's max_batch_timeout); the longest test waits for ten of them. */
const QUEUE_TEST_TIMEOUT_MS = 60_000

const throughQueue = (name: string, body: () => Promise<void>) =>
  it(name, async () => {
    consuming = true
    consumed = 0
    try {
      await body()
    } finally {
      consuming = false
      while (rounds.size > 0) await Promise.allSettled([...rounds])
    }
  }, QUEUE_TEST_TIMEOUT_MS)

/** A fresh tenant calling the Worker (SELF), subscribed to a mailbox of the receiver; `query` says how it answers. */
const subscribedThroughWorker = async (query = "") => {
  const api = await as(await seedTenant(), (request) => SELF.fetch(request))
  const mailbox = box()
  const { secret, webhook } = await api.subscribe(`${env.WEBHOOK_RECEIVER}/hooks/${mailbox}${query}`)
  return { api, mailbox, secret, webhook }
}

describe("webhooks on Workers, through the queue", () => {
  throughQueue(
    "a write through the Worker is delivered through the queue (Miniflare) to a real receiver, signed",
    async () => {
      const { api, mailbox, secret, webhook } = await subscribedThroughWorker()
      const created = await api.createUser("queued", "+1 415 555 2671")
      const [first] = await eventually("the event at the receiver", async () => {
        const got = await received(mailbox)
        return got.length > 0 ? got : undefined
      })
      // The specification's reference verification, and the client's.
      expect(new Webhook(secret).verify(first!.body, first!.headers)).toEqual(JSON.parse(first!.body))
      const verified = await verifyWebhook(secret, first!.headers, first!.body)
      expect(verified.id).toBe(created.event.id)
      expect(JSON.parse(verified.body)).toMatchObject({
        type: "UserCreated",
        data: created.event,
        chain: { aggregateId: "queued", version: 1 }
      })
      expect(first!.body).not.toContain("4155552671")
      // The receiver answers before the consumer records the attempt: wait for the record.
      const rows = await eventually("the delivery recorded", async () => {
        const found = await deliveryRows(webhook.id)
        return found[0]?.status === "delivered" ? found : undefined
      })
      expect(rows).toEqual([{
        aggregate_id: "queued",
        version: 1,
        status: "delivered",
        attempts: 1
      }])
      // It was the queue's consumer that sent it: no cron round ran.
      expect(consumed).toBeGreaterThan(0)
    }
  )

  throughQueue(
    "an organization that wrote before it subscribed gets its first webhook at once: subscribing drops the isolate's 'none'",
    async () => {
      // One env for every request, as one isolate has: its handler and what it read about subscriptions are kept.
      const api = await as(await seedTenant(), async (request) => {
        const ctx = createExecutionContext()
        const answer = await worker.fetch(request, env, ctx)
        await waitOnExecutionContext(ctx)
        return answer
      })
      // After the answer, the isolate read that the organization has no subscription, and remembers it.
      await api.createUser("before")
      const mailbox = box()
      await api.subscribe(`${env.WEBHOOK_RECEIVER}/hooks/${mailbox}`)
      const created = await api.createUser("after")
      const [first] = await eventually("the first webhook at the receiver", async () => {
        const got = await received(mailbox)
        return got.length > 0 ? got : undefined
      })
      expect(first!.headers["webhook-id"]).toBe(created.event.id)
      expect(consumed).toBeGreaterThan(0)
    }
  )

  throughQueue(
    "a receiver that fails three times, then succeeds, accepts the event once, each retry a round of the queue",
    async () => {
      const { api, mailbox, secret, webhook } = await subscribedThroughWorker("?fail=3")
      const created = await api.createUser("flaky")
      for (let attempt = 1; attempt <= 3; attempt++) {
        expect(await afterAttempts(webhook.id, attempt)).toMatchObject({ status: "pending", attempts: attempt })
        await retryIsDue(webhook.id)
        await wakeThroughQueue()
      }
      expect(await afterAttempts(webhook.id, 4)).toMatchObject({ status: "delivered", attempts: 4 })
      expect(consumed).toBeGreaterThanOrEqual(4)
      expect((await attemptRows(webhook.id)).map((a) => `${a.outcome}:${a.http_status}`)).toEqual([
        "http-error:500",
        "http-error:500",
        "http-error:500",
        "delivered:204"
      ])
      // Every attempt was the same webhook, signed: the receiver deduplicates on webhook-id.
      const sent = await received(mailbox)
      expect(sent).toHaveLength(4)
      for (const request of sent) {
        expect((await verifyWebhook(secret, request.headers, request.body)).id).toBe(created.event.id)
      }
      // Delivered is final: the next write's round sends only the new event.
      const updated = await api.update("flaky", "+14155550111")
      await eventually("the second event", async () => ((await received(mailbox)).length === 5 ? true : undefined))
      expect((await received(mailbox)).map((r) => r.headers["webhook-id"])).toEqual([
        ...Array(4).fill(created.event.id),
        updated.event.id
      ])
    }
  )

  throughQueue(
    "a receiver that keeps failing: failed after the last attempt, every one listed at ?status=failed, re-sent",
    async () => {
      // The Worker's policy allows ten attempts; the receiver fails all ten, and takes the re-send.
      const { api, mailbox, webhook } = await subscribedThroughWorker(`?fail=${DEFAULT_RETRY_POLICY.maxAttempts}`)
      const created = await api.createUser("down")
      for (let attempt = 1; attempt < DEFAULT_RETRY_POLICY.maxAttempts; attempt++) {
        await afterAttempts(webhook.id, attempt)
        await retryIsDue(webhook.id)
        await wakeThroughQueue()
      }
      expect(await afterAttempts(webhook.id, DEFAULT_RETRY_POLICY.maxAttempts)).toMatchObject({ status: "failed" })
      const [failed, ...more] = await api.deliveries(webhook.id, "failed")
      expect(more).toEqual([])
      expect(failed).toMatchObject({ eventId: created.event.id, status: "failed" })
      expect(failed!.attempts.map((a) => `${a.outcome}:${a.httpStatus}`)).toEqual(
        Array(DEFAULT_RETRY_POLICY.maxAttempts).fill("http-error:500")
      )
      expect(await api.deliveries(webhook.id, "pending")).toEqual([])
      // The operator's re-send: the Worker's producer wakes the consumer, which delivers it.
      const resent = await api.resend(webhook.id, created.event.id)
      expect(resent.status, await resent.clone().text()).toBe(200)
      expect(await afterAttempts(webhook.id, 1)).toMatchObject({ status: "delivered", attempts: 1 })
      expect(await api.deliveries(webhook.id, "failed")).toEqual([])
      expect(await received(mailbox)).toHaveLength(DEFAULT_RETRY_POLICY.maxAttempts + 1)
    }
  )

  throughQueue("410 Gone from the receiver disables the subscription, and nothing more is sent to it", async () => {
    const { api, mailbox, webhook } = await subscribedThroughWorker("?status=410")
    await api.createUser("gone")
    expect(await afterAttempts(webhook.id, 1)).toMatchObject({ status: "failed", attempts: 1 })
    expect(await api.webhooks()).toMatchObject([{
      id: webhook.id,
      status: "disabled",
      disabledReason: "receiver-gone"
    }])
    // A later event of the organization is not derived for a disabled subscription, whichever round runs.
    await api.update("gone", "+14155550112")
    await wakeThroughQueue()
    const cron = createExecutionContext()
    worker.scheduled(createScheduledController(), env as unknown as Bindings, cron)
    await waitOnExecutionContext(cron)
    expect(await deliveryRows(webhook.id)).toHaveLength(1)
    expect(await received(mailbox)).toHaveLength(1)
  })

  it("without a queue, the cron trigger's round delivers", async () => {
    const tenant = await seedTenant()
    const bindings: Bindings = { ...(env as unknown as Bindings), WEBHOOKS: undefined }
    const ctx = createExecutionContext()
    const api = await as(tenant, (request) => worker.fetch(request, bindings, ctx))
    const mailbox = box()
    const { webhook } = await api.subscribe(`${env.WEBHOOK_RECEIVER}/hooks/${mailbox}`)
    await api.createUser("cron_user")
    await waitOnExecutionContext(ctx)
    expect(await received(mailbox)).toEqual([])
    const cron = createExecutionContext()
    worker.scheduled(createScheduledController(), bindings, cron)
    await waitOnExecutionContext(cron)
    expect((await received(mailbox)).map((w) => JSON.parse(w.body).data.aggregateId)).toEqual(["cron_user"])
    expect((await deliveryRows(webhook.id))[0]!.status).toBe("delivered")
  })

  throughQueue(
    "the dead-letter queue's consumer reports and acknowledges; a round that cannot run is retried",
    async () => {
      const dead = createMessageBatch(`users-api-webhooks${DEAD_LETTER_SUFFIX}`, [
        { id: "m1", timestamp: new Date(), attempts: 4, body: { kind: "relay" } }
      ])
      const ctx = createExecutionContext()
      await worker.queue(dead, env as unknown as Bindings, ctx)
      expect(await getQueueResult(dead, ctx)).toMatchObject({ ackAll: true, retryBatch: { retry: false } })
      // A Worker without its D1 binding cannot run the relay: the queue tries the message again (then dead-letters it).
      const batch = createMessageBatch("users-api-webhooks", [
        { id: "m2", timestamp: new Date(), attempts: 1, body: { kind: "relay" } }
      ])
      const ctx2 = createExecutionContext()
      await worker.queue(batch, { WEBHOOK_SECRET_KEY: env.WEBHOOK_SECRET_KEY } as Bindings, ctx2)
      expect(await getQueueResult(batch, ctx2)).toMatchObject({ ackAll: false, retryBatch: { retry: true } })
    }
  )
})

describe("fair delivery on Workers", () => {
  throughQueue(
    "a receiver that hangs holds up no other organization: the queue's round delivers the other while it hangs",
    async () => {
      // Answers after 6 s (the relay's time-out is 10 s): the consumer's round holds the attempt open meanwhile.
      const slow = await subscribedThroughWorker("?delay=6000")
      const fast = await subscribedThroughWorker()
      await slow.api.createUser("hangs")
      await eventually(
        "the hanging attempt",
        async () => ((await received(slow.mailbox)).length > 0 ? true : undefined)
      )
      await fast.api.createUser("quick")
      const slowWhenDelivered = await eventually("the other organization's delivery", async () => {
        const [row] = await deliveryRows(fast.webhook.id)
        return row?.status === "delivered" ? (await deliveryRows(slow.webhook.id))[0] : undefined
      })
      // Recorded while the hanging attempt was still open; it is delivered once its receiver answers.
      expect(slowWhenDelivered).toMatchObject({ aggregate_id: "hangs", status: "pending", attempts: 0 })
      const [hung] = await received(slow.mailbox)
      const [quick] = await received(fast.mailbox)
      expect(hung!.n).toBeLessThan(quick!.n)
      expect(await afterAttempts(slow.webhook.id, 1)).toMatchObject({ status: "delivered", attempts: 1 })
    }
  )

  it("the cron round: one subscription's backlog does not starve another organization's, and order holds", async () => {
    const bindings: Bindings = { ...(env as unknown as Bindings), WEBHOOKS: undefined }
    const ctx = createExecutionContext()
    const through = (request: Request) => worker.fetch(request, bindings, ctx)
    const [busy, quiet] = [await as(await seedTenant(), through), await as(await seedTenant(), through)]
    const [busyBox, quietBox] = [box(), box()]
    const backlog = await busy.subscribe(`${env.WEBHOOK_RECEIVER}/hooks/${busyBox}`)
    const single = await quiet.subscribe(`${env.WEBHOOK_RECEIVER}/hooks/${quietBox}`)
    // More users than a claim takes, committed before the other organization's one event.
    const users = 60
    for (let n = 0; n < users; n++) await busy.createUser(`b${n}`)
    await busy.update("b0", "+14155550121")
    await busy.update("b0", "+14155550122")
    await quiet.createUser("lonely")
    await waitOnExecutionContext(ctx)
    const cron = createExecutionContext()
    worker.scheduled(createScheduledController(), bindings, cron)
    await waitOnExecutionContext(cron)
    const [sent, other] = [await received(busyBox), await received(quietBox)]
    expect(sent).toHaveLength(users + 2)
    expect(other).toHaveLength(1)
    // Sent in the round's first claim, not after the backlog's.
    expect(sent.filter((w) => w.n < other[0]!.n).length).toBeLessThan(16)
    const b0 = sent.map((w) => JSON.parse(w.body).data).filter((e) => e.aggregateId === "b0")
    expect(b0.map((e) => e.version)).toEqual([1, 2, 3])
    expect((await deliveryRows(backlog.webhook.id)).every((r) => r.status === "delivered")).toBe(true)
    expect((await deliveryRows(single.webhook.id)).map((r) => r.status)).toEqual(["delivered"])
  })
})
