// Runs before each Workers test file: applies migrations/ to local D1, the directory and its second shard (a no-op
// once they are applied).
import { applyD1Migrations, env } from "cloudflare:test"

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS)
await applyD1Migrations(env.DB_1, env.TEST_MIGRATIONS)
