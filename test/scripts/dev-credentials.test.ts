/**
 * `npm run dev:credentials` (scripts/dev-credentials.ts) on its own, over a fresh data dir: the tokens it mints (their
 * claims decoded), `--scope`, `adminToken` with every scope of src/app/authorize.ts, and `--shell`, whose lines a
 * POSIX shell evaluates to the same values. That the tokens work against a running server: test/http/bun-server.test.ts.
 */
import { decodeJwt } from "jose"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { Scopes } from "../../src/app/authorize.js"
import { BIN, localDevEnv, ROOT } from "../support/processes.js"

interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const dataDir = mkdtempSync(join(tmpdir(), "users-api-credentials-"))
const env = localDevEnv({ USERS_API_DATA_DIR: dataDir })

const run = (file: string, args: ReadonlyArray<string>): Promise<Outcome> =>
  promisify(execFile)(file, [...args], { cwd: ROOT, env, timeout: 30_000 }).then(
    ({ stderr, stdout }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === "number" ? error.code : -1,
      stdout: error.stdout ?? "",
      stderr: error.stderr ?? ""
    })
  )

const credentials = (...args: Array<string>) => run(BIN.bun, ["scripts/dev-credentials.ts", ...args])

const json = async (...args: Array<string>) => {
  const outcome = await credentials(...args)
  expect(outcome.code, outcome.stderr).toBe(0)
  return JSON.parse(outcome.stdout) as Record<string, string>
}

const EVERY_SCOPE = Object.values(Scopes)

describe("npm run dev:credentials", () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it("prints the credentials with a service token of users:read users:write and an admin token of every scope", async () => {
    const printed = await json()
    expect(Object.keys(printed)).toEqual(
      ["baseUrl", "organizationId", "apiKey", "userId", "userToken", "serviceToken", "adminToken"]
    )
    expect(printed).toMatchObject({ baseUrl: "http://127.0.0.1:8787", organizationId: "org_demo", userId: "user_demo" })
    expect(decodeJwt(printed.userToken!)).toMatchObject({ sub: "user_demo", org_id: "org_demo" })
    expect(decodeJwt(printed.userToken!)).not.toHaveProperty("token_use")
    expect(decodeJwt(printed.serviceToken!)).toMatchObject({
      sub: "svc_demo",
      org_id: "org_demo",
      token_use: "service",
      scope: "users:read users:write"
    })
    const admin = decodeJwt(printed.adminToken!)
    expect(admin).toMatchObject({ sub: "svc_demo_admin", org_id: "org_demo", token_use: "service" })
    expect(String(admin.scope).split(" ").sort()).toEqual([...EVERY_SCOPE].sort())
    expect(EVERY_SCOPE).toEqual([
      "users:read",
      "users:write",
      "users:erase",
      "users:pii:read",
      "audit:read",
      "webhooks:write",
      "phone:code:return",
      "policy:write",
      "users:lookup"
    ])
    expect(admin.exp! - admin.iat!).toBe(24 * 60 * 60)
  })

  it("--scope mints the service token with exactly the scopes named, and leaves the admin token whole", async () => {
    const printed = await json("--scope", "users:erase  audit:read")
    expect(decodeJwt(printed.serviceToken!)).toMatchObject({
      org_id: "org_demo",
      token_use: "service",
      scope: "users:erase audit:read"
    })
    expect(String(decodeJwt(printed.adminToken!).scope).split(" ").sort()).toEqual([...EVERY_SCOPE].sort())
    expect(decodeJwt((await json("--scope", "")).serviceToken!).scope).toBe("")
  })

  it("--scope takes a name the service does not know, with a warning on stderr only", async () => {
    const outcome = await credentials("--scope", "users:read users:pii")
    expect(outcome.code).toBe(0)
    expect(decodeJwt(JSON.parse(outcome.stdout).serviceToken).scope).toBe("users:read users:pii")
    expect(outcome.stderr).toContain("knows no scope users:pii")
  })

  it("--shell prints export lines that a POSIX shell evaluates to the same values", async () => {
    const printed = await json("--port", "9000")
    const shell = await credentials("--shell", "--port", "9000", "--scope", "users:read")
    expect(shell.code, shell.stderr).toBe(0)
    expect(shell.stdout).toMatch(/^(export [A-Z_]+='[^']*'\n)+$/)
    const names = ["BASE_URL", "ORGANIZATION_ID", "API_KEY", "USER_ID", "USER_TOKEN", "SERVICE_TOKEN", "ADMIN_TOKEN"]
    const evaluated = await run("/bin/sh", [
      "-c",
      `eval "$1"; printf '%s\\n' ${names.map((name) => `"$${name}"`).join(" ")}`,
      "sh",
      shell.stdout
    ])
    const [baseUrl, organizationId, apiKey, userId, userToken, serviceToken, adminToken] = evaluated.stdout.split("\n")
    expect({ baseUrl, organizationId, apiKey, userId }).toEqual({
      baseUrl: "http://127.0.0.1:9000",
      organizationId: printed.organizationId,
      apiKey: printed.apiKey,
      userId: printed.userId
    })
    expect(decodeJwt(userToken!)).toMatchObject({ sub: "user_demo", org_id: "org_demo" })
    expect(decodeJwt(serviceToken!)).toMatchObject({ token_use: "service", scope: "users:read" })
    expect(String(decodeJwt(adminToken!).scope).split(" ").sort()).toEqual([...EVERY_SCOPE].sort())
  })

  it("refuses an unknown flag or a bad port with usage on stderr and exit 2", async () => {
    for (const args of [["--scopes", "users:read"], ["--port", "http"], ["--runtime", "node"]]) {
      const outcome = await credentials(...args)
      expect(outcome.code).toBe(2)
      expect(outcome.stdout).toBe("")
      expect(outcome.stderr).toContain("--scope")
    }
  })
})
