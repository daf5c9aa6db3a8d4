/**
 * The Bun entry (`npm start`, `bun src/bun.ts`): an SQLite file under data/ and the one fetch handler on Bun.serve.
 * Without JWKS or JWKS_URL in the environment, on the loopback and without production settings, it runs in local
 * dev mode: the dev signing key and the demo tenant from data/dev-state.json, seeded into the file, and a
 * ready-to-paste curl printed on start (startup.ts; a misconfigured production start is refused instead).
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { DATA_DIR } from "./dev/state.js"
import { makeFetchHandler } from "./handler.js"
import { canonicalRequest } from "./http/canonical-request.js"
import { SqliteBunLive } from "./layers/sqlite-bun.js"
import { banner, baseUrlOf, startup } from "./startup.js"

const fail = (message: string): never => {
  console.error(`users-api: ${message}`)
  process.exit(1)
}

const config = await startup(process.env, 8787, fail, (message) => console.error(`users-api: warning: ${message}`))
// Only once the configuration is accepted: a refused start writes nothing.
mkdirSync(DATA_DIR, { recursive: true })
const filename = join(DATA_DIR, "users.sqlite")
const handler = makeFetchHandler(
  SqliteBunLive(filename, config.jwt, config.seedSql !== undefined ? { seedSql: config.seedSql } : {}),
  { phoneFingerprintKey: config.phoneFingerprintKey, idempotencyHashKey: config.idempotencyHashKey }
)

const serve = () => {
  try {
    return Bun.serve({
      port: config.port,
      hostname: config.hostname,
      fetch: (request) => handler.fetch(canonicalRequest(request))
    })
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === "EADDRINUSE") {
      return fail(`port ${config.port} on ${config.hostname} is in use; set PORT to another one`)
    }
    throw error
  }
}
const server = serve()

console.log(
  await banner({
    runtime: "Bun",
    baseUrl: baseUrlOf(config.hostname, server.port ?? config.port),
    hostname: config.hostname,
    devState: config.devState,
    filename,
    cwd: process.cwd(),
    credentialsCommand: "npm run dev:credentials"
  })
)

let stopping = false
const stop = async (signal: string) => {
  if (stopping) return
  stopping = true
  console.log(`users-api: ${signal}, stopping`)
  // Lets in-flight requests finish, but not for ever.
  await Promise.race([server.stop(), Bun.sleep(5_000).then(() => server.stop(true))])
  await handler.dispose()
  process.exit(0)
}
process.on("SIGINT", () => void stop("SIGINT"))
process.on("SIGTERM", () => void stop("SIGTERM"))
