import { defineConfig } from "vitest/config"

// Tests under Node: domain, program with doubles, real SQLite files, HTTP contract.
// The D1 tests run inside workerd with vitest.workers.config.mts.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/workers/**", "node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
