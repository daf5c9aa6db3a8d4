/**
 * The service under Deno: `deno task start` (deno.json's task, with its narrow permissions) on a free port with a
 * fresh data dir, answering over HTTP with tokens signed by the dev key it created, and a clean stop on SIGTERM.
 * The data dir sits under data/ because the task may write nowhere else (--allow-write=data). The same for what
 * production runs (and the bench measures): `deno task start:production`, the bundle of `deno task build`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { signServiceToken, signUserToken } from "../../src/dev/signing.js"
import type { DevState } from "../../src/dev/state.js"
import { BIN, localDevEnv, ServerProcess } from "../support/processes.js"

const READY_WITHIN_MS = 60_000

const STARTS = [
  { start: "npm run start:deno (deno task start)", task: "start" },
  { start: "deno task start:production (the bundle)", task: "start:production" }
]

describe.each(STARTS)("$start in local dev mode", ({ start, task }) => {
  mkdirSync(join(process.cwd(), "data"), { recursive: true })
  const dataDir = mkdtempSync(join(process.cwd(), "data", "test-deno-"))
  // Local dev mode on the loopback, whatever the calling shell has set; PORT 0 lets the system pick a free port.
  const env = localDevEnv({ USERS_API_DATA_DIR: dataDir, PORT: "0" })
  let server: ServerProcess
  let baseUrl: string
  let state: DevState

  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body)
    })
  const asUser = async () => ({
    authorization: `Bearer ${await signUserToken(state.signingKey, state.userId, state.organizationId)}`,
    "x-api-key": state.apiKey
  })

  beforeAll(async () => {
    // Its own process group (ServerProcess), so that the task and the `deno run` it starts are stopped together.
    server = ServerProcess.start(start, BIN.deno, ["task", task], env)
    const deadline = Date.now() + READY_WITHIN_MS
    const port = await server.waitFor(
      "the banner",
      READY_WITHIN_MS,
      () => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stdout)?.[1]
    )
    baseUrl = `http://127.0.0.1:${port}`
    await server.waitHealthy(baseUrl, Math.max(0, deadline - Date.now()))
    state = JSON.parse(readFileSync(join(dataDir, "dev-state.json"), "utf8")) as DevState
  })

  afterAll(async () => {
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("prints the banner with a curl for the demo user and the dev:credentials hint", () => {
    expect(server.stdout).toContain("users-api (Deno) listening on http://127.0.0.1:")
    expect(server.stdout).toContain(`curl -sS -X POST ${baseUrl}/users/user_demo/UpdatePhoneNumber`)
    expect(server.stdout).toContain("npm run dev:credentials -- --runtime deno")
  })

  it("sets the number and answers with the masked event", async () => {
    const response = await post("/users/user_demo/UpdatePhoneNumber", { phoneNumber: "+14155552671" }, await asUser())
    expect(response.status).toBe(200)
    expect(response.headers.get("etag")).toBe('"2"')
    const body = await response.json()
    expect(body).toMatchObject({
      success: true,
      aggregateId: "user_demo",
      version: 2,
      event: { type: "UserPhoneNumberUpdated", version: 2, data: { maskedPhoneNumber: "****2671" } }
    })
    expect(JSON.stringify(body)).not.toContain("4155552671")
  })

  it("the same number again changes nothing: event null", async () => {
    const response = await post("/users/user_demo/UpdatePhoneNumber", { phoneNumber: "+14155552671" }, await asUser())
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ success: true, aggregateId: "user_demo", version: 2, event: null })
  })

  it("rejects a number that is not valid with 422 invalid-phone-number", async () => {
    const response = await post("/users/user_demo/UpdatePhoneNumber", { phoneNumber: "+1 555 0100" }, await asUser())
    expect(response.status).toBe(422)
    expect(response.headers.get("content-type")).toContain("application/problem+json")
    const body = await response.json()
    expect(body).toMatchObject({ status: 422, code: "invalid-phone-number", success: false })
    expect(JSON.stringify(body)).not.toContain("555 0100")
  })

  it("refuses a request without an API key with 401", async () => {
    const { authorization } = await asUser()
    const body = { phoneNumber: "+14155552671" }
    const response = await post("/users/user_demo/UpdatePhoneNumber", body, { authorization })
    expect(response.status).toBe(401)
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/)
  })

  it("a service token creates a user: 201 with its UserCreated event", async () => {
    const scope = "users:read users:write"
    const token = await signServiceToken(state.signingKey, state.serviceId, state.organizationId, scope)
    const response = await post("/users", { id: "user_from_service" }, {
      authorization: `Bearer ${token}`,
      "x-api-key": state.apiKey
    })
    expect(response.status).toBe(201)
    expect(await response.json()).toMatchObject({
      aggregateId: "user_from_service",
      version: 1,
      event: { type: "UserCreated" }
    })
  })

  it("stops cleanly on SIGTERM", async () => {
    server.signal("SIGTERM")
    const outcome = await Promise.race([
      server.exit,
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 10_000))
    ])
    expect(outcome).toEqual({ code: 0, signal: null })
    await expect(fetch(`${baseUrl}/healthz`)).rejects.toThrow()
  })
})
