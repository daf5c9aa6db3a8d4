/**
 * The Deno entry (`npm run start:deno`, `deno task start`): an SQLite file under data/ (node:sqlite) and the one
 * fetch handler on Deno.serve. Without JWKS or JWKS_URL in the environment, on the loopback and without production
 * settings, it runs in local dev mode: the dev signing key and the demo tenant from data/dev-state.json (shared
 * with the Bun entry), seeded into the file, and a ready-to-paste curl printed on start (startup.ts). deno.json's
 * `start` task grants the net, files and environment this needs: a remote JWKS_URL or a HOST other than the
 * loopback needs a wider --allow-net.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import type { Env } from "./config.js"
import { DATA_DIR } from "./dev/state.js"
import { makeFetchHandler } from "./handler.js"
import { canonicalRequest } from "./http/canonical-request.js"
import { SqliteDenoLive } from "./layers/sqlite-deno.js"
import { banner, baseUrlOf, startup } from "./startup.js"

// deno.json's task grants the whole environment, so that a misspelt JWT*/JWKS* name (JWKS_URI) can be reported like
// under Bun. Run with --allow-env naming variables instead, only these are read and misspellings go unseen.
const ENV_NAMES = [
  "PORT",
  "HOST",
  "JWKS",
  "JWKS_URL",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "JWT_ALGORITHMS",
  "JWKS_STALE_IF_ERROR_SECONDS",
  "JWKS_TIMEOUT_SECONDS",
  "JWT_MAX_AGE",
  "PHONE_FINGERPRINT_KEY",
  "IDEMPOTENCY_HASH_KEY"
] as const
const wholeEnvironment = Deno.permissions.querySync({ name: "env" }).state === "granted"
const env: Env = wholeEnvironment
  ? Deno.env.toObject()
  : Object.fromEntries(ENV_NAMES.map((name) => [name, Deno.env.get(name)]))

const fail = (message: string): never => {
  console.error(`users-api: ${message}`)
  Deno.exit(1)
}

const warn = (message: string) => console.error(`users-api: warning: ${message}`)
if (!wholeEnvironment) warn("--allow-env names variables, so misspelt JWT* and JWKS* variables cannot be reported")
const config = await startup(env, 8788, fail, warn)
// Only once the configuration is accepted: a refused start writes nothing.
mkdirSync(DATA_DIR, { recursive: true })
const filename = join(DATA_DIR, "users-deno.sqlite")
const handler = makeFetchHandler(
  SqliteDenoLive(filename, config.jwt, config.seedSql !== undefined ? { seedSql: config.seedSql } : {}),
  { phoneFingerprintKey: config.phoneFingerprintKey, idempotencyHashKey: config.idempotencyHashKey }
)

const server = (() => {
  try {
    // onListen replaces Deno's own "Listening on" line; the banner below says where to go.
    return Deno.serve(
      { port: config.port, hostname: config.hostname, onListen: () => {} },
      (request) => handler.fetch(canonicalRequest(request))
    )
  } catch (error) {
    return fail(
      `cannot listen on ${config.hostname}:${config.port}: ${error instanceof Error ? error.message : String(error)}`
    )
  }
})()

console.log(
  await banner({
    runtime: "Deno",
    baseUrl: baseUrlOf(config.hostname, server.addr.port),
    hostname: config.hostname,
    devState: config.devState,
    filename,
    cwd: Deno.cwd(),
    credentialsCommand: "npm run dev:credentials -- --runtime deno"
  })
)

let stopping = false
const stop = async (signal: Deno.Signal) => {
  if (stopping) return
  stopping = true
  console.log(`users-api: ${signal}, stopping`)
  // Lets in-flight requests finish, but not for ever.
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5_000))
  await Promise.race([server.shutdown(), timeout])
  await handler.dispose()
  Deno.exit(0)
}
Deno.addSignalListener("SIGINT", () => void stop("SIGINT"))
Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"))
