/**
 * What a benchmark loads: the service on Bun, Deno or Workers (wrangler dev, local D1) over a freshly seeded
 * store, and each runtime's baselines: hello-world JSON on Bun and Deno, the bare D1 Worker on Workers, and the
 * endpoint written by hand without Effect on each, over a store of its own.
 * Everything binds 127.0.0.1 on a free port and lives in a temporary directory of its own.
 */
import { spawnSync } from "node:child_process"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, start, type Started, waitUntilReady } from "./processes.js"
import { checkSqliteFile, seedSqliteFile, type StoreCheck } from "./seed.js"
import { type BenchUser, type Credentials, ORGANIZATION_ID } from "./workload.js"

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

const packageScript = (name: string): string =>
  JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts[name]

// The hello-world baselines, bound like the service (127.0.0.1, PORT): a JSON answer and nothing else.
const HELLO = `Response.json({ hello: "world" })`

export const bunHello = (ctx: RunContext): Promise<Target> =>
  launch(
    "bun hello",
    ctx,
    join(BIN, "bun"),
    () => [
      "-e",
      `Bun.serve({ hostname: "127.0.0.1", port: Number(process.env.PORT), fetch: () => ${HELLO} })`
    ],
    {},
    "/"
  )

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
    () => [
      "eval",
      `Deno.serve({ hostname: "127.0.0.1", port: Number(Deno.env.get("PORT")), onListen() {} }, () => ${HELLO})`
    ],
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

/**
 * A wrangler config for a bench Worker, written into `dir`: `entry` (in scripts/bench) with wrangler.toml's
 * compatibility settings and D1 binding, so the baselines run on the same workerd settings as the service.
 */
export const benchWorkerConfig = (dir: string, entry: string): string => {
  const root = Bun.TOML.parse(readFileSync(join(ROOT, "wrangler.toml"), "utf8")) as {
    compatibility_date: string
    compatibility_flags?: ReadonlyArray<string>
    d1_databases: ReadonlyArray<{ binding: string; database_name: string; database_id: string }>
  }
  const d1 = root.d1_databases[0]!
  const file = join(dir, `wrangler.${entry.replace(/\.ts$/, "")}.toml`)
  const s = JSON.stringify
  writeFileSync(
    file,
    [
      `name = ${s(`users-api-bench-${entry.replace(/\.ts$/, "")}`)}`,
      `main = ${s(join(ROOT, "scripts", "bench", entry))}`,
      `compatibility_date = ${s(root.compatibility_date)}`,
      `compatibility_flags = ${s(root.compatibility_flags ?? [])}`,
      "keep_names = false",
      "[[d1_databases]]",
      `binding = ${s(d1.binding)}`,
      `database_name = ${s(d1.database_name)}`,
      `database_id = ${s(d1.database_id)}`,
      `migrations_dir = ${s(join(ROOT, "migrations"))}`
    ].join("\n") + "\n"
  )
  return file
}

/** The bench's Workers baseline: the service's D1 write and nothing else (bare-worker.ts). */
export const bareWorker = (ctx: RunContext): Promise<Target> =>
  onLocalD1("bare worker", ctx, benchWorkerConfig(ctx.dir, "bare-worker.ts"), "/", { ORGANIZATION_ID })

/** The same endpoint written by hand over D1, without Effect (handwritten-worker.ts). */
export const handwrittenWorker = (ctx: RunContext): Promise<Target> =>
  onLocalD1("handwritten worker", ctx, benchWorkerConfig(ctx.dir, "handwritten-worker.ts"), "/healthz")
