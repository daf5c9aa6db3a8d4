/**
 * The Deno entry (`npm run start:deno`, `deno task start`): an SQLite file under data/ (node:sqlite) and the one
 * fetch handler on Deno.serve. Without JWKS or JWKS_URL in the environment it runs in local dev mode: the dev
 * signing key and the demo tenant from data/dev-state.json (shared with the Bun entry), seeded into the file,
 * and a ready-to-paste curl printed on start. deno.json's `start` task grants only what this needs: a remote
 * JWKS_URL or a HOST other than the loopback needs a wider --allow-net.
 */
import { mkdirSync } from "node:fs"
import { join, relative } from "node:path"
import { ConfigError, type Env, jwtConfigFromEnv, phoneFingerprintKeyFromEnv } from "./config.js"
import { signUserToken } from "./dev/signing.js"
import { DATA_DIR, devJwtEnv, devSeedSql, type DevState, loadOrCreateDevState } from "./dev/state.js"
import { makeFetchHandler } from "./handler.js"
import { canonicalRequest } from "./http/canonical-request.js"
import type { JwtConfig } from "./layers/auth/jwt.js"
import { SqliteDenoLive } from "./layers/sqlite-deno.js"

// Read by name: the task's --allow-env lists exactly these (and none of the rest of the environment).
const ENV_NAMES = ["PORT", "HOST", "JWKS", "JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE", "JWT_ALGORITHMS", "PHONE_FINGERPRINT_KEY"] as const
const env: Env = Object.fromEntries(ENV_NAMES.map((name) => [name, Deno.env.get(name)]))

const port = Number(env.PORT ?? 8788)
const hostname = env.HOST ?? "127.0.0.1"
const filename = join(DATA_DIR, "users-deno.sqlite")
const devMode = !env.JWKS && !env.JWKS_URL

const fail = (message: string): never => {
  console.error(`users-api: ${message}`)
  Deno.exit(1)
}

if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be a port number, not ${JSON.stringify(env.PORT)}`)

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
const fingerprintKey = (): string | undefined => {
  try {
    return phoneFingerprintKeyFromEnv(env)
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error))
  }
}
const jwt = state !== undefined ? jwtConfigFromEnv(devJwtEnv(state)) : productionJwt()
const seedSql = state !== undefined ? await devSeedSql(state, new Date().toISOString()) : undefined
const handler = makeFetchHandler(SqliteDenoLive(filename, jwt, seedSql !== undefined ? { seedSql } : {}), {
  phoneFingerprintKey: fingerprintKey()
})

const server = (() => {
  try {
    // onListen replaces Deno's own "Listening on" line; the banner below says where to go.
    return Deno.serve({ port, hostname, onListen: () => {} }, (request) => handler.fetch(canonicalRequest(request)))
  } catch (error) {
    return fail(`cannot listen on ${hostname}:${port}: ${error instanceof Error ? error.message : String(error)}`)
  }
})()

// A wildcard address is not one to send requests to; the loopback reaches it from this machine.
const reachable = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname
const baseUrl = `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${server.addr.port}`

const devBanner = async (devState: DevState) => {
  const token = await signUserToken(devState.signingKey, devState.userId, { expiresIn: "24h" })
  const shown = relative(Deno.cwd(), filename).startsWith("..") ? filename : relative(Deno.cwd(), filename)
  return [
    `users-api (Deno) listening on ${baseUrl}  (local dev mode, database ${shown})`,
    `API reference: ${baseUrl}/docs`,
    "",
    "Set the demo user's phone number:",
    "",
    `curl -sS -X POST ${baseUrl}/users/${devState.userId}/UpdatePhoneNumber \\`,
    `  -H 'Authorization: Bearer ${token}' \\`,
    `  -H 'X-API-Key: ${devState.apiKey}' \\`,
    "  -H 'Content-Type: application/json' \\",
    `  -d '{"phoneNumber":"+14155552671"}'`,
    "",
    "The token is valid for 24 hours. Fresh user and service tokens: npm run dev:credentials -- --runtime deno",
    ""
  ].join("\n")
}

console.log(state !== undefined ? await devBanner(state) : `users-api (Deno) listening on ${baseUrl}`)

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
