// Runs before each Workers test file: applies migrations/ to local D1 (a no-op once they are applied).
import { applyD1Migrations, env } from "cloudflare:test"

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS)
