/**
 * Where a webhook may go, inside workerd: the same table as on Node (test/support/address-table.ts), judged by
 * workerd's own URL parser; and the operator's allow-list (WEBHOOK_ALLOWED_HOSTS), which stands in for the DNS check
 * a Worker cannot make: the Worker refuses a subscription to a host off the list, and its cron round refuses to send
 * to one (a subscription made before the list), before connecting.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { signServiceToken } from "../../src/dev/signing.js"
import { checkWebhookUrl, isPublicAddress } from "../../src/domain/webhook-url.js"
import { sendWebhook } from "../../src/layers/webhooks/transport.js"
import worker, { type Bindings } from "../../src/worker.js"
import { IPV4_REGISTRY, IPV6_REGISTRY, PRODUCTION_URLS } from "../support/address-table.js"
import { BASE_URL, seedTenant, type Tenant, testKey } from "./support/d1-fixture.js"

describe("the address and URL rules in workerd", () => {
  it.each([...IPV4_REGISTRY, ...IPV6_REGISTRY])("%s is public: %s (%s)", (address, isPublic) => {
    expect(isPublicAddress(address)).toBe(isPublic)
  })

  // Test names in ASCII: workerd's runner carries them in a header.
  it.each(PRODUCTION_URLS.map(([url, expected]) => [encodeURI(url), expected, url] as const))(
    "judges %s after normalizing it: %s",
    (_, expected, url) => {
      const checked = checkWebhookUrl(url, { allowLoopback: false })
      expect(checked.ok ? "accepted" : checked.refusal).toBe(expected)
    }
  )

  it("sends no literal address the rules refuse, without a lookup", async () => {
    for (const url of ["https://[::ffff:0:7f00:1]/", "https://[64:ff9b:1::a9fe:a9fe]/", "https://[fec0::1]/"]) {
      const sent = sendWebhook({ checkAddresses: false, urlRules: { allowLoopback: false } })
      expect(await Effect.runPromise(sent({ url, headers: {}, body: "{}", timeoutMs: 5_000 })), url).toEqual({
        kind: "blocked-address"
      })
    }
  })
})

describe("WEBHOOK_ALLOWED_HOSTS on the Worker", () => {
  // No queue: the cron round is the one that sends, when the test says.
  const open: Bindings = { ...(env as unknown as Bindings), WEBHOOKS: undefined }
  const listed: Bindings = { ...open, WEBHOOK_ALLOWED_HOSTS: "hooks.example.com, .receivers.example.net" }
  const box = () => crypto.randomUUID()
  const received = async (name: string): Promise<Array<unknown>> =>
    (await fetch(`${env.WEBHOOK_RECEIVER}/received/${name}`)).json()

  const as = async (tenant: Tenant, bindings: Bindings) => {
    const token = await signServiceToken(
      testKey,
      "svc_hooks",
      tenant.organizationId,
      "users:write audit:read webhooks:write"
    )
    const ctx = createExecutionContext()
    const request = async (method: string, path: string, body?: unknown) => {
      const answer = await worker.fetch(
        new Request(`${BASE_URL}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            "x-api-key": tenant.apiKey,
            ...(body === undefined ? {} : { "content-type": "application/json" })
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        }),
        bindings,
        ctx
      )
      return { status: answer.status, type: answer.headers.get("content-type"), body: (await answer.json()) as any }
    }
    const subscribe = (url: string) =>
      request("POST", `/organizations/${tenant.organizationId}/webhooks`, { url, eventTypes: ["UserCreated"] })
    return { request, subscribe, done: () => waitOnExecutionContext(ctx) }
  }

  it("refuses a subscription to a host off the list (400 invalid-webhook-url), accepts one on it", async () => {
    const api = await as(await seedTenant(), listed)
    const refused = await api.subscribe(`${env.WEBHOOK_RECEIVER}/hooks/${box()}`)
    expect(refused).toMatchObject({
      status: 400,
      type: "application/problem+json",
      body: {
        code: "invalid-webhook-url",
        detail: "The webhook URL's host is not one of the receivers this deployment sends to."
      }
    })
    expect((await api.subscribe("https://hooks.example.com/users")).status).toBe(201)
    expect((await api.subscribe("https://a.receivers.example.net/users")).status).toBe(201)
    expect((await api.subscribe("https://hooks.example.org/users")).status).toBe(400)
    await api.done()
  })

  it("refuses at send time a subscription made before the list: blocked-address, the receiver hears nothing", async () => {
    const tenant = await seedTenant()
    const mailbox = box()
    const before = await as(tenant, open)
    const created = await before.subscribe(`${env.WEBHOOK_RECEIVER}/hooks/${mailbox}`)
    expect(created.status).toBe(201)
    await before.done()
    const after = await as(tenant, listed)
    expect((await after.request("POST", "/users", { id: "listed_user" })).status).toBe(201)
    await after.done()
    const cron = createExecutionContext()
    worker.scheduled(createScheduledController(), listed, cron)
    await waitOnExecutionContext(cron)
    expect(await received(mailbox)).toEqual([])
    const page = await after.request(
      "GET",
      `/organizations/${tenant.organizationId}/webhooks/${created.body.webhook.id}/deliveries`
    )
    expect(page.body.deliveries).toMatchObject([{ status: "pending", attempts: [{ outcome: "blocked-address" }] }])
  })
})
