/**
 * `npm run dev:worker`: the Worker under `wrangler dev` on local D1, with the same dev state as the other runtimes
 * (data/dev-state.json): migrations applied, the demo tenant seeded (idempotent), the dev JWKS and the dev
 * IDEMPOTENCY_HASH_KEY written to .dev.vars (git-ignored), a ready-to-paste curl printed, then wrangler dev in the
 * foreground, quiet offline, with a scheduled event every 10 s in place of the cron (scripts/lib/local-wrangler.ts).
 * Port: 8789, or PORT, or `--port N`; any other arguments go to wrangler dev.
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { signUserToken } from "../src/dev/signing.js"
import { devSeedSql, devWorkerEnv, loadOrCreateDevState } from "../src/dev/state.js"
import { QUIET_WRANGLER_ENV, startLocalCron } from "./lib/local-wrangler.js"

const root = join(import.meta.dir, "..")
const wrangler = join(root, "node_modules", ".bin", "wrangler")
const env = { ...process.env, ...QUIET_WRANGLER_ENV }

const fail = (message: string): never => {
  console.error(`dev:worker: ${message}`)
  process.exit(1)
}

const parseArgs = (args: ReadonlyArray<string>) => {
  let port = process.env.PORT || "8789"
  const rest: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--port") port = args[++i] ?? fail("--port needs a value")
    else if (arg.startsWith("--port=")) port = arg.slice("--port=".length)
    else rest.push(arg)
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) fail(`the port must be a number, not ${JSON.stringify(port)}`)
  return { port, rest }
}

/** Runs wrangler to completion; a quiet run shows its output only when it fails. */
const run = (args: ReadonlyArray<string>, what: string, quiet = false) => {
  const result = spawnSync(wrangler, args, {
    cwd: root,
    env,
    stdio: ["ignore", quiet ? "pipe" : "inherit", quiet ? "pipe" : "inherit"],
    encoding: "utf8"
  })
  if (result.error) fail(`${what}: ${result.error.message}`)
  if (result.status !== 0) {
    if (quiet) console.error(`${result.stdout}${result.stderr}`)
    fail(`${what} failed (wrangler exited with ${result.status})`)
  }
}

// dotenv format; the JWKS is JSON (double quotes only), so single quotes keep it verbatim.
const dotenv = (vars: Record<string, string>) =>
  Object.entries(vars).map(([name, value]) => `${name}='${value}'`).join("\n") + "\n"

const { port, rest } = parseArgs(process.argv.slice(2))
const state = await loadOrCreateDevState()

run(["d1", "migrations", "apply", "DB", "--local"], "applying migrations to local D1")

const seedDir = mkdtempSync(join(tmpdir(), "users-api-seed-"))
try {
  const seedFile = join(seedDir, "seed.sql")
  writeFileSync(seedFile, await devSeedSql(state, new Date().toISOString()))
  run(["d1", "execute", "DB", "--local", "--file", seedFile], "seeding local D1", true)
  console.log(`Local D1 seeded: organization ${state.organizationId}, user ${state.userId}, API key ${state.apiKeyId}`)
} finally {
  rmSync(seedDir, { recursive: true, force: true })
}

writeFileSync(join(root, ".dev.vars"), dotenv(devWorkerEnv(state)), { mode: 0o600 })

const baseUrl = `http://127.0.0.1:${port}`
const credentialsCommand = `npm run dev:credentials -- --runtime worker${port === "8789" ? "" : ` --port ${port}`}`
const token = await signUserToken(state.signingKey, state.userId, state.organizationId, { expiresIn: "24h" })
console.log([
  "",
  `users-api (Workers, local D1) starting on ${baseUrl}`,
  "",
  "Set the demo user's phone number:",
  "",
  `curl -sS -X POST ${baseUrl}/users/${state.userId}/UpdatePhoneNumber \\`,
  `  -H 'Authorization: Bearer ${token}' \\`,
  `  -H 'X-API-Key: ${state.apiKey}' \\`,
  "  -H 'Content-Type: application/json' \\",
  `  -d '{"phoneNumber":"+14155552671"}'`,
  "",
  `The token is valid for 24 hours. Fresh user and service tokens: ${credentialsCommand}`,
  ""
].join("\n"))

// --test-scheduled: the scheduled events come from startLocalCron, so wrangler's "not triggered locally" is moot.
const devArgs = ["dev", "--port", port, "--test-scheduled", ...rest]
const child = spawn(wrangler, devArgs, { cwd: root, env, stdio: "inherit" })
startLocalCron(baseUrl)
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
