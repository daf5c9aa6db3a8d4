/**
 * The design's floor for this endpoint on Workers (issue 10: a limit is shown, not assumed): the hand-written endpoint
 * (handwritten-endpoint.ts, no Effect) remembering each caller's credentials as the service does, over the hand-written
 * Worker's D1 store (handwritten-d1.ts), as the work of this project's route in the one-group HttpApi of
 * floor-httpapi.ts, and writing the service's log line on the console. It does what the design requires of any
 * implementation (HttpApi, the endpoint's checks, its answer and its log line) with the service's caches and none of
 * this project's layering, so `npm run bench` reads the service against it in the same run: what the service keeps of
 * it is the price of that layering, and what it keeps of the bare Worker is the most any implementation of this
 * design could reach.
 */
import { jwtConfigFromEnv, stringBindings } from "../../src/config.js"
import { answeredBy, floorHandler } from "./floor-httpapi.js"
import { d1Store } from "./handwritten-d1.js"
import { makeHandle } from "./handwritten-endpoint.js"

type Env = { readonly DB: D1Database } & Record<string, unknown>

// Made on the isolate's first request, from its env (one per isolate, as the service's handler is).
let handle: ReturnType<typeof makeHandle> | undefined

const fetch = floorHandler({ healthPath: "/healthz", update: answeredBy((request) => handle!(request)) })

export default {
  fetch: (request: Request, env: Env): Promise<Response> => {
    handle ??= makeHandle(jwtConfigFromEnv(stringBindings(env)), d1Store(env.DB), { rememberCredentials: true })
    return fetch(request)
  }
}
