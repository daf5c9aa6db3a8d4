/**
 * The Bun entry (`npm start`, `bun src/bun.ts`): an SQLite file under data/ and the one fetch handler on Bun.serve.
 * Without JWKS or JWKS_URL in the environment it runs in local dev mode: the dev signing key and the demo
 * tenant from data/dev-state.json, seeded into the file, and a ready-to-paste curl printed on start.
 */
import { mkdirSync } from "node:fs"
import { join, relative } from "node:path"
import { ConfigError, jwtConfigFromEnv, phoneFingerprintKeyFromEnv } from "./config.js"
import { signUserToken } from "./dev/signing.js"
import { DATA_DIR, devJwtEnv, devSeedSql, type DevState, loadOrCreateDevState } from "./dev/state.js"
import { makeFetchHandler } from "./handler.js"
import { canonicalRequest } from "./http/canonical-request.js"
import type { JwtConfig } from "./layers/auth/jwt.js"
import { SqliteBunLive } from "./layers/sqlite-bun.js"

const env = process.env
const port = Number(env.PORT || 8787)
const hostname = env.HOST || "127.0.0.1"
const filename = join(DATA_DIR, "users.sqlite")
const devMode = !env.JWKS && !env.JWKS_URL

const fail = (message: string): never => {
  console.error(`users-api: ${message}`)
  process.exit(1)
}

if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be a port number, not ${JSON.stringify(env.PORT)}`)

const fingerprintKey = (): string | undefined => {
  try {
    return phoneFingerprintKeyFromEnv(process.env)
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error))
  }
}

const productionJwt = (): JwtConfig => {
  try {
    return jwtConfigFromEnv(env)
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message)
    if (error instanceof SyntaxError) return fail("JWKS is not valid JSON (an inline JSON key set)")
    throw error
  }
}

mkdirSync(DATA_DIR, { recursive: true })
const state: DevState | undefined = devMode ? await loadOrCreateDevState() : undefined
const jwt = state !== undefined ? jwtConfigFromEnv(devJwtEnv(state)) : productionJwt()
const seedSql = state !== undefined ? await devSeedSql(state, new Date().toISOString()) : undefined
const handler = makeFetchHandler(SqliteBunLive(filename, jwt, seedSql !== undefined ? { seedSql } : {}), {
  phoneFingerprintKey: fingerprintKey()
})

const serve = () => {
  try {
    return Bun.serve({ port, hostname, fetch: (request) => handler.fetch(canonicalRequest(request)) })
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === "EADDRINUSE") return fail(`port ${port} on ${hostname} is in use; set PORT to another one`)
    throw error
  }
}
const server = serve()

// A wildcard address is not one to send requests to; the loopback reaches it from this machine.
const reachable = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname
const baseUrl = `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${server.port}`

const devBanner = async (devState: DevState) => {
  const token = await signUserToken(devState.signingKey, devState.userId, { expiresIn: "24h" })
  const shown = relative(process.cwd(), filename).startsWith("..") ? filename : relative(process.cwd(), filename)
  return [
    `users-api (Bun) listening on ${baseUrl}  (local dev mode, database ${shown})`,
    `API reference: ${baseUrl}/docs  (OpenAPI document: ${baseUrl}/openapi.json)`,
    "",
    "Set the demo user's phone number:",
    "",
    `curl -sS -X POST ${baseUrl}/users/${devState.userId}/UpdatePhoneNumber \\`,
    `  -H 'Authorization: Bearer ${token}' \\`,
    `  -H 'X-API-Key: ${devState.apiKey}' \\`,
    "  -H 'Content-Type: application/json' \\",
    `  -d '{"phoneNumber":"+14155552671"}'`,
    "",
    "The token is valid for 24 hours. Fresh user and service tokens: npm run dev:credentials",
    ""
  ].join("\n")
}

console.log(state !== undefined ? await devBanner(state) : `users-api (Bun) listening on ${baseUrl}`)

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
