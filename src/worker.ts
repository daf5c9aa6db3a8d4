/**
 * The Cloudflare Workers entry: D1 as the store, settings from the Worker's vars and secrets (WorkerEnv, generated
 * from wrangler.toml by `npm run types:worker`), audit checkpoints on the cron trigger. The handler is built on an
 * isolate's first request and reused by the ones after it.
 */
import { HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { sealUnsealedOrganizations } from "./app/checkpoints.js"
import { ConfigError, idempotencyHashKeyFromEnv, jwtConfigFromEnv, phoneFingerprintKeyFromEnv } from "./config.js"
import { type FetchHandler, makeFetchHandler } from "./fetch-handler.js"
import { problemResponse, toProblem } from "./http/problems.js"
import { D1Services } from "./layers/d1.js"

/**
 * Every binding may be missing from a misconfigured deployment: each is checked when the handler is built. DB is the
 * directory and shard 0; DB_1, DB_2, … are the further shards (src/layers/d1.ts), numbered without gaps.
 */
export type Bindings = Partial<WorkerEnv>

const shardsOf = (env: Bindings): Array<D1Database> => {
  const bound = env as Readonly<Record<string, unknown>>
  const shards: Array<D1Database> = []
  for (let n = 1; typeof bound[`DB_${n}`] === "object" && bound[`DB_${n}`] !== null; n++) {
    shards.push(bound[`DB_${n}`] as D1Database)
  }
  const stray = Object.keys(env).find((name) => /^DB_\d+$/.test(name) && Number(name.slice(3)) > shards.length)
  if (stray !== undefined) throw new ConfigError(`the D1 binding ${stray} is bound but DB_${shards.length + 1} is not`)
  return shards
}

// Keyed by the env object (one per isolate in production), so a different env never reuses a stale handler.
const handlers = new WeakMap<object, FetchHandler>()

const handlerFor = (env: Bindings): FetchHandler => {
  const built = handlers.get(env)
  if (built !== undefined) return built
  const { DB: db } = env
  // The settings are the Worker's vars and secrets: its string bindings.
  const vars: Record<string, string> = Object.fromEntries(
    Object.entries(env).filter((binding): binding is [string, string] => typeof binding[1] === "string")
  )
  if (db === undefined) throw new ConfigError("the D1 binding DB is missing (see wrangler.toml)")
  const shards = shardsOf(env)
  let jwt
  try {
    jwt = jwtConfigFromEnv(vars)
  } catch (error) {
    if (error instanceof SyntaxError) throw new ConfigError("JWKS is not valid JSON (an inline JSON key set)")
    throw error
  }
  // A Worker has no local dev mode: `npm run dev:worker` writes the dev state's key to .dev.vars.
  const handler = makeFetchHandler(D1Services(db, jwt, shards), {
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
  const response = problemResponse(toProblem({ _tag: "Misconfigured", detail }, requestId))
  return HttpServerResponse.toWeb(HttpServerResponse.setHeader(response, "x-request-id", requestId))
}

export default {
  fetch(request: Request, env: Bindings, ctx?: ExecutionContext): Promise<Response> {
    let handler: FetchHandler
    try {
      handler = handlerFor(env)
    } catch (error) {
      return Promise.resolve(misconfigured(error))
    }
    const response = handler.fetch(request)
    // The first request also builds the isolate's shared runtime; were its client to disconnect, workerd would
    // cancel that build and every later request would wait on it (Effect-TS/effect#6319). waitUntil lets it finish.
    ctx?.waitUntil(response.then(() => undefined, () => undefined))
    return response
  },
  scheduled(_controller: ScheduledController, env: Bindings, ctx: ExecutionContext): void {
    const round = handlerFor(env).run(
      Effect.asVoid(
        Effect.catchAll(
          sealUnsealedOrganizations,
          (error) =>
            Effect.sync(() =>
              console.error(JSON.stringify({ level: "error", msg: "checkpoint round failed", kind: error._tag }))
            )
        )
      )
    )
    ctx.waitUntil(round.done)
  }
}
