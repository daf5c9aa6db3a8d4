/**
 * A real SQLite file with migrations applied, a tenant, keys and tokens, and the fetch handler over it.
 */
import type { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import Database from "better-sqlite3"
import { Effect, Layer } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ensureOrganization, issueApiKey } from "../../src/admin/tenants.js"
import {
  DEV_AUDIENCE,
  DEV_ISSUER,
  generateSigningKey,
  jwksOf,
  type SigningKey,
  signServiceToken,
  signUserToken
} from "../../src/dev/signing.js"
import {
  type FetchHandler,
  makeFetchHandler,
  type VerificationOptions,
  type WebhookOptions
} from "../../src/fetch-handler.js"
import type { LogLine } from "../../src/http/edge.js"
import type { JwtConfig } from "../../src/layers/auth/jwt.js"
import { SqliteNodeServices } from "../../src/layers/sqlite/node.js"

export interface Tenant {
  readonly organizationId: string
  readonly apiKey: string
  readonly apiKeyId: string
}

/** The tests' IDEMPOTENCY_HASH_KEY, unless a fixture is given another. */
export const TEST_IDEMPOTENCY_HASH_KEY = "test-idempotency-hash-key-0123456789abcdef"

/** The tests' WEBHOOK_SECRET_KEY, unless a fixture is given other webhook options. */
export const TEST_WEBHOOK_SECRET_KEY = "test-webhook-secret-key-0123456789abcdef"

export interface SqliteFixture {
  readonly filename: string
  /** The handler's IDEMPOTENCY_HASH_KEY: another handler over the same file needs it to match kept keys. */
  readonly idempotencyHashKey: string
  readonly fetch: (request: Request) => Promise<Response>
  /** The handler itself, to run jobs (the webhook relay) on its services. */
  readonly handler: FetchHandler
  readonly key: SigningKey
  readonly tenant: Tenant
  readonly other: Tenant
  /** A fresh organization with its own API key: numbers are unique per organization, so tests can reuse them. */
  readonly newTenant: () => Promise<Tenant>
  readonly logs: Array<LogLine>
  /** Runs an admin effect against the same file. */
  readonly run: <A, E>(
    effect: Effect.Effect<A, E, SqliteClient.SqliteClient | SqlClient.SqlClient>
  ) => Promise<A>
  /** A user token of `organizationId` (default: `tenant`'s); every token names its organization. */
  readonly userToken: (userId: string, organizationId?: string) => Promise<string>
  readonly serviceToken: (scope?: string, organizationId?: string) => Promise<string>
  /** A read-only look at the file with better-sqlite3. */
  readonly query: <T = Record<string, unknown>>(sql: string, ...params: Array<unknown>) => Array<T>
  readonly dispose: () => Promise<void>
}

export interface FixtureOptions {
  readonly phoneFingerprintKey?: string
  readonly idempotencyHashKey?: string
  /** Overrides of the JWT settings, e.g. a remote key set (`jwks: new URL(...)`) in place of the inline one. */
  readonly jwt?: Partial<JwtConfig>
  /** Default: TEST_WEBHOOK_SECRET_KEY, loopback URLs accepted (the tests' receivers are on 127.0.0.1). */
  readonly webhooks?: WebhookOptions
  /** Default: codes go to the organization's code-delivery endpoint. */
  readonly verification?: VerificationOptions
  /** An SQLite file to serve instead of a fresh one (a server restarted on the same file). */
  readonly filename?: string
}

export const makeSqliteFixture = async (options: FixtureOptions = {}): Promise<SqliteFixture> => {
  const filename = options.filename ?? join(mkdtempSync(join(tmpdir(), "users-api-")), "test.sqlite")
  const key = await generateSigningKey("test-key")
  const jwt: JwtConfig = { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(key), ...options.jwt }
  const services = SqliteNodeServices(filename, jwt)
  const logs: Array<LogLine> = []
  const idempotencyHashKey = options.idempotencyHashKey ?? TEST_IDEMPOTENCY_HASH_KEY
  const handler = makeFetchHandler(services, {
    log: (line) => logs.push(line),
    phoneFingerprintKey: options.phoneFingerprintKey,
    idempotencyHashKey,
    webhooks: options.webhooks ?? { secretKey: TEST_WEBHOOK_SECRET_KEY, allowLoopback: true },
    ...(options.verification === undefined ? {} : { verification: options.verification })
  })
  const client = SqliteClient.layer({ filename })
  const run = <A, E>(effect: Effect.Effect<A, E, any>) =>
    Effect.runPromise(Effect.provide(effect, client) as Effect.Effect<A, E, never>)
  const makeTenant = (organizationId: string) =>
    run(
      Effect.gen(function*() {
        yield* ensureOrganization(organizationId, organizationId)
        const issued = yield* issueApiKey(organizationId, "test")
        return { organizationId, apiKey: issued.apiKey, apiKeyId: issued.id }
      })
    )
  let tenants = 0
  const tenant = await makeTenant("org_a")
  const other = await makeTenant("org_b")
  const reader = new Database(filename, { readonly: true })
  return {
    filename,
    idempotencyHashKey,
    fetch: handler.fetch,
    handler,
    key,
    tenant,
    other,
    newTenant: () => makeTenant(`org_t${++tenants}`),
    logs,
    run,
    userToken: (userId, organizationId = tenant.organizationId) => signUserToken(key, userId, organizationId),
    serviceToken: (scope = "users:read users:write", organizationId = tenant.organizationId) =>
      signServiceToken(key, "svc_test", organizationId, scope),
    query: (sql, ...params) => reader.prepare(sql).all(...params) as Array<any>,
    dispose: async () => {
      reader.close()
      await handler.dispose()
    }
  }
}

void Layer
