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
import {
  exportOrganizationSql,
  forgetMovedOrganizationSql,
  initShardSql,
  MoveRefused,
  routeOrganizationSql,
  SHARD_SEQUENCE_SPAN
} from "../../src/admin/shards.js"
import { ensureOrganization, issueApiKey } from "../../src/admin/tenants.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { D1Services } from "../../src/layers/d1.js"
import worker, { type Bindings } from "../../src/worker.js"
import { auditOf, handlerOptions, jwtConfig, makeApiClient, type Tenant } from "./support/d1-fixture.js"

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

const count = async (
  db: D1Database,
  table: "users" | "events" | "audit_checkpoints" | "phone_fingerprints",
  organizationId: string
) =>
  (await db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE organization_id = ?`).bind(organizationId).first<
    { n: number }
  >())!.n

const sharded = (options: { readonly phoneFingerprintKey?: string } = {}) =>
  makeFetchHandler(D1Services(env.DB, jwtConfig, [env.DB_1]), { ...handlerOptions, ...options })

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

  it("moves an organization from shard 0 to shard 1 with its history, checkpoints and keys, losing nothing", async () => {
    // Runs SQL text as `wrangler d1 execute --file` would: statement after statement.
    const run = async (db: D1Database, sql: string | ReadonlyArray<string>) => {
      for (const statement of typeof sql === "string" ? sql.split("\n") : sql) await db.prepare(statement).run()
    }
    await run(env.DB_1, initShardSql(1))
    const fingerprinted = { phoneFingerprintKey: "shards-on-d1-fingerprint-key-0123456789" }
    const before = await makeApiClient(sharded(fingerprinted).fetch, await seedOn(0))
    const organizationId = before.tenant.organizationId
    for (const [i, number] of ["+1 415 555 2601", "+1 415 555 2602", "+1 415 555 2603"].entries()) {
      expect((await before.createUser(`mover_${i}`, number)).status).toBe(201)
    }
    expect((await before.updatePhoneNumber("mover_0", "+1 415 555 2611")).status).toBe(200)
    const sealed = (await before.auditHead()).body
    expect(sealed).toMatchObject({ sequence: 1, eventCount: 4 })
    // One event after the checkpoint, and an answer kept under an Idempotency-Key.
    const keyed = { headers: { "idempotency-key": "move-retry-1" } }
    const first = await before.updatePhoneNumber("mover_1", "+1 415 555 2612", keyed)
    expect(first.status).toBe(200)
    const firstBody = await first.json()

    // Frozen: the directory routes it nowhere, and a write is a 503 that changes nothing.
    await run(env.DB, routeOrganizationSql(organizationId, null))
    const frozen = await makeApiClient(sharded().fetch, before.tenant)
    const refused = await frozen.updatePhoneNumber("mover_2", "+1 415 555 2613")
    expect(refused.status).toBe(503)
    expect(refused.headers.get("retry-after")).toBeTruthy()

    const select = (db: D1Database) => (sql: string) =>
      Effect.promise(async () => (await db.prepare(sql).all<Record<string, string | number | null>>()).results)
    const statements = await Effect.runPromise(exportOrganizationSql(select(env.DB), organizationId, 0, 1))
    await run(env.DB_1, statements)
    await run(env.DB_1, statements) // a second run, as after one that stopped half-way, adds nothing
    await run(env.DB, routeOrganizationSql(organizationId, 1))
    await run(env.DB, forgetMovedOrganizationSql(organizationId))

    expect(await count(env.DB_1, "events", organizationId)).toBe(5)
    expect(await count(env.DB_1, "audit_checkpoints", organizationId)).toBe(1)
    // The fingerprints move with their events, and none stay behind.
    expect(await count(env.DB_1, "phone_fingerprints", organizationId)).toBe(5)
    expect(await count(env.DB, "phone_fingerprints", organizationId)).toBe(0)
    const left = await env.DB.prepare("SELECT phone_number FROM users WHERE organization_id = ?").bind(organizationId)
      .all()
    expect(left.results).toEqual([{ phone_number: null }, { phone_number: null }, { phone_number: null }])

    // Served from shard 1, as it was: the kept answer replays, the numbers and versions are there, and the next
    // checkpoint extends the one kept before the move.
    const after = await makeApiClient(sharded().fetch, before.tenant)
    const replayed = await after.updatePhoneNumber("mover_1", "+1 415 555 2612", keyed)
    expect(replayed.status).toBe(200)
    expect(await replayed.json()).toEqual(firstBody)
    expect((await after.updatePhoneNumber("mover_2", "+1 415 555 2613")).status).toBe(200)
    const moved = await env.DB_1.prepare(
      "SELECT id, phone_number, version FROM users WHERE organization_id = ? ORDER BY id"
    ).bind(organizationId).all()
    expect(moved.results).toEqual([
      { id: "mover_0", phone_number: "+14155552611", version: 2 },
      { id: "mover_1", phone_number: "+14155552612", version: 2 },
      { id: "mover_2", phone_number: "+14155552613", version: 2 }
    ])
    const next = (await after.auditHead()).body
    expect(next).toMatchObject({ sequence: 2, prevHash: sealed.hash, eventCount: 2 })
    const newest = await env.DB_1.prepare("SELECT max(sequence) AS s FROM events WHERE organization_id = ?")
      .bind(organizationId).first<{ s: number }>()
    expect(newest!.s).toBeGreaterThan(SHARD_SEQUENCE_SPAN)

    const onNew = await auditOf(env.DB_1)
    expect(onNew.broken).toBeUndefined()
    expect(onNew.organizations[organizationId]).toMatchObject({ events: 6, users: 3, checkpoint: { sequence: 2 } })
    const onOld = await auditOf(env.DB)
    expect(onOld.broken).toBeUndefined()
    expect(onOld.organizations[organizationId]).toMatchObject({ events: 5, checkpoint: { sequence: 1 } })

    // Down is refused: shard 1's numbers would enter shard 0's counter.
    const down = await Effect.runPromise(Effect.flip(exportOrganizationSql(select(env.DB_1), organizationId, 1, 0)))
    expect(down).toBeInstanceOf(MoveRefused)
  })
})
