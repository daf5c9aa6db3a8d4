/**
 * The D1 write's per-isolate lock and known chain heads (src/layers/d1.ts): one handler (one isolate) reads the
 * chain head once and then writes on the head it left; a second handler over the same D1 (another isolate) moves
 * the chain under it, and the first still answers as if it had read the head: no 409, no false 412, no broken chain.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { env } from "cloudflare:test"
import { Effect, Fiber } from "effect"
import { verifyChain } from "../../src/audit/chain.js"
import { makeFetchHandler } from "../../src/handler.js"
import { D1Live, makeKeyedLock } from "../../src/layers/d1.js"
import { type EventRow, SELECT_CHAIN, SELECT_HEAD, toStoredLink } from "../../src/layers/sql/rows.js"
import { handlerOptions, jwtConfig, makeApiClient, seedTenant } from "./support/d1-fixture.js"

/** env.DB, counting the chain-head queries that reach D1 (the SQL client prepares once, then binds and runs). */
const countingDb = () => {
  const counter = { headReads: 0 }
  const counted = (statement: D1PreparedStatement): D1PreparedStatement => {
    const bind = statement.bind.bind(statement)
    return Object.assign(Object.create(statement), {
      bind: (...params: Array<unknown>) => {
        const bound = bind(...params)
        const all = bound.all.bind(bound)
        return Object.assign(Object.create(bound), {
          all: () => {
            counter.headReads++
            return all()
          }
        })
      }
    })
  }
  const db = new Proxy(env.DB, {
    get(target, property) {
      if (property === "prepare") {
        return (query: string) => (query === SELECT_HEAD ? counted(target.prepare(query)) : target.prepare(query))
      }
      const value = Reflect.get(target, property)
      return typeof value === "function" ? value.bind(target) : value
    }
  })
  return { db, counter }
}

const chainOf = async (organizationId: string) => {
  const all = (await env.DB.prepare(SELECT_CHAIN).all<EventRow>()).results
  return verifyChain(all.filter((row) => row.organization_id === organizationId).map(toStoredLink))
}

describe("the D1 write's known chain heads", () => {
  const first = countingDb()
  const isolateA = makeFetchHandler(D1Live(first.db, jwtConfig), handlerOptions)
  const isolateB = makeFetchHandler(D1Live(env.DB, jwtConfig), handlerOptions)
  afterAll(async () => {
    await isolateA.dispose()
    await isolateB.dispose()
  })

  it("reads the head once, then writes on the head it left, and still answers when another isolate moved it", async () => {
    const tenant = await seedTenant()
    const a = await makeApiClient(isolateA.fetch, tenant)
    const b = await makeApiClient(isolateB.fetch, tenant)
    expect((await a.createUser("u_known")).status).toBe(201)
    const readsAfterCreate = first.counter.headReads

    for (const n of ["+14155552671", "+14155552672", "+14155552673"]) {
      expect((await a.updatePhoneNumber("u_known", n)).status).toBe(200)
    }
    // Each write after the first used the head this isolate left, without reading it from D1.
    expect(readsAfterCreate).toBe(1)
    expect(first.counter.headReads).toBe(readsAfterCreate)

    // Another isolate extends the chain: A's known head is stale now.
    expect((await b.createUser("u_other")).status).toBe(201)
    const pinned = await a.updatePhoneNumber("u_known", "+14155552674", { headers: { "if-match": '"4"' } })
    expect(pinned.status).toBe(200)
    expect(await pinned.json()).toMatchObject({ version: 5 })
    expect((await b.updatePhoneNumber("u_other", "+14155552675")).status).toBe(200)
    expect((await a.updatePhoneNumber("u_known", "+14155552676")).status).toBe(200)

    // Each time B wrote in between, A's known head was stale: one refused batch, one fresh read, then success.
    expect(first.counter.headReads).toBe(readsAfterCreate + 2)
    const chain = await chainOf(tenant.organizationId)
    expect(chain.broken).toBeUndefined()
    expect(chain.checked).toBe(8)
  })

  it("keeps 12 concurrent writers of one organization in one isolate free of lost races", async () => {
    const tenant = await seedTenant()
    const a = await makeApiClient(isolateA.fetch, tenant)
    const ids = Array.from({ length: 12 }, (_, i) => `u_c${i}`)
    await Promise.all(ids.map((id) => a.createUser(id)))
    const answers = await Promise.all(ids.map((id, i) => a.updatePhoneNumber(id, `+1415555${2700 + i}`)))
    expect(answers.map((r) => r.status)).toEqual(ids.map(() => 200))
    const chain = await chainOf(tenant.organizationId)
    expect(chain.broken).toBeUndefined()
    expect(chain.checked).toBe(24)
  })
})

describe("the keyed lock", () => {
  it.live("lets one holder per key run at a time, first come first served, and forgets idle keys", () =>
    Effect.gen(function*() {
      const lock = makeKeyedLock()
      const order: Array<string> = []
      const task = (key: string, name: string) =>
        lock.withLock(key)(Effect.gen(function*() {
          order.push(`${name}+`)
          yield* Effect.sleep("5 millis")
          order.push(`${name}-`)
        }))
      const fibers = yield* Effect.forEach(["a1", "a2", "a3"], (name) => Effect.fork(task("a", name)))
      yield* Effect.forEach(fibers, Fiber.join)
      expect(order).toEqual(["a1+", "a1-", "a2+", "a2-", "a3+", "a3-"])
      expect(lock.size).toBe(0)
    }))

  it.live("skips a waiter that gave up", () =>
    Effect.gen(function*() {
      const lock = makeKeyedLock()
      const holder = yield* Effect.fork(lock.withLock("k")(Effect.sleep("20 millis")))
      yield* Effect.sleep("1 millis")
      const quitter = yield* Effect.fork(lock.withLock("k")(Effect.void))
      yield* Effect.sleep("1 millis")
      yield* Fiber.interrupt(quitter)
      yield* Fiber.join(holder)
      const ran = yield* lock.withLock("k")(Effect.succeed("ran"))
      expect(ran).toBe("ran")
      expect(lock.size).toBe(0)
    }))
})
