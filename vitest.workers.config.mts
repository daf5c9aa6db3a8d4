import { defineWorkersConfig, readD1Migrations } from "@cloudflare/vitest-pool-workers/config"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf } from "./src/dev/signing.js"

// The D1 path, inside workerd (the Workers runtime) against real local D1: migrations/ are read here, in Node,
// and applied by test/workers/apply-migrations.ts. One signing key per run: the Worker trusts it through JWKS,
// and the tests sign with its private half (TEST_SIGNING_KEY).
export default defineWorkersConfig(async () => {
  const key = await generateSigningKey("workers-test-key")
  return {
    test: {
      include: ["test/workers/**/*.test.ts"],
      setupFiles: ["./test/workers/apply-migrations.ts"],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      // The Worker logs a JSON line per request, and the entry's tests provoke configuration errors on purpose.
      onConsoleLog: (log) =>
        !/^\{"level":"(info|error)","msg":"(request|configuration error|identity provider key set fetch failed)"/.test(
          log
        ),
      poolOptions: {
        workers: {
          wrangler: { configPath: "./wrangler.toml" },
          miniflare: {
            d1Databases: {
              // A second shard (src/layers/d1.ts): the Worker entry serves over DB and DB_1.
              DB_1: { id: "00000000-0000-4000-8000-000000000001" },
              // Local D1s that apply-migrations.ts leaves alone, for migrations applied to an older schema.
              UPGRADE_DB: { id: "00000000-0000-4000-8000-000000000003" },
              LEGACY_CHAIN_DB: { id: "00000000-0000-4000-8000-000000000004" }
            },
            bindings: {
              TEST_MIGRATIONS: await readD1Migrations("migrations"),
              TEST_SIGNING_KEY: JSON.stringify(key),
              JWT_ISSUER: DEV_ISSUER,
              JWT_AUDIENCE: DEV_AUDIENCE,
              JWKS: JSON.stringify(jwksOf(key)),
              IDEMPOTENCY_HASH_KEY: "workers-test-idempotency-hash-key-0123456789"
            }
          }
        }
      }
    }
  }
})
