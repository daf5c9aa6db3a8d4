/**
 * Issue 9, finding 5: a misconfigured production start must not fall back to local dev mode. With a production
 * setting (JWT_ISSUER, JWT_AUDIENCE) or a HOST other than the loopback, and no key set (JWKS_URL or JWKS), the
 * entries refuse to start (exit 1, saying what is missing and why) and print no API key or token; unknown JWT* and
 * JWKS* variables are reported, with a "did you mean"; secrets are printed only on the loopback. The real Bun entry
 * (and Deno's `deno task start`) as child processes, each bounded in time; plus the pure rules of src/start-mode.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { type Env, readEnv } from "../../src/config.js"
import { generateSigningKey } from "../../src/dev/signing.js"
import type { DevState } from "../../src/dev/state.js"
import { isLoopbackHost, startMode, unknownVariables } from "../../src/start-mode.js"
import { banner } from "../../src/startup.js"
import { BIN, type ExitStatus, localDevEnv, ROOT, ServerProcess, sleep } from "../support/processes.js"

/** What the audit ran: a production configuration whose key-set variable is misspelt, on every interface. */
const AUDIT_ENV = {
  JWKS_URI: "https://idp.example.com/.well-known/jwks.json",
  JWT_ISSUER: "https://idp.example.com/",
  JWT_AUDIENCE: "users-api",
  HOST: "0.0.0.0"
}

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const dataDir = (under = tmpdir()) => {
  mkdirSync(under, { recursive: true })
  const dir = mkdtempSync(join(under, "users-api-start-"))
  dirs.push(dir)
  return dir
}

type Entry = "bun" | "deno"

const start = (entry: Entry, env: Record<string, string>, dir: string) =>
  entry === "bun"
    ? ServerProcess.start(
      "bun src/bun.ts",
      BIN.bun,
      ["src/bun.ts"],
      localDevEnv({ ...env, USERS_API_DATA_DIR: dir, PORT: "0" })
    )
    : ServerProcess.start(
      "deno task start",
      BIN.deno,
      ["task", "start"],
      localDevEnv({ ...env, USERS_API_DATA_DIR: dir, PORT: "0" })
    )

/** Starts the entry and waits for it to exit by itself; one still running after `withinMs` is stopped and fails. */
const startAndExpectExit = async (entry: Entry, env: Record<string, string>, dir: string, withinMs = 20_000) => {
  const server = start(entry, env, dir)
  const outcome = await Promise.race([server.exit, sleep(withinMs).then(() => "still running" as const)])
  await server.stop()
  return { outcome, output: server.output }
}

const expectNoSecrets = (output: string) => {
  expect(output).not.toMatch(/uak_/)
  expect(output).not.toMatch(/eyJ/)
}

const DATA_UNDER: Record<Entry, string> = { bun: tmpdir(), deno: join(ROOT, "data") }

for (const entry of ["bun", "deno"] as const) {
  describe(`${entry === "bun" ? "bun src/bun.ts" : "deno task start"} refuses a production start without a key set`, () => {
    it(
      "the audit's environment (JWKS_URI, JWT_ISSUER, JWT_AUDIENCE, HOST=0.0.0.0): exit 1, no key, no token",
      async () => {
        const dir = dataDir(DATA_UNDER[entry])
        const { outcome, output } = await startAndExpectExit(entry, AUDIT_ENV, dir)
        expect(outcome, output).toEqual<ExitStatus>({ code: 1, signal: null })
        expect(output).toMatch(/JWKS_URL/)
        expect(output).toMatch(/JWT_ISSUER/)
        expect(output).toMatch(/JWKS_URI.*did you mean JWKS_URL\?/)
        expect(output).not.toMatch(/\(local dev mode,|listening on/)
        expectNoSecrets(output)
        // Nothing was written for it: no dev signing key, no demo key, no database.
        expect(readdirSync(dir)).toEqual([])
      },
      30_000
    )

    it("only a non-loopback HOST and no key set: exit 1, naming HOST and the loopback", async () => {
      const { outcome, output } = await startAndExpectExit(entry, { HOST: "0.0.0.0" }, dataDir(DATA_UNDER[entry]))
      expect(outcome, output).toEqual<ExitStatus>({ code: 1, signal: null })
      expect(output).toMatch(/HOST/)
      expect(output).toMatch(/loopback/)
      expectNoSecrets(output)
    }, 30_000)

    it("JWKS_URI only, on the loopback: local dev mode as before, and the unknown variable reported", async () => {
      const server = start(entry, { JWKS_URI: AUDIT_ENV.JWKS_URI }, dataDir(DATA_UNDER[entry]))
      try {
        await server.waitFor(
          "the dev-mode banner",
          30_000,
          () => server.stdout.includes("dev:credentials") || undefined
        )
        expect(server.stdout).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ {2}\(local dev mode/)
        expect(server.output).toMatch(/JWKS_URI.*did you mean JWKS_URL\?/)
      } finally {
        await server.stop()
      }
    }, 40_000)
  })
}

describe("bun src/bun.ts, other refusals", () => {
  it("JWT_ISSUER alone on the loopback: exit 1, naming JWKS_URL", async () => {
    const { outcome, output } = await startAndExpectExit("bun", { JWT_ISSUER: AUDIT_ENV.JWT_ISSUER }, dataDir())
    expect(outcome, output).toEqual<ExitStatus>({ code: 1, signal: null })
    expect(output).toMatch(/JWT_ISSUER is set/)
    expect(output).toMatch(/JWKS_URL/)
    expectNoSecrets(output)
  }, 30_000)
})

describe("the rules (src/start-mode.ts)", () => {
  it("loopback hosts: 127.0.0.1, ::1, localhost, or HOST unset", () => {
    for (const host of [undefined, "", "127.0.0.1", "::1", "localhost", "LOCALHOST"]) {
      expect(isLoopbackHost(host)).toBe(true)
    }
    for (const host of ["0.0.0.0", "::", "192.168.1.10", "example.com", "127.0.0.1 ", "[::1]", "localhost.evil"]) {
      expect(isLoopbackHost(host), host).toBe(false)
    }
  })

  const cases: ReadonlyArray<readonly [string, Env, "dev" | "production" | RegExp]> = [
    ["nothing set", {}, "dev"],
    ["HOST=localhost", { HOST: "localhost" }, "dev"],
    [
      "JWKS_URL, JWT_ISSUER, JWT_AUDIENCE",
      { JWKS_URL: "https://i/", JWT_ISSUER: "i", JWT_AUDIENCE: "a" },
      "production"
    ],
    [
      "JWKS, JWT_ISSUER, JWT_AUDIENCE on 0.0.0.0",
      { JWKS: "{}", JWT_ISSUER: "i", JWT_AUDIENCE: "a", HOST: "0.0.0.0" },
      "production"
    ],
    ["JWT_ISSUER only", { JWT_ISSUER: "i" }, /JWT_ISSUER is set.*neither JWKS_URL nor JWKS/],
    ["JWT_AUDIENCE only", { JWT_AUDIENCE: "a" }, /JWT_AUDIENCE is set/],
    ["both, no key set", { JWT_ISSUER: "i", JWT_AUDIENCE: "a" }, /JWT_ISSUER and JWT_AUDIENCE are set/],
    ["HOST=0.0.0.0 only", { HOST: "0.0.0.0" }, /HOST "0\.0\.0\.0" is not a loopback address/],
    ["HOST=:: only", { HOST: "::" }, /not a loopback address/],
    ["a key set without JWT_AUDIENCE", { JWKS_URL: "https://i/", JWT_ISSUER: "i" }, /JWT_AUDIENCE/]
  ]
  for (const [name, env, expected] of cases) {
    it(`${name}: ${expected instanceof RegExp ? "refused" : expected}`, () => {
      if (expected instanceof RegExp) expect(() => readEnv(startMode, env)).toThrow(expected)
      else expect(readEnv(startMode, env)).toBe(expected)
    })
  }

  it("reports unknown JWT* and JWKS* names, suggesting the closest known one", () => {
    expect(
      unknownVariables(["JWKS_URI", "JWT_AUDIANCE", "JWT_ISSUER", "JWKS", "JWT_SECRET_SAUCE", "jwks_url", "PATH"])
    ).toEqual([
      { name: "JWKS_URI", suggestion: "JWKS_URL" },
      { name: "JWT_AUDIANCE", suggestion: "JWT_AUDIENCE" },
      { name: "JWT_SECRET_SAUCE" },
      { name: "jwks_url", suggestion: "JWKS_URL" }
    ])
  })

  it("never prints the API key or a token in the banner off the loopback", async () => {
    const state: DevState = {
      signingKey: await generateSigningKey("banner-key"),
      organizationId: "org_demo",
      apiKeyId: "key_demo",
      apiKey: "uak_secret_demo_key",
      apiKeyHash: "0".repeat(64),
      userId: "user_demo",
      serviceId: "svc_demo",
      idempotencyHashKey: "k".repeat(32),
      webhookSecretKey: "w".repeat(32)
    }
    const input = { runtime: "Bun", devState: state, filename: "/x/users.sqlite", cwd: "/x" } as const
    const shown = await banner({
      ...input,
      baseUrl: "http://127.0.0.1:1",
      hostname: "127.0.0.1",
      credentialsCommand: "c"
    })
    expect(shown).toContain("uak_secret_demo_key")
    const hidden = await banner({ ...input, baseUrl: "http://0.0.0.0:1", hostname: "0.0.0.0", credentialsCommand: "c" })
    expect(hidden).not.toContain("uak_")
    expect(hidden).not.toContain("eyJ")
  })
})
