/**
 * A server killed (SIGKILL) right after a keyed write commits, on Bun and on Deno (real processes over a real SQLite
 * file, test/faults/support/crash-server.ts): the crash comes from a hook in the store layer, so it lands exactly
 * between the commit and everything after it. Restarted with its clock past the key's 60 s lock, the server lets
 * another writer change the user; the retry must then replay the first answer, never write again.
 * And an attempt that is only paused (over a real SQLite file, in this process) past its lock, while its retry takes
 * the key over and completes it, is refused when it resumes: 409, nothing written.
 */
import Database from "better-sqlite3"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { signServiceToken, signUserToken } from "../../src/dev/signing.js"
import type { DevState } from "../../src/dev/state.js"
import { DEFAULT_TIMINGS } from "../../src/services/idempotency.js"
import { call, expectProblem } from "../support/client.js"
import { makeHold } from "../support/faults.js"
import { BIN, localDevEnv, ServerProcess } from "../support/processes.js"
import { makeSqliteFixture } from "../support/sqlite-fixture.js"
import { handlerOver } from "./support/handler.js"

const SCRIPT = "test/faults/support/crash-server.ts"
const RUNTIMES = [
  { runtime: "Bun", command: BIN.bun, args: [SCRIPT] },
  {
    runtime: "Deno",
    command: BIN.deno,
    args: ["run", "--no-prompt", "--allow-net=127.0.0.1", "--allow-read", "--allow-write", "--allow-env", "--allow-run"]
      .concat(SCRIPT)
  }
]
const READY_WITHIN_MS = 60_000

describe.each(RUNTIMES)("a keyed write whose $runtime server is killed right after the commit", (runtime) => {
  const dataDir = mkdtempSync(join(tmpdir(), "users-api-crash-"))
  const servers: Array<ServerProcess> = []

  const start = async (extra: Record<string, string>) => {
    const server = ServerProcess.start(runtime.runtime, runtime.command, runtime.args, {
      ...localDevEnv({ USERS_API_DATA_DIR: dataDir, PORT: "0" }),
      ...extra
    })
    servers.push(server)
    const port = await server.waitFor(
      "the banner",
      READY_WITHIN_MS,
      () => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stdout)?.[1]
    )
    const baseUrl = `http://127.0.0.1:${port}`
    await server.waitHealthy(baseUrl, READY_WITHIN_MS)
    return { server, baseUrl }
  }

  afterAll(async () => {
    for (const server of servers) await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  let state: DevState
  let userToken: string
  let otherWriter: string
  const send = (baseUrl: string, path: string, token: string, init: { body?: unknown; key?: string } = {}) =>
    fetch(`${baseUrl}${path}`, {
      method: init.body === undefined ? "GET" : "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "x-api-key": state.apiKey,
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        ...(init.key === undefined ? {} : { "idempotency-key": init.key })
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
    })
  const setNumber = (baseUrl: string, token: string, phoneNumber: string, key?: string) =>
    send(baseUrl, `/users/${state.userId}/UpdatePhoneNumber`, token, {
      body: { phoneNumber },
      ...(key === undefined ? {} : { key })
    })

  let first: { server: ServerProcess; baseUrl: string }
  beforeAll(async () => {
    first = await start({ CRASH_AFTER_COMMIT: "1" })
    state = JSON.parse(readFileSync(join(dataDir, "dev-state.json"), "utf8")) as DevState
    userToken = await signUserToken(state.signingKey, state.userId, state.organizationId)
    otherWriter = await signServiceToken(state.signingKey, "svc_other", state.organizationId, "users:read users:write")
  })

  it("replays the first answer to the retry after the lock expired, and never writes the change again", async () => {
    // The write commits and the process dies before it can answer: the client sees its connection fail.
    const lost = await setNumber(first.baseUrl, userToken, "+1 415 555 0001", "w-25").then(
      (response) => `answered ${response.status}`,
      () => "connection failed"
    )
    expect(lost).toBe("connection failed")
    expect(await first.server.exit).toMatchObject({ signal: "SIGKILL" })
    const file = new Database(join(dataDir, "users.sqlite"))
    try {
      const row = file.prepare("SELECT phone_number, version FROM users WHERE id = ?").get(state.userId)
      expect(row).toEqual({ phone_number: "+14155550001", version: 2 })
    } finally {
      file.close()
    }

    // Back up, with its clock past the lock the dead request held; another client changes the number.
    const { baseUrl } = await start({ CLOCK_OFFSET_MS: String(DEFAULT_TIMINGS.lockMillis + 1_000) })
    const other = await setNumber(baseUrl, otherWriter, "+1 415 555 0003")
    expect(other.status).toBe(200)
    expect(await other.json()).toMatchObject({ version: 3, event: { data: { maskedPhoneNumber: "****0003" } } })

    const retry = await setNumber(baseUrl, userToken, "+1 415 555 0001", "w-25")
    const answer = (await retry.json()) as { version: number; event: unknown }
    expect({ status: retry.status, replayed: retry.headers.get("idempotent-replayed"), version: answer.version })
      .toEqual({ status: 200, replayed: "true", version: 2 })
    expect(answer.event).toMatchObject({ version: 2, data: { maskedPhoneNumber: "****0001" } })

    // The other client's change stands, and the keyed change happened once.
    const user = await (await send(baseUrl, `/users/${state.userId}`, userToken)).json()
    expect(user).toMatchObject({ version: 3, phoneNumber: "+14155550003" })
    const trail = (await (await send(baseUrl, `/users/${state.userId}/events`, userToken)).json()) as {
      events: Array<{ version: number }>
    }
    expect(trail.events.map((e) => e.version)).toEqual([1, 2, 3])
  })
})

describe("a keyed attempt paused past its lock while its retry took the key over", () => {
  it("is refused when it resumes (409 idempotency-key-in-use) and writes nothing", async () => {
    const f = await makeSqliteFixture()
    const hold = makeHold()
    const offset = { millis: 0 }
    const handler = handlerOver(f, { hold, clockOffset: offset })
    try {
      const tenant = await f.newTenant()
      const service = await f.serviceToken("users:read users:write", tenant.organizationId)
      const as = (token: string, body: unknown, headers: Record<string, string> = {}) =>
        call(handler.fetch, "POST", "/users/u_paused/UpdatePhoneNumber", {
          token,
          apiKey: tenant.apiKey,
          body,
          headers
        })
      const created = await call(handler.fetch, "POST", "/users", {
        token: service,
        apiKey: tenant.apiKey,
        body: { id: "u_paused" }
      })
      expect(created.status).toBe(201)

      // The first attempt has claimed the key and decided; it stops just before its write.
      hold.arm()
      const paused = as(service, { phoneNumber: "+1 415 555 0001" }, { "idempotency-key": "w-26" })
      await hold.reached
      offset.millis = DEFAULT_TIMINGS.lockMillis + 1_000
      const retry = await as(service, { phoneNumber: "+1 415 555 0001" }, { "idempotency-key": "w-26" })
      expect(retry.status).toBe(200)
      expect(retry.body).toMatchObject({ version: 2 })
      const other = await as(await f.userToken("u_paused", tenant.organizationId), { phoneNumber: "+1 415 555 0003" })
      expect(other.status).toBe(200)

      hold.release()
      expectProblem(await paused, 409, "idempotency-key-in-use")
      expect(f.query("SELECT phone_number, version FROM users WHERE id = 'u_paused'")).toEqual([
        { phone_number: "+14155550003", version: 3 }
      ])
      const replay = await as(service, { phoneNumber: "+1 415 555 0001" }, { "idempotency-key": "w-26" })
      expect(replay.headers.get("idempotent-replayed")).toBe("true")
      expect(replay.text).toBe(retry.text)
    } finally {
      await handler.dispose()
      await f.dispose()
    }
  })
})
