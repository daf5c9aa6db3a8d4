/**
 * The scale bench's Workers (scale.ts): K copies of one bundled Worker in one Miniflare, which is one workerd process
 * in which each copy is a Worker of its own, so a V8 isolate of its own (own globals, own module state: the
 * service's per-isolate lock and known chain heads). Every copy binds the same D1 database id, so they share the one
 * D1 database object, which serializes their statements as D1 does (no SQLite file shared between processes, no
 * SQLITE_BUSY). Each copy gets its own socket on 127.0.0.1 (Miniflare's `unsafeDirectSockets`): the load reaches it
 * with no router Worker and no Node proxy in between, where a router would add a hop and one more isolate that every
 * request goes through. Durable Object classes of the config live in one extra copy that takes no load (as an
 * object lives in an isolate apart from the one that called it); the K copies reach them by script name, so there
 * is one object per id for all of them.
 *
 * Bundling is wrangler's own (`wrangler deploy --dry-run --outdir`, offline), with the config's build settings
 * (keep_names, compatibility date); the compatibility date and flags, vars, D1 and Durable Object bindings are read
 * from the same wrangler config. Miniflare is wrangler's dependency (node_modules/miniflare, the version wrangler
 * pins); it runs here under Bun.
 */
import { Miniflare, type WorkerOptions } from "miniflare"
import { cpSync, createWriteStream, mkdirSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import type { Readable } from "node:stream"
import { runToEnd } from "./processes.js"
import type { IsolateReport } from "./scale-worker.js"
import { ROOT } from "./targets.js"

const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler")
// What scale-worker.ts answers with its IsolateReport.
const ISOLATE_PATH = "/__bench/isolate"

/** The part of a wrangler.toml this bench reads. */
interface WranglerConfig {
  readonly compatibility_date: string
  readonly compatibility_flags?: ReadonlyArray<string>
  readonly vars?: Record<string, string>
  readonly d1_databases?: ReadonlyArray<{ readonly binding: string; readonly database_id: string }>
  readonly durable_objects?: {
    readonly bindings?: ReadonlyArray<
      { readonly name: string; readonly class_name: string; readonly script_name?: string }
    >
  }
  readonly migrations?: ReadonlyArray<{ readonly new_sqlite_classes?: ReadonlyArray<string> }>
}

export const readWranglerConfig = (file: string): WranglerConfig =>
  Bun.TOML.parse(readFileSync(file, "utf8")) as unknown as WranglerConfig

// Only what wrangler needs: no account, no metrics, its debug log in the run's directory.
const wranglerEnv = (logDir: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  TMPDIR: process.env.TMPDIR,
  NO_COLOR: "1",
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_LOG_PATH: join(logDir, "wrangler-logs")
})

/** `entry` (default: the config's `main`) bundled as `wrangler deploy` would with `config`; returns the module. */
export const bundleWorker = async (config: string, entry: string | undefined, outdir: string): Promise<string> => {
  mkdirSync(outdir, { recursive: true })
  await runToEnd(
    `wrangler bundle ${entry ?? config}`,
    WRANGLER,
    ["deploy", "--dry-run", "--outdir", outdir, "-c", config, ...(entry === undefined ? [] : [entry])],
    { cwd: ROOT, env: wranglerEnv(outdir), log: join(outdir, "wrangler.log"), timeoutMs: 120_000 }
  )
  const modules = readdirSync(outdir).filter((file) => file.endsWith(".js"))
  if (modules.length !== 1) throw new Error(`expected one bundled module in ${outdir}, found ${modules.join(", ")}`)
  return join(outdir, modules[0]!)
}

const D1_OBJECTS = join("v3", "d1", "miniflare-D1DatabaseObject")

/** The SQLite files of local D1 under a persist directory (wrangler's `--persist-to` layout). */
export const d1Files = (persist: string): Array<string> => {
  const dir = join(persist, D1_OBJECTS)
  try {
    return readdirSync(dir).filter((file) => file.endsWith(".sqlite")).map((file) => join(dir, file))
  } catch {
    return []
  }
}

/** A persist directory with `config`'s D1 database migrated by wrangler (`d1 migrations apply --local`). */
export const migratedD1 = async (config: string, persist: string): Promise<string> => {
  mkdirSync(persist, { recursive: true })
  await runToEnd(
    "wrangler d1 migrations apply",
    WRANGLER,
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist, "-c", config],
    { cwd: ROOT, env: wranglerEnv(persist), log: join(persist, "wrangler.log"), timeoutMs: 120_000 }
  )
  const files = d1Files(persist)
  if (files.length !== 1) throw new Error(`expected one local D1 file under ${persist}, found ${files.length}`)
  return files[0]!
}

/** A copy of a migrated persist directory's databases under another; returns the copy's D1 file. */
export const copyD1 = (template: string, persist: string): string => {
  cpSync(join(template, "v3"), join(persist, "v3"), { recursive: true })
  const files = d1Files(persist)
  if (files.length !== 1) throw new Error(`expected one local D1 file under ${persist}, found ${files.length}`)
  return files[0]!
}

// workerd processes that are this process's children were started by Miniflare for us (wrangler's own are its
// children, in their own groups): each is killed by its pid should Miniflare not have stopped it.
const childWorkerds = (): Array<number> =>
  readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).flatMap((entry) => {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      return name === "workerd" && ppid === process.pid ? [Number(entry)] : []
    } catch {
      return []
    }
  })

const killWorkerds = () => {
  for (const pid of childWorkerds()) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // Already gone.
    }
  }
}
process.on("exit", killWorkerds)

export interface Cluster {
  /** One URL per copy, in copy order. */
  readonly urls: ReadonlyArray<string>
  /** Each copy's report: isolate id, requests, D1 batches (scale-worker.ts). */
  readonly probe: () => Promise<Array<IsolateReport>>
  /** Stops workerd (and with it every isolate); the D1 file is complete once this resolves. */
  readonly stop: () => Promise<void>
}

const clusters = new Set<Cluster>()

/** Stops every cluster still running (on error or signal). */
export const stopClusters = async () => {
  await Promise.all([...clusters].map((cluster) => cluster.stop()))
}

export interface ClusterOptions {
  readonly name: string
  /** The wrangler config whose settings and bindings the copies get. */
  readonly config: string
  readonly script: string
  readonly copies: number
  /** Where local D1 (and Durable Object storage) persist: wrangler's `--persist-to` layout. */
  readonly persist: string
  /** Added to (and over) the config's vars. */
  readonly vars: Record<string, string>
  /** workerd's output (the Workers' console) goes here. */
  readonly log: string
}

export const startCluster = async (options: ClusterOptions): Promise<Cluster> => {
  const config = readWranglerConfig(options.config)
  const sqliteClasses = new Set((config.migrations ?? []).flatMap((m) => m.new_sqlite_classes ?? []))
  const objects = config.durable_objects?.bindings ?? []
  for (const binding of objects) {
    if (binding.script_name !== undefined) throw new Error(`${binding.name}: script_name is not modelled here`)
  }
  const hostName = `${options.name}-objects`
  const designators = (scriptName: string | undefined) =>
    Object.fromEntries(objects.map((binding) => [binding.name, {
      className: binding.class_name,
      useSQLite: sqliteClasses.has(binding.class_name),
      ...(scriptName === undefined ? {} : { scriptName })
    }]))
  const base: WorkerOptions = {
    modules: true,
    scriptPath: options.script,
    // Module names are relative to this (by default the working directory, which the bundle is outside of).
    modulesRoot: dirname(options.script),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: [...(config.compatibility_flags ?? [])],
    bindings: { ...config.vars, ...options.vars },
    d1Databases: Object.fromEntries((config.d1_databases ?? []).map((d1) => [d1.binding, d1.database_id]))
  }
  const copies: Array<WorkerOptions> = Array.from({ length: options.copies }, (_, i) => ({
    ...base,
    name: `${options.name}-${i}`,
    durableObjects: designators(objects.length === 0 ? undefined : hostName),
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }]
  }))
  const host: Array<WorkerOptions> = objects.length === 0
    ? []
    : [{ ...base, name: hostName, durableObjects: designators(undefined) }]
  const log = createWriteStream(options.log, { flags: "a" })
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    cf: false,
    d1Persist: join(options.persist, "v3", "d1"),
    durableObjectsPersist: join(options.persist, "v3", "do"),
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      stdout.pipe(log, { end: false })
      stderr.pipe(log, { end: false })
    },
    workers: [...copies, ...host]
  })
  let stopped: Promise<void> | undefined
  const urls: Array<string> = []
  const cluster: Cluster = {
    urls,
    probe: () =>
      Promise.all(urls.map(async (url) => {
        const response = await fetch(`${url}${ISOLATE_PATH}`, { signal: AbortSignal.timeout(10_000) })
        if (response.status !== 200) throw new Error(`${url}${ISOLATE_PATH} answered ${response.status}`)
        return (await response.json()) as IsolateReport
      })),
    stop: () =>
      stopped ??= (async () => {
        clusters.delete(cluster)
        try {
          await Promise.race([mf.dispose(), Bun.sleep(15_000)])
        } finally {
          killWorkerds()
          log.end()
        }
      })()
  }
  clusters.add(cluster)
  try {
    await Promise.race([
      mf.ready,
      Bun.sleep(60_000).then(() => Promise.reject(new Error("Miniflare not ready after 60 s")))
    ])
    for (const copy of copies) urls.push(String(await mf.unsafeGetDirectURL(copy.name)).replace(/\/$/, ""))
  } catch (error) {
    await cluster.stop()
    throw error
  }
  return cluster
}
