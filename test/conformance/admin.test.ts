/**
 * scripts/admin.ts, as docs/PRODUCTION.md tells an operator to use it: against a running Bun server's SQLite file
 * (the key it prints works over HTTP at once; a revoked key is refused), against local D1 (the same
 * SQL wrangler runs with --remote in production), and --print, which touches nothing.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sha256Hex } from "../../src/sha256.js"
import { BIN, localDevEnv, ROOT, run } from "../support/processes.js"
import { type RunningRuntime, startBun } from "./runtimes.js"

interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const admin = async (...args: Array<string>): Promise<Outcome> => {
  const { spawn } = await import("node:child_process")
  return new Promise((resolve, reject) => {
    const child = spawn(BIN.bun, ["scripts/admin.ts", ...args], {
      cwd: ROOT,
      env: localDevEnv({}),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.once("error", reject)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
  })
}

const KEY = /^uak_[A-Za-z0-9_-]{43}\n$/

describe("scripts/admin.ts --print", () => {
  it("prints the SQL on stderr and the key alone on stdout", async () => {
    const issued = await admin("issue-key", "org_acme", "ci", "--print")
    expect(issued.code).toBe(0)
    expect(issued.stdout).toMatch(KEY)
    expect(issued.stderr).toContain("INSERT INTO api_keys")
    expect(issued.stderr).toContain(await sha256Hex(issued.stdout.trim()))
    expect(issued.stderr).not.toContain(issued.stdout.trim())
  })

  it("refuses a call without a place to run it, or with a bad id", async () => {
    expect((await admin("create-org", "org_acme", "Acme")).code).toBe(2)
    expect((await admin("create-org", "org acme", "Acme", "--print")).code).toBe(2)
    expect((await admin("rename-org", "org_acme", "--print")).code).toBe(2)
  })
})

describe("scripts/admin.ts --db against a running Bun server", () => {
  let server: RunningRuntime | undefined
  let file: string

  beforeAll(async () => {
    server = await startBun()
    file = server.database!
  }, 90_000)
  afterAll(() => server?.stop(), 30_000)

  const createUser = async (apiKey: string) => {
    const token = await server!.target.signServiceToken("org_admin_test", "users:read users:write")
    const answer = await fetch(`${server!.target.baseUrl}/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "x-api-key": apiKey, "content-type": "application/json" },
      body: "{}"
    })
    return { status: answer.status, body: await answer.json() as any }
  }

  it("creates an organization, issues a key that works at once, and revokes it", async () => {
    const created = await admin("create-org", "org_admin_test", "Admin test", "--db", file)
    expect(created, created.stderr).toMatchObject({ code: 0, stdout: "" })
    expect(created.stderr).toContain("Created organization org_admin_test")
    expect((await admin("create-org", "org_admin_test", "Admin test", "--db", file)).stderr).toContain("exists already")

    const issued = await admin("issue-key", "org_admin_test", "integration", "--db", file)
    expect(issued.code, issued.stderr).toBe(0)
    expect(issued.stdout).toMatch(KEY)
    const apiKey = issued.stdout.trim()
    const keyId = /Issued key (key_\w+)/.exec(issued.stderr)?.[1]
    expect(keyId).toBeDefined()
    expect((await createUser(apiKey)).status).toBe(201)

    const listed = await admin("list-keys", "org_admin_test", "--db", file)
    expect(JSON.parse(listed.stdout)).toEqual([
      { id: keyId, label: "integration", created_at: expect.any(String), revoked_at: null }
    ])
    expect(listed.stdout).not.toContain(apiKey)

    const revoked = await admin("revoke-key", keyId!, "--db", file)
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(JSON.parse((await admin("list-keys", "org_admin_test", "--db", file)).stdout)[0].revoked_at).not.toBeNull()
    expect((await admin("revoke-key", keyId!, "--db", file)).code).toBe(1)
  })

  it("refuses a revoked key (one the server has not cached as valid: at once)", async () => {
    const issued = await admin("issue-key", "org_admin_test", "short-lived", "--db", file)
    const keyId = /Issued key (key_\w+)/.exec(issued.stderr)?.[1]
    expect((await admin("revoke-key", keyId!, "--db", file)).code).toBe(0)
    const refused = await createUser(issued.stdout.trim())
    expect(refused.status).toBe(401)
    expect(refused.body.code).toBe("invalid-api-key")
  })

  it("prints no key for an organization that does not exist", async () => {
    const issued = await admin("issue-key", "org_missing", "x", "--db", file)
    expect(issued.code).toBe(1)
    expect(issued.stdout).toBe("")
    expect(issued.stderr).toContain("create-org org_missing")
  })
})

describe("scripts/admin.ts --local (local D1, the SQL production runs with --remote)", () => {
  const persist = mkdtempSync(join(tmpdir(), "users-api-admin-d1-"))
  afterAll(() => rmSync(persist, { recursive: true, force: true }))

  it("creates, issues, lists and revokes through wrangler d1 execute", async () => {
    await run(
      BIN.wrangler,
      ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist],
      localDevEnv({ CI: "true" }),
      60_000
    )
    const where = ["--local", "--persist-to", persist]
    expect((await admin("create-org", "org_acme", "Acme Inc.", ...where)).code).toBe(0)
    const issued = await admin("issue-key", "org_acme", "production", ...where)
    expect(issued.code, issued.stderr).toBe(0)
    expect(issued.stdout).toMatch(KEY)
    const keyId = /Issued key (key_\w+)/.exec(issued.stderr)?.[1]
    const listed = JSON.parse((await admin("list-keys", "org_acme", ...where)).stdout)
    expect(listed).toEqual([{ id: keyId, label: "production", created_at: expect.any(String), revoked_at: null }])
    expect((await admin("revoke-key", keyId!, ...where)).code).toBe(0)
    expect(JSON.parse((await admin("list-keys", "org_acme", ...where)).stdout)[0].revoked_at).not.toBeNull()
    expect((await admin("issue-key", "org_missing", "x", ...where)).stdout).toBe("")
  }, 120_000)
})
