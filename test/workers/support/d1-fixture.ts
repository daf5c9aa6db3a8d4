/**
 * The Workers tests' common ground: local D1 (the DB binding, migrated by apply-migrations.ts), a tenant seeded
 * with the admin functions of src/admin, tokens signed with the run's test key, and the fetch handler over D1Live.
 */
import type { SqlClient } from "@effect/sql"
import { D1Client } from "@effect/sql-d1"
import { env } from "cloudflare:test"
import { Effect } from "effect"
import { ensureOrganization, issueApiKey } from "../../../src/admin/tenants.js"
import { verifyAudit } from "../../../src/audit/verify.js"
import { type SigningKey, signServiceToken, signUserToken } from "../../../src/dev/signing.js"
import { type FetchHandler, makeFetchHandler } from "../../../src/fetch-handler.js"
import type { JwtConfig } from "../../../src/layers/auth/jwt.js"
import { D1Services } from "../../../src/layers/d1.js"
import { readAuditInput } from "../../../src/layers/sql/audit-input.js"
import { SELECT_ALL_CHECKPOINTS, SELECT_ALL_EVENTS, SELECT_USER_VERSIONS } from "../../../src/layers/sql/rows.js"

/** The key whose public half the Worker trusts (JWKS binding); see vitest.workers.config.mts. */
export const testKey = JSON.parse(env.TEST_SIGNING_KEY) as SigningKey

export const jwtConfig: JwtConfig = { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE, jwks: JSON.parse(env.JWKS) }

export const BASE_URL = "https://users-api.test"

/** makeFetchHandler's options in these tests: the Worker's IDEMPOTENCY_HASH_KEY binding, logs kept quiet. */
export const handlerOptions = { log: () => {}, idempotencyHashKey: env.IDEMPOTENCY_HASH_KEY }

/** Runs an admin effect over local D1. */
export const runOnD1 = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, D1Client.layer({ db: env.DB })))

export interface Tenant {
  readonly organizationId: string
  readonly apiKey: string
}

/** A fresh organization with an active API key (stored as its SHA-256 only). */
export const seedTenant = (organizationId = `org_${crypto.randomUUID().slice(0, 8)}`): Promise<Tenant> =>
  runOnD1(Effect.gen(function*() {
    yield* ensureOrganization(organizationId, organizationId)
    const { apiKey } = yield* issueApiKey(organizationId, "workers-test")
    return { organizationId, apiKey }
  }))

/** Rows straight from local D1, bypassing the service. */
export const rows = async <T = Record<string, unknown>>(sql: string, ...params: Array<unknown>): Promise<Array<T>> =>
  (await env.DB.prepare(sql).bind(...params).all<T>()).results

/** A D1 database's whole audit trail verified as `npm run audit:verify` verifies a file (readAuditInput's reading). */
export const auditOf = async (db: D1Database = env.DB) => {
  const read = [SELECT_ALL_EVENTS, SELECT_ALL_CHECKPOINTS, SELECT_USER_VERSIONS]
  const results = new Map(
    await Promise.all(read.map(async (sql) => [sql, (await db.prepare(sql).all()).results] as const))
  )
  return verifyAudit(readAuditInput((sql) => results.get(sql)!))
}

export interface UserRow {
  readonly phone_number: string | null
  readonly version: number
}

export interface EventRow {
  readonly event_id: string
  readonly version: number
  readonly type: string
  readonly data: string
  readonly metadata: string
}

export const userRow = async (organizationId: string, userId: string): Promise<UserRow | undefined> =>
  (await rows<UserRow>(
    "SELECT phone_number, version FROM users WHERE organization_id = ? AND id = ?",
    organizationId,
    userId
  ))[0]

export const eventRows = (organizationId: string, userId: string): Promise<Array<EventRow>> =>
  rows<EventRow>(
    "SELECT event_id, version, type, data, metadata FROM events WHERE organization_id = ? AND aggregate_id = ? ORDER BY version",
    organizationId,
    userId
  )

export interface CallOptions {
  readonly token?: string
  readonly apiKey?: string | null
  readonly headers?: Record<string, string>
}

/** Requests against one fetch handler, as the tenant: a service token by default, or the token given. */
export interface ApiClient {
  readonly tenant: Tenant
  readonly handler: FetchHandler
  readonly userToken: (userId: string) => Promise<string>
  readonly createUser: (userId: string, phoneNumber?: string | null, options?: CallOptions) => Promise<Response>
  readonly updatePhoneNumber: (userId: string, phoneNumber: unknown, options?: CallOptions) => Promise<Response>
  /** GET /organizations/{id}/audit/head with a service token holding audit:read: status and JSON body. */
  readonly auditHead: () => Promise<{ readonly status: number; readonly body: any }>
}

export const makeApiClient = async (
  fetch: (request: Request) => Promise<Response>,
  tenant: Tenant
): Promise<Omit<ApiClient, "handler">> => {
  const serviceToken = await signServiceToken(testKey, "svc_test", tenant.organizationId, "users:read users:write")
  const auditor = await signServiceToken(testKey, "svc_audit", tenant.organizationId, "audit:read")
  const post = (path: string, body: unknown, options: CallOptions = {}) => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.token ?? serviceToken}`,
      "content-type": "application/json",
      ...options.headers
    }
    const apiKey = options.apiKey === undefined ? tenant.apiKey : options.apiKey
    if (apiKey !== null) headers["x-api-key"] = apiKey
    return fetch(new Request(`${BASE_URL}${path}`, { method: "POST", headers, body: JSON.stringify(body) }))
  }
  return {
    tenant,
    userToken: (userId) => signUserToken(testKey, userId, tenant.organizationId),
    createUser: (userId, phoneNumber, options) =>
      post("/users", phoneNumber === undefined ? { id: userId } : { id: userId, phoneNumber }, options),
    updatePhoneNumber: (userId, phoneNumber, options) =>
      post(`/users/${userId}/UpdatePhoneNumber`, { phoneNumber }, options),
    auditHead: async () => {
      const response = await fetch(
        new Request(`${BASE_URL}/organizations/${tenant.organizationId}/audit/head`, {
          headers: { authorization: `Bearer ${auditor}`, "x-api-key": tenant.apiKey }
        })
      )
      return { status: response.status, body: await response.json() }
    }
  }
}

/** A new tenant and `makeFetchHandler(D1Services(env.DB, jwt))`, the Worker's handler, with logs kept quiet. */
export const makeD1Api = async (): Promise<ApiClient> => {
  const handler = makeFetchHandler(D1Services(env.DB, jwtConfig), handlerOptions)
  const client = await makeApiClient(handler.fetch, await seedTenant())
  return { ...client, handler }
}
