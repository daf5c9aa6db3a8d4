/**
 * Idempotency-Key on real local D1: migrations/0002 applies, a retry replays the kept answer and writes nothing, the
 * key with another request is refused, concurrent duplicates run once; and a store fault inside the D1 batch
 * (src/layers/faults.ts around D1Driver) rolls back, is not kept, and the retry runs exactly once.
 */
import { D1Client } from "@effect/sql-d1"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { env } from "cloudflare:test"
import { Effect, Layer } from "effect"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { D1Driver } from "../../src/layers/d1.js"
import { SqlIdempotency } from "../../src/layers/sql/idempotency-store.js"
import { sqlServices } from "../../src/layers/sql/services.js"
import { SingleShard } from "../../src/layers/sql/shards.js"
import { Idempotency } from "../../src/services/idempotency.js"
import { makeFaults, withFaults } from "../support/faults.js"
import {
  type ApiClient,
  BASE_URL,
  eventRows,
  handlerOptions,
  jwtConfig,
  makeApiClient,
  makeD1Api,
  rows,
  seedTenant,
  userRow
} from "./support/d1-fixture.js"

const keyed = (key: string) => ({ headers: { "idempotency-key": key } })

const storedKey = (organizationId: string, key: string) =>
  rows<{ state: string; response_status: number; response_body: string }>(
    "SELECT state, response_status, response_body FROM idempotency_keys WHERE organization_id = ? AND idempotency_key = ?",
    organizationId,
    key
  )

describe("migrations/0002_idempotency.sql and 0003_idempotency_principal.sql on D1", () => {
  it("are recorded, and idempotency_keys has its columns and the (organization_id, principal, idempotency_key) key", async () => {
    const applied = await rows<{ name: string }>("SELECT name FROM d1_migrations ORDER BY id")
    expect(applied.map((m) => m.name)).toEqual(
      expect.arrayContaining(["0002_idempotency.sql", "0003_idempotency_principal.sql"])
    )
    const columns = await rows<{ name: string; pk: number }>("PRAGMA table_info(idempotency_keys)")
    expect(columns.map((c) => c.name)).toEqual([
      "organization_id",
      "principal",
      "idempotency_key",
      "user_id",
      "request_hash",
      "state",
      "lock_token",
      "response_status",
      "response_headers",
      "response_body",
      "created_at",
      "expires_at"
    ])
    expect(columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name)).toEqual([
      "organization_id",
      "principal",
      "idempotency_key"
    ])
  })
})

describe("Idempotency-Key on D1", () => {
  let api: ApiClient
  beforeAll(async () => {
    api = await makeD1Api()
  })
  afterAll(() => api.handler.dispose())

  it("replays the first answer with Idempotent-Replayed: true and writes nothing", async () => {
    const org = api.tenant.organizationId
    expect((await api.createUser("u_replay")).status).toBe(201)
    const key = crypto.randomUUID()
    const first = await api.updatePhoneNumber("u_replay", "+1 415 555 2671", keyed(key))
    const firstText = await first.text()
    expect(first.status).toBe(200)
    expect(first.headers.get("etag")).toBe('"2"')
    expect((await api.updatePhoneNumber("u_replay", null)).status).toBe(200)
    const eventsBefore = await eventRows(org, "u_replay")

    const replay = await api.updatePhoneNumber("u_replay", "+1 415 555 2671", keyed(key))
    expect(replay.status).toBe(200)
    expect(replay.headers.get("idempotent-replayed")).toBe("true")
    expect(replay.headers.get("etag")).toBe('"2"')
    expect(replay.headers.get("content-type")).toBe(first.headers.get("content-type"))
    expect(await replay.text()).toBe(firstText)
    expect(await eventRows(org, "u_replay")).toEqual(eventsBefore)
    expect(await userRow(org, "u_replay")).toEqual({ phone_number: null, version: 3 })

    const [stored] = await storedKey(org, key)
    expect(stored).toMatchObject({ state: "completed", response_status: 200 })
    expect(stored!.response_body).toBe(firstText)
    expect(stored!.response_body).not.toMatch(/4155552671|555 2671/)
  })

  it("refuses the key with another body: 422 idempotency-key-reused, nothing written", async () => {
    expect((await api.createUser("u_reused")).status).toBe(201)
    const key = crypto.randomUUID()
    expect((await api.updatePhoneNumber("u_reused", "+1 415 555 2671", keyed(key))).status).toBe(200)
    const reused = await api.updatePhoneNumber("u_reused", "+1 415 555 2672", keyed(key))
    expect(reused.status).toBe(422)
    expect(await reused.json()).toMatchObject({ code: "idempotency-key-reused" })
    expect(await userRow(api.tenant.organizationId, "u_reused")).toEqual({ phone_number: "+14155552671", version: 2 })
  })

  it("deletes the user's completed records with its erasure, in the same batch, keeping the erasure's own", async () => {
    const org = api.tenant.organizationId
    expect((await api.createUser("u_erased", "+1 415 555 2681", keyed("erased-create"))).status).toBe(201)
    expect((await api.createUser("u_kept", "+1 415 555 2682", keyed("kept-create"))).status).toBe(201)
    expect((await api.updatePhoneNumber("u_erased", "+1 415 555 2683", keyed("erased-update"))).status).toBe(200)
    const token = await api.userToken("u_erased")
    const erased = await api.handler.fetch(
      new Request(`${BASE_URL}/users/u_erased/ErasePersonalData`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "x-api-key": api.tenant.apiKey, "idempotency-key": "erased-erase" }
      })
    )
    expect(erased.status).toBe(200)
    const left = await rows<{ idempotency_key: string; principal: string; user_id: string }>(
      "SELECT idempotency_key, principal, user_id FROM idempotency_keys WHERE organization_id = ? ORDER BY idempotency_key",
      org
    )
    expect(left).toEqual([
      { idempotency_key: "erased-erase", principal: "user:u_erased", user_id: "u_erased" },
      { idempotency_key: "kept-create", principal: "service:svc_test", user_id: "u_kept" }
    ])
  })

  it("runs concurrent duplicates once: exactly one new event", async () => {
    expect((await api.createUser("u_dupes")).status).toBe(201)
    const key = crypto.randomUUID()
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => api.updatePhoneNumber("u_dupes", "+1 415 555 2671", keyed(key)))
    )
    const executed = answers.filter((a) => a.status === 200 && a.headers.get("idempotent-replayed") === null)
    expect(executed).toHaveLength(1)
    for (const answer of answers) expect([200, 409]).toContain(answer.status)
    expect((await eventRows(api.tenant.organizationId, "u_dupes")).map((e) => e.version)).toEqual([1, 2])
  })
})

describe("the idempotency store on D1", () => {
  it("takes over an expired key in place and sweeps a bounded batch of expired rows", async () => {
    const { organizationId } = await seedTenant()
    const insert = env.DB.prepare(
      "INSERT INTO idempotency_keys (organization_id, principal, idempotency_key, request_hash, state, lock_token, " +
        "response_status, response_headers, response_body, created_at, expires_at) VALUES (?, 'service:svc_d1', ?, " +
        "'h', 'completed', NULL, 200, '{}', '{}', '2000-01-01T00:00:00.000Z', ?)"
    )
    await env.DB.batch([
      insert.bind(organizationId, "expired-1", "2000-01-02T00:00:00.000Z"),
      insert.bind(organizationId, "expired-2", "2000-01-02T00:00:01.000Z"),
      insert.bind(organizationId, "expired-3", "2000-01-02T00:00:02.000Z"),
      insert.bind(organizationId, "kept", "2999-01-01T00:00:00.000Z")
    ])
    const outcome = await Effect.runPromise(
      Effect.flatMap(
        Idempotency,
        (store) => store.reserve({ organizationId, principal: "service:svc_d1", key: "expired-3" }, "another-hash")
      ).pipe(
        Effect.provide(
          SqlIdempotency({ sweepEvery: 1, sweepLimit: 1 }).pipe(
            Layer.provide(SingleShard),
            Layer.provide([D1Driver(env.DB), D1Client.layer({ db: env.DB })])
          )
        )
      )
    )
    expect(outcome._tag).toBe("Acquired")
    const left = await rows<{ idempotency_key: string; state: string }>(
      "SELECT idempotency_key, state FROM idempotency_keys WHERE organization_id = ? ORDER BY idempotency_key",
      organizationId
    )
    // expired-3 is the new claim; the sweep (limit 1) took the oldest expired row, expired-1.
    expect(left).toEqual([
      { idempotency_key: "expired-2", state: "completed" },
      { idempotency_key: "expired-3", state: "in_progress" },
      { idempotency_key: "kept", state: "completed" }
    ])
  })
})

describe("a store fault inside the D1 batch", () => {
  it("rolls the batch back, answers 503 without keeping it, and the retry with the same key runs once", async () => {
    const faults = makeFaults()
    const services = sqlServices(jwtConfig).pipe(
      Layer.provideMerge(Layer.merge(withFaults(faults)(D1Driver(env.DB)), D1Client.layer({ db: env.DB })))
    )
    const handler = makeFetchHandler(services, handlerOptions)
    try {
      const client = await makeApiClient(handler.fetch, await seedTenant())
      const org = client.tenant.organizationId
      expect((await client.createUser("u_fault", "+1 415 555 2671")).status).toBe(201)
      const before = { user: await userRow(org, "u_fault"), events: await eventRows(org, "u_fault") }
      const key = crypto.randomUUID()

      faults.arm("during")
      const failed = await client.updatePhoneNumber("u_fault", "+1 415 555 2672", keyed(key))
      expect(failed.status).toBe(503)
      expect(failed.headers.get("retry-after")).toBe("1")
      expect(faults.injected.during).toBe(1)
      expect({ user: await userRow(org, "u_fault"), events: await eventRows(org, "u_fault") }).toEqual(before)
      expect(await storedKey(org, key)).toEqual([])

      const retry = await client.updatePhoneNumber("u_fault", "+1 415 555 2672", keyed(key))
      expect(retry.status).toBe(200)
      expect(await retry.json()).toMatchObject({ version: 2, event: { data: { maskedPhoneNumber: "****2672" } } })
      expect((await eventRows(org, "u_fault")).map((e) => e.version)).toEqual([1, 2])
    } finally {
      await handler.dispose()
    }
  })
})
