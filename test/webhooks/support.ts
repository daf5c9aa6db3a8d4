/**
 * The relay tests' common ground: a real SQLite file served by the real handler, the relay layer of the Bun and Deno
 * servers (WebhookRelayLive) on the handler's own services with the real fetch transport, woken by commits as in
 * src/server.ts, and a real receiver on 127.0.0.1. The timings are injected (retries at once, short timeouts and
 * leases), so a test takes seconds, and nothing waits for a time to pass: every wait is for an outcome, bounded.
 */
import { Effect, Layer } from "effect"
import { makeWakeSignal, type RelayLogLine, type RelayOptions, WebhookRelayLive } from "../../src/app/webhook-relay.js"
import { webhookSecretDeriver } from "../../src/app/webhook-secrets.js"
import type { Job } from "../../src/fetch-handler.js"
import { FetchWebhookTransport } from "../../src/layers/webhooks/transport.js"
import { call } from "../support/client.js"
import { keepLogs } from "../support/logs.js"
import {
  makeSqliteFixture,
  type SqliteFixture,
  type Tenant,
  TEST_WEBHOOK_SECRET_KEY
} from "../support/sqlite-fixture.js"

/** Retries at once, at most `maxAttempts` attempts. */
export const immediateRetries = (maxAttempts: number): RelayOptions["retry"] => ({
  maxAttempts,
  baseDelayMs: 1,
  maxDelayMs: 1,
  windowMs: 60 * 60_000,
  random: () => 0
})

export const FAST: Omit<RelayOptions, "deriveSecret"> = {
  retry: immediateRetries(10),
  timeoutMs: 2_000,
  leaseMs: 10_000
}

export interface RelayFixture extends SqliteFixture, OrganizationCalls {
  /** A service token of the fixture's tenant with every scope, webhooks:write included. */
  readonly admin: string
  readonly logs: Array<any>
  readonly relayLogs: Array<RelayLogLine>
  /** Starts the relay fiber (once per call; `stop` each). */
  readonly startRelay: (options?: Omit<RelayOptions, "deriveSecret">) => Job
  /** The same calls as another organization (`other`, or `newTenant()`), with every scope. */
  readonly as: (tenant: Tenant) => Promise<OrganizationCalls>
}

/** What the tests do as an organization's service: subscribe, write users, read deliveries. */
export interface OrganizationCalls {
  readonly subscribe: (
    url: string,
    eventTypes?: ReadonlyArray<string>
  ) => Promise<{ readonly id: string; readonly secret: string }>
  readonly createUser: (id: string, phoneNumber?: string) => Promise<void>
  readonly update: (id: string, phoneNumber: string | null) => Promise<{ readonly status: number; readonly body: any }>
  readonly deliveries: (webhookId: string, query?: string) => Promise<any>
}

export const ALL_SCOPES = "users:read users:write users:erase users:pii:read audit:read webhooks:write"

export const makeRelayFixture = async (
  options: { readonly filename?: string; readonly secretKey?: string } = {}
): Promise<RelayFixture> => {
  const signal = makeWakeSignal()
  const secretKey = options.secretKey ?? TEST_WEBHOOK_SECRET_KEY
  const f = await makeSqliteFixture({
    ...(options.filename === undefined ? {} : { filename: options.filename }),
    webhooks: { secretKey, allowLoopback: true, onWrite: signal.wake }
  })
  const admin = await f.serviceToken(ALL_SCOPES)
  const relayLogs: Array<RelayLogLine> = []
  return {
    ...f,
    admin,
    relayLogs,
    startRelay: (relay = FAST) =>
      f.handler.run(
        Layer.launch(
          WebhookRelayLive({
            ...relay,
            deriveSecret: webhookSecretDeriver(secretKey),
            signal,
            pollIntervalMs: 200
          }).pipe(Layer.provide(FetchWebhookTransport({ checkAddresses: false })))
        ).pipe(Effect.provide(keepLogs(relayLogs)))
      ),
    ...organizationCalls(f.fetch, f.tenant.organizationId, admin, f.tenant.apiKey),
    as: async (tenant) =>
      organizationCalls(
        f.fetch,
        tenant.organizationId,
        await f.serviceToken(ALL_SCOPES, tenant.organizationId),
        tenant.apiKey
      )
  }
}

const organizationCalls = (fetch: SqliteFixture["fetch"], org: string, token: string, apiKey: string) => {
  const as = { token, apiKey }
  const calls: OrganizationCalls = {
    subscribe: async (url, eventTypes = ["UserCreated", "UserPhoneNumberUpdated", "UserPersonalDataErased"]) => {
      const answer = await call(fetch, "POST", `/organizations/${org}/webhooks`, { ...as, body: { url, eventTypes } })
      if (answer.status !== 201) throw new Error(`subscribe: ${answer.status} ${answer.text}`)
      return { id: answer.body.webhook.id, secret: answer.body.secret }
    },
    createUser: async (id, phoneNumber) => {
      const answer = await call(fetch, "POST", "/users", {
        ...as,
        body: phoneNumber === undefined ? { id } : { id, phoneNumber }
      })
      if (answer.status !== 201) throw new Error(`create ${id}: ${answer.status} ${answer.text}`)
    },
    update: (id, phoneNumber) =>
      call(fetch, "POST", `/users/${id}/UpdatePhoneNumber`, { ...as, body: { phoneNumber } }),
    deliveries: async (webhookId, query = "") => {
      const answer = await call(fetch, "GET", `/organizations/${org}/webhooks/${webhookId}/deliveries${query}`, as)
      if (answer.status !== 200) throw new Error(`deliveries: ${answer.status} ${answer.text}`)
      return answer.body
    }
  }
  return calls
}

/** A distinct valid US number per call within a test file (the last four digits count up). */
export const numbers = () => {
  let n = 1000
  return () => `+1415555${String(++n % 10_000).padStart(4, "0")}`
}
