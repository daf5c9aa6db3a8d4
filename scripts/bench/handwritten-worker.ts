/**
 * The hand-written baseline on Workers (issue 10): handwritten-endpoint.ts's endpoint, without Effect and caching
 * nothing, over D1 as a Worker would write it by hand (handwritten-d1.ts: the API key looked up on every request,
 * then the bare Worker's read and `batch()`). Settings from the Worker's string bindings, as the service's (JWKS,
 * JWT_ISSUER, JWT_AUDIENCE, JWT_ALGORITHMS).
 */
import { jwtConfigFromEnv, stringBindings } from "../../src/config.js"
import { d1Store } from "./handwritten-d1.js"
import { makeHandle } from "./handwritten-endpoint.js"

type Env = { readonly DB: D1Database } & Record<string, unknown>

// Made on the isolate's first request, from its env (one per isolate, as the service's handler is).
let handle: ReturnType<typeof makeHandle> | undefined

export default {
  fetch: (request: Request, env: Env): Promise<Response> => {
    handle ??= makeHandle(jwtConfigFromEnv(stringBindings(env)), d1Store(env.DB))
    return handle(request)
  }
}
