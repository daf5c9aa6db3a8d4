/**
 * Erasure forgets, on an SQLite file through the real handler, relay and a receiver on 127.0.0.1: after
 * ErasePersonalData, someone holding PHONE_FINGERPRINT_KEY who reads every event, every feed page and every webhook
 * sent from then on recovers neither of the user's numbers from the 10,000 that look like each, while every chain
 * and checkpoint still verifies; another user's fingerprints still match.
 */
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { relayRound } from "../../src/app/webhook-relay.js"
import { webhookSecretDeriver } from "../../src/app/webhook-secrets.js"
import { verifyFeed } from "../../src/audit/feed.js"
import { verifyAudit } from "../../src/audit/verify.js"
import { readAuditInput } from "../../src/layers/sql/audit-input.js"
import { FetchWebhookTransport } from "../../src/layers/webhooks/transport.js"
import { hmacSha256 } from "../../src/sha256.js"
import { call } from "../support/client.js"
import { bruteForce } from "../support/erasure.js"
import { noLogs } from "../support/logs.js"
import { makeSqliteFixture, type SqliteFixture, TEST_WEBHOOK_SECRET_KEY } from "../support/sqlite-fixture.js"
import { type Receiver, startReceiver } from "../support/webhook-receiver.js"

const KEY = "erasure-forgets-fingerprint-key-0123456789"
const FIRST = "+14155552671"
const SECOND = "+442079460958"
const OTHERS = "+16175550123"
const ALL = "users:read users:write users:erase users:pii:read audit:read webhooks:write"

let f: SqliteFixture
let receiver: Receiver
let as: { token: string; apiKey: string }
let org: string

const round = () =>
  f.handler.run(
    Effect.ignore(
      relayRound({
        deriveSecret: webhookSecretDeriver(TEST_WEBHOOK_SECRET_KEY),
        retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, windowMs: 60_000 }
      }).pipe(Effect.provide(FetchWebhookTransport({ checkAddresses: false })), Effect.provide(noLogs))
    )
  ).done

/** Relay rounds until nothing is pending (a user's deliveries go one at a time, in version order). */
const relay = async () => {
  for (let i = 0; i < 20; i++) {
    await round()
    if (f.query("SELECT 1 FROM webhook_deliveries WHERE status = 'pending'").length === 0) return
  }
  throw new Error("deliveries still pending")
}

const ok = async (method: string, path: string, body?: unknown) => {
  const answer = await call(f.fetch, method, path, body === undefined ? as : { ...as, body })
  expect(answer.status, `${method} ${path}: ${answer.text}`).toBeLessThan(300)
  return answer.body
}

/** Every page of the feed, two events a page. */
const feedPages = async () => {
  const pages: Array<any> = []
  let after = ""
  do {
    pages.push(await ok("GET", `/organizations/${org}/events?limit=2${after}`))
    after = `&after=${pages.at(-1).nextCursor}`
  } while (pages.at(-1).hasMore)
  return pages
}

beforeAll(async () => {
  receiver = await startReceiver()
  f = await makeSqliteFixture({
    phoneFingerprintKey: KEY,
    webhooks: { secretKey: TEST_WEBHOOK_SECRET_KEY, allowLoopback: true }
  })
  as = { token: await f.serviceToken(ALL), apiKey: f.tenant.apiKey }
  org = f.tenant.organizationId
  await ok("POST", `/organizations/${org}/webhooks`, {
    url: receiver.url,
    eventTypes: ["UserCreated", "UserPhoneNumberUpdated", "UserPhoneNumberVerified", "UserPersonalDataErased"]
  })
  await ok("POST", "/users", { id: "victim", phoneNumber: FIRST })
  await ok("POST", "/users/victim/UpdatePhoneNumber", { phoneNumber: SECOND })
  await ok("POST", "/users/victim/MarkPhoneNumberVerified", { phoneNumber: SECOND })
  await ok("POST", "/users", { id: "other", phoneNumber: OTHERS })
  await relay()
})
afterAll(async () => {
  await f.dispose()
  await receiver.close()
})

describe("ErasePersonalData forgets the numbers for the fingerprint key's holder too", () => {
  it("before the erasure, the brute force finds both numbers in the feed and the webhooks", async () => {
    const texts = [...(await feedPages()).map((page) => JSON.stringify(page)), ...receiver.received.map((r) => r.body)]
    expect(receiver.received).toHaveLength(4)
    // Webhooks carry the fingerprints too, so a receiver can match without reading the feed.
    const webhookTexts = receiver.received.map((r) => r.body)
    expect(bruteForce(KEY, [FIRST, SECOND], webhookTexts)).toEqual([FIRST, SECOND])
    expect(bruteForce(KEY, [FIRST, SECOND], texts)).toEqual([FIRST, SECOND])
  })

  it("after it, no event, feed page or webhook sent gives either back, and every chain and checkpoint verifies", async () => {
    const sentBefore = receiver.received.length
    await ok("POST", "/users/victim/ErasePersonalData")
    await relay()
    // Every delivery of the user's events sent again: what a receiver can still be sent about it.
    const hook = (await ok("GET", `/organizations/${org}/webhooks`)).webhooks[0].id
    const deliveries = (await ok("GET", `/organizations/${org}/webhooks/${hook}/deliveries`)).deliveries
    for (const d of deliveries.filter((d: any) => d.aggregateId === "victim")) {
      await ok("POST", `/organizations/${org}/webhooks/${hook}/deliveries/${d.eventId}/resend`)
    }
    await relay()
    const sent = receiver.received.slice(sentBefore).map((r) => r.body)
    expect(sent).toHaveLength(5)

    const pages = await feedPages()
    const texts = [
      ...pages.map((page) => JSON.stringify(page)),
      ...sent,
      JSON.stringify(await ok("GET", "/users/victim/events")),
      JSON.stringify(await ok("GET", "/users/other/events")),
      JSON.stringify(await ok("GET", "/users/victim")),
      JSON.stringify(f.query("SELECT * FROM events")),
      JSON.stringify(f.query("SELECT * FROM phone_fingerprints"))
    ]
    expect(bruteForce(KEY, [FIRST, SECOND], texts)).toEqual([])

    expect(verifyAudit(readAuditInput((sql) => f.query(sql))).broken).toBeUndefined()
    const head = await ok("GET", `/organizations/${org}/audit/head`)
    const entries = (await feedPages()).flatMap((page) => page.events)
    expect(await verifyFeed(entries, head)).toEqual({ ok: true, checked: 5, sealed: 5 })
  })

  it("keeps serving the fingerprints of users not erased, so their events still match", async () => {
    const entries = (await feedPages()).flatMap((page) => page.events)
    const other = entries.find((e: any) => e.aggregateId === "other")
    expect(other.fingerprints.phoneNumberFingerprint).toBe(
      `hmac-sha256:${hmacSha256(KEY, OTHERS).toString("base64url")}`
    )
    expect(entries.filter((e: any) => e.aggregateId === "victim" && e.fingerprints !== undefined)).toEqual([])
  })
})
