/**
 * What a benchmark loads: the service on Bun, Deno or Workers (wrangler dev, local D1) over a freshly seeded
 * store, and each runtime's baseline (hello-world JSON on Bun and Deno, the bare D1 Worker on Workers; on Bun also
 * the endpoint written by hand without Effect, over a store of its own).
 * Everything binds 127.0.0.1 on a free port and lives in a temporary directory of its own.
 */
import { spawnSync } from "node:child_process"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, start, type Started, waitUntilReady } from "./processes.js"
import { checkSqliteFile, seedSqliteFile, type StoreCheck } from "./seed.js"
import type { BenchUser, Credentials } from "./workload.js"

export const ROOT = join(import.meta.dir, "..", "..")
const BIN = join(ROOT, "node_modules", ".bin")

export interface RunContext {
  /** A fresh directory for this target's database and logs. */
  readonly dir: string
  readonly credentials: Credentials
  readonly users: ReadonlyArray<BenchUser>
}

export interface Target {
  readonly url: string
  readonly process: Started
  /** After the process stopped: events in the store and whether the audit chain verifies (endpoints only). */
  readonly check?: () => Promise<StoreCheck>
}

// Only what the processes need; nothing of the calling shell's JWT settings leaks in.
const baseEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  TMPDIR: process.env.TMPDIR,
  NO_COLOR: "1",
  WRANGLER_SEND_METRICS: "false"
})

const launch = async (
  name: string,
  ctx: RunContext,
  command: string,
  args: (port: number) => ReadonlyArray<string>,
  env: NodeJS.ProcessEnv,
  readyPath: string
) => {
  const port = await freePort()
  const started = start(name, command, args(port), {
    cwd: ROOT,
    env: { ...baseEnv(), ...env, PORT: String(port), HOST: "127.0.0.1" },
    log: join(ctx.dir, `${name.replace(/\W+/g, "-")}.log`)
  })
  const url = `http://127.0.0.1:${port}`
  try {
    await waitUntilReady(started, `${url}${readyPath}`)
  } catch (error) {
    await started.stop()
    throw error
  }
  return { url, process: started }
}

/**
 * A server (`command`, its arguments computed at launch) over a freshly seeded SQLite file of its own, `file` in this
 * run's directory (its USERS_API_DATA_DIR), with the service's environment and `env`.
 */
const onSqlite = async (
  name: string,
  ctx: RunContext,
  file: string,
  command: string,
  args: () => ReadonlyArray<string>,
  env: NodeJS.ProcessEnv = {}
): Promise<Target> => {
  const database = join(ctx.dir, file)
  await seedSqliteFile(database, { apiKeyHash: ctx.credentials.apiKeyHash, users: ctx.users })
  const target = await launch(
    name,
    ctx,
    command,
    args,
    { ...ctx.credentials.serverEnv, USERS_API_DATA_DIR: ctx.dir, ...env },
    "/healthz"
  )
  return { ...target, check: () => checkSqliteFile(database) }
}

/** A Bun server over data/users.sqlite; node_modules/.bin first in PATH, as under npm (package.json calls `bun`). */
const bunOnSqlite = (name: string, ctx: RunContext, command: string, args: ReadonlyArray<string>) =>
  onSqlite(name, ctx, "users.sqlite", command, () => args, { PATH: `${BIN}:${process.env.PATH}` })

/**
 * What production runs on Bun: package.json's `start:production` (the bundle of `npm run build`, with its memory
 * setting), through the shell as npm would run it; the script `exec`s Bun, so the shell is not in the measured tree.
 */
export const bunEndpoint = (ctx: RunContext): Promise<Target> =>
  bunOnSqlite("bun endpoint", ctx, "sh", ["-c", packageScript("start:production")])

/** The same endpoint written by hand on Bun.serve and bun:sqlite, without Effect (handwritten.ts). */
export const bunHandwritten = (ctx: RunContext): Promise<Target> =>
  bunOnSqlite("bun handwritten", ctx, join(BIN, "bun"), ["scripts/bench/handwritten.ts"])

/**
 * The same hand-written endpoint as the work of one HttpApi route (handwritten-httpapi.ts): the hand-written endpoint
 * plus what every endpoint through HttpApi pays.
 */
export const bunHandwrittenHttpApi = (ctx: RunContext): Promise<Target> =>
  bunOnSqlite("bun handwritten httpapi", ctx, join(BIN, "bun"), ["scripts/bench/handwritten-httpapi.ts"])

/** The design's floor on Bun: the hand-written endpoint with the service's credential cache behind one HttpApi route. */
export const bunHandwrittenCachedHttpApi = (ctx: RunContext): Promise<Target> =>
  bunOnSqlite("bun handwritten cached httpapi", ctx, join(BIN, "bun"), ["scripts/bench/handwritten-cached-httpapi.ts"])

const packageScript = (name: string): string =>
  JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts[name]

/** The floor of any endpoint through HttpApi on Bun: the route, the body read, a fixed answer (bare-httpapi-bun.ts). */
export const bunBareHttpApi = (ctx: RunContext): Promise<Target> =>
  launch("bun bare httpapi", ctx, join(BIN, "bun"), () => ["scripts/bench/bare-httpapi-bun.ts"], {}, "/healthz")

export const bunHello = (ctx: RunContext): Promise<Target> =>
  launch("bun hello", ctx, join(BIN, "bun"), () => ["scripts/bench/hello-bun.ts"], {}, "/")

const denoTask = (name: string): string => {
  const task = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).tasks[name]
  return typeof task === "string" ? task : task.command
}

/**
 * What production runs on Deno: deno.json's `start:production` (the bundle its `build` task makes, with the V8 heap
 * setting), with this run's directory in place of data/ (so its permissions stay the task's). Built first, then run
 * directly, so the task runner is not in the measured tree.
 */
const denoProductionArgs = (dir: string): Array<string> => {
  const built = spawnSync("sh", ["-c", denoTask("build")], { cwd: ROOT, stdio: "inherit" })
  if (built.status !== 0) throw new Error(`deno task build failed (${built.status})`)
  return denoTask("start:production").split(/\s+/).slice(1).map((arg) =>
    arg.startsWith("--allow-read=")
      ? `--allow-read=${join(ROOT, "migrations")},${dir}`
      : arg.startsWith("--allow-write=")
      ? `--allow-write=${dir}`
      : arg
  )
}

export const denoEndpoint = (ctx: RunContext): Promise<Target> =>
  onSqlite("deno endpoint", ctx, "users-deno.sqlite", join(BIN, "deno"), () => denoProductionArgs(ctx.dir))

/**
 * The same hand-written endpoint on Deno.serve and node:sqlite (handwritten.ts under Deno), from source with Deno's
 * defaults: what this endpoint costs on Deno without Effect, the runtime's own floor for it.
 */
export const denoHandwritten = (ctx: RunContext): Promise<Target> =>
  denoFromSource("deno handwritten", ctx, "scripts/bench/handwritten.ts")

/** The design's floor on Deno: handwritten-cached-httpapi.ts under Deno, from source with Deno's defaults. */
export const denoHandwrittenCachedHttpApi = (ctx: RunContext): Promise<Target> =>
  denoFromSource("deno handwritten cached httpapi", ctx, "scripts/bench/handwritten-cached-httpapi.ts")

const denoFromSource = (name: string, ctx: RunContext, script: string) =>
  onSqlite(name, ctx, "users.sqlite", join(BIN, "deno"), () => [
    "run",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    `--allow-read=${ROOT},${ctx.dir}`,
    `--allow-write=${ctx.dir}`,
    "--allow-env",
    script
  ])

export const denoHello = (ctx: RunContext): Promise<Target> =>
  launch(
    "deno hello",
    ctx,
    join(BIN, "deno"),
    () => ["run", "--no-prompt", "--allow-net=127.0.0.1", "--allow-env=PORT", "scripts/bench/hello-deno.ts"],
    {},
    "/"
  )

// Wrangler appends every line it logs to a debug file; keep those files in the run's directory.
const wranglerEnv = (ctx: RunContext): NodeJS.ProcessEnv => ({
  ...baseEnv(),
  WRANGLER_LOG_PATH: join(ctx.dir, "wrangler-logs")
})

const wrangler = (ctx: RunContext, args: ReadonlyArray<string>) => {
  const result = spawnSync(join(BIN, "wrangler"), args, { cwd: ROOT, env: wranglerEnv(ctx), encoding: "utf8" })
  if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`)
}

const findSqlite = (dir: string): string => {
  const found = readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".sqlite") && !file.includes("metadata"))
  if (found.length !== 1) {
    throw new Error(`expected one local D1 file under ${dir}, found ${found.join(", ") || "none"}`)
  }
  return join(dir, found[0]!)
}

/** Local D1 for `config`: wrangler applies the migrations (creating the file), then the seed goes in directly. */
const seedLocalD1 = async (ctx: RunContext, config: string, persist: string) => {
  wrangler(ctx, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist, "-c", config])
  const database = findSqlite(join(persist, "v3", "d1"))
  await seedSqliteFile(database, { apiKeyHash: ctx.credentials.apiKeyHash, users: ctx.users })
  return database
}

const wranglerDev = async (
  name: string,
  ctx: RunContext,
  config: string,
  persist: string,
  readyPath: string,
  vars: Record<string, string> = {}
) => {
  // An env file of our own: wrangler then ignores any .dev.vars a developer left next to the config.
  const envFile = join(ctx.dir, "bench.env")
  writeFileSync(
    envFile,
    Object.entries({ ...ctx.credentials.serverEnv, ...vars }).map(([k, v]) => `${k}='${v}'`).join("\n") + "\n",
    { mode: 0o600 }
  )
  const inspector = await freePort()
  const args = (port: number) => [
    "dev",
    "-c",
    config,
    "--local",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspector),
    "--persist-to",
    persist,
    "--env-file",
    envFile,
    "--show-interactive-dev-session=false",
    // Wrangler's own line per request costs its Node process more than a request to workerd does; the Worker's
    // console output (the service's one JSON line per request) is still forwarded and printed.
    "--log-level",
    "warn"
  ]
  return launch(
    name,
    ctx,
    join(BIN, "wrangler"),
    args,
    { WRANGLER_LOG_PATH: join(ctx.dir, "wrangler-logs") },
    readyPath
  )
}

/** A Worker under wrangler dev (`config`) over a freshly seeded local D1 of its own, with the service's vars and `vars`. */
const onLocalD1 = async (
  name: string,
  ctx: RunContext,
  config: string,
  readyPath: string,
  vars: Record<string, string> = {}
): Promise<Target> => {
  const persist = join(ctx.dir, "d1")
  const database = await seedLocalD1(ctx, config, persist)
  const target = await wranglerDev(name, ctx, config, persist, readyPath, vars)
  return { ...target, check: () => checkSqliteFile(database) }
}

export const workerEndpoint = (ctx: RunContext): Promise<Target> =>
  onLocalD1("worker endpoint", ctx, join(ROOT, "wrangler.toml"), "/healthz")

const bench = (file: string) => join(ROOT, "scripts", "bench", file)

/** The bench's Workers baseline: the service's D1 write and nothing else (bare-worker.ts). */
export const bareWorker = (ctx: RunContext): Promise<Target> =>
  onLocalD1("bare worker", ctx, bench("wrangler.bare.toml"), "/")

/** The same, writing the service's one log line per request (bare-worker.ts with LOG_LINE=1). */
export const bareWorkerWithLogLine = (ctx: RunContext): Promise<Target> =>
  onLocalD1("bare worker with log line", ctx, bench("wrangler.bare.toml"), "/", { LOG_LINE: "1" })

/** The same endpoint written by hand over D1, without Effect (handwritten-worker.ts). */
export const handwrittenWorker = (ctx: RunContext): Promise<Target> =>
  onLocalD1("handwritten worker", ctx, bench("wrangler.handwritten.toml"), "/healthz")

/**
 * The design's floor for this endpoint on Workers: the hand-written endpoint, with the service's credential cache,
 * behind one HttpApi route (handwritten-cached-httpapi-worker.ts).
 */
export const handwrittenCachedHttpApiWorker = (ctx: RunContext): Promise<Target> =>
  onLocalD1("handwritten cached httpapi worker", ctx, bench("wrangler.handwritten-cached-httpapi.toml"), "/healthz")

/** The bare Worker's write behind one HttpApi route, nothing else: the floor of HttpApi on workerd. */
export const bareHttpApiWorker = (ctx: RunContext): Promise<Target> =>
  onLocalD1("bare httpapi worker", ctx, bench("wrangler.bare-httpapi.toml"), "/")

/**
 * The service's whole HTTP side with the bare Worker's write as its UpdatePhoneNumber (contract-worker.ts): the
 * service without its program.
 */
export const contractWorker = (ctx: RunContext): Promise<Target> =>
  onLocalD1("contract worker", ctx, bench("wrangler.contract.toml"), "/healthz")
