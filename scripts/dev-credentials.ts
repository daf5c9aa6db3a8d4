/**
 * `npm run dev:credentials [-- --runtime bun|deno|worker] [--port N] [--scope "…"] [--shell]`: prints one JSON object
 * `{ baseUrl, organizationId, apiKey, userId, userToken, serviceToken, adminToken }` for the local database, creating
 * what is missing (dev state, SQLite file, demo tenant) and reusing what exists. Nothing else goes to stdout.
 * `serviceToken` has the scopes of `--scope` (space-separated; default `users:read users:write`), `adminToken` every
 * scope the service knows (src/app/authorize.ts `Scopes`). `--shell` prints the same values as `export NAME='…'` lines
 * (BASE_URL, API_KEY, USER_TOKEN, SERVICE_TOKEN, ADMIN_TOKEN, …) for `eval "$(npm run -s dev:credentials -- --shell)"`.
 * Runs under Bun (bun:sqlite); the worker's local D1 is seeded by `npm run dev:worker` instead.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { Scopes } from "../src/app/authorize.js"
import { signServiceToken, signUserToken } from "../src/dev/signing.js"
import { DATA_DIR, devSeedSql, loadOrCreateDevState } from "../src/dev/state.js"
import { prepareBunSqliteFile } from "../src/layers/sqlite/bun.js"

const RUNTIMES = {
  bun: { port: 8787, database: "users.sqlite" },
  deno: { port: 8788, database: "users-deno.sqlite" },
  worker: { port: 8789, database: undefined }
} as const

type Runtime = keyof typeof RUNTIMES

const usage =
  `usage: bun scripts/dev-credentials.ts [--runtime bun|deno|worker] [--port N] [--scope "<scopes>"] [--shell]`

const ALL_SCOPES: ReadonlyArray<string> = Object.values(Scopes)
const DEFAULT_SCOPE = [Scopes.read, Scopes.write].join(" ")

const fail = (message: string): never => {
  console.error(`dev-credentials: ${message}\n${usage}`)
  process.exit(2)
}

const parsed = (() => {
  try {
    return parseArgs({
      options: {
        runtime: { type: "string", default: "bun" },
        port: { type: "string" },
        scope: { type: "string", default: DEFAULT_SCOPE },
        shell: { type: "boolean", default: false }
      }
    }).values
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error))
  }
})()

const runtime = parsed.runtime as Runtime
if (!Object.hasOwn(RUNTIMES, runtime)) fail(`unknown runtime ${JSON.stringify(parsed.runtime)}`)
const { database, port: defaultPort } = RUNTIMES[runtime]
const port = parsed.port === undefined ? defaultPort : Number(parsed.port)
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--port must be a port number, not ${parsed.port}`)

// Any scopes may be asked for (a token the service will refuse is a fine thing to try); a name it does not know
// grants nothing, which is worth a word on stderr in case it is a typo.
const scope = parsed.scope.trim().split(/\s+/).filter((name) => name !== "").join(" ")
for (const name of scope === "" ? [] : scope.split(" ")) {
  if (!ALL_SCOPES.includes(name)) {
    console.error(`dev-credentials: warning: the service knows no scope ${name} (it knows ${ALL_SCOPES.join(", ")})`)
  }
}

const state = await loadOrCreateDevState()
if (database !== undefined) {
  mkdirSync(DATA_DIR, { recursive: true })
  prepareBunSqliteFile(join(DATA_DIR, database), { seedSql: await devSeedSql(state, new Date().toISOString()) })
}

const serviceToken = (serviceId: string, scopes: string) =>
  signServiceToken(state.signingKey, serviceId, state.organizationId, scopes, { expiresIn: "24h" })

const credentials = {
  baseUrl: `http://127.0.0.1:${port}`,
  organizationId: state.organizationId,
  apiKey: state.apiKey,
  userId: state.userId,
  userToken: await signUserToken(state.signingKey, state.userId, state.organizationId, { expiresIn: "24h" }),
  serviceToken: await serviceToken(state.serviceId, scope),
  // Its own subject, so that the audit trail tells its writes from serviceToken's.
  adminToken: await serviceToken(`${state.serviceId}_admin`, ALL_SCOPES.join(" "))
}

/** `adminToken` → `ADMIN_TOKEN`, the value in single quotes (every character literal to a POSIX shell). */
const exportLine = ([name, value]: readonly [string, string]) =>
  `export ${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}='${value.replaceAll("'", `'\\''`)}'`

process.stdout.write(
  parsed.shell
    ? Object.entries(credentials).map(exportLine).join("\n") + "\n"
    : JSON.stringify(credentials, null, 2) + "\n"
)
