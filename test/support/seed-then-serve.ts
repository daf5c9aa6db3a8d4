/**
 * Run by Bun for test/security/sqlite-start.test.ts (bun:sqlite cannot load under Node):
 *
 * - `handles`: seeds a file with scripts/bench/seed.ts and readies another with prepareBunSqliteFile, then prints
 *   which of their files this process still holds open (a connection closed with unfinalized statements stays
 *   open until garbage collection, and its last close takes the file's lock at a moment nobody chose).
 * - `rounds N`: what `npm run bench` does before it loads the Bun endpoint, N times back to back: seed a fresh file
 *   in this process (which stays alive, as the bench does), start `bun src/bun.ts` on it at once, wait for /healthz.
 *
 * Prints one JSON value on stdout.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { seedSqliteFile } from "../../scripts/bench/seed.js"
import { makeCredentials, makeUsers } from "../../scripts/bench/workload.js"
import { freePort } from "../../scripts/lib/free-port.js"
import { prepareBunSqliteFile } from "../../src/layers/sqlite/bun.js"

const credentials = await makeCredentials()
const users = makeUsers(200)

const openFilesUnder = (dir: string) =>
  readdirSync("/proc/self/fd").map((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      return ""
    }
  }).filter((path) => path.startsWith(dir)).map((path) => path.slice(dir.length + 1)).sort()

const handles = async () => {
  const dir = mkdtempSync(join(tmpdir(), "users-api-handles-"))
  try {
    await seedSqliteFile(join(dir, "seeded.sqlite"), { apiKeyHash: credentials.apiKeyHash, users })
    prepareBunSqliteFile(join(dir, "prepared.sqlite"))
    return openFilesUnder(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const serveOnce = async (round: number) => {
  const dir = mkdtempSync(join(tmpdir(), "users-api-seed-serve-"))
  try {
    await seedSqliteFile(join(dir, "users.sqlite"), { apiKeyHash: credentials.apiKeyHash, users })
    const port = await freePort()
    const child = spawn(process.execPath, ["src/bun.ts"], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NO_COLOR: "1",
        ...credentials.serverEnv,
        USERS_API_DATA_DIR: dir,
        PORT: String(port),
        HOST: "127.0.0.1"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    // Were the seeding connection still open, its last close would come whenever the collector ran: here, while
    // the server opens the file.
    setTimeout(() => Bun.gc(true), (round * 29) % 300)
    let status: number | string = "no answer within 10 s"
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        status = `exited with ${child.exitCode}`
        break
      }
      const answer = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) })
        .catch(() => undefined)
      if (answer !== undefined) {
        status = answer.status
        break
      }
      await Bun.sleep(50)
    }
    child.kill("SIGKILL")
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve)))
    return { round, status, ...(status === 200 ? {} : { output: output.slice(-2000) }) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const [mode, count] = process.argv.slice(2)
if (mode === "handles") {
  console.log(JSON.stringify(await handles()))
} else {
  const results = []
  for (let round = 1; round <= Number(count ?? "15"); round++) results.push(await serveOnce(round))
  console.log(JSON.stringify(results))
}
