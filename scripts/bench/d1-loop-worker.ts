/**
 * Writes in a loop inside one request (d1-loop.ts): `POST /loop?mode=M` with a JSON array of [userId, number] pairs
 * sends each pair's UpdatePhoneNumber through the Worker M names, one after another inside this request (or
 * `&in-flight=N` at a time, as N concurrent requests share an isolate), so no request of workerd's own comes between
 * them and workerd's CPU around the request is theirs. Answers 200 when every write answered 200.
 *
 * The modes (MODES): the Workers the other benches run, called with the same request, `bare` (bare-worker.ts),
 * `bareLogLine` (the same writing the service's log line), `floor` (bare-httpapi-worker.ts: the bare write behind one
 * HttpApi route), `designFloor` (handwritten-cached-httpapi-worker.ts: the hand-written endpoint with the service's
 * credential cache behind one HttpApi route, its log line on the console) and `service` (src/worker.ts: real Auth, the
 * log line on the console); then, to split the service,
 * `serviceHandler` (src/fetch-handler.ts's handler over D1 with real Auth, the log line discarded, no Workers host
 * around it), `serviceFixedAuth` (the same with a fixed principal, assemblies.ts) and two pieces with no storage at
 * all (pieces.ts), `floorNoStore` (the floor's route with a constant answer) and `serviceNoStore` (the service's
 * handler over the in-memory doubles, fixed principal), which send the pieces' own writes and ignore the pairs.
 */
import { Layer } from "effect"
import { idempotencyHashKeyFromEnv, jwtConfigFromEnv, stringBindings } from "../../src/config.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { D1Services } from "../../src/layers/d1.js"
import service from "../../src/worker.js"
import { benchPrincipal, type Fetch, fixedAuth, serviceApp } from "./assemblies.js"
import bareHttpApi from "./bare-httpapi-worker.js"
import bare from "./bare-worker.js"
import designFloor from "./handwritten-cached-httpapi-worker.js"
import { PIECES } from "./pieces.js"

interface Env {
  readonly DB: D1Database
  /** The bench's service token and API key (d1-loop.ts), for the service's real Auth. */
  readonly BENCH_TOKEN: string
  readonly BENCH_KEY: string
}

type Write = (userId: string, phoneNumber: string) => Promise<Response>

const request = (userId: string, phoneNumber: string, headers: Record<string, string> = {}) => {
  const body = JSON.stringify({ phoneNumber })
  return new Request(`http://127.0.0.1/users/${userId}/UpdatePhoneNumber`, {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": String(body.length), ...headers },
    body
  })
}

// Built on first use, inside a request, as the service's handler is.
let fixedAuthHandler: Fetch | undefined
const withFixedAuth = (env: Env): Fetch =>
  fixedAuthHandler ??= (() => {
    const vars = stringBindings(env)
    const services = Layer.merge(
      D1Services(env.DB, jwtConfigFromEnv(vars)),
      fixedAuth(benchPrincipal)
    )
    return serviceApp(services, { edge: true, docs: true, idempotencyHashKey: idempotencyHashKeyFromEnv(vars) })
  })()

let realAuthHandler: Fetch | undefined
const withRealAuth = (env: Env): Fetch =>
  realAuthHandler ??= (() => {
    const vars = stringBindings(env)
    return makeFetchHandler(D1Services(env.DB, jwtConfigFromEnv(vars)), {
      log: () => undefined,
      idempotencyHashKey: idempotencyHashKeyFromEnv(vars)
    }).fetch
  })()

const credentials = (env: Env) => ({ authorization: `Bearer ${env.BENCH_TOKEN}`, "x-api-key": env.BENCH_KEY })

const piece = (name: string): Write => async () => {
  // A piece checks its own answer (pieces.ts); what it returns here only ends the write.
  await PIECES[name]!.run()
  return new Response(null, { status: 200 })
}

const MODES: Record<string, (env: Env, ctx: ExecutionContext) => Write> = {
  bare: (env) => (id, number) => bare.fetch(request(id, number), env),
  bareLogLine: (env) => (id, number) => bare.fetch(request(id, number), { ...env, LOG_LINE: "1" }),
  floor: (env) => (id, number) => bareHttpApi.fetch(request(id, number), env),
  designFloor: (env) => (id, number) => designFloor.fetch(request(id, number, credentials(env)), env as never),
  service: (env, ctx) => (id, number) => service.fetch(request(id, number, credentials(env)), env as never, ctx),
  serviceHandler: (env) => (id, number) => withRealAuth(env)(request(id, number, credentials(env))),
  serviceFixedAuth: (env) => (id, number) => withFixedAuth(env)(request(id, number)),
  floorNoStore: () => piece("httpApiPost"),
  serviceNoStore: () => piece("servicePost")
}

export default {
  fetch: async (incoming: Request, env: Env, ctx: ExecutionContext): Promise<Response> => {
    const url = new URL(incoming.url)
    if (url.pathname !== "/loop") return new Response("ok")
    const mode = MODES[url.searchParams.get("mode") ?? ""]
    if (mode === undefined) return new Response("unknown mode", { status: 404 })
    const send = mode(env, ctx)
    const pairs = (await incoming.json()) as Array<[string, string]>
    // `in-flight` writes at a time (default 1: one after another), as concurrent requests share an isolate.
    const inFlight = Math.max(1, Number(url.searchParams.get("in-flight") ?? 1))
    let next = 0
    let failed: number | undefined
    const writer = async () => {
      while (next < pairs.length && failed === undefined) {
        const [id, number] = pairs[next++]!
        const response = await send(id, number)
        await response.arrayBuffer()
        if (response.status !== 200) failed = response.status
      }
    }
    await Promise.all(Array.from({ length: inFlight }, writer))
    return failed === undefined ? new Response("ok") : new Response(`a write answered ${failed}`, { status: 500 })
  }
}
