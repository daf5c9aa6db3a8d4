/**
 * Another process's connection holds the SQLite file's write lock (BEGIN EXCLUSIVE, in WAL mode) while the real Bun
 * and Deno servers serve it. A write waits for the lock off the event loop, so reads and /healthz answer while it
 * waits; it is then a 503 store-unavailable with Retry-After, and the same write succeeds once the lock is let go.
 */
import Database from "better-sqlite3"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, expect, it } from "vitest"
import { BIN, localDevEnv, ROOT, ServerProcess, sleep } from "../support/processes.js"

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const ENTRIES = {
  bun: { command: BIN.bun, args: ["src/bun.ts"], under: tmpdir(), database: "users.sqlite" },
  deno: { command: BIN.deno, args: ["task", "start"], under: join(ROOT, "data"), database: "users-deno.sqlite" }
} as const

/** The dev banner's address, demo user and credentials. */
const fromBanner = (stdout: string) => {
  const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1]
  const userId = /\/users\/([^/\s]+)\/UpdatePhoneNumber/.exec(stdout)?.[1]
  const token = /Authorization: Bearer (\S+?)'/.exec(stdout)?.[1]
  const apiKey = /X-API-Key: (\S+?)'/.exec(stdout)?.[1]
  return base && userId && token && apiKey ? { base, userId, token, apiKey } : undefined
}

for (const entry of ["bun", "deno"] as const) {
  it(
    `${entry}: while another process holds the write lock, reads answer and a write is a 503, then succeeds`,
    async () => {
      mkdirSync(ENTRIES[entry].under, { recursive: true })
      const dir = mkdtempSync(join(ENTRIES[entry].under, "users-api-lock-"))
      dirs.push(dir)
      const server = ServerProcess.start(
        entry,
        ENTRIES[entry].command,
        ENTRIES[entry].args,
        localDevEnv({ USERS_API_DATA_DIR: dir, PORT: "0" })
      )
      let holder: Database.Database | undefined
      try {
        const { apiKey, base, token, userId } = await server.waitFor(
          "the banner",
          30_000,
          () => fromBanner(server.stdout)
        )
        await server.waitHealthy(base, 10_000)
        const headers = { authorization: `Bearer ${token}`, "x-api-key": apiKey }
        const read = () => fetch(`${base}/users/${userId}`, { headers, signal: AbortSignal.timeout(15_000) })
        // With an Idempotency-Key the key's claim (@effect/sql) meets the lock first; without, the atomic write.
        const write = (key?: string) =>
          fetch(`${base}/users/${userId}/UpdatePhoneNumber`, {
            method: "POST",
            headers: { ...headers, "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}) },
            body: JSON.stringify({ phoneNumber: "+14155552671" }),
            signal: AbortSignal.timeout(15_000)
          })
        expect((await read()).status).toBe(200)

        holder = new Database(join(dir, ENTRIES[entry].database))
        holder.exec("BEGIN EXCLUSIVE")
        let writesAnswered = 0
        const pending = Promise.all([write(), write("lock-test")].map((answer) =>
          answer.then(async (a) => {
            writesAnswered++
            const type = a.headers.get("content-type")
            return { status: a.status, type, retryAfter: a.headers.get("retry-after"), body: await a.json() }
          })
        ))
        // Long enough for the writes to reach the store and meet the lock.
        await sleep(300)
        const [user, health] = await Promise.all([
          read(),
          fetch(`${base}/healthz`, { signal: AbortSignal.timeout(15_000) })
        ])
        const answeredWhileWritesWaited = writesAnswered === 0
        expect({ user: user.status, health: health.status, answeredWhileWritesWaited }).toEqual({
          user: 200,
          health: 200,
          answeredWhileWritesWaited: true
        })

        for (const refused of await pending) {
          expect(refused).toMatchObject({
            status: 503,
            type: expect.stringMatching(/^application\/problem\+json/),
            retryAfter: "1",
            body: { code: "store-unavailable" }
          })
        }
        expect((await read()).status).toBe(200)

        holder.exec("COMMIT")
        holder.close()
        const applied = await write("lock-test")
        expect(applied.status).toBe(200)
        expect(await applied.json()).toMatchObject({ event: { type: "UserPhoneNumberUpdated" } })
        expect((await write()).status).toBe(200)
      } finally {
        if (holder?.open) {
          holder.close()
        }
        await server.stop()
      }
    },
    60_000
  )
}
