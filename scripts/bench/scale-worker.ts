/**
 * The service's Worker (src/worker.ts) as the scale bench (scale.ts) bundles it, once for all its copies, behind an
 * isolate probe: `GET /__bench/isolate` answers this isolate's id (random, made on its first request), how many other
 * requests it has served, and how its D1 `batch()` calls went (made, refused and why: a stale chain head shows up here
 * as a refused batch before it is retried). Module state is per isolate, so K copies answering K different ids, each
 * the same before and after the load, are K isolates that lived through the run. Every named export of src/worker.ts
 * is passed on; this module exports nothing else, as a Worker's main module exports only handlers.
 */
import worker from "../../src/worker.js"

export * from "../../src/worker.js"

const ISOLATE_PATH = "/__bench/isolate"

export interface IsolateReport {
  readonly isolate: string
  readonly requests: number
  readonly batches: number
  /** Refused batches by reason (D1's message, shortened). */
  readonly refused: Record<string, number>
  /** Now: requests without their response yet, and D1 calls (batches, queries) without their result. */
  readonly pending: { readonly requests: number; readonly batches: number; readonly queries: number }
}

let batches = 0
const refused: Record<string, number> = {}
const pending = { requests: 0, batches: 0, queries: 0 }

/** `promise`, counted in `pending[what]` until it settles. */
const track = <A>(what: keyof typeof pending, promise: Promise<A>): Promise<A> => {
  pending[what]++
  const done = () => void pending[what]--
  promise.then(done, done)
  return promise
}

const QUERY_METHODS = new Set<PropertyKey>(["all", "first", "run", "raw"])

// D1's batch wants its own statements: the ones the proxies below stand for.
const unwrapped = new WeakMap<D1PreparedStatement, D1PreparedStatement>()

// A prepared statement whose queries are counted while pending; `bind` gives one of the same kind.
const countedStatement = (statement: D1PreparedStatement): D1PreparedStatement => {
  const counted = new Proxy(statement, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (typeof value !== "function") return value
      if (property === "bind") {
        return (...params: Array<unknown>) => countedStatement(value.apply(target, params) as D1PreparedStatement)
      }
      if (QUERY_METHODS.has(property)) {
        return (...args: Array<unknown>) => track("queries", value.apply(target, args) as Promise<unknown>)
      }
      return value.bind(target)
    }
  })
  unwrapped.set(counted, statement)
  return counted
}

const reasonOf = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).replace(/^D1_ERROR:\s*/, "").replace(/:\s*SQLITE_\w+.*$/, "")
    .slice(0, 100)

/** `db` with its batches and queries counted (every other property passed through untouched). */
const countedD1 = (db: D1Database): D1Database =>
  new Proxy(db, {
    get(target, property, receiver) {
      if (property === "batch") {
        return async (statements: Array<D1PreparedStatement>) => {
          batches++
          try {
            return await track("batches", target.batch(statements.map((st) => unwrapped.get(st) ?? st)))
          } catch (error) {
            const reason = reasonOf(error)
            refused[reason] = (refused[reason] ?? 0) + 1
            throw error
          }
        }
      }
      if (property === "prepare") return (query: string) => countedStatement(target.prepare(query))
      const value = Reflect.get(target, property, receiver)
      return typeof value === "function" ? value.bind(target) : value
    }
  })

interface FetchWorker<Env> {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>
}

/** `worker` behind the probe; its env's DB (if any) counted, the same wrapped env for every request of an env. */
const withIsolateProbe = <Env extends { readonly DB?: D1Database | undefined }>(
  worker: FetchWorker<Env>
): FetchWorker<Env> => {
  let isolate: string | undefined
  let requests = 0
  const envs = new WeakMap<Env, Env>()
  const counted = (env: Env): Env => {
    let wrapped = envs.get(env)
    if (wrapped === undefined) {
      wrapped = env.DB === undefined ? env : { ...env, DB: countedD1(env.DB) }
      envs.set(env, wrapped)
    }
    return wrapped
  }
  return {
    fetch(request, env, ctx) {
      isolate ??= crypto.randomUUID()
      if (request.method === "GET" && request.url.endsWith(ISOLATE_PATH)) {
        return Response.json({ isolate, requests, batches, refused, pending } satisfies IsolateReport)
      }
      requests++
      return track("requests", Promise.resolve(worker.fetch(request, counted(env), ctx)))
    }
  }
}

export default withIsolateProbe(worker)
