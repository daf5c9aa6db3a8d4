/// <reference types="@cloudflare/vitest-pool-workers" />
// The bindings the Workers tests see (wrangler.toml plus vitest.workers.config.mts).
declare module "cloudflare:test" {
  interface ProvidedEnv {
    readonly DB: D1Database
    /** Shard 1 (src/layers/d1.ts): DB is the directory and shard 0. */
    readonly DB_1: D1Database
    /** Local D1 not migrated before the tests (test/workers/d1-migrations.test.ts migrates it step by step). */
    readonly UPGRADE_DB: D1Database
    /** Local D1 migrated to 0003 and given an organization-wide chain, then migrated on (migration 0004). */
    readonly LEGACY_CHAIN_DB: D1Database
    /** Local D1 migrated to 0007 and given events that carry fingerprints, then migrated on (migration 0008). */
    readonly FINGERPRINTS_DB: D1Database
    /** Local D1 migrated to 0006 and given store-wide event numbers, then migrated on (migration 0007). */
    readonly NUMBERS_DB: D1Database
    readonly TEST_MIGRATIONS: Array<D1Migration>
    /** A SigningKey (src/dev/signing.ts) as JSON; JWKS holds its public half. */
    readonly TEST_SIGNING_KEY: string
    readonly JWT_ISSUER: string
    readonly JWT_AUDIENCE: string
    readonly JWKS: string
    readonly IDEMPOTENCY_HASH_KEY: string
    readonly WEBHOOK_SECRET_KEY: string
    readonly WEBHOOK_ALLOW_LOOPBACK: string
    /** The receiver on 127.0.0.1 of test/workers/support/receiver-setup.ts: POST /hooks/<box>, GET /received/<box>. */
    readonly WEBHOOK_RECEIVER: string
    /** The webhook queue's producer (wrangler.toml). */
    readonly WEBHOOKS: Queue
  }
}
