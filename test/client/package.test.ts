/**
 * The package as a consumer gets it: `npm pack` (which builds dist/client), the tarball installed into an empty
 * project with only `effect` from the registry, at the lowest and the newest end of the peer range, then consumer.mjs
 * run by plain Node, Bun and Deno against a real Bun server, and type-checked by tsc. Needs the npm registry.
 */
import * as esbuild from "esbuild"
import { execFile } from "node:child_process"
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningRuntime, startBun } from "../conformance/runtimes.js"
import { BIN, ROOT } from "../support/processes.js"

const exec = promisify(execFile)
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
const manifest = manifestOf(ROOT)

/** The caller's environment without what an outer `npm run` sets for its own project. */
const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name))),
  NO_COLOR: "1",
  ...extra
})

/** Bytes of every file under `dir` (apparent size, the same on every file system). */
const sizeOf = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const path = join(dir, entry.name)
    return sum + (entry.isDirectory() ? sizeOf(path) : entry.isFile() ? statSync(path).size : 0)
  }, 0)

const MB = 1024 * 1024

// effect and its own dependencies take about 30 MB; the package, with @effect/platform's code bundled, under one.
const MAX_NODE_MODULES = 40 * MB
const MAX_PACKAGE = 1 * MB

/** The ends of the peer range: its floor, and the newest 3.x the registry has. */
const LOWEST = /^\^(3\.\d+\.\d+)$/.exec(manifest.peerDependencies.effect)![1]!
const ENDS = {
  lowest: { install: `effect@${LOWEST}`, effect: LOWEST },
  newest: { install: "effect@3", effect: undefined }
} as const

/** The packages `name` brings (itself, its dependencies, theirs), as installed under `modules`. */
const closureOf = (modules: string, name: string, seen = new Set<string>()): Set<string> => {
  if (seen.has(name)) return seen
  seen.add(name)
  for (const dependency of Object.keys(manifestOf(join(modules, name)).dependencies ?? {})) {
    closureOf(modules, dependency, seen)
  }
  return seen
}

/** Where `name` is installed under `modules`, nested copies included. */
const copiesOf = (modules: string, name: string): Array<string> =>
  readdirSync(modules, { recursive: true, encoding: "utf8" }).filter((path) =>
    path === `${name}/package.json` || path.endsWith(`/node_modules/${name}/package.json`)
  )

const work = mkdtempSync(join(tmpdir(), "users-api-package-"))
let tarball: string
let shipped: Array<string>
let server: RunningRuntime

beforeAll(async () => {
  const { stdout } = await exec("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: ROOT,
    env: cleanEnv(),
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024
  })
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf("["))) as Array<
    { filename: string; files: Array<{ path: string }> }
  >
  tarball = join(work, packed!.filename)
  shipped = packed!.files.map((file) => file.path)
  server = await startBun()
}, 180_000)

afterAll(async () => {
  await server?.stop()
  rmSync(work, { recursive: true, force: true })
})

describe("package.json", () => {
  it("peers on effect alone, from the floor of the @effect/platform it bundles, and depends on nothing", () => {
    expect(manifest.dependencies).toBeUndefined()
    expect(manifest.peerDependenciesMeta).toBeUndefined()
    expect(manifest.peerDependencies).toEqual({
      effect: manifestOf(join(ROOT, "node_modules/@effect/platform")).peerDependencies.effect
    })
    expect(manifest.exports["./client"]).toEqual({
      types: "./dist/client/client.d.ts",
      default: "./dist/client/client.js"
    })
  })

  it("ships the compiled client with its declarations, and no source", () => {
    expect(shipped).toEqual(
      expect.arrayContaining([
        "dist/client/client.js",
        "dist/client/client.d.ts",
        "dist/client/vendor/@effect/platform/dist/dts/HttpClient.d.ts",
        "dist/client/vendor/@effect/platform/LICENSE"
      ])
    )
    expect(shipped.filter((path) => /^(src|test|scripts)\//.test(path))).toEqual([])
  })
})

describe.each(Object.keys(ENDS) as Array<keyof typeof ENDS>)("installed with the %s effect", (end) => {
  const project = join(work, end)
  let numbers = 0

  beforeAll(async () => {
    rmSync(project, { recursive: true, force: true })
    mkdirSync(project, { recursive: true })
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
    copyFileSync(join(ROOT, "test/client/consumer.mjs"), join(project, "consumer.mjs"))
    await exec(
      "npm",
      ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", tarball, ENDS[end].install],
      { cwd: project, env: cleanEnv(), timeout: 150_000 }
    )
  }, 180_000)

  const version = (name: string): string =>
    JSON.parse(readFileSync(join(project, "node_modules", name, "package.json"), "utf8")).version

  it("installs effect and what effect brings, nothing else, under 40 MB", () => {
    const { effect } = ENDS[end]
    if (effect !== undefined) expect(version("effect")).toBe(effect)
    expect(version("effect")).toMatch(/^3\./)
    const modules = join(project, "node_modules")
    const installed = readdirSync(modules).filter((name) => !name.startsWith("."))
      .flatMap((name) =>
        name.startsWith("@") ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`) : [name]
      )
    expect(installed.sort()).toEqual([...closureOf(modules, "effect"), "users-api"].sort())
    expect(installed.filter((name) => name.startsWith("@effect/"))).toEqual([])
    expect(sizeOf(join(modules, "users-api"))).toBeLessThan(MAX_PACKAGE)
    expect(sizeOf(modules)).toBeLessThan(MAX_NODE_MODULES)
  })

  it("runs on the consumer's effect, the only one: the bundle imports effect and nothing else", async () => {
    expect(copiesOf(join(project, "node_modules"), "effect")).toEqual(["effect/package.json"])
    const file = join(project, "node_modules/users-api/dist/client/client.js")
    const bundle = readFileSync(file, "utf8")
    // esbuild reads the bundle's imports, however it is laid out.
    const { metafile } = await esbuild.build({
      entryPoints: [file],
      bundle: true,
      write: false,
      metafile: true,
      format: "esm",
      platform: "neutral",
      external: ["*"],
      logLevel: "silent"
    })
    const imported = new Set(Object.values(metafile.outputs)[0]!.imports.map((entry) => entry.path))
    expect([...imported].filter((path) => path !== "effect" && !path.startsWith("effect/"))).toEqual([])
    expect(imported).toContain("effect/Schema")
    expect(bundle).not.toMatch(/\brequire\(|\bimport\(/)
  })

  const runtimes = {
    node: [process.execPath, ["consumer.mjs"]],
    bun: [BIN.bun, ["consumer.mjs"]],
    deno: [BIN.deno, ["run", "--allow-net=127.0.0.1", "--allow-env", "--allow-read", "consumer.mjs"]]
  } as const

  it.each(Object.keys(runtimes) as Array<keyof typeof runtimes>)(
    "sets a number, reads a 422's problem and verifies a webhook under %s",
    async (runtime) => {
      const [command, args] = runtimes[runtime]
      const last4 = String(9000 + 10 * Object.keys(ENDS).indexOf(end) + numbers++)
      const { stdout } = await exec(command, args, {
        cwd: project,
        timeout: 60_000,
        env: cleanEnv({
          CONSUMER_URL: server.target.baseUrl,
          CONSUMER_KEY: server.target.apiKey,
          CONSUMER_TOKEN: server.target.serviceToken,
          CONSUMER_NUMBER: `+1415555${last4}`
        })
      })
      expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual({
        version: 2,
        masked: { maskedPhoneNumber: `****${last4}`, previousMaskedPhoneNumber: null, phoneNumberVerified: false },
        problem: { status: 422, code: "invalid-phone-number", requestId: "consumer-request-1", isProblem: true },
        schemas: { answer: true, body: "Left" },
        verified: "msg_p5jXN8AQM9LWM0D4loKWxJek"
      })
    },
    90_000
  )

  it(
    "runs docs/EXAMPLES.md's example twice in a row (under Bun, which runs it as written)",
    async () => {
      const page = readFileSync(join(ROOT, "docs/EXAMPLES.md"), "utf8")
      const section = page.slice(page.indexOf("## Calling it from TypeScript"))
      const example = /```ts\n([\s\S]*?)\n```/.exec(section)![1]!
        .replace("http://127.0.0.1:8787", server.target.baseUrl)
        .replace("uak_…", server.target.apiKey)
        .replace("eyJ…", server.target.serviceToken)
      writeFileSync(join(project, "docs-example.ts"), example)
      for (let run = 0; run < 2; run++) {
        const { stderr, stdout } = await exec(BIN.bun, ["docs-example.ts"], { cwd: project, timeout: 30_000 })
        expect(stderr).toBe("")
        expect(stdout).toContain("version: 2")
        expect(stdout).toContain("2 UserPhoneNumberUpdated")
      }
    },
    90_000
  )

  it("type-checks the consumer against the package's declarations", async () => {
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2023", "DOM"],
          types: [],
          strict: true,
          allowJs: true,
          checkJs: true,
          noEmit: true
        },
        files: ["consumer.mjs"]
      })
    )
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc")
    // Without skipLibCheck, so the shipped .d.ts files are checked too (effect's own are the slow part).
    const checked = await exec(process.execPath, [tsc, "-p", "."], { cwd: project, timeout: 120_000 }).then(
      () => "",
      (error: { stdout?: string }) => error.stdout ?? String(error)
    )
    expect(checked).toBe("")
  }, 150_000)
})
