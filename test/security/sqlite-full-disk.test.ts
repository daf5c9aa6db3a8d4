/**
 * Starting in local dev mode on a full disk: the real Bun and Deno entries on a tiny filesystem (a tmpfs in a
 * mount namespace of the server's own) that holds the migrated file and little else, so seeding the demo tenant
 * meets SQLITE_FULL. The server says so in one line on stderr and exits 1, with no stack trace.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, expect, it } from "vitest"
import { prepareNodeSqliteFile } from "../../src/layers/sqlite/node.js"
import { BIN, localDevEnv, ROOT, ServerProcess, sleep } from "../support/processes.js"

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const ENTRIES = {
  bun: { command: BIN.bun, args: ["src/bun.ts"], under: tmpdir(), database: "users.sqlite" },
  deno: { command: BIN.deno, args: ["task", "start"], under: join(ROOT, "data"), database: "users-deno.sqlite" }
} as const

// $1 the mount point, $2 the migrated file, $3 its name there, then the server. 40 KiB stay free: the dev state
// (one page) and SQLite's shared-memory file (32 KiB) fit, the seed's first WAL frame does not.
const FILL_THEN_START = `set -e
mount -t tmpfs -o size=1m tmpfs "$1"
cp "$2" "$1/$3"
dd if=/dev/zero of="$1/filler" bs=4096 2>/dev/null || true
truncate -s -40K "$1/filler"
shift 3
exec "$@"`

// A tmpfs needs a mount namespace: root, or unprivileged user namespaces.
const probe = mkdtempSync(join(tmpdir(), "users-api-probe-"))
dirs.push(probe)
const tinyFilesystems =
  spawnSync("unshare", ["-rm", "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$1"', "sh", probe]).status === 0

for (const entry of ["bun", "deno"] as const) {
  it(`${entry}: a full disk while seeding is one line on stderr and exit 1`, async () => {
    if (!tinyFilesystems) throw new Error("this test needs mount namespaces (`unshare -rm`): run it as root")
    const prepared = mkdtempSync(join(tmpdir(), "users-api-full-src-"))
    dirs.push(prepared)
    const source = join(prepared, "users.sqlite")
    prepareNodeSqliteFile(source)
    mkdirSync(ENTRIES[entry].under, { recursive: true })
    const dir = mkdtempSync(join(ENTRIES[entry].under, "users-api-full-"))
    dirs.push(dir)
    const server = ServerProcess.start(
      entry,
      "unshare",
      [
        "-rm",
        "sh",
        "-c",
        FILL_THEN_START,
        "sh",
        dir,
        source,
        ENTRIES[entry].database,
        ENTRIES[entry].command,
        ...ENTRIES[entry].args
      ],
      localDevEnv({ USERS_API_DATA_DIR: dir, PORT: "0" })
    )
    try {
      const status = await Promise.race([server.exit, sleep(30_000).then(() => "still running" as const)])
      // deno task names the task it runs on stderr first.
      const lines = server.output.split("\n").filter((line) => line.trim() !== "" && !/^Task start /.test(line))
      expect({ status, stdout: server.stdout, lines }).toEqual({
        status: { code: 1, signal: null },
        stdout: "",
        lines: [expect.stringMatching(/^users-api: cannot ready the database \S+: database or disk is full/)]
      })
    } finally {
      await server.stop()
    }
  }, 40_000)
}
