/**
 * The new user's path under Bun: `bun src/bun.ts` on a free port with a fresh data dir, the curl it prints,
 * `bun scripts/dev-credentials.ts`, and a clean stop on SIGTERM. Runs the real binaries as child processes. The same
 * for what production runs (and the bench measures): package.json's `start:production`, which bundles the server
 * into dist/bun.js (`npm run build`) and runs the bundle, migrations read from the repository's migrations/.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, localDevEnv, ServerProcess } from "../support/processes.js"

const BUN = BIN.bun
const READY_WITHIN_MS = 30_000

const scripts: Record<string, string> = JSON.parse(readFileSync("package.json", "utf8")).scripts
const STARTS = [
  { start: "npm start (bun src/bun.ts)", command: BUN, args: ["src/bun.ts"] },
  { start: "npm run start:production (the bundle)", command: "sh", args: ["-c", scripts["start:production"]!] }
]

interface PrintedCurl {
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
}

/** The request behind the curl that `npm start` prints (`curl -sS -X POST <url> -H '…' … -d '…'`). */
const parseCurl = (banner: string): PrintedCurl => {
  const command = banner.slice(banner.indexOf("curl ")).replace(/\\\n\s*/g, " ")
  const url = /-X POST (\S+)/.exec(command)?.[1]
  const body = /-d '([^']*)'/.exec(command)?.[1]
  if (url === undefined || body === undefined) throw new Error(`no curl in:\n${banner}`)
  const headers: Record<string, string> = {}
  for (const [, header] of command.matchAll(/-H '([^']*)'/g)) {
    const colon = header!.indexOf(":")
    headers[header!.slice(0, colon).trim()] = header!.slice(colon + 1).trim()
  }
  return { url, headers, body }
}

const send = (curl: PrintedCurl) => fetch(curl.url, { method: "POST", headers: curl.headers, body: curl.body })

describe.each(STARTS)("$start in local dev mode", ({ args, command, start }) => {
  const dataDir = mkdtempSync(join(tmpdir(), "users-api-bun-"))
  // Local dev mode on the loopback, whatever the calling shell has set; `bun` by name for package.json's scripts.
  const env = localDevEnv({
    USERS_API_DATA_DIR: dataDir,
    PORT: "0",
    PATH: `${dirname(BUN)}:${process.env.PATH}`
  })
  let server: ServerProcess
  let port: number
  let curl: PrintedCurl

  beforeAll(async () => {
    server = ServerProcess.start(start, command, args, env)
    // The banner ends with the dev:credentials hint; wait for all of it, or for the process to die.
    await server.waitFor(
      "the whole banner",
      READY_WITHIN_MS,
      () => server.stdout.includes("npm run dev:credentials") || undefined
    )
    port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stdout)?.[1])
    curl = parseCurl(server.stdout)
  })

  afterAll(async () => {
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("binds the loopback on the port it was given and prints a curl for the demo user", () => {
    expect(port).toBeGreaterThan(0)
    expect(curl.url).toBe(`http://127.0.0.1:${port}/users/user_demo/UpdatePhoneNumber`)
    expect(curl.headers["Authorization"]).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
    expect(curl.headers["X-API-Key"]).toMatch(/^uak_/)
    expect(JSON.parse(curl.body)).toEqual({ phoneNumber: "+14155552671" })
  })

  it("the printed curl sets the number and answers with the masked event", async () => {
    const response = await send(curl)
    expect(response.status).toBe(200)
    const body = await response.json()
    expect(body).toMatchObject({
      success: true,
      aggregateId: "user_demo",
      event: { type: "UserPhoneNumberUpdated", data: { maskedPhoneNumber: "****2671" } }
    })
    expect(JSON.stringify(body)).not.toContain("4155552671")
  })

  it("the same curl again changes nothing: event null", async () => {
    const response = await send(curl)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ success: true, aggregateId: "user_demo", event: null })
  })

  it("dev:credentials prints one JSON object whose tokens work against the running server", async () => {
    const { stdout: printed } = await promisify(execFile)(BUN, ["scripts/dev-credentials.ts", "--port", String(port)], {
      env,
      timeout: 20_000
    })
    const credentials = JSON.parse(printed)
    expect(Object.keys(credentials).sort()).toEqual(
      ["adminToken", "apiKey", "baseUrl", "organizationId", "serviceToken", "userId", "userToken"]
    )
    expect(credentials).toMatchObject({
      baseUrl: `http://127.0.0.1:${port}`,
      organizationId: "org_demo",
      userId: "user_demo",
      apiKey: curl.headers["X-API-Key"]
    })
    const headers = (token: string) => ({
      authorization: `Bearer ${token}`,
      "x-api-key": credentials.apiKey,
      "content-type": "application/json"
    })
    const created = await fetch(`${credentials.baseUrl}/users`, {
      method: "POST",
      headers: headers(credentials.serviceToken),
      body: JSON.stringify({ id: "user_from_service" })
    })
    expect(created.status).toBe(201)
    const events = await fetch(`${credentials.baseUrl}/users/user_demo/events`, {
      headers: headers(credentials.userToken)
    })
    expect(events.status).toBe(200)
    const trail = (await events.json()) as { events: Array<{ version: number }> }
    expect(trail.events.map((e) => e.version)).toEqual([1, 2])
  })

  it("dev:credentials' adminToken does what only every scope allows: the raw number, the audit head, erasure", async () => {
    const { stdout: printed } = await promisify(execFile)(BUN, ["scripts/dev-credentials.ts", "--port", String(port)], {
      env,
      timeout: 20_000
    })
    const { adminToken, apiKey, baseUrl, serviceToken } = JSON.parse(printed)
    const as = (token: string) => ({ authorization: `Bearer ${token}`, "x-api-key": apiKey })
    const user = await fetch(`${baseUrl}/users/user_demo`, { headers: as(adminToken) })
    expect(await user.json()).toMatchObject({ phoneNumber: "+14155552671", phoneNumberForm: "raw" })
    expect((await fetch(`${baseUrl}/users/user_demo`, { headers: as(serviceToken) })).status).toBe(200)
    expect((await fetch(`${baseUrl}/organizations/org_demo/audit/head`, { headers: as(serviceToken) })).status).toBe(
      403
    )
    const head = await fetch(`${baseUrl}/organizations/org_demo/audit/head`, { headers: as(adminToken) })
    expect(head.status).toBe(200)
    // Sealed on demand, after the server's own rounds (one at start): at least one checkpoint.
    const sealed = (await head.json()) as { sequence: number }
    expect(sealed).toMatchObject({ success: true, organizationId: "org_demo" })
    expect(sealed.sequence).toBeGreaterThanOrEqual(1)
    const erased = await fetch(`${baseUrl}/users/user_from_service/ErasePersonalData`, {
      method: "POST",
      headers: as(adminToken)
    })
    expect(erased.status).toBe(200)
    expect(await erased.json()).toMatchObject({
      event: { type: "UserPersonalDataErased", metadata: { actor: { type: "service", id: "svc_demo_admin" } } }
    })
  })

  it("stops cleanly on SIGTERM", async () => {
    server.signal("SIGTERM")
    const outcome = await Promise.race([
      server.exit,
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 10_000))
    ])
    expect(outcome).toEqual({ code: 0, signal: null })
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow()
  })
})
