/**
 * Issue 9: the SQLite file of the Bun and Deno servers holds raw phone numbers, and its -wal and -shm files hold
 * pages of it; like data/dev-state.json they are readable by their owner only (0600), under the usual umask 022.
 * A file left 0644 by an older version is tightened at start. The real entries as child processes, bounded in time.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, localDevEnv, ROOT, ServerProcess } from "../support/processes.js"

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const ENTRIES = {
  bun: { command: `exec '${BIN.bun}' src/bun.ts`, under: tmpdir(), database: "users.sqlite" },
  deno: { command: `exec '${BIN.deno}' task start`, under: join(ROOT, "data"), database: "users-deno.sqlite" }
} as const

/** The permission bits in octal, as ls shows them: "600". */
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8)

/** Starts the entry under umask 022 on `dir`, waits for /healthz, sets a number (so the WAL is written), stops. */
const serveOnce = async (entry: keyof typeof ENTRIES, dir: string) => {
  const server = ServerProcess.start(
    entry,
    "/bin/sh",
    ["-c", `umask 022 && ${ENTRIES[entry].command}`],
    localDevEnv({ USERS_API_DATA_DIR: dir, PORT: "0" })
  )
  try {
    const port = await server.waitFor(
      "the banner",
      30_000,
      () => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stdout)?.[1]
    )
    const baseUrl = `http://127.0.0.1:${port}`
    await server.waitHealthy(baseUrl, 30_000)
    const curl = server.stdout.slice(server.stdout.indexOf("curl "))
    const token = /Authorization: Bearer ([\w.-]+)/.exec(curl)?.[1]
    const apiKey = /X-API-Key: (uak_[\w-]+)/.exec(curl)?.[1]
    const answer = await fetch(`${baseUrl}/users/user_demo/UpdatePhoneNumber`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "x-api-key": apiKey!, "content-type": "application/json" },
      body: JSON.stringify({ phoneNumber: "+14155552671" })
    })
    expect(answer.status).toBe(200)
    // While it runs, in WAL mode: the database, its write-ahead log and its shared memory.
    const database = join(dir, ENTRIES[entry].database)
    const files = [database, `${database}-wal`, `${database}-shm`, join(dir, "dev-state.json")]
    return Object.fromEntries(
      files.map((file) => [file.slice(dir.length + 1), existsSync(file) ? mode(file) : "missing"])
    )
  } finally {
    await server.stop()
  }
}

const PRIVATE = "600"

for (const entry of ["bun", "deno"] as const) {
  describe(`${entry}: the database files are the owner's alone`, () => {
    const name = ENTRIES[entry].database
    it("a new database, its -wal and -shm and the dev state are created 0600", async () => {
      mkdirSync(ENTRIES[entry].under, { recursive: true })
      const dir = mkdtempSync(join(ENTRIES[entry].under, "users-api-modes-"))
      dirs.push(dir)
      expect(await serveOnce(entry, dir)).toEqual({
        [name]: PRIVATE,
        [`${name}-wal`]: PRIVATE,
        [`${name}-shm`]: PRIVATE,
        "dev-state.json": PRIVATE
      })
    }, 60_000)

    it("a database left 0644 (and its journal files) is made 0600 at start", async () => {
      mkdirSync(ENTRIES[entry].under, { recursive: true })
      const dir = mkdtempSync(join(ENTRIES[entry].under, "users-api-modes-"))
      dirs.push(dir)
      await serveOnce(entry, dir)
      for (const suffix of ["", "-wal", "-shm"]) {
        const file = join(dir, name + suffix)
        if (!existsSync(file)) writeFileSync(file, "")
        chmodSync(file, 0o644)
      }
      const modes = await serveOnce(entry, dir)
      expect(modes[name]).toBe(PRIVATE)
      expect(modes[`${name}-wal`]).toBe(PRIVATE)
      expect(modes[`${name}-shm`]).toBe(PRIVATE)
    }, 60_000)
  })
}
