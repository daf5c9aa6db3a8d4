/**
 * The Cloudflare Workers entry: D1 as the store, JWT settings from the Worker's vars and secrets.
 * The handler is built on the first request of an isolate and reused by the ones after it.
 */
import { HttpServerResponse } from "@effect/platform"
import { ConfigError, idempotencyHashKeyFromEnv, jwtConfigFromEnv, phoneFingerprintKeyFromEnv } from "./config.js"
import { type FetchHandler, makeFetchHandler } from "./handler.js"
import { canonicalRequest } from "./http/canonical-request.js"
import { problemResponse } from "./http/problems.js"
import { D1Live } from "./layers/d1.js"

/** The bindings of wrangler.toml: the D1 database, the JWT vars/secrets read by jwtConfigFromEnv, and the secrets. */
export type WorkerEnv = {
  readonly DB?: D1Database
  readonly JWT_ISSUER?: string
  readonly JWT_AUDIENCE?: string
  readonly JWKS?: string
  readonly JWKS_URL?: string
  readonly JWT_ALGORITHMS?: string
  readonly JWKS_STALE_IF_ERROR_SECONDS?: string
  readonly JWKS_TIMEOUT_SECONDS?: string
  readonly JWT_MAX_AGE?: string
  readonly PHONE_FINGERPRINT_KEY?: string
  readonly IDEMPOTENCY_HASH_KEY?: string
}

// Keyed by the env object (one per isolate in production), so a different env never reuses a stale handler.
const handlers = new WeakMap<object, FetchHandler>()

const handlerFor = (env: WorkerEnv): FetchHandler => {
  const built = handlers.get(env)
  if (built !== undefined) return built
  const { DB: db, ...vars } = env
  if (db === undefined) throw new ConfigError("the D1 binding DB is missing (see wrangler.toml)")
  let jwt
  try {
    jwt = jwtConfigFromEnv(vars)
  } catch (error) {
    if (error instanceof SyntaxError) throw new ConfigError("JWKS is not valid JSON (an inline JSON key set)")
    throw error
  }
  // A Worker has no local dev mode: `npm run dev:worker` writes the dev state's key to .dev.vars.
  const handler = makeFetchHandler(D1Live(db, jwt), {
    phoneFingerprintKey: phoneFingerprintKeyFromEnv(vars),
    idempotencyHashKey: idempotencyHashKeyFromEnv(vars)
  })
  handlers.set(env, handler)
  return handler
}

const misconfigured = (error: unknown): Response => {
  const detail = error instanceof ConfigError
    ? `The service is misconfigured: ${error.message}.`
    : "The service could not start."
  const requestId = crypto.randomUUID()
  console.error(JSON.stringify({ level: "error", msg: "configuration error", requestId, detail }))
  const response = problemResponse(
    { status: 500, title: "Service misconfigured", code: "misconfigured", detail },
    requestId
  )
  return HttpServerResponse.toWeb(HttpServerResponse.setHeader(response, "x-request-id", requestId))
}

export default {
  fetch(request: Request, env: WorkerEnv, ctx?: ExecutionContext): Promise<Response> {
    let handler: FetchHandler
    try {
      handler = handlerFor(env)
    } catch (error) {
      return Promise.resolve(misconfigured(error))
    }
    const response = handler.fetch(canonicalRequest(request))
    // The first request also builds the isolate's shared runtime; were its client to disconnect, workerd would
    // cancel that build and every later request would wait on it (Effect-TS/effect#6319). waitUntil lets it finish.
    ctx?.waitUntil(response.then(() => undefined, () => undefined))
    return response
  }
}
