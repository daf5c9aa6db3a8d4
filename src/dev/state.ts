// The local developer's state (data/dev-state.json, git-ignored). It keeps the demo API key's secret so that
// credentials can be printed again: local use only.
import { Config, Effect } from "effect"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { GENESIS_HASH, nextLink } from "../audit/chain.js"
import type { UserCreated } from "../domain/events.js"
import { generateApiKey } from "../layers/auth/api-keys.js"
import { sqlString as quote } from "../layers/sql/literal.js"
import { sha256Hex } from "../sha256.js"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf, type SigningKey } from "./signing.js"

export interface DevState {
  readonly signingKey: SigningKey
  readonly organizationId: string
  readonly apiKeyId: string
  readonly apiKey: string
  readonly apiKeyHash: string
  readonly userId: string
  readonly serviceId: string
  /** Kept so that stored Idempotency-Keys still match after a restart. */
  readonly idempotencyHashKey: string
  readonly webhookSecretKey: string
}

export const DATA_DIR = Effect.runSync(
  Config.string("USERS_API_DATA_DIR").pipe(Config.withDefault(join(process.cwd(), "data")))
)
export const DEV_STATE_FILE = join(DATA_DIR, "dev-state.json")

const generateSecret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")

const save = (file: string, state: DevState) => {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 })
}

export const loadOrCreateDevState = async (file: string = DEV_STATE_FILE): Promise<DevState> => {
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, "utf8")) as
      & Omit<DevState, "idempotencyHashKey" | "webhookSecretKey">
      & {
        readonly idempotencyHashKey?: string
        readonly webhookSecretKey?: string
      }
    if (stored.idempotencyHashKey !== undefined && stored.webhookSecretKey !== undefined) return stored as DevState
    // An older dev state: the rest stays as it was (tokens and the demo key keep working).
    const upgraded: DevState = {
      ...stored,
      idempotencyHashKey: stored.idempotencyHashKey ?? generateSecret(),
      webhookSecretKey: stored.webhookSecretKey ?? generateSecret()
    }
    save(file, upgraded)
    return upgraded
  }
  const apiKey = generateApiKey()
  const state: DevState = {
    signingKey: await generateSigningKey(),
    organizationId: "org_demo",
    apiKeyId: "key_demo",
    apiKey,
    apiKeyHash: sha256Hex(apiKey),
    userId: "user_demo",
    serviceId: "svc_demo",
    idempotencyHashKey: generateSecret(),
    webhookSecretKey: generateSecret()
  }
  save(file, state)
  return state
}

export const devJwtEnv = (state: DevState) => ({
  JWT_ISSUER: DEV_ISSUER,
  JWT_AUDIENCE: DEV_AUDIENCE,
  JWKS: JSON.stringify(jwksOf(state.signingKey))
})

/** wrangler dev has no dev mode of its own. */
export const devWorkerEnv = (state: DevState) => ({
  ...devJwtEnv(state),
  IDEMPOTENCY_HASH_KEY: state.idempotencyHashKey,
  WEBHOOK_SECRET_KEY: state.webhookSecretKey,
  WEBHOOK_ALLOW_LOOPBACK: "true"
})

/** Idempotent, in any migrated store. */
export const devSeedSql = (state: DevState, now: string): string => {
  const event: UserCreated = {
    id: "00000000-0000-7000-8000-000000000001",
    type: "UserCreated",
    aggregateType: "User",
    aggregateId: state.userId,
    version: 1,
    occurredAt: now,
    data: { maskedPhoneNumber: null },
    metadata: {
      organizationId: state.organizationId,
      actor: { type: "service", id: state.serviceId },
      requestId: "dev-seed"
    }
  }
  const link = nextLink(GENESIS_HASH, event)
  const org = quote(state.organizationId)
  return [
    `INSERT OR IGNORE INTO organizations (id, name, created_at) VALUES (${org}, 'Demo organization', ${quote(now)});`,
    // A regenerated dev state over a surviving database must replace the demo key.
    `INSERT INTO api_keys (id, organization_id, key_hash, label, created_at) VALUES (${
      quote(state.apiKeyId)
    }, ${org}, ${quote(state.apiKeyHash)}, 'demo', ${quote(now)}) ` +
    `ON CONFLICT (id) DO UPDATE SET key_hash = excluded.key_hash, organization_id = excluded.organization_id, ` +
    `revoked_at = NULL;`,
    `INSERT OR IGNORE INTO users (organization_id, id, phone_number, version, created_at, updated_at) VALUES (${org}, ${
      quote(state.userId)
    }, NULL, 1, ${quote(now)}, ${quote(now)});`,
    `INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, ` +
    `occurred_at, chain_sequence, prev_hash, hash, organization_sequence) ` +
    `SELECT ${quote(event.id)}, ${org}, 'User', ${quote(state.userId)}, 1, 'UserCreated', ${
      quote(JSON.stringify(event.data))
    }, ` +
    `${quote(JSON.stringify(event.metadata))}, ${quote(now)}, NULL, ${quote(link.prevHash)}, ${quote(link.hash)}, ` +
    `(SELECT COALESCE(max(organization_sequence), 0) + 1 FROM events WHERE organization_id = ${org}) ` +
    `WHERE NOT EXISTS (SELECT 1 FROM events WHERE organization_id = ${org} AND aggregate_id = ${quote(state.userId)});`
  ].join("\n")
}
