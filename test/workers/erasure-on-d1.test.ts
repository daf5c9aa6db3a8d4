/**
 * Erasure forgets on D1, inside workerd: after ErasePersonalData, someone holding PHONE_FINGERPRINT_KEY who reads
 * every event, feed page and webhook sent from then on (the relay's SQL on D1, its payloads caught at the transport)
 * recovers neither of the user's numbers from the 10,000 that look like each, and every chain and checkpoint
 * verifies. Then migrations/0008 on a D1 database whose events carry fingerprints (FINGERPRINTS_DB).
 */
import { D1Client } from "@effect/sql-d1"
import { describe, expect, it } from "@effect/vitest"
import { applyD1Migrations, env } from "cloudflare:test"
import { Effect } from "effect"
import { issueApiKey } from "../../src/admin/tenants.js"
import { relayUntilIdle } from "../../src/app/webhook-relay.js"
import { webhookSecretDeriver } from "../../src/app/webhook-secrets.js"
import { verifyFeed } from "../../src/audit/feed.js"
import { signServiceToken } from "../../src/dev/signing.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { D1Services } from "../../src/layers/d1.js"
import { WebhookTransport } from "../../src/services/webhooks.js"
import { hmacSha256 } from "../../src/sha256.js"
import { bruteForce } from "../support/erasure.js"
import { noLogs } from "../support/logs.js"
import { fingerprintOf, N1, N2, N3, OLD_KEY, OLD_ORG, oldHistory } from "../support/old-fingerprint-history.js"
import { auditOf, BASE_URL, handlerOptions, jwtConfig, rows, seedTenant, testKey } from "./support/d1-fixture.js"

const KEY = "erasure-on-d1-fingerprint-key-0123456789"
const SCOPES = "users:read users:write users:erase users:pii:read audit:read webhooks:write"

/** A handler over `db` with the fingerprint key, the requests of a service with every scope, and the relay. */
const serve = async (db: D1Database, organizationId: string, apiKey: string, key: string) => {
  const handler = makeFetchHandler(D1Services(db, jwtConfig), {
    ...handlerOptions,
    phoneFingerprintKey: key,
    webhooks: { secretKey: env.WEBHOOK_SECRET_KEY, allowLoopback: true }
  })
  const token = await signServiceToken(testKey, "svc_erase", organizationId, SCOPES)
  const ok = async (method: string, path: string, body?: unknown): Promise<any> => {
    const response = await handler.fetch(
      new Request(`${BASE_URL}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          "x-api-key": apiKey,
          ...(body === undefined ? {} : { "content-type": "application/json" })
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
    )
    const text = await response.text()
    expect(response.status, `${method} ${path}: ${text}`).toBeLessThan(300)
    return text === "" ? undefined : JSON.parse(text)
  }
  const feed = async () => {
    const pages: Array<any> = []
    let after = ""
    do {
      pages.push(await ok("GET", `/organizations/${organizationId}/events?limit=2${after}`))
      after = `&after=${pages.at(-1).nextCursor}`
    } while (pages.at(-1).hasMore)
    const head = await ok("GET", `/organizations/${organizationId}/audit/head`)
    const entries = pages.flatMap((page) => page.events)
    return { pages, entries, check: await verifyFeed(entries, head) }
  }
  const sent: Array<string> = []
  const transport = WebhookTransport.of({
    send: (webhook) =>
      Effect.sync(() => {
        sent.push(webhook.body)
        return { kind: "response", status: 204, excerpt: "" } as const
      })
  })
  const relay = () =>
    handler.run(
      Effect.ignore(
        relayUntilIdle({
          deriveSecret: webhookSecretDeriver(env.WEBHOOK_SECRET_KEY),
          retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, windowMs: 60_000, random: () => 0 }
        }).pipe(Effect.provideService(WebhookTransport, transport), Effect.provide(noLogs))
      )
    ).done
  return { handler, ok, feed, sent, relay }
}

describe("ErasePersonalData on D1", () => {
  it("leaves nothing a brute force with the fingerprint key can find, and every chain verifies", async () => {
    const tenant = await seedTenant()
    const org = tenant.organizationId
    const s = await serve(env.DB, org, tenant.apiKey, KEY)
    try {
      const types = ["UserCreated", "UserPhoneNumberUpdated", "UserPhoneNumberVerified", "UserPersonalDataErased"]
      const hook =
        (await s.ok("POST", `/organizations/${org}/webhooks`, { url: "https://hooks.test/", eventTypes: types }))
          .webhook.id
      await s.ok("POST", "/users", { id: "victim", phoneNumber: N1 })
      await s.ok("POST", "/users/victim/UpdatePhoneNumber", { phoneNumber: N2 })
      await s.ok("POST", "/users", { id: "other", phoneNumber: N3 })
      await s.relay()
      expect(bruteForce(KEY, [N1, N2], [...(await s.feed()).pages.map((p) => JSON.stringify(p)), ...s.sent]))
        .toEqual([N1, N2])

      const sentBefore = s.sent.length
      await s.ok("POST", "/users/victim/ErasePersonalData")
      await s.relay()
      const deliveries = (await s.ok("GET", `/organizations/${org}/webhooks/${hook}/deliveries`)).deliveries
      for (const d of deliveries.filter((d: any) => d.aggregateId === "victim")) {
        await s.ok("POST", `/organizations/${org}/webhooks/${hook}/deliveries/${d.eventId}/resend`)
      }
      await s.relay()
      expect(s.sent.length - sentBefore).toBe(4)

      const after = await s.feed()
      expect(after.check).toMatchObject({ ok: true, checked: 4 })
      const texts = [
        ...after.pages.map((p) => JSON.stringify(p)),
        ...s.sent.slice(sentBefore),
        JSON.stringify(await s.ok("GET", "/users/victim/events")),
        JSON.stringify(await rows("SELECT * FROM events WHERE organization_id = ?", org)),
        JSON.stringify(await rows("SELECT * FROM phone_fingerprints WHERE organization_id = ?", org))
      ]
      expect(bruteForce(KEY, [N1, N2], texts)).toEqual([])
      expect((await auditOf()).broken).toBeUndefined()
      const other = after.entries.find((e: any) => e.aggregateId === "other")
      expect(other.fingerprints.phoneNumberFingerprint).toBe(`hmac-sha256:${hmacSha256(KEY, N3).toString("base64url")}`)
    } finally {
      await s.handler.dispose()
    }
  })
})

describe("migrations/0008 on a D1 database whose events carry fingerprints", () => {
  const db = env.FINGERPRINTS_DB

  it("forgets for users erased before it, keeps matching for the others until their erasure, and verifies", async () => {
    await applyD1Migrations(db, env.TEST_MIGRATIONS.filter((m) => m.name < "0008"))
    await db.batch(oldHistory().map(({ params, sql }) => db.prepare(sql).bind(...params)))
    await applyD1Migrations(db, env.TEST_MIGRATIONS)
    const all = (sql: string) => db.prepare(sql).all().then((result) => JSON.stringify(result.results))
    expect(await all("SELECT aggregate_id, version FROM redacted_events")).toBe(
      JSON.stringify([{ aggregate_id: "gone", version: 1 }])
    )
    expect(bruteForce(OLD_KEY, [N3], [await all("SELECT * FROM events")])).toEqual([])
    expect((await auditOf(db)).broken).toBeUndefined()

    const { apiKey } = await Effect.runPromise(
      issueApiKey(OLD_ORG, "erase").pipe(Effect.provide(D1Client.layer({ db })))
    )
    const s = await serve(db, OLD_ORG, apiKey, OLD_KEY)
    try {
      const migrated = await s.feed()
      expect(migrated.check).toMatchObject({ ok: true, checked: 4 })
      expect(migrated.entries[2].fingerprints).toEqual({
        phoneNumberFingerprint: fingerprintOf(N2),
        previousPhoneNumberFingerprint: fingerprintOf(N1)
      })

      await s.ok("POST", "/users/kept/ErasePersonalData")
      const erased = await s.feed()
      expect(erased.check).toMatchObject({ ok: true, checked: 5 })
      const texts = [
        ...erased.pages.map((p) => JSON.stringify(p)),
        await all("SELECT * FROM events"),
        await all("SELECT * FROM phone_fingerprints")
      ]
      expect(bruteForce(OLD_KEY, [N1, N2, N3], texts)).toEqual([])
      expect((await auditOf(db)).broken).toBeUndefined()
    } finally {
      await s.handler.dispose()
    }
  })
})
