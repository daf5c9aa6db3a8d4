/**
 * The Worker as `wrangler deploy --dry-run` bundles it stays small (every new isolate parses all of it), and neither
 * it nor `npm run build`'s Bun bundle holds a test library, devDependency or file of test/ (source map, metafile).
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative, resolve } from "node:path"
import { promisify } from "node:util"
import { gzipSync } from "node:zlib"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, localDevEnv, ROOT } from "../support/processes.js"

const MAX_WORKER_BYTES = 1_200_000
const MAX_WORKER_GZIP_BYTES = 400_000

const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"))
// What the server runs on (every package is a devDependency, so the client package installs none of them), and wrangler's
// own shims; then test libraries that arrive as a dependency of something else (fast-check through effect's Arbitrary).
const SERVER_RUNTIME = new Set(["effect", "jose", "libphonenumber-js", "better-sqlite3", "wrangler"])
const FORBIDDEN = new Set<string>([
  ...Object.keys(manifest.devDependencies).filter((name) =>
    !SERVER_RUNTIME.has(name) && !(name.startsWith("@effect/") && !/vitest|eslint/.test(name))
  ),
  "fast-check",
  "pure-rand",
  "vitest",
  "@vitest/expect",
  "@vitest/runner",
  "@vitest/spy",
  "chai",
  "playwright-core"
])

/** The packages a bundled file belongs to (nested ones too), and whether it is a file of this project's test/. */
const offending = (file: string): string | undefined => {
  const packages = [...file.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map(([, name]) => name!)
  const forbidden = packages.find((name) => FORBIDDEN.has(name))
  if (forbidden !== undefined) return `${forbidden}: ${file}`
  return packages.length === 0 && relative(ROOT, file).startsWith("test/") ? file : undefined
}

const scratch = mkdtempSync(join(tmpdir(), "users-api-bundle-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const run = (command: string, args: ReadonlyArray<string>) =>
  promisify(execFile)(command, args, {
    cwd: ROOT,
    env: localDevEnv({ WRANGLER_HIDE_BANNER: "true", WRANGLER_LOG_PATH: join(scratch, "logs") }),
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024
  })

describe("the Worker's bundle (wrangler deploy --dry-run)", () => {
  const outdir = join(scratch, "worker")
  const built = run(BIN.wrangler, ["deploy", "--dry-run", "--outdir", outdir]).then(() => ({
    script: readFileSync(join(outdir, "worker.js")),
    map: JSON.parse(readFileSync(join(outdir, "worker.js.map"), "utf8")) as { sources: Array<string> }
  }))

  it(`is at most ${MAX_WORKER_BYTES / 1e6} MB, ${MAX_WORKER_GZIP_BYTES / 1e3} KB gzip`, async () => {
    const { script } = await built
    expect(script.length).toBeLessThanOrEqual(MAX_WORKER_BYTES)
    expect(gzipSync(script).length).toBeLessThanOrEqual(MAX_WORKER_GZIP_BYTES)
  }, 120_000)

  it("holds no test library, devDependency or test file, nor Scalar's script", async () => {
    const { map, script } = await built
    const files = map.sources.map((source) => resolve(outdir, source))
    expect(files.length).toBeGreaterThan(100)
    expect(files.flatMap((file) => offending(file) ?? [])).toEqual([])
    expect(script.includes("@scalar/api-reference")).toBe(false)
  }, 120_000)
})

describe("the Bun bundle (npm run build)", () => {
  it("holds no test library, devDependency or test file", async () => {
    // package.json's own command, writing into the scratch directory, with a metafile of what went in.
    const words = (manifest.scripts.build as string).trim().split(/\s+/)
    expect(words.slice(0, 2)).toEqual(["bun", "build"])
    const outdir = words.indexOf("--outdir")
    expect(outdir).toBeGreaterThan(0)
    const args = words.slice(1).map((word, i) => (i === outdir ? join(scratch, "bun") : word))
    await run(BIN.bun, [...args, `--metafile=${join(scratch, "bun-meta.json")}`])
    const meta = JSON.parse(readFileSync(join(scratch, "bun-meta.json"), "utf8")) as {
      outputs: Record<string, { inputs: Record<string, unknown> }>
    }
    const files = Object.values(meta.outputs).flatMap((output) => Object.keys(output.inputs))
      .map((input) => resolve(ROOT, input))
    expect(files.length).toBeGreaterThan(100)
    expect(files.flatMap((file) => offending(file) ?? [])).toEqual([])
  }, 120_000)
})
