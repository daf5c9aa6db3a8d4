/**
 * `npm run dev:credentials [-- --runtime bun|deno|worker] [--port N]`: prints one JSON object
 * `{ baseUrl, organizationId, apiKey, userId, userToken, serviceToken }` for the local database, creating what
 * is missing (dev state, SQLite file, demo tenant) and reusing what exists. Nothing else goes to stdout.
 * Runs under Bun (bun:sqlite); the worker's local D1 is seeded by `npm run dev:worker` instead.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { signServiceToken, signUserToken } from "../src/dev/signing.js"
import { DATA_DIR, devSeedSql, loadOrCreateDevState } from "../src/dev/state.js"
import { prepareBunSqliteFile } from "../src/layers/sqlite/bun.js"

const RUNTIMES = {
  bun: { port: 8787, database: "users.sqlite" },
  deno: { port: 8788, database: "users-deno.sqlite" },
  worker: { port: 8789, database: undefined }
} as const

type Runtime = keyof typeof RUNTIMES

const usage = "usage: bun scripts/dev-credentials.ts [--runtime bun|deno|worker] [--port N]"

const fail = (message: string): never => {
  console.error(`dev-credentials: ${message}\n${usage}`)
  process.exit(2)
}

const parsed = (() => {
  try {
    return parseArgs({ options: { runtime: { type: "string", default: "bun" }, port: { type: "string" } } }).values
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error))
  }
})()

const runtime = parsed.runtime as Runtime
if (!Object.hasOwn(RUNTIMES, runtime)) fail(`unknown runtime ${JSON.stringify(parsed.runtime)}`)
const { database, port: defaultPort } = RUNTIMES[runtime]
const port = parsed.port === undefined ? defaultPort : Number(parsed.port)
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--port must be a port number, not ${parsed.port}`)

const state = await loadOrCreateDevState()
if (database !== undefined) {
  mkdirSync(DATA_DIR, { recursive: true })
  prepareBunSqliteFile(join(DATA_DIR, database), { seedSql: await devSeedSql(state, new Date().toISOString()) })
}

const credentials = {
  baseUrl: `http://127.0.0.1:${port}`,
  organizationId: state.organizationId,
  apiKey: state.apiKey,
  userId: state.userId,
  userToken: await signUserToken(state.signingKey, state.userId, state.organizationId, { expiresIn: "24h" }),
  serviceToken: await signServiceToken(
    state.signingKey,
    state.serviceId,
    state.organizationId,
    "users:read users:write",
    { expiresIn: "24h" }
  )
}

process.stdout.write(JSON.stringify(credentials, null, 2) + "\n")
