/**
 * The webhook routes through the real handler over a real SQLite file (docs/CONTRACT.md §4.2): creating a
 * subscription (its secret shown once), listing, deleting, rotating, the deliveries and re-sending one; every
 * refusal with its problem code, the tenant boundary, the scope, the URL rules of each mode, and a deployment without
 * WEBHOOK_SECRET_KEY. No relay runs here (test/webhooks/relay.test.ts sends).
 */
import Database from "better-sqlite3"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { relayRound } from "../../src/app/webhook-relay.js"
import { webhookSecretDeriver } from "../../src/app/webhook-secrets.js"
import { WebhookTransport } from "../../src/services/webhooks.js"
import { type Answer, call, expectProblem } from "../support/client.js"
import { noLogs } from "../support/logs.js"
import { makeSqliteFixture, type SqliteFixture, TEST_WEBHOOK_SECRET_KEY } from "../support/sqlite-fixture.js"
import { ALL_SCOPES } from "../webhooks/support.js"

let f: SqliteFixture
let admin: string
let production: SqliteFixture
let unconfigured: SqliteFixture

beforeAll(async () => {
  f = await makeSqliteFixture()
  admin = await f.serviceToken(ALL_SCOPES)
  production = await makeSqliteFixture({ webhooks: { secretKey: TEST_WEBHOOK_SECRET_KEY, allowLoopback: false } })
  unconfigured = await makeSqliteFixture({ webhooks: {} })
})
afterAll(async () => {
  await Promise.all([f, production, unconfigured].map((fixture) => fixture?.dispose()))
})

const org = () => f.tenant.organizationId
const as = (token = admin, apiKey = f.tenant.apiKey) => ({ token, apiKey })
const create = (body: unknown, fixture = f, token?: string) =>
  Promise.resolve(token ?? fixture.serviceToken(ALL_SCOPES)).then((t) =>
    call(fixture.fetch, "POST", `/organizations/${fixture.tenant.organizationId}/webhooks`, {
      token: t,
      apiKey: fixture.tenant.apiKey,
      body
    })
  )
const hook = (
  url = "https://hooks.example.com/users",
  eventTypes: ReadonlyArray<string> = ["UserPhoneNumberUpdated"]
) => ({
  url,
  eventTypes
})
const list = () => call(f.fetch, "GET", `/organizations/${org()}/webhooks`, as())
const remove = (id: string) => call(f.fetch, "DELETE", `/organizations/${org()}/webhooks/${id}`, as())

const created = async (answer: Promise<Answer>) => {
  const done = await answer
  expect(done.status, done.text).toBe(201)
  return done.body as { webhook: { id: string }; secret: string }
}

describe("POST /organizations/{id}/webhooks", () => {
  it("creates an active subscription and shows its secret once, never stored, never cached", async () => {
    const answer = await create(hook())
    expect(answer.status).toBe(201)
    expect(answer.headers.get("cache-control")).toBe("no-store")
    expect(answer.body).toEqual({
      success: true,
      webhook: {
        id: expect.stringMatching(/^wh_[0-9a-f]{32}$/),
        url: "https://hooks.example.com/users",
        eventTypes: ["UserPhoneNumberUpdated"],
        status: "active",
        disabledReason: null,
        disabledAt: null,
        createdAt: expect.any(String),
        previousSecretExpiresAt: null
      },
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/)
    })
    const { secret, webhook } = answer.body
    // Derived from the server's key, the id and the generation: the same secret signs every delivery.
    expect(webhookSecretDeriver(TEST_WEBHOOK_SECRET_KEY)(webhook.id, 1)).toBe(secret)
    // The table holds no secret: only its generation.
    const [row] = f.query<Record<string, unknown>>("SELECT * FROM webhook_subscriptions WHERE id = ?", webhook.id)
    expect(JSON.stringify(row)).not.toContain(secret.slice(6, 20))
    expect(row).toMatchObject({ secret_generation: 1, status: "active" })
    const listed = await list()
    expect(listed.status).toBe(200)
    expect(listed.text).not.toContain("whsec_")
    expect(listed.body.webhooks).toContainEqual(webhook)
    expect((await remove(webhook.id)).status).toBe(204)
  })

  it("starts after the store's last event, and counts each event type once", async () => {
    const { webhook } = await created(create(hook(undefined, ["UserCreated", "UserCreated", "UserPhoneNumberUpdated"])))
    const [row] = f.query<{ cursor: number; event_types: string }>(
      "SELECT cursor, event_types FROM webhook_subscriptions WHERE id = ?",
      webhook.id
    )
    const [last] = f.query<{ last: number }>("SELECT COALESCE(max(sequence), 0) AS last FROM events")
    expect(row!.cursor).toBe(last!.last)
    expect(JSON.parse(row!.event_types)).toEqual(["UserCreated", "UserPhoneNumberUpdated"])
    await remove(webhook.id)
  })

  it("refuses a body that is not the schema (400 invalid-body), not JSON (400/415), or too large (413)", async () => {
    expectProblem(await create({ url: "https://h.example.com/" }), 400, "invalid-body")
    expectProblem(await create(hook(undefined, [])), 400, "invalid-body")
    expectProblem(await create(hook(undefined, ["UserDeleted"])), 400, "invalid-body")
    expectProblem(await create({ ...hook(), secret: "mine" }), 400, "invalid-body")
    expectProblem(await create({ url: 42, eventTypes: ["UserCreated"] }), 400, "invalid-body")
    const path = `/organizations/${org()}/webhooks`
    expectProblem(
      await call(f.fetch, "POST", path, { ...as(), raw: "{", headers: { "content-type": "application/json" } }),
      400,
      "malformed-json"
    )
    expectProblem(
      await call(f.fetch, "POST", path, { ...as(), raw: "url=x", headers: { "content-type": "text/plain" } }),
      415,
      "unsupported-media-type"
    )
    expectProblem(
      await create({ ...hook(), url: `https://h.example.com/${"a".repeat(17_000)}` }),
      413,
      "payload-too-large"
    )
  })

  describe("refuses URLs a webhook may not go to (400 invalid-webhook-url)", () => {
    const refusedEverywhere = [
      "ftp://hooks.example.com/",
      "not a url",
      "/relative",
      "https://user:pass@hooks.example.com/",
      "https://hooks.example.com/#fragment",
      `https://hooks.example.com/${"a".repeat(2_040)}`,
      "http://hooks.example.com/"
    ]
    const refusedInProduction = [
      "http://127.0.0.1:8080/",
      "https://127.0.0.1/",
      "https://localhost/",
      "https://api.localhost/",
      "https://10.1.2.3/",
      "https://172.16.0.1/",
      "https://192.168.1.1/",
      "https://169.254.169.254/latest/meta-data/",
      "https://100.64.0.1/",
      "https://0.0.0.0/",
      "https://[::1]/",
      "https://[fd00:ec2::254]/",
      "https://[fe80::1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://0x7f000001/",
      "https://2130706433/",
      "https://metadata.google.internal/",
      "https://intranet/"
    ]
    it.each(refusedEverywhere)("%s, in local development too", async (url) => {
      expectProblem(await create(hook(url)), 400, "invalid-webhook-url")
      expectProblem(await create(hook(url), production), 400, "invalid-webhook-url")
    })
    it.each(refusedInProduction)("%s, outside local development", async (url) => {
      expectProblem(await create(hook(url), production), 400, "invalid-webhook-url")
    })
    it("accepts http to the loopback in local development, and https to a public name anywhere", async () => {
      for (const url of ["http://127.0.0.1:9/hook", "http://localhost:9/", "http://[::1]:9/"]) {
        const { webhook } = await created(create(hook(url)))
        await remove(webhook.id)
      }
      const { webhook } = await created(create(hook("https://hooks.example.com/x?a=1"), production))
      expect(webhook).toMatchObject({ url: "https://hooks.example.com/x?a=1" })
    })
  })

  it("needs webhooks:write, from a service (403 missing-scope)", async () => {
    expectProblem(
      await create(hook(), f, await f.serviceToken("users:read users:write audit:read")),
      403,
      "missing-scope"
    )
    expectProblem(await create(hook(), f, await f.userToken("user_x")), 403, "missing-scope")
    expectProblem(
      await call(f.fetch, "GET", `/organizations/${org()}/webhooks`, as(await f.serviceToken("users:write"))),
      403,
      "missing-scope"
    )
  })

  it("needs audit:read too for what sends or shows events; listing and deleting need webhooks:write only", async () => {
    const { webhook } = await created(create(hook()))
    const hooks = `/organizations/${org()}/webhooks`
    const writer = as(await f.serviceToken("users:read users:write webhooks:write"))
    const refused = (answer: Answer) => {
      expectProblem(answer, 403, "missing-scope")
      expect(answer.body.detail).toBe(
        "The service token lacks the scope audit:read: a webhook receiver gets the organization's events, which only " +
          "audit:read may read."
      )
    }
    refused(await create(hook(), f, writer.token))
    // Refused before the body is read: a body that is not even JSON gets the same 403.
    refused(
      await call(f.fetch, "POST", hooks, { ...writer, raw: "{", headers: { "content-type": "application/json" } })
    )
    refused(await call(f.fetch, "POST", `${hooks}/${webhook.id}/rotate-secret`, writer))
    refused(await call(f.fetch, "GET", `${hooks}/${webhook.id}/deliveries`, writer))
    refused(await call(f.fetch, "POST", `${hooks}/${webhook.id}/deliveries/evt_1/resend`, writer))
    expect((await call(f.fetch, "GET", hooks, writer)).status).toBe(200)
    expect((await call(f.fetch, "DELETE", `${hooks}/${webhook.id}`, writer)).status).toBe(204)
    // audit:read alone manages nothing.
    expectProblem(await create(hook(), f, await f.serviceToken("audit:read")), 403, "missing-scope")
    const both = await f.serviceToken("webhooks:write audit:read")
    await remove((await created(create(hook(), f, both))).webhook.id)
  })

  it("another organization is a 404 organization-not-found, like an unknown one; a bad id is a 400", async () => {
    for (const other of [f.other.organizationId, "org_nowhere"]) {
      expectProblem(
        await call(f.fetch, "POST", `/organizations/${other}/webhooks`, { ...as(), body: hook() }),
        404,
        "organization-not-found"
      )
      expectProblem(await call(f.fetch, "GET", `/organizations/${other}/webhooks`, as()), 404, "organization-not-found")
    }
    expectProblem(await call(f.fetch, "GET", "/organizations/a.b/webhooks", as()), 400, "invalid-organization-id")
    expectProblem(
      await call(f.fetch, "DELETE", `/organizations/${org()}/webhooks/a.b`, as()),
      400,
      "invalid-webhook-id"
    )
  })

  it("another organization's subscription looks like none (404 webhook-not-found) on every route", async () => {
    const otherAdmin = await f.serviceToken(ALL_SCOPES, f.other.organizationId)
    const theirs = await created(
      call(f.fetch, "POST", `/organizations/${f.other.organizationId}/webhooks`, {
        token: otherAdmin,
        apiKey: f.other.apiKey,
        body: hook()
      })
    )
    const base = `/organizations/${org()}/webhooks/${theirs.webhook.id}`
    expectProblem(await call(f.fetch, "DELETE", base, as()), 404, "webhook-not-found")
    expectProblem(await call(f.fetch, "POST", `${base}/rotate-secret`, as()), 404, "webhook-not-found")
    expectProblem(await call(f.fetch, "GET", `${base}/deliveries`, as()), 404, "webhook-not-found")
    expectProblem(await call(f.fetch, "POST", `${base}/deliveries/e1/resend`, as()), 404, "webhook-not-found")
    expect((await list()).body.webhooks.map((w: any) => w.id)).not.toContain(theirs.webhook.id)
    // Still theirs, untouched.
    const listed = await call(f.fetch, "GET", `/organizations/${f.other.organizationId}/webhooks`, {
      token: otherAdmin,
      apiKey: f.other.apiKey
    })
    expect(listed.body.webhooks.map((w: any) => w.id)).toContain(theirs.webhook.id)
  })

  it("at most 10 per organization (409 webhook-limit-reached)", async () => {
    const tenant = await f.newTenant()
    const token = await f.serviceToken(ALL_SCOPES, tenant.organizationId)
    const post = () =>
      call(f.fetch, "POST", `/organizations/${tenant.organizationId}/webhooks`, {
        token,
        apiKey: tenant.apiKey,
        body: hook()
      })
    for (let i = 0; i < 10; i++) expect((await post()).status).toBe(201)
    expectProblem(await post(), 409, "webhook-limit-reached")
  })

  it("without WEBHOOK_SECRET_KEY: 503 webhooks-not-configured for what needs a secret; the rest is served", async () => {
    const refused = await create(hook(), unconfigured)
    expectProblem(refused, 503, "webhooks-not-configured")
    expect(refused.headers.get("retry-after")).toBeNull()
    const token = await unconfigured.serviceToken(ALL_SCOPES)
    const listed = await call(
      unconfigured.fetch,
      "GET",
      `/organizations/${unconfigured.tenant.organizationId}/webhooks`,
      {
        token,
        apiKey: unconfigured.tenant.apiKey
      }
    )
    expect(listed.body).toEqual({ success: true, webhooks: [] })
    const user = await call(unconfigured.fetch, "POST", "/users", {
      token,
      apiKey: unconfigured.tenant.apiKey,
      body: { id: "u1" }
    })
    expect(user.status).toBe(201)
  })
})

describe("DELETE and rotate-secret", () => {
  it("deletes a subscription with its deliveries (204, then 404)", async () => {
    const { webhook } = await created(create(hook()))
    const id = webhook.id
    expect((await remove(id)).status).toBe(204)
    expectProblem(await remove(id), 404, "webhook-not-found")
    expect(f.query("SELECT * FROM webhook_deliveries WHERE subscription_id = ?", id)).toEqual([])
  })

  it("rotation shows a new secret once and keeps the old ones signing for 24 hours", async () => {
    const { secret: first, webhook } = await created(create(hook()))
    const rotate = () => call(f.fetch, "POST", `/organizations/${org()}/webhooks/${webhook.id}/rotate-secret`, as())
    const once = await rotate()
    expect(once.status).toBe(200)
    expect(once.headers.get("cache-control")).toBe("no-store")
    expect(once.body.secret).not.toBe(first)
    const expires = Date.parse(once.body.webhook.previousSecretExpiresAt)
    expect(expires - Date.now()).toBeGreaterThan(23.9 * 3600_000)
    expect(expires - Date.now()).toBeLessThanOrEqual(24 * 3600_000)
    const derive = webhookSecretDeriver(TEST_WEBHOOK_SECRET_KEY)
    expect(once.body.secret).toBe(derive(webhook.id, 2))
    // A retried rotation (its answer lost) keeps the first secret signing too.
    const twice = await rotate()
    expect(twice.body.secret).toBe(derive(webhook.id, 3))
    const [row] = f.query<Record<string, number>>(
      "SELECT secret_generation, previous_generation FROM webhook_subscriptions WHERE id = ?",
      webhook.id
    )
    expect(row).toEqual({ secret_generation: 3, previous_generation: 1 })
    await remove(webhook.id)
  })
})

describe("deliveries and re-sending", () => {
  let webhookId: string
  let events: Array<string>

  beforeAll(async () => {
    webhookId = (await created(create(hook("http://127.0.0.1:9/never", ["UserCreated"])))).webhook.id
    for (const id of ["d1", "d2", "d3"]) {
      expect((await call(f.fetch, "POST", "/users", { ...as(), body: { id } })).status).toBe(201)
    }
    // One round, with a receiver that always answers 500 and no retry: every delivery ends failed at once.
    const failing = Effect.succeed({ kind: "response", status: 500, excerpt: "no" } as const)
    await f.handler.run(
      Effect.ignore(
        relayRound({
          deriveSecret: webhookSecretDeriver(TEST_WEBHOOK_SECRET_KEY),
          retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, windowMs: 60_000 }
        }).pipe(Effect.provideService(WebhookTransport, { send: () => failing }), Effect.provide(noLogs))
      )
    ).done
    const page = await call(f.fetch, "GET", `/organizations/${org()}/webhooks/${webhookId}/deliveries`, as())
    events = page.body.deliveries.map((d: any) => d.eventId)
  })

  const deliveries = (query = "") =>
    call(f.fetch, "GET", `/organizations/${org()}/webhooks/${webhookId}/deliveries${query}`, as())
  const resend = (eventId: string) =>
    call(f.fetch, "POST", `/organizations/${org()}/webhooks/${webhookId}/deliveries/${eventId}/resend`, as())

  it("lists them oldest first, with their attempts, by status, in pages", async () => {
    const all = await deliveries()
    expect(all.status).toBe(200)
    expect(all.body).toMatchObject({ success: true, webhookId, nextCursor: null })
    expect(all.body.deliveries.map((d: any) => [d.aggregateId, d.eventType, d.version, d.status])).toEqual([
      ["d1", "UserCreated", 1, "failed"],
      ["d2", "UserCreated", 1, "failed"],
      ["d3", "UserCreated", 1, "failed"]
    ])
    expect(all.body.deliveries[0]).toEqual({
      eventId: events[0],
      eventSequence: expect.any(Number),
      eventType: "UserCreated",
      aggregateId: "d1",
      version: 1,
      status: "failed",
      nextAttemptAt: null,
      createdAt: expect.any(String),
      completedAt: expect.any(String),
      attempts: [{
        attemptedAt: expect.any(String),
        durationMs: expect.any(Number),
        outcome: "http-error",
        httpStatus: 500,
        responseExcerpt: "no"
      }]
    })
    const first = await deliveries("?limit=2")
    expect(first.body.deliveries).toHaveLength(2)
    expect(first.body.nextCursor).toEqual(expect.any(String))
    const second = await deliveries(`?limit=2&after=${first.body.nextCursor}`)
    expect(second.body.deliveries.map((d: any) => d.aggregateId)).toEqual(["d3"])
    expect(second.body.nextCursor).toBeNull()
    expect((await deliveries("?status=failed")).body.deliveries).toHaveLength(3)
    expect((await deliveries("?status=delivered")).body.deliveries).toEqual([])
  })

  it("refuses a bad query: 400 invalid-cursor, invalid-query", async () => {
    expectProblem(await deliveries("?after=nonsense!"), 400, "invalid-cursor")
    expectProblem(await deliveries(`?after=${btoa("s:-1")}`), 400, "invalid-cursor")
    expectProblem(await deliveries("?limit=0"), 400, "invalid-query")
    expectProblem(await deliveries("?limit=101"), 400, "invalid-query")
    expectProblem(await deliveries("?status=lost"), 400, "invalid-query")
  })

  it("re-sends a failed delivery (pending again, due now); a pending one is a 409, an unknown one a 404", async () => {
    const again = await resend(events[1]!)
    expect(again.status).toBe(200)
    expect(again.body.delivery).toMatchObject({ eventId: events[1], status: "pending", completedAt: null })
    expect(Date.parse(again.body.delivery.nextAttemptAt)).toBeLessThanOrEqual(Date.now())
    // Its history stays.
    expect(again.body.delivery.attempts).toHaveLength(1)
    expectProblem(await resend(events[1]!), 409, "delivery-pending")
    expectProblem(await resend("00000000-0000-7000-8000-000000000000"), 404, "delivery-not-found")
    expectProblem(await resend("a.b"), 400, "invalid-event-id")
  })

  it("re-sending to a disabled subscription is a 409 webhook-disabled", async () => {
    // As a 410 from the receiver leaves it (test/webhooks/relay.test.ts gets there for real).
    const db = new Database(f.filename)
    db.prepare("UPDATE webhook_subscriptions SET status = 'disabled', disabled_reason = 'receiver-gone' WHERE id = ?")
      .run(webhookId)
    db.close()
    expectProblem(await resend(events[2]!), 409, "webhook-disabled")
  })
})
