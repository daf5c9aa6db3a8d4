import {
  defineWorkersConfig,
  readD1Migrations,
  type WorkerPoolOptionsContext
} from "@cloudflare/vitest-pool-workers/config"
import { buildDocs } from "./scripts/build-docs.js"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf } from "./src/dev/signing.js"

// The D1 path, inside workerd (the Workers runtime) against real local D1: migrations/ are read here, in Node,
// and applied by test/workers/apply-migrations.ts. One signing key per run: the Worker trusts it through JWKS,
// and the tests sign with its private half (TEST_SIGNING_KEY). The webhook queue of wrangler.toml runs in Miniflare,
// and a real receiver on 127.0.0.1 (test/workers/support/receiver-setup.ts, started in Node) hears the relay.
// wrangler.toml's [assets] directory must exist; wrangler's [build] does not run here, so the config writes it.
export default defineWorkersConfig(async () => {
  await buildDocs()
  const key = await generateSigningKey("workers-test-key")
  const migrations = await readD1Migrations("migrations")
  return {
    test: {
      include: ["test/workers/**/*.test.ts"],
      setupFiles: ["./test/workers/apply-migrations.ts"],
      globalSetup: ["./test/workers/support/receiver-setup.ts"],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      // The Worker logs a JSON line per request, and the entry's and webhook tests provoke errors on purpose.
      onConsoleLog: (log) =>
        !/^\{"level":"(info|warn|error)","msg":"(request|configuration error|identity provider key set fetch failed|webhook [a-z -]+)"/
          .test(log),
      poolOptions: {
        workers: ({ inject }: WorkerPoolOptionsContext) => ({
          wrangler: { configPath: "./wrangler.toml" },
          miniflare: {
            d1Databases: {
              // A second shard (src/layers/d1.ts): the Worker entry serves over DB and DB_1.
              DB_1: { id: "00000000-0000-4000-8000-000000000001" },
              // Local D1s that apply-migrations.ts leaves alone, for migrations applied to an older schema.
              UPGRADE_DB: { id: "00000000-0000-4000-8000-000000000003" },
              LEGACY_CHAIN_DB: { id: "00000000-0000-4000-8000-000000000004" },
              NUMBERS_DB: { id: "00000000-0000-4000-8000-000000000005" },
              FINGERPRINTS_DB: { id: "00000000-0000-4000-8000-000000000009" }
            },
            bindings: {
              TEST_MIGRATIONS: migrations,
              TEST_SIGNING_KEY: JSON.stringify(key),
              JWT_ISSUER: DEV_ISSUER,
              JWT_AUDIENCE: DEV_AUDIENCE,
              JWKS: JSON.stringify(jwksOf(key)),
              IDEMPOTENCY_HASH_KEY: "workers-test-idempotency-hash-key-0123456789",
              WEBHOOK_SECRET_KEY: "workers-test-webhook-secret-key-0123456789",
              // The receiver is on the loopback, over http: local development's rules.
              WEBHOOK_ALLOW_LOOPBACK: "true",
              WEBHOOK_RECEIVER: inject("webhookReceiver")
            }
          }
        })
      }
    }
  }
})
