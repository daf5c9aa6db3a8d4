/**
 * Tenants across D1 databases (src/layers/d1.ts, migrations/0005), in workerd with two local D1 bindings: DB is the
 * directory and shard 0, DB_1 shard 1. An organization's data is on the shard the directory names and nowhere else,
 * each shard's audit trail verifies on its own, and an organization routed to a shard that is not bound is a 503.
 */
import type { SqlClient } from "@effect/sql"
import { D1Client } from "@effect/sql-d1"
import { describe, expect, it } from "@effect/vitest"
import { env } from "cloudflare:test"
import { Effect } from "effect"
import { ensureOrganization, issueApiKey } from "../../src/admin/tenants.js"
import { verifyAudit } from "../../src/audit/verify.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { D1Services } from "../../src/layers/d1.js"
import {
  type CheckpointRow,
  type EventRow,
  SELECT_ALL_CHECKPOINTS,
  SELECT_ALL_EVENTS,
  SELECT_USER_VERSIONS,
  toCheckpoint,
  toStoredEvent
} from "../../src/layers/sql/rows.js"
import worker, { type Bindings } from "../../src/worker.js"
import { handlerOptions, jwtConfig, makeApiClient, type Tenant } from "./support/d1-fixture.js"

const on = <A, E>(db: D1Database, effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.runPromise(Effect.provide(effect, D1Client.layer({ db })))

/** An organization on `shard`: its row in the directory (saying which shard) and in the shard; its key in the directory. */
const seedOn = async (shard: number, db?: D1Database): Promise<Tenant> => {
  const organizationId = `org_s${shard}_${crypto.randomUUID().slice(0, 8)}`
  if (db !== undefined) await on(db, ensureOrganization(organizationId, organizationId, shard))
  const { apiKey } = await on(
    env.DB,
    Effect.zipRight(ensureOrganization(organizationId, organizationId, shard), issueApiKey(organizationId, "shards"))
  )
  return { organizationId, apiKey }
}

const count = async (db: D1Database, table: "users" | "events" | "audit_checkpoints", organizationId: string) =>
  (await db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE organization_id = ?`).bind(organizationId).first<
    { n: number }
  >())!.n

const auditOf = async (db: D1Database) => {
  const all = async <T>(sql: string) => (await db.prepare(sql).all<T>()).results
  return verifyAudit({
    events: (await all<EventRow>(SELECT_ALL_EVENTS)).map(toStoredEvent),
    checkpoints: (await all<CheckpointRow>(SELECT_ALL_CHECKPOINTS)).map(toCheckpoint),
    users: (await all<{ organization_id: string; id: string; version: number }>(SELECT_USER_VERSIONS)).map((r) => ({
      organizationId: r.organization_id,
      userId: r.id,
      version: r.version
    }))
  })
}

const sharded = () => makeFetchHandler(D1Services(env.DB, jwtConfig, [env.DB_1]), handlerOptions)

describe("organizations on two D1 shards", () => {
  it("keeps each organization's users, events and checkpoints on its own shard, invisible from the other", async () => {
    const handler = sharded()
    const one = await makeApiClient(handler.fetch, await seedOn(1, env.DB_1))
    const zero = await makeApiClient(handler.fetch, await seedOn(0))

    // The same user id in both organizations, each with its own number.
    expect((await one.createUser("shared_id", "+1 415 555 2671")).status).toBe(201)
    expect((await zero.createUser("shared_id", "+1 415 555 2672")).status).toBe(201)
    expect((await one.updatePhoneNumber("shared_id", "+1 415 555 2673")).status).toBe(200)
    expect((await one.auditHead()).body).toMatchObject({ sequence: 1, eventCount: 2 })
    expect((await zero.auditHead()).body).toMatchObject({ sequence: 1, eventCount: 1 })

    const on1 = one.tenant.organizationId
    const on0 = zero.tenant.organizationId
    expect([await count(env.DB_1, "users", on1), await count(env.DB_1, "events", on1)]).toEqual([1, 2])
    expect(await count(env.DB_1, "audit_checkpoints", on1)).toBe(1)
    expect([await count(env.DB, "users", on1), await count(env.DB, "events", on1)]).toEqual([0, 0])
    expect(await count(env.DB, "audit_checkpoints", on1)).toBe(0)
    expect([await count(env.DB, "users", on0), await count(env.DB, "events", on0)]).toEqual([1, 1])
    expect([await count(env.DB_1, "users", on0), await count(env.DB_1, "events", on0)]).toEqual([0, 0])
    const stored = () =>
      env.DB_1.prepare("SELECT phone_number, version FROM users WHERE organization_id = ? AND id = ?")
        .bind(on1, "shared_id").first<{ phone_number: string; version: number }>()
    expect(await stored()).toEqual({ phone_number: "+14155552673", version: 2 })

    // A handler that knows only shard 0 (the directory alone) does not find shard 1's user.
    const unsharded = makeFetchHandler(D1Services(env.DB, jwtConfig), handlerOptions)
    const blind = await makeApiClient(unsharded.fetch, one.tenant)
    expect((await blind.updatePhoneNumber("shared_id", "+1 415 555 2674")).status).toBe(404)
    expect(await stored()).toEqual({ phone_number: "+14155552673", version: 2 })

    // Each shard's trail verifies on its own, with each organization's checkpoint where its events are.
    const report1 = await auditOf(env.DB_1)
    expect(report1.broken).toBeUndefined()
    expect(report1.organizations[on1]).toMatchObject({ events: 2, users: 1, checkpoint: { sequence: 1 } })
    expect(report1.organizations[on0]).toBeUndefined()
    const report0 = await auditOf(env.DB)
    expect(report0.broken).toBeUndefined()
    expect(report0.organizations[on0]).toMatchObject({ events: 1, users: 1, checkpoint: { sequence: 1 } })
    expect(report0.organizations[on1]).toBeUndefined()
  })

  it("seals the organizations of every shard on the Worker's cron trigger", async () => {
    const one = await makeApiClient(sharded().fetch, await seedOn(1, env.DB_1))
    expect((await one.createUser("sealed", "+1 415 555 2680")).status).toBe(201)
    expect(await count(env.DB_1, "audit_checkpoints", one.tenant.organizationId)).toBe(0)
    const waits: Array<Promise<unknown>> = []
    const ctx = { waitUntil: (p: Promise<unknown>) => waits.push(p), passThroughOnException: () => {} }
    worker.scheduled({} as ScheduledController, env, ctx as unknown as ExecutionContext)
    await Promise.all(waits)
    expect(await count(env.DB_1, "audit_checkpoints", one.tenant.organizationId)).toBe(1)
  })

  it("serves an organization on DB_1 through the Worker entry, which binds every DB_n", async () => {
    const one = await makeApiClient((request) => worker.fetch(request, env), await seedOn(1, env.DB_1))
    expect((await one.createUser("via_entry", "+1 415 555 2690")).status).toBe(201)
    expect(await count(env.DB_1, "users", one.tenant.organizationId)).toBe(1)
    expect(await count(env.DB, "users", one.tenant.organizationId)).toBe(0)
  })

  it("answers 503 store-unavailable, writing nothing, for an organization on a shard that is not bound", async () => {
    const handler = sharded()
    const stray = await makeApiClient(handler.fetch, await seedOn(2))
    const response = await stray.createUser("nowhere", "+1 415 555 2699")
    expect(response.status).toBe(503)
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/)
    expect(response.headers.get("retry-after")).toBeTruthy()
    expect(await response.json()).toMatchObject({ status: 503, success: false })
    expect(await count(env.DB, "users", stray.tenant.organizationId)).toBe(0)
    expect(await count(env.DB_1, "users", stray.tenant.organizationId)).toBe(0)
  })

  it("refuses to start with DB_2 bound but not DB_1: a gap would move organizations between shards", async () => {
    const { DB_1: _skipped, ...rest } = env
    const gap = { ...rest, DB_2: env.DB_1 } as Bindings
    const response = await worker.fetch(new Request("https://users-api.test/healthz"), gap)
    expect(response.status).toBe(500)
    expect(await response.json()).toMatchObject({ code: "misconfigured", detail: expect.stringMatching(/DB_2/) })
  })
})
