/**
 * Starts each runtime the way a developer does (Bun: `bun src/bun.ts`; Deno: `deno task start`; Workers:
 * `wrangler dev` on local D1), each on a free loopback port over a fresh store, and describes it as a Target:
 * the dev credentials plus what the conformance suite needs that every runtime can offer alike (a second
 * organization, a revoked key, and tokens signed with the runtime's dev key).
 */
import Database from "better-sqlite3"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startLocalCron } from "../../scripts/lib/local-wrangler.js"
import { createOrganizationSql, issueApiKeySql, revokeApiKeySql } from "../../src/admin/tenants.js"
import { signServiceToken, signUserToken, type TokenOptions } from "../../src/dev/signing.js"
import { devSeedSql, type DevState, devWorkerEnv, loadOrCreateDevState } from "../../src/dev/state.js"
import { BIN, freePort, localDevEnv, ROOT, run, ServerProcess } from "../support/processes.js"

export type Runtime = "bun" | "deno" | "worker"

export interface Target {
  readonly runtime: Runtime
  /** What `npm run dev:credentials` prints for this runtime. */
  readonly baseUrl: string
  readonly organizationId: string
  readonly apiKey: string
  readonly userId: string
  readonly userToken: string
  readonly serviceToken: string
  /** A second organization in the same store, with its own key and a service token (users:read users:write). */
  readonly other: { readonly organizationId: string; readonly apiKey: string; readonly serviceToken: string }
  /** A key of the first organization that has been revoked. */
  readonly revokedApiKey: string
  /** Tokens signed by the runtime's dev signing key, as its identity provider would sign them. */
  readonly signUserToken: (userId: string, organizationId: string, options?: TokenOptions) => Promise<string>
  readonly signServiceToken: (organizationId: string, scope: string, options?: TokenOptions) => Promise<string>
  /** Everything the server has printed so far (its request log included). */
  readonly output: () => string
}

export interface RunningRuntime {
  readonly target: Target
  readonly stop: () => Promise<void>
  /** The SQLite file of a Bun or Deno server (local D1 lives inside wrangler's persistence dir). */
  readonly database?: string
}

const OTHER_ORGANIZATION = "org_conformance_other"
const STANDARD_SCOPE = "users:read users:write"

/** The second organization and the revoked key, as SQL for any migrated store (SQLite file or local D1). */
const extraTenantSql = async (state: DevState) => {
  const at = new Date().toISOString()
  const other = await issueApiKeySql(OTHER_ORGANIZATION, "conformance", "key_conformance_other", at)
  const revoked = await issueApiKeySql(state.organizationId, "conformance-revoked", "key_conformance_revoked", at)
  return {
    sql: [
      createOrganizationSql(OTHER_ORGANIZATION, "Conformance, second tenant", at),
      other.sql,
      revoked.sql,
      revokeApiKeySql("key_conformance_revoked", at)
    ].join("\n"),
    otherApiKey: other.apiKey,
    revokedApiKey: revoked.apiKey
  }
}

const targetOf = async (
  runtime: Runtime,
  baseUrl: string,
  state: DevState,
  extra: { readonly otherApiKey: string; readonly revokedApiKey: string },
  server: ServerProcess
): Promise<Target> => ({
  runtime,
  baseUrl,
  organizationId: state.organizationId,
  apiKey: state.apiKey,
  userId: state.userId,
  userToken: await signUserToken(state.signingKey, state.userId, state.organizationId, { expiresIn: "1h" }),
  serviceToken: await signServiceToken(state.signingKey, state.serviceId, state.organizationId, STANDARD_SCOPE),
  other: {
    organizationId: OTHER_ORGANIZATION,
    apiKey: extra.otherApiKey,
    serviceToken: await signServiceToken(state.signingKey, "svc_other", OTHER_ORGANIZATION, STANDARD_SCOPE)
  },
  revokedApiKey: extra.revokedApiKey,
  signUserToken: (userId, organizationId, options) => signUserToken(state.signingKey, userId, organizationId, options),
  signServiceToken: (organizationId, scope, options) =>
    signServiceToken(state.signingKey, `svc_${organizationId}`, organizationId, scope, options),
  output: () => server.output
})

/** Adds the extra tenant to a running SQLite server's file (WAL: the server keeps serving meanwhile). */
const addTenantToFile = async (file: string, state: DevState) => {
  const extra = await extraTenantSql(state)
  const db = new Database(file)
  try {
    db.pragma("busy_timeout = 5000")
    db.exec(extra.sql)
  } finally {
    db.close()
  }
  return extra
}

const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/

/** A SQLite-file runtime in local dev mode (PORT=0: it picks a free port and prints it in its banner). */
const startSqliteServer = async (
  runtime: "bun" | "deno",
  command: string,
  args: ReadonlyArray<string>,
  dataDir: string,
  database: string,
  withinMs: number
): Promise<RunningRuntime> => {
  const server = ServerProcess.start(runtime, command, args, localDevEnv({ USERS_API_DATA_DIR: dataDir, PORT: "0" }))
  const stop = async () => {
    await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    const started = Date.now()
    const baseUrl = await server.waitFor("listening banner", withinMs, () => LISTENING.exec(server.output)?.[1])
    await server.waitHealthy(baseUrl, Math.max(1_000, withinMs - (Date.now() - started)))
    const state = JSON.parse(readFileSync(join(dataDir, "dev-state.json"), "utf8")) as DevState
    const extra = await addTenantToFile(join(dataDir, database), state)
    return { target: await targetOf(runtime, baseUrl, state, extra, server), stop, database: join(dataDir, database) }
  } catch (error) {
    await stop()
    throw error
  }
}

export const startBun = (withinMs = 30_000): Promise<RunningRuntime> =>
  startSqliteServer(
    "bun",
    BIN.bun,
    ["src/bun.ts"],
    mkdtempSync(join(tmpdir(), "users-api-bun-")),
    "users.sqlite",
    withinMs
  )

/** deno.json's task may write only under data/, so its store lives there (and is removed afterwards). */
export const startDeno = (withinMs = 60_000): Promise<RunningRuntime> => {
  mkdirSync(join(ROOT, "data"), { recursive: true })
  return startSqliteServer(
    "deno",
    BIN.deno,
    ["task", "start"],
    mkdtempSync(join(ROOT, "data", "test-deno-")),
    "users-deno.sqlite",
    withinMs
  )
}

// dotenv format; the JWKS is JSON (double quotes only), so single quotes keep it verbatim.
const dotenv = (vars: Record<string, string>) =>
  Object.entries(vars).map(([name, value]) => `${name}='${value}'`).join("\n") + "\n"

/**
 * `wrangler dev` over local D1 persisted in a temp dir: migrations applied and the dev tenant seeded with wrangler's
 * own d1 commands, the dev JWKS and IDEMPOTENCY_HASH_KEY passed in an --env-file (which also keeps a developer's
 * .dev.vars out of it), and the stand-in for the cron that `npm run dev:worker` runs.
 */
export const startWorker = async (withinMs = 120_000): Promise<RunningRuntime> => {
  const dir = mkdtempSync(join(tmpdir(), "users-api-worker-"))
  const persist = join(dir, "state")
  const env = localDevEnv({ CI: "true" })
  let server: ServerProcess | undefined
  let stopCron = () => {}
  const stop = async () => {
    stopCron()
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const started = Date.now()
    const state = await loadOrCreateDevState(join(dir, "dev-state.json"))
    const extra = await extraTenantSql(state)
    writeFileSync(join(dir, "seed.sql"), `${await devSeedSql(state, new Date().toISOString())}\n${extra.sql}\n`)
    writeFileSync(join(dir, "worker.env"), dotenv(devWorkerEnv(state)), { mode: 0o600 })
    const local = ["--local", "--persist-to", persist]
    await run(BIN.wrangler, ["d1", "migrations", "apply", "DB", ...local], env, withinMs)
    await run(BIN.wrangler, ["d1", "execute", "DB", ...local, "--file", join(dir, "seed.sql")], env, withinMs)
    const [port, inspectorPort] = [await freePort(), await freePort()]
    server = ServerProcess.start("wrangler dev", BIN.wrangler, [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      persist,
      "--env-file",
      join(dir, "worker.env"),
      "--show-interactive-dev-session=false",
      "--test-scheduled"
    ], env)
    const baseUrl = `http://127.0.0.1:${port}`
    stopCron = startLocalCron(baseUrl)
    await server.waitHealthy(baseUrl, Math.max(1_000, withinMs - (Date.now() - started)))
    return { target: await targetOf("worker", baseUrl, state, extra, server), stop }
  } catch (error) {
    await stop()
    throw error
  }
}

export const RUNTIMES: Record<Runtime, (withinMs?: number) => Promise<RunningRuntime>> = {
  bun: startBun,
  deno: startDeno,
  worker: startWorker
}
