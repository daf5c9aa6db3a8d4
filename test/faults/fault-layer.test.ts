/**
 * The fault layer (test/support/faults.ts) on its own, around the real SQLite store: UserRepo.commit fails at the armed
 * step and only there, a `during` fault really is the database aborting a transaction that had written, and the
 * tables show what each step leaves behind.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { GENESIS_HASH } from "../../src/audit/chain.js"
import { type E164, maskPhoneNumber } from "../../src/domain/phone.js"
import { decide } from "../../src/domain/user.js"
import { SingleShard } from "../../src/layers/sql/shards.js"
import { SqlStores } from "../../src/layers/sql/stores.js"
import { SqliteNodeDriver } from "../../src/layers/sqlite/node.js"
import { StoreUnavailable } from "../../src/services/errors.js"
import { UserRepo } from "../../src/services/user-repo.js"
import { call } from "../support/client.js"
import { type Faults, InjectedFault, makeFaults, withFaults } from "../support/faults.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let faults: Faults
let counter = 0
let userId: string

const organizationId = () => f.tenant.organizationId

const withRepo = <A, E>(use: (repo: UserRepo["Type"]) => Effect.Effect<A, E>) =>
  Effect.runPromiseExit(
    Effect.flatMap(UserRepo, use).pipe(
      Effect.provide(
        SqlStores.pipe(
          Layer.provide(SingleShard),
          Layer.provide(withFaults(faults)(SqliteNodeDriver(f.filename))),
          Layer.provideMerge(SqliteClient.layer({ filename: f.filename }))
        )
      )
    )
  )

/** Reads the user and commits UpdatePhoneNumber to `phoneNumber` through the faulty store. */
const setNumber = (phoneNumber: string) =>
  withRepo((repo) =>
    Effect.gen(function*() {
      const stored = yield* repo.find(organizationId(), userId)
      const decision = decide(
        { type: "UpdatePhoneNumber", userId, phoneNumber: phoneNumber as E164 },
        stored?.user ?? null,
        {
          organizationId: organizationId(),
          actor: { type: "service", id: "svc_faults" },
          requestId: `faults-${++counter}`,
          eventId: crypto.randomUUID(),
          now: new Date().toISOString()
        },
        maskPhoneNumber
      )
      if (decision._tag !== "Changed") throw new Error(`expected a change, got ${decision._tag}`)
      yield* repo.commit({ ...decision, previousHash: stored?.headHash ?? GENESIS_HASH })
      return decision.state.version
    })
  )

const tables = () => ({
  user: f.query("SELECT * FROM users WHERE organization_id = ? AND id = ?", organizationId(), userId),
  events: f.query("SELECT * FROM events ORDER BY sequence")
})

const failure = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

/** The messages of an error and of its causes. */
const messages = (error: unknown): string => {
  const parts: Array<string> = []
  for (let current = error, depth = 0; current != null && depth < 5; depth++) {
    if (typeof current === "object" && "message" in current) parts.push(String(current.message))
    current = typeof current === "object" && "cause" in current ? current.cause : undefined
  }
  return parts.join(" | ")
}

beforeAll(async () => {
  f = await makeSqliteFixture()
})
afterAll(() => f.dispose())
beforeEach(async () => {
  faults = makeFaults()
  userId = `fault_user_${++counter}`
  const created = await call(f.fetch, "POST", "/users", {
    token: await f.serviceToken(),
    apiKey: f.tenant.apiKey,
    body: { id: userId, phoneNumber: `+1 415 555 ${2000 + counter}` }
  })
  expect(created.status).toBe(201)
})

describe("the fault layer around the SQLite store", () => {
  it("is the real store while nothing is armed", async () => {
    expect(await setNumber("+14155559001")).toEqual(Exit.succeed(2))
    expect(tables().user).toMatchObject([{ phone_number: "+14155559001", version: 2 }])
    expect(faults.injected).toEqual({ before: 0, during: 0, after: 0 })
  })

  it("before: fails the plan, so no statement runs and nothing changes", async () => {
    const before = tables()
    faults.arm("before")
    const exit = await setNumber("+14155559002")
    expect(failure(exit)).toEqual(new StoreUnavailable({ cause: new InjectedFault({ step: "before" }) }))
    expect(tables()).toEqual(before)
    expect(faults.injected.before).toBe(1)
  })

  it("during: the database aborts the transaction after the row was written, and rolls that write back", async () => {
    const before = tables()
    faults.arm("during")
    const exit = await setNumber("+14155559003")
    const error = failure(exit)
    expect(error).toBeInstanceOf(StoreUnavailable)
    // The injected statement fails only when the statement before it changed a row (changes() > 0), and its
    // failure is SQLite's own: so the row was written inside the transaction, and the rollback undid it.
    expect((error as StoreUnavailable).cause).not.toBeInstanceOf(InjectedFault)
    expect(messages((error as StoreUnavailable).cause)).toMatch(/malformed JSON/)
    expect(tables()).toEqual(before)
    expect(faults.injected.during).toBe(1)
  })

  it("after: the write commits, and the caller is told it failed", async () => {
    const before = tables()
    faults.arm("after")
    const exit = await setNumber("+14155559004")
    expect(failure(exit)).toEqual(new StoreUnavailable({ cause: new InjectedFault({ step: "after" }) }))
    const after = tables()
    expect(after.user).toMatchObject([{ phone_number: "+14155559004", version: 2 }])
    expect(after.events).toHaveLength(before.events.length + 1)
    expect(after.events.at(-1)).toMatchObject({ aggregate_id: userId, version: 2 })
  })

  it("fails as many writes as armed, then lets them through", async () => {
    faults.arm("during", 2)
    expect(failure(await setNumber("+14155559005"))).toBeInstanceOf(StoreUnavailable)
    expect(failure(await setNumber("+14155559005"))).toBeInstanceOf(StoreUnavailable)
    expect(await setNumber("+14155559005")).toEqual(Exit.succeed(2))
    expect(faults.injected).toEqual({ before: 0, during: 2, after: 0 })
    faults.arm("before")
    faults.disarm()
    expect(await setNumber("+14155559006")).toEqual(Exit.succeed(3))
  })
})
