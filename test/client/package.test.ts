/**
 * The package as a consumer gets it: `npm pack` (which builds dist/client), the tarball installed from the registry
 * into an empty project with only its peers, at the lowest and the newest end of their ranges, then consumer.mjs
 * run by plain Node, Bun and Deno against a real Bun server, and type-checked by tsc. Needs the npm registry.
 */
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
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"))

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

// effect and @effect/platform alone take about 51 MB; the package itself adds well under one.
const MAX_NODE_MODULES = 64 * MB
const MAX_PACKAGE = 1 * MB

/** The ends of the peer ranges; at the newest, npm picks @effect/platform itself, as a consumer's install does. */
const ENDS = {
  lowest: { install: ["effect@3.19.13", "@effect/platform@0.94.0"], effect: "3.19.13", platform: "0.94.0" },
  newest: { install: ["effect@3"], effect: undefined, platform: undefined }
} as const

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
  it("peers on effect and @effect/platform and depends on nothing else", () => {
    expect(manifest.dependencies).toBeUndefined()
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(["@effect/platform", "effect"])
    expect(manifest.exports["./client"]).toEqual({
      types: "./dist/client/client.d.ts",
      default: "./dist/client/client.js"
    })
  })

  it("ships the compiled client with its declarations, and no source", () => {
    expect(shipped).toEqual(expect.arrayContaining(["dist/client/client.js", "dist/client/client.d.ts"]))
    expect(shipped.filter((path) => /^(src|test|scripts)\//.test(path))).toEqual([])
  })
})

describe.each(Object.keys(ENDS) as Array<keyof typeof ENDS>)("installed with the %s peers", (end) => {
  const project = join(work, end)
  let numbers = 0

  beforeAll(async () => {
    rmSync(project, { recursive: true, force: true })
    mkdirSync(project, { recursive: true })
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
    copyFileSync(join(ROOT, "test/client/consumer.mjs"), join(project, "consumer.mjs"))
    await exec(
      "npm",
      ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", tarball, ...ENDS[end].install],
      { cwd: project, env: cleanEnv(), timeout: 150_000 }
    )
  }, 180_000)

  const version = (name: string): string =>
    JSON.parse(readFileSync(join(project, "node_modules", name, "package.json"), "utf8")).version

  it("installs the peers and nothing of the server", () => {
    const { effect, platform } = ENDS[end]
    if (effect !== undefined) expect(version("effect")).toBe(effect)
    if (platform !== undefined) expect(version("@effect/platform")).toBe(platform)
    expect(version("effect")).toMatch(/^3\./)
    const installed = readdirSync(join(project, "node_modules"))
    for (const server of ["bun", "deno", "better-sqlite3", "jose", "libphonenumber-js", "wrangler"]) {
      expect(installed).not.toContain(server)
    }
    expect(readdirSync(join(project, "node_modules/@effect")).sort()).toEqual(["platform"])
    expect(sizeOf(join(project, "node_modules/users-api"))).toBeLessThan(MAX_PACKAGE)
    expect(sizeOf(join(project, "node_modules"))).toBeLessThan(MAX_NODE_MODULES)
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
        problem: { status: 422, code: "invalid-phone-number" },
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
