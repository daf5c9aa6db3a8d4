/**
 * Issue 9: a freshly seeded database failed at start with `SQLiteError: database is locked` at
 * `PRAGMA journal_mode = WAL`, when the bench started the Bun endpoint right after seeding. Two causes, each tested
 * here: the seeding connection's statements were never finalized, so its close() left it open until garbage
 * collection (and its real close, a checkpoint under the file's lock, came at a moment nobody chose); and the
 * server asked for WAL before setting busy_timeout, so any lock at that moment failed at once instead of waiting.
 * Then the bench's sequence itself, seed and start back to back, 15 times. Real files, real Bun and Deno entries.
 */
import Database from "better-sqlite3"
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { prepareNodeSqliteFile } from "../../src/layers/sqlite/node.js"
import { BIN, localDevEnv, ROOT, run, ServerProcess, sleep } from "../support/processes.js"

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const bunHelper = async (args: ReadonlyArray<string>, withinMs: number) =>
  JSON.parse((await run(BIN.bun, ["test/support/seed-then-serve.ts", ...args], localDevEnv({}), withinMs)).trim())

describe("a seeding connection lets go of the file when it closes", () => {
  it.skipIf(!existsSync("/proc/self/fd"))(
    "after seeding (bench) and readying (server start), no file is left open",
    async () => {
      expect(await bunHelper(["handles"], 30_000)).toEqual([])
    },
    40_000
  )
})

const ENTRIES = {
  bun: { command: BIN.bun, args: ["src/bun.ts"], under: tmpdir(), database: "users.sqlite" },
  deno: { command: BIN.deno, args: ["task", "start"], under: join(ROOT, "data"), database: "users-deno.sqlite" }
} as const

for (const entry of ["bun", "deno"] as const) {
  it(`${entry}: a server that finds its file locked at start waits for the lock (busy_timeout first)`, async () => {
    mkdirSync(ENTRIES[entry].under, { recursive: true })
    const dir = mkdtempSync(join(ENTRIES[entry].under, "users-api-locked-"))
    dirs.push(dir)
    const file = join(dir, ENTRIES[entry].database)
    prepareNodeSqliteFile(file)
    // Another connection holds the file's exclusive lock, as the seeding connection's last close does.
    const holder = new Database(file)
    holder.pragma("locking_mode = EXCLUSIVE")
    holder.exec("BEGIN EXCLUSIVE")
    const server = ServerProcess.start(
      entry,
      ENTRIES[entry].command,
      ENTRIES[entry].args,
      localDevEnv({ USERS_API_DATA_DIR: dir, PORT: "0" })
    )
    try {
      await sleep(1_500)
      holder.exec("COMMIT")
      holder.close()
      const port = await server.waitFor(
        "the banner",
        30_000,
        () => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stdout)?.[1]
      )
      await server.waitHealthy(`http://127.0.0.1:${port}`, 10_000)
      expect(server.output).not.toMatch(/database is locked/)
    } finally {
      if (holder.open) holder.close()
      await server.stop()
    }
  }, 60_000)
}

describe("the bench's sequence: seed a file, start the Bun server on it at once", () => {
  it("15 rounds back to back, each answering /healthz 200", async () => {
    const rounds: Array<{ round: number; status: number | string; output?: string }> = await bunHelper(
      ["rounds", "15"],
      150_000
    )
    expect(rounds.filter((r) => r.status !== 200)).toEqual([])
    expect(rounds).toHaveLength(15)
  }, 160_000)
})
